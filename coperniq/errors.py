"""Coperniq errors, classified once: each answer to a retry decision and an Airbyte failure type
(:class:`CoperniqErrorHandler`), each raised error to plain words for ``check`` (:func:`describe_error`)."""

from __future__ import annotations

from typing import Any

import requests
from airbyte_cdk.models import FailureType
from airbyte_cdk.sources.streams.http.error_handlers import ErrorResolution, ResponseAction
from airbyte_cdk.utils.traced_exception import AirbyteTracedException

from connector_core.backoff import RetryBudget

# The reference states 5,000 requests a day per key in prose but names no headers; these are the
# names the sandbox sends and the client reads (see sandboxes/coperniq/README.md).
RATE_LIMIT_REMAINING = "X-RateLimit-Remaining"
RATE_LIMIT_LIMIT = "X-RateLimit-Limit"
RATE_LIMIT_RESET = "X-RateLimit-Reset"


class CoperniqError(Exception):
    """An answer of the Coperniq API that the caller has to deal with (4xx other than auth/quota)."""

    def __init__(self, status: int, message: str, code: str | None = None, field: str | None = None):
        self.status = status
        self.code = code
        self.field = field
        detail = f" (field {field})" if field else ""
        super().__init__(f"Coperniq answered {status} {code or ''}: {message}{detail}".replace("  ", " "))

    @classmethod
    def from_response(cls, response: requests.Response) -> CoperniqError:
        body: Any
        try:
            body = response.json()
        except ValueError:
            body = {"message": response.text[:500]}
        if not isinstance(body, dict):
            body = {"message": str(body)[:500]}
        kind = CoperniqNotFound if response.status_code == 404 else cls
        return kind(response.status_code, str(body.get("message") or response.reason), body.get("code"),
                    body.get("field"))


class CoperniqNotFound(CoperniqError):
    """404: the record does not exist (deleted, or an id from another company)."""


class CoperniqUncertainWrite(CoperniqError):
    """A create whose outcome is unknown: the connection broke or a 5xx came back, maybe after the commit."""


class CoperniqErrorHandler(RetryBudget):
    """Which answers are retried, which stop the sync, and which go back to the caller.

    - 401/403: the key is wrong or lacks access; retrying cannot help (config_error).
    - 429: rate limited; retried with backoff (Retry-After honoured). When the daily quota is
      spent (remaining 0) a retry within the sync cannot succeed, so it fails cleanly.
    - 5xx and network errors: transient; retried with backoff.
    - other 4xx: returned to the caller, which raises a typed :class:`CoperniqError` so a
      destination can report the one record and go on.

    With ``retry_uncertain=False`` (creates: POST is not idempotent) a 5xx or a broken connection
    goes back to the caller too, which looks for the record before trying again.
    """

    def __init__(self, max_retries: int = 5, max_time: int = 600, retry_uncertain: bool = True):
        super().__init__(max_retries, max_time)
        self._retry_uncertain = retry_uncertain

    def interpret_response(self, response_or_exception: requests.Response | Exception | None = None) -> ErrorResolution:
        if isinstance(response_or_exception, Exception) or response_or_exception is None:
            if not self._retry_uncertain:
                return ErrorResolution(ResponseAction.IGNORE)
            return ErrorResolution(ResponseAction.RETRY, FailureType.transient_error,
                                   f"Coperniq could not be reached: {response_or_exception}")
        response = response_or_exception
        status = response.status_code
        if status < 400:
            return ErrorResolution(ResponseAction.SUCCESS)
        if status in (401, 403):
            return ErrorResolution(ResponseAction.FAIL, FailureType.config_error,
                                   f"Coperniq rejected the API key ({status}). Check `api_key`: create one in "
                                   "Coperniq under Company settings > API keys.")
        if status == 429:
            if response.headers.get(RATE_LIMIT_REMAINING) == "0":
                reset = response.headers.get(RATE_LIMIT_RESET, "unknown")
                return ErrorResolution(ResponseAction.FAIL, FailureType.transient_error,
                                       f"Coperniq's daily request quota for this API key is used up "
                                       f"(resets in {reset} s). The next sync resumes from the last state.")
            return ErrorResolution(ResponseAction.RATE_LIMITED, FailureType.transient_error,
                                   "Coperniq rate limit reached; backing off.")
        if status >= 500:
            if not self._retry_uncertain:
                return ErrorResolution(ResponseAction.IGNORE)
            return ErrorResolution(ResponseAction.RETRY, FailureType.transient_error,
                                   f"Coperniq server error {status}; retrying.")
        return ErrorResolution(ResponseAction.IGNORE)


# What a connector's ``check`` reports in plain words (describe_error) rather than as a crash.
CHECK_FAILURES = (AirbyteTracedException, CoperniqError, requests.RequestException)


def describe_error(error: Exception) -> str:
    """Plain words for what went wrong while talking to Coperniq."""
    if isinstance(error, AirbyteTracedException):
        return error.message or str(error)
    if isinstance(error, requests.RequestException):
        return f"Coperniq could not be reached: {error}"
    return str(error)


def quota_nearly_spent(remaining: int, reserve: int) -> AirbyteTracedException:
    """The sync stops before a record could run past the reserve: transient, the next run resumes."""
    return AirbyteTracedException(
        message=f"Coperniq's daily request quota is nearly used up ({remaining} requests left, "
                f"{reserve} kept in reserve). The sync stopped after its last committed "
                "state; the next run resumes from there.",
        failure_type=FailureType.transient_error)
