"""The connectors' client of the bridge's JSON API (``/api/v1``, header ``x-api-key``).

Retries connection errors, 429 and 5xx with the project's backoff (a bridge restarting during a sync
is waited for, not fatal); what the other answers mean is decided in :mod:`qbd.errors`.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator, Mapping
from typing import Any

import requests

from connector_core.backoff import RetryAfterBackoff
from connector_core.config import config_error
from connector_core.http import RequestCounter, validate_base_url
from qbd.errors import RETRY_STATUSES, BridgeError, refusal


class BridgeClient:
    def __init__(self, bridge_url: str, api_key: str, logger: logging.Logger | None = None, max_retries: int = 6,
                 timeout: float = 60):
        self.base = validate_base_url(bridge_url, "bridge_url", "https://bridge.example.com")
        self.logger = logger or logging.getLogger("qbd.client")
        self.max_retries = max_retries
        self.timeout = timeout
        self.request_counter = RequestCounter()
        self.session = self.request_counter.attach(requests.Session())
        self.session.headers.update({"x-api-key": api_key, "Accept": "application/json"})
        self.backoff = RetryAfterBackoff()

    def _request(self, method: str, path: str, **kwargs: Any) -> Any:
        url = f"{self.base}/api/v1/{path}"
        for attempt in range(self.max_retries + 1):
            try:
                response = self.session.request(method, url, timeout=self.timeout, **kwargs)
            except requests.RequestException as error:
                if attempt >= self.max_retries:
                    raise BridgeError(f"the bridge at {self.base} did not answer: {error}") from error
                wait = self.backoff.backoff_time(error, attempt)
            else:
                if response.status_code not in RETRY_STATUSES:
                    refused = refusal(response)
                    if refused is not None:
                        raise refused
                    return response.json()
                if attempt >= self.max_retries:
                    raise BridgeError(f"the bridge answered {response.status_code} {self.max_retries + 1} times")
                wait = self.backoff.backoff_time(response, attempt)
            self.logger.info(f"Bridge not available, retrying in {wait:.1f} s.")
            time.sleep(wait or 0.1)
        raise BridgeError("unreachable")

    def status(self) -> dict[str, Any]:
        return self._request("GET", "status")

    def records(self, stream: str, after_seq: int = 0, limit: int = 1000) -> Iterator[list[dict[str, Any]]]:
        """Pages of mirror records changed after ``after_seq`` (each carries ``_bridge_seq``)."""
        while True:
            page = self._request("GET", f"records/{stream}", params={"after_seq": after_seq, "limit": limit})
            if page["records"]:
                yield page["records"]
            after_seq = page["last_seq"]
            if not page.get("has_more"):
                return

    def all_records(self, stream: str) -> list[dict[str, Any]]:
        return [record for page in self.records(stream) for record in page]

    def enqueue(self, jobs: list[Mapping[str, Any]]) -> list[dict[str, Any]]:
        """Queue writes durably (idempotent by key); the answer lists each job as the bridge holds it."""
        if not jobs:
            return []
        return self._request("POST", "jobs", json={"jobs": list(jobs)})["jobs"]

    def jobs(self, statuses: tuple[str, ...] = (), unreported: bool = False) -> list[dict[str, Any]]:
        params = {"status": ",".join(statuses)}
        if unreported:
            params["unreported"] = "true"
        return self._request("GET", "jobs", params=params)["jobs"]

    def acknowledge(self, job_ids: list[int]) -> None:
        if job_ids:
            self._request("POST", "jobs/acknowledge", json={"ids": job_ids})


def client_from_config(config: Mapping[str, Any], logger: logging.Logger | None = None,
                       max_retries: int = 6) -> BridgeClient:
    url, key = config.get("bridge_url"), config.get("api_key")
    if not url or not key:
        raise config_error("`bridge_url` and `api_key` are required (the bridge's address and its --api-key).")
    try:
        return BridgeClient(str(url), str(key), logger, max_retries=max_retries)
    except ValueError as error:
        raise config_error(str(error)) from error
