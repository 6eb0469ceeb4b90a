"""The QuickBooks Online Accounting API client shared by source-quickbooks and destination-quickbooks.

One method per API operation, one private ``_request`` that adds ``minorversion``, paces calls
inside Intuit's per-company limits, counts them, and turns faults into :class:`QuickBooksFault`.
Retries, backoff and token refresh come from the CDK's ``HttpClient`` and authenticator.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Iterator, Mapping, MutableMapping, Sequence
from typing import Any
from urllib.parse import urlsplit

import requests
from airbyte_cdk.sources.streams.http.http_client import HttpClient

from connector_core.backoff import RetryAfterBackoff
from connector_core.config import config_error, validate_service_url
from connector_core.http import RequestCounter, validate_base_url
from connector_core.throttle import SlidingWindow, Throttle
from qbo.auth import INTUIT_TOKEN_URL, build_authenticator, realm_id_from
from qbo.errors import QuickBooksErrorHandler, QuickBooksFault, fault_from_response, parse_fault
from qbo.query import select

PRODUCTION_URL = "https://quickbooks.api.intuit.com"
SANDBOX_URL = "https://sandbox-quickbooks.api.intuit.com"
MINOR_VERSION = "75"  # Intuit stopped honouring versions below 75 in 2025
MAX_QUERY_RESULTS = 1000
MAX_BATCH_ITEMS = 30


def default_throttle(scale: float | None = None) -> Throttle:
    """Intuit's per-company limits: 10 requests a second, 500 a minute, 40 batch calls a minute.

    ``QBO_THROTTLE_SCALE`` shrinks the windows for benchmarks against a sandbox whose own windows
    are scaled the same way (``0`` turns pacing off); production never sets it.
    """
    if scale is None:
        scale = float(os.environ.get("QBO_THROTTLE_SCALE", "1") or 1)
    if scale <= 0:
        return Throttle({})
    # A little under each limit: Intuit counts a call when it arrives, we when we send it, and a call
    # released exactly at a window's edge was seen rejected (benchmarks: 81 x 429 in a 10k load).
    return Throttle({
        "all": [SlidingWindow(9, 1.0 * scale), SlidingWindow(480, 60.0 * scale)],
        "batch": [SlidingWindow(38, 60.0 * scale)],
    })


def api_root(config: Mapping[str, Any]) -> str:
    if config.get("base_url"):
        return validate_base_url(config["base_url"], "base_url", PRODUCTION_URL)
    return SANDBOX_URL if config.get("sandbox") else PRODUCTION_URL


class PacedSession(requests.Session):
    """Every attempt waits for room in Intuit's windows, retries included: Intuit counts those too."""

    def __init__(self, throttle: Throttle):
        super().__init__()
        self.throttle = throttle

    def send(self, request: requests.PreparedRequest, **kwargs: Any) -> requests.Response:
        batch = urlsplit(request.url or "").path.endswith("/batch")
        self.throttle.acquire("all", *(("batch",) if batch else ()))
        return super().send(request, **kwargs)


