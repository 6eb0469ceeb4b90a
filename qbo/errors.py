"""QuickBooks faults, parsed once (JSON, the lower-case gateway shape, or XML) and classified once.

Every QuickBooks error becomes an Airbyte failure type here and nowhere else: per answer for the
HTTP client's retry decision (:class:`QuickBooksErrorHandler`), per raised error for a stream
(:func:`explained`), and in plain words for ``check`` (:func:`describe_error`).
"""

from __future__ import annotations

import json
import re
import xml.etree.ElementTree as ElementTree
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from urllib.parse import urlsplit

import requests
from airbyte_cdk.models import FailureType
from airbyte_cdk.sources.streams.http.error_handlers import ErrorResolution, ResponseAction
from airbyte_cdk.utils.traced_exception import AirbyteTracedException

from connector_core.backoff import RetryBudget

# Fault codes the connectors act on (Intuit's "Error codes" page).
STALE_OBJECT = "5010"
DUPLICATE_NAME = "6240"
DUPLICATE_DOC_NUMBER = "6140"
OBJECT_NOT_FOUND = "610"
AUTHENTICATION_FAILED = "3200"
THROTTLE_EXCEEDED = "3001"


@dataclass(frozen=True)
class FaultError:
    code: str
    message: str
    detail: str = ""
    element: str = ""

    def __str__(self) -> str:
        extra = f": {self.detail}" if self.detail and self.detail != self.message else ""
        return f"{self.message} (fault {self.code}){extra}"


class QuickBooksFault(Exception):
    """A request or batch item QuickBooks refused; ``errors`` carries every error it listed."""

    def __init__(self, fault_type: str, errors: list[FaultError], status: int | None = None):
        self.fault_type = fault_type
        self.errors = errors or [FaultError("", "unknown QuickBooks fault")]
        self.status = status
        super().__init__("; ".join(str(e) for e in self.errors))

    @property
    def code(self) -> str:
        return self.errors[0].code

    def has_code(self, code: str) -> bool:
        return any(e.code == code for e in self.errors)


def parse_fault(body: object, status: int | None = None) -> QuickBooksFault | None:
    """A fault from a decoded JSON body: ``{"Fault": {...}}`` or the gateway's ``{"fault": {"error": [...]}}``."""
    if not isinstance(body, dict):
        return None
    fault = body.get("Fault") or body.get("fault")
    if not isinstance(fault, dict):
        return None
    raw = fault.get("Error") or fault.get("error") or []
    errors = [FaultError(str(e.get("code", "")), str(e.get("Message") or e.get("message") or ""),
                         str(e.get("Detail") or e.get("detail") or ""), str(e.get("element") or ""))
              for e in raw if isinstance(e, dict)]
    return QuickBooksFault(str(fault.get("type") or ""), errors, status)


def parse_fault_xml(text: str, status: int | None = None) -> QuickBooksFault | None:
    """QuickBooks answers faults in XML now and then, even to JSON requests (throttling does)."""
    try:
        root = ElementTree.fromstring(text)
    except ElementTree.ParseError:
        return None
    fault = next((el for el in root.iter() if el.tag.rsplit("}", 1)[-1] == "Fault"), None)
    if fault is None:
        return None
    errors = []
    for error in (el for el in fault.iter() if el.tag.rsplit("}", 1)[-1] == "Error"):
        fields = {child.tag.rsplit("}", 1)[-1]: (child.text or "") for child in error}
        errors.append(FaultError(error.get("code", ""), fields.get("Message", ""), fields.get("Detail", ""),
                                 error.get("element", "")))
    return QuickBooksFault(fault.get("type", ""), errors, status)


def fault_from_response(response: requests.Response) -> QuickBooksFault:
    text = response.text or ""
    fault = None
    if text.lstrip().startswith("<"):
        fault = parse_fault_xml(text, response.status_code)
    else:
        try:
            fault = parse_fault(json.loads(text), response.status_code)
        except ValueError:
            fault = None
    return fault or QuickBooksFault("HttpError", [FaultError(str(response.status_code), text[:300] or response.reason)],
                                    response.status_code)


