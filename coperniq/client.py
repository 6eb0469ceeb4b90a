"""The Coperniq REST API client shared by source-coperniq and destination-coperniq.

One method per API operation (named after the reference's operationId), one private
``_request`` for auth, retries, request counting and error classification. Retries, backoff and
the retry budget come from the CDK's ``HttpClient``.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from functools import partialmethod
from typing import Any

import requests
from airbyte_cdk.sources.streams.http.http_client import HttpClient

from connector_core.backoff import RetryAfterBackoff
from connector_core.config import config_error, validate_service_url
from connector_core.http import RequestCounter, validate_base_url
from coperniq.errors import RATE_LIMIT_REMAINING, CoperniqError, CoperniqErrorHandler, CoperniqUncertainWrite

DEFAULT_BASE_URL = "https://api.coperniq.io/v1"
MAX_PAGE_SIZE = 100  # the documented maximum of every list endpoint


class ApiKeyAuth(requests.auth.AuthBase):
    """Coperniq authenticates every call with the ``x-api-key`` header."""

    def __init__(self, api_key: str):
        self._api_key = api_key

    def __call__(self, request: requests.PreparedRequest) -> requests.PreparedRequest:
        request.headers["x-api-key"] = self._api_key
        return request


@dataclass(frozen=True)
class Page:
    records: list[dict[str, Any]]
    has_more: bool


class CoperniqClient:
    def __init__(
        self,
        api_key: str,
        base_url: str = DEFAULT_BASE_URL,
        logger: logging.Logger | None = None,
        max_retries: int = 5,
        backoff: RetryAfterBackoff | None = None,
        timeout: tuple[float, float] = (10.0, 120.0),
    ):
        self.base_url = validate_base_url(base_url, "base_url", DEFAULT_BASE_URL)
        self.logger = logger or logging.getLogger("airbyte.coperniq")
        self.request_counter = RequestCounter()  # every attempt, retries included: the daily quota counts them all
        self.rate_limit_remaining: int | None = None
        session = self.request_counter.attach(requests.Session())
        session.headers["Accept"] = "application/json"
        session.hooks["response"].append(self._observe_quota)
        self._backoff = backoff or RetryAfterBackoff()
        self.max_retries = max_retries

        def http_client(retry_uncertain: bool) -> HttpClient:
            return HttpClient(name="coperniq", logger=self.logger, session=session, authenticator=ApiKeyAuth(api_key),
                              error_handler=CoperniqErrorHandler(max_retries=max_retries,
                                                                 retry_uncertain=retry_uncertain),
                              backoff_strategy=self._backoff, request_timeout=timeout)

        self._http = http_client(retry_uncertain=True)
        self._http_create = http_client(retry_uncertain=False)  # see _create

    def _observe_quota(self, response: requests.Response, *args: Any, **kwargs: Any) -> None:
        remaining = response.headers.get(RATE_LIMIT_REMAINING)
        if remaining is not None and remaining.isdigit():
            self.rate_limit_remaining = int(remaining)

    def _request(self, method: str, path: str, params: Mapping[str, Any] | None = None,
                 json: Mapping[str, Any] | None = None, http: HttpClient | None = None) -> Any:
        clean = {k: v for k, v in (params or {}).items() if v is not None}
        _, response = (http or self._http).send_request(method, f"{self.base_url}{path}", request_kwargs={},
                                                        params=clean, json=json)
        if response is None or response.status_code >= 500:  # only from _http_create
            status = "no answer" if response is None else f"{response.status_code}"
            raise CoperniqUncertainWrite(0 if response is None else response.status_code,
                                         f"{method} {path} got {status}; it may or may not have been applied")
        if response.status_code >= 400:
            raise CoperniqError.from_response(response)
        if not response.content:
            return None
        return response.json()

    def _create(self, path: str, body: Mapping[str, Any],
                find_created: Callable[[], dict[str, Any] | None] | None) -> dict[str, Any]:
        """POST a new record exactly once.

        A POST is not idempotent: when the connection breaks or a 5xx comes back, the record may
        exist already. Before each new attempt ``find_created`` looks for it; a found record is the
        answer. Without ``find_created`` the outcome stays unknown and is raised.
        """
        for attempt in range(self.max_retries + 1):
            try:
                return self._request("POST", path, json=body, http=self._http_create)
            except CoperniqUncertainWrite as error:
                if find_created is None or attempt == self.max_retries:
                    raise
                self.logger.info(f"{error}; checking whether it was created before trying again.")
                time.sleep(self._backoff.backoff_time(None, attempt) or 0)
                created = find_created()
                if created is not None:
                    return created
        raise AssertionError("unreachable")  # the loop returns or raises

    # -- lists ---------------------------------------------------------------------------------

    def list_page(
        self,
        resource: str,
        page: int,
        page_size: int = MAX_PAGE_SIZE,
        updated_after: str | None = None,
        updated_before: str | None = None,
        order_by: str = "asc",
        **filters: Any,
    ) -> Page:
        """One page of ``/projects``, ``/contacts`` or ``/invoices``.

        ``/projects`` and ``/contacts`` answer a bare array (a short page is the last one);
        ``/invoices`` answers ``{items, page, page_size, has_more}``.
        """
        body = self._request("GET", f"/{resource}", params={
            "page": page, "page_size": page_size, "updated_after": updated_after,
            "updated_before": updated_before, "order_by": order_by, **filters,
        })
        if isinstance(body, dict):
            items = list(body.get("items") or [])
            return Page(items, bool(body.get("has_more")))
        items = list(body or [])
        return Page(items, len(items) >= page_size)

    def list_catalog_items(self, page: int = 1, page_size: int = MAX_PAGE_SIZE) -> list[dict[str, Any]]:
        body = self._request("GET", "/catalog-items", params={"page": page, "page_size": page_size})
        return list(body.get("items", []) if isinstance(body, dict) else body or [])

    def get_catalog_item(self, item_id: int) -> dict[str, Any]:
        return self._request("GET", f"/catalog-items/{item_id}")

    # -- projects ------------------------------------------------------------------------------

    def get_project(self, project_id: int) -> dict[str, Any]:
        # Archived projects are hidden by default; a link to one must still resolve.
        return self._request("GET", f"/projects/{project_id}", params={"include_archived": "true"})

    def create_project(self, body: Mapping[str, Any], match_by: str | None = None,
                       match_found_strategy: str | None = None) -> dict[str, Any]:
        return self._request("POST", "/projects", json=body,
                             params={"match_by": match_by, "match_found_strategy": match_found_strategy})

    def update_project(self, project_id: int, body: Mapping[str, Any]) -> dict[str, Any]:
        return self._request("PATCH", f"/projects/{project_id}", json=body)

    def search_projects(self, prop: str, op: str, value: str, page: int = 1, page_size: int = MAX_PAGE_SIZE,
                        include_archived: bool = True) -> list[dict[str, Any]]:
        """One page of ``GET /projects/search`` with one filter (``prop1``/``op1``/``value1``); a bare array."""
        body = self._request("GET", "/projects/search", params={
            "prop1": prop, "op1": op, "value1": value, "page": page, "page_size": page_size,
            "include_archived": "true" if include_archived else None,
        })
        return list(body or [])

    def projects_by_id(self, project_ids: list[int]) -> list[dict[str, Any]]:
        """The projects (archived ones too) among ``project_ids``: one search request per 100 ids."""
        found: list[dict[str, Any]] = []
        for start in range(0, len(project_ids), MAX_PAGE_SIZE):
            chunk = project_ids[start:start + MAX_PAGE_SIZE]
            found += self.search_projects("id", "in", ",".join(str(i) for i in chunk), page_size=MAX_PAGE_SIZE)
        return found

    def list_project_invoices(self, project_id: int) -> list[dict[str, Any]]:
        """Every invoice of one project (``GET /projects/{projectId}/invoices``, all pages)."""
        invoices: list[dict[str, Any]] = []
        page = 1
        while True:
            body = self._request("GET", f"/projects/{project_id}/invoices",
                                 params={"page": page, "page_size": MAX_PAGE_SIZE})
            invoices += list(body.get("items") or [])
            if not body.get("has_more"):
                return invoices
            page += 1

    # -- contacts ------------------------------------------------------------------------------

    def search_contacts(self, text: str) -> list[dict[str, Any]]:
        """Contacts whose name, emails or phones match ``text`` (``GET /contacts?q=``, first page)."""
        return self.list_page("contacts", page=1, page_size=MAX_PAGE_SIZE, q=text).records

    # -- contacts and invoices: read, create exactly once, update ----------------------------------

    def _get_record(self, resource: str, record_id: int) -> dict[str, Any]:
        return self._request("GET", f"/{resource}/{record_id}")

    def _create_record(self, resource: str, body: Mapping[str, Any],
                       find_created: Callable[[], dict[str, Any] | None] | None = None) -> dict[str, Any]:
        return self._create(f"/{resource}", body, find_created)

    def _update_record(self, resource: str, record_id: int, body: Mapping[str, Any]) -> dict[str, Any]:
        return self._request("PATCH", f"/{resource}/{record_id}", json=body)

    # One method per operation of the reference, the same three for each resource.
    get_contact = partialmethod(_get_record, "contacts")
    create_contact = partialmethod(_create_record, "contacts")
    update_contact = partialmethod(_update_record, "contacts")
    get_invoice = partialmethod(_get_record, "invoices")
    create_invoice = partialmethod(_create_record, "invoices")
    update_invoice = partialmethod(_update_record, "invoices")

def client_from_config(config: Mapping[str, Any], logger: logging.Logger | None = None,
                       max_retries: int = 5) -> CoperniqClient:
    """The client for a connector config; a config_error for a missing key or a bad base_url."""
    api_key = str(config.get("api_key") or "").strip()
    if not api_key:
        raise config_error("`api_key` is required: create one in Coperniq under Company settings > API keys.")
    # The API key goes only to Coperniq (or a local sandbox).
    validate_service_url(config.get("base_url"), "base_url", "coperniq", DEFAULT_BASE_URL)
    try:
        return CoperniqClient(api_key, base_url=config.get("base_url") or DEFAULT_BASE_URL, logger=logger,
                              max_retries=max_retries)
    except ValueError as error:
        raise config_error(str(error)) from error