class QuickBooksClient:
    def __init__(
        self,
        config: MutableMapping[str, Any],
        logger: logging.Logger | None = None,
        throttle: Throttle | None = None,
        max_retries: int = 6,
        timeout: tuple[float, float] = (10.0, 120.0),
    ):
        """``config`` is the connector's config, rewritten in place when the refresh token rotates."""
        for key in ("client_id", "client_secret", "refresh_token"):
            if not str(config.get(key) or "").strip():
                raise ValueError(f"`{key}` is required.")
        realm_id = realm_id_from(config)
        if config.get("token_url"):
            validate_base_url(config["token_url"], "token_url", INTUIT_TOKEN_URL)
        self.config = config
        self.realm_id = realm_id
        self.company_url = f"{api_root(config)}/v3/company/{self.realm_id}"
        self.logger = logger or logging.getLogger("airbyte.quickbooks")
        self.throttle = throttle or default_throttle()
        self.request_counter = RequestCounter()
        session = self.request_counter.attach(PacedSession(self.throttle))
        session.headers["Accept"] = "application/json"
        self.authenticator = build_authenticator(config)
        self._http = HttpClient(
            name="quickbooks",
            logger=self.logger,
            session=session,
            authenticator=self.authenticator,
            error_handler=QuickBooksErrorHandler(max_retries=max_retries, max_time=900),
            backoff_strategy=RetryAfterBackoff(),
            request_timeout=timeout,
        )

    def _request(self, method: str, path: str, params: Mapping[str, Any] | None = None,
                 json: Any = None, data: str | None = None, headers: Mapping[str, str] | None = None) -> Any:
        query = {"minorversion": MINOR_VERSION, **{k: v for k, v in (params or {}).items() if v is not None}}
        _, response = self._http.send_request(method, f"{self.company_url}{path}", request_kwargs={},
                                              params=query, json=json, data=data, headers=headers)
        if response.status_code >= 400:
            raise fault_from_response(response)
        body = response.json()
        fault = parse_fault(body, response.status_code)
        if fault is not None:  # QuickBooks can answer 200 with a Fault body
            raise fault
        return body

    # -- reads ---------------------------------------------------------------------------------

    def query(self, statement: str) -> dict[str, Any]:
        """``QueryResponse`` of one statement. Sent as POST so long ``IN`` lists never hit URL limits."""
        body = self._request("POST", "/query", data=statement, headers={"Content-Type": "application/text"})
        return body.get("QueryResponse") or {}

    def query_entities(self, entity: str, where: Sequence[str] = (), order_by: str | None = None,
                       page_size: int = MAX_QUERY_RESULTS) -> Iterator[list[dict[str, Any]]]:
        """Pages of ``entity`` rows via STARTPOSITION / MAXRESULTS; a short page is the last."""
        start = 1
        while True:
            rows = self.query(select(entity, where, order_by, start, page_size)).get(entity, [])
            yield rows
            if len(rows) < page_size:
                return
            start += page_size

    def count(self, entity: str, where: Sequence[str] = ()) -> int:
        return int(self.query(select(entity, where, count=True)).get("totalCount", 0))

    def read(self, entity: str, entity_id: str) -> dict[str, Any]:
        return self._request("GET", f"/{entity.lower()}/{entity_id}")[entity]

    def company_info(self) -> dict[str, Any]:
        return self._request("GET", f"/companyinfo/{self.realm_id}")["CompanyInfo"]

    def preferences(self) -> dict[str, Any]:
        """The company's ``Preferences`` (currency, custom transaction numbers, sales form settings)."""
        return self._request("GET", "/preferences")["Preferences"]

    def cdc(self, entities: Sequence[str], changed_since: str) -> dict[str, list[dict[str, Any]]]:
        """Changed (and deleted) objects per entity since ``changed_since`` (at most 30 days back)."""
        body = self._request("GET", "/cdc", params={"entities": ",".join(entities), "changedSince": changed_since})
        changed: dict[str, list[dict[str, Any]]] = {e: [] for e in entities}
        for block in body.get("CDCResponse", []):
            for response in block.get("QueryResponse", []):
                for entity in entities:
                    changed[entity].extend(response.get(entity, []))
        return changed

    # -- writes --------------------------------------------------------------------------------

    def create(self, entity: str, obj: Mapping[str, Any], request_id: str | None = None) -> dict[str, Any]:
        return self._request("POST", f"/{entity.lower()}", json=obj, params={"requestid": request_id})[entity]

    def update(self, entity: str, obj: Mapping[str, Any], request_id: str | None = None) -> dict[str, Any]:
        return self._request("POST", f"/{entity.lower()}", json=obj, params={"requestid": request_id})[entity]

    def batch(self, items: Sequence[Mapping[str, Any]], request_id: str | None = None) -> dict[str, dict[str, Any]]:
        """Run up to 30 operations in one call; answers by ``bId``. Items succeed or fail independently."""
        if len(items) > MAX_BATCH_ITEMS:
            raise ValueError(f"a batch holds at most {MAX_BATCH_ITEMS} items, got {len(items)}")
        body = self._request("POST", "/batch", json={"BatchItemRequest": list(items)}, params={"requestid": request_id})
        return {str(item.get("bId")): item for item in body.get("BatchItemResponse", [])}


def client_from_config(config: Mapping[str, Any], logger: logging.Logger | None = None,
                       max_retries: int = 6) -> QuickBooksClient:
    """The client for a connector config; a config_error for a missing or malformed setting."""
    # Credentials go only to Intuit (or a local sandbox): checked here, where every connector's config enters.
    validate_service_url(config.get("base_url"), "base_url", "quickbooks", PRODUCTION_URL)
    validate_service_url(config.get("token_url"), "token_url", "quickbooks", INTUIT_TOKEN_URL)
    try:
        # A mutable copy: the authenticator writes rotated tokens into it (and emits them as CONTROL messages).
        return QuickBooksClient(dict(config), logger=logger, max_retries=max_retries)
    except (ValueError, KeyError) as error:
        raise config_error(str(error)) from error


def batch_item_fault(item: Mapping[str, Any]) -> QuickBooksFault | None:
    """The fault of one ``BatchItemResponse``, if it failed."""
    return parse_fault({"Fault": item["Fault"]}) if item.get("Fault") else None