class QuickBooksErrorHandler(RetryBudget):
    """What each QuickBooks answer means for the request that got it.

    - 401: the access token expired or was revoked; refresh once and retry (the CDK's
      REFRESH_TOKEN_THEN_RETRY fails with a config error if the fresh token is refused too).
    - 403: the app lacks access to this company; config error. But a 403 carrying fault 3001
      (ThrottleExceeded, how older Intuit answers throttled) is throttling: backed off like a 429.
    - 404: no such company on this host (a wrong `realm_id`, or a sandbox company asked for on the
      production host or the other way round); config error in plain words.
    - 429 (ThrottleExceeded, often XML): back off; Intuit suggests waiting, Retry-After is not promised.
    - 5xx and network errors: transient, retried; creates carry a requestid so a retry cannot duplicate.
    - 400 and other 4xx: a validation fault for this one object; returned to the caller, which
      reports the record and goes on.
    """

    def interpret_response(self, response_or_exception: requests.Response | Exception | None = None) -> ErrorResolution:
        if not isinstance(response_or_exception, requests.Response):
            return ErrorResolution(ResponseAction.RETRY, FailureType.transient_error,
                                   f"QuickBooks could not be reached: {response_or_exception}")
        status = response_or_exception.status_code
        if status < 400:
            return ErrorResolution(ResponseAction.SUCCESS)
        if status == 401:
            return ErrorResolution(ResponseAction.REFRESH_TOKEN_THEN_RETRY, FailureType.config_error,
                                   "QuickBooks refused the access token; refreshing it.")
        if status == 403 and fault_from_response(response_or_exception).has_code(THROTTLE_EXCEEDED):
            # Older Intuit answers carried throttling as 403 with fault 3001: the same wait as a 429.
            return ErrorResolution(ResponseAction.RATE_LIMITED, FailureType.transient_error,
                                   "QuickBooks throttled the request (403, fault 3001 ThrottleExceeded); backing off.")
        if status == 403:
            return ErrorResolution(ResponseAction.FAIL, FailureType.config_error,
                                   "QuickBooks denied access (403): the app is not authorized for this company "
                                   "(`realm_id`) or lacks the accounting scope. Reconnect the app.")
        if status == 404:
            return ErrorResolution(ResponseAction.FAIL, FailureType.config_error,
                                   company_not_found(response_or_exception.url or ""))
        if status == 429:
            return ErrorResolution(ResponseAction.RATE_LIMITED, FailureType.transient_error,
                                   "QuickBooks throttled the request (429); backing off.")
        if status >= 500:
            return ErrorResolution(ResponseAction.RETRY, FailureType.transient_error,
                                   f"QuickBooks server error {status}; retrying.")
        return ErrorResolution(ResponseAction.IGNORE)


def company_not_found(url: str) -> str:
    """What a 404 from the company API means, with the company and host it was asked for."""
    parts = urlsplit(url)
    match = re.search(r"/v3/company/([^/]+)", parts.path)
    company = f"company {match.group(1)!r}" if match else "the company"
    host = parts.hostname or "the API host"
    if host.startswith("sandbox-"):
        environment = ("`sandbox` is on, so only Intuit developer sandbox companies are found; turn it off for "
                       "a real company.")
    elif host.endswith("intuit.com"):
        environment = ("`sandbox` is off, so only real (production) companies are found; turn it on for a "
                       "company created in the Intuit developer portal's sandbox.")
    else:
        environment = "Check `base_url` too: it overrides `sandbox`."
    return (f"QuickBooks has no {company} at {host} (404 Not Found). Check `realm_id`: it is the Company ID "
            "shown in QuickBooks under Settings > Account and settings > Billing & subscription. " + environment)


DEAD_REFRESH_TOKEN = ("QuickBooks refused the refresh token (invalid_grant): it expired, was revoked, or was already "
                      "replaced by a newer one. Reconnect QuickBooks (authorize the app for the company again) and "
                      "enter the new refresh token.")
CLIENT_REFUSED = ("QuickBooks refused the app's keys (invalid_client): check `client_id` and `client_secret` "
                  "(Intuit developer portal > Keys & credentials; development and production keys differ) and that "
                  "the refresh token was issued to this app.")


def describe_error(error: Exception) -> str:
    """Plain words for what went wrong while talking to QuickBooks or Intuit's OAuth endpoint."""
    if isinstance(error, AirbyteTracedException):
        text = f"{error.message or ''} {error.internal_message or ''}"
        if "invalid_grant" in text:
            return DEAD_REFRESH_TOKEN
        if "invalid_client" in text:
            return CLIENT_REFUSED
        return error.message or str(error)
    if isinstance(error, QuickBooksFault):
        return f"QuickBooks answered with a fault: {error}"
    if isinstance(error, requests.RequestException):
        return f"QuickBooks could not be reached: {error}"
    return str(error)


# What a connector's ``check`` reports in plain words (describe_error) rather than as a crash.
CHECK_FAILURES = (AirbyteTracedException, QuickBooksFault, requests.RequestException, ValueError)


def traced(error: QuickBooksFault | requests.RequestException, doing: str) -> AirbyteTracedException:
    """The error met while ``doing`` something, in plain words with its failure type: a fault answered
    with 401/403 is the app's access (config_error), any other fault a system_error, a network error
    transient (the next sync may well get through)."""
    if isinstance(error, QuickBooksFault):
        failure = FailureType.config_error if error.status in (401, 403) else FailureType.system_error
        return AirbyteTracedException(message=f"QuickBooks refused the request while {doing}: {error}",
                                      internal_message=f"{type(error).__name__}: {error}",
                                      failure_type=failure, exception=error)
    return AirbyteTracedException(message=f"QuickBooks could not be reached while {doing}: {error}",
                                  internal_message=f"{type(error).__name__}: {error}",
                                  failure_type=FailureType.transient_error, exception=error)


@contextmanager
def explained(doing: str) -> Iterator[None]:
    """Re-raise a QuickBooks fault or network error met inside the block as :func:`traced` describes it,
    e.g. ``with explained("reading invoices"): rows = client.query(statement)``."""
    try:
        yield
    except (QuickBooksFault, requests.RequestException) as error:
        raise traced(error, doing) from error
