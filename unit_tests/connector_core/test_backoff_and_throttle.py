from __future__ import annotations

import random

import pytest
import requests

from connector_core.backoff import RetryAfterBackoff, retry_after_seconds
from connector_core.http import validate_base_url
from connector_core.throttle import SlidingWindow, Throttle


def _response(headers: dict[str, str]) -> requests.Response:
    response = requests.Response()
    response.status_code = 429
    response.headers.update(headers)
    return response


@pytest.mark.parametrize(("header", "expected"), [("7", 7.0), ("0", 0.0), ("soon", None)])
def test_retry_after_seconds(header: str, expected: float | None) -> None:
    assert retry_after_seconds(_response({"Retry-After": header})) == expected


def test_retry_after_wins_over_exponential_and_is_capped() -> None:
    backoff = RetryAfterBackoff(base=1, cap=30, rng=random.Random(1))
    assert backoff.backoff_time(_response({"Retry-After": "12"}), attempt_count=0) == 12
    assert backoff.backoff_time(_response({"Retry-After": "3600"}), attempt_count=0) == 30


def test_without_retry_after_backoff_is_jittered_exponential_within_bounds() -> None:
    backoff = RetryAfterBackoff(base=1, cap=60, rng=random.Random(7))
    waits = [backoff.backoff_time(_response({}), attempt_count=n) for n in range(8)]
    for attempt, wait in enumerate(waits):
        assert 0 < wait <= min(60, 2 ** attempt)
    assert len(set(waits)) == len(waits)  # jitter: no two retries in lock-step


def test_throttle_keeps_every_window_inside_its_limit() -> None:
    now = [0.0]
    sleeps: list[float] = []

    def sleep(seconds: float) -> None:
        sleeps.append(seconds)
        now[0] += seconds

    throttle = Throttle({"all": [SlidingWindow(10, 1.0), SlidingWindow(15, 60.0)], "batch": [SlidingWindow(2, 60.0)]},
                        clock=lambda: now[0], sleep=sleep)
    calls = []
    for _ in range(12):
        throttle.acquire("all")
        calls.append(now[0])
    assert calls[:10] == [0.0] * 10 and calls[10] >= 1.0  # 10 a second
    throttle.acquire("all", "batch")
    throttle.acquire("all", "batch")
    before = now[0]
    throttle.acquire("all", "batch")  # the third batch call of the minute waits a minute
    assert now[0] - before >= 59


@pytest.mark.parametrize(
    ("url", "ok"),
    [("https://api.coperniq.io/v1/", True), ("http://127.0.0.1:8081/v1", True), ("http://localhost/v1", True),
     ("http://api.coperniq.io/v1", False), ("ftp://x", False), ("not a url", False)],
)
def test_base_url_requires_https_except_locally(url: str, ok: bool) -> None:
    if ok:
        assert not validate_base_url(url, "base_url", "https://x").endswith("/")
    else:
        with pytest.raises(ValueError):
            validate_base_url(url, "base_url", "https://x")
