"""Every attempt the QuickBooks client makes, retries included, passes through Intuit's pacing windows."""

from __future__ import annotations

from typing import Any

import pytest
import requests_mock as rm

from connector_core import backoff
from qbo.client import QuickBooksClient

TOKEN_URL = "https://oauth.example.com/tokens"
API = "https://quickbooks.example.com/v3/company/42"


class CountingThrottle:
    def __init__(self) -> None:
        self.calls: list[tuple[str, ...]] = []

    def acquire(self, *groups: str) -> None:
        self.calls.append(groups)


@pytest.fixture(autouse=True)
def instant_retries(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(backoff, "BASE_SECONDS", 0.001)


def client(throttle: Any) -> QuickBooksClient:
    config = {"client_id": "app", "client_secret": "s", "refresh_token": "rt", "realm_id": "42",
              "base_url": "https://quickbooks.example.com", "token_url": TOKEN_URL}
    return QuickBooksClient(config, throttle=throttle)


def test_retries_are_paced_like_first_attempts_and_batches_count_as_batches(requests_mock: rm.Mocker) -> None:
    requests_mock.post(TOKEN_URL, json={"access_token": "at", "refresh_token": "rt2", "expires_in": 3600})
    requests_mock.post(f"{API}/query", [{"status_code": 503, "json": {}}, {"json": {"QueryResponse": {}}}])
    requests_mock.post(f"{API}/batch", json={"BatchItemResponse": []})
    throttle = CountingThrottle()
    quickbooks = client(throttle)
    quickbooks.query("SELECT * FROM Customer")
    quickbooks.batch([], request_id="r1")
    # Two attempts at the query (the 503 and its retry), one batch; the token call is Intuit's, not the company's.
    assert throttle.calls == [("all",), ("all",), ("all", "batch")]
