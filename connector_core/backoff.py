"""Backoff shared by every HTTP client: honour ``Retry-After``, else exponential with full jitter."""

from __future__ import annotations

import email.utils
import random
import time

import requests
from airbyte_cdk.sources.streams.http.error_handlers import BackoffStrategy, ErrorHandler


def retry_after_seconds(response: requests.Response) -> float | None:
    """``Retry-After`` as seconds: either delta-seconds or an HTTP date (RFC 9110)."""
    value = response.headers.get("Retry-After")
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        parsed = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None  # neither form: ignore it and fall back to exponential backoff
    return max(0.0, parsed.timestamp() - time.time())


# Module-level so tests can make retries instant without a config key users would see.
BASE_SECONDS = 1.0
CAP_SECONDS = 60.0


class RetryAfterBackoff(BackoffStrategy):
    """``Retry-After`` when the server sends it; otherwise ``uniform(0, min(cap, base * 2**attempt))``.

    Full jitter keeps parallel syncs of one company from retrying in lock-step. QuickBooks does
    not promise ``Retry-After`` on 429, so the exponential path is the common one there.
    """

    def __init__(self, base: float | None = None, cap: float | None = None, rng: random.Random | None = None):
        self.base = BASE_SECONDS if base is None else base
        self.cap = CAP_SECONDS if cap is None else cap
        self._rng = rng or random.Random()

    def backoff_time(
        self,
        response_or_exception: requests.Response | requests.RequestException | None,
        attempt_count: int,
    ) -> float | None:
        if isinstance(response_or_exception, requests.Response):
            header = retry_after_seconds(response_or_exception)
            if header is not None:
                return min(header, self.cap)
        ceiling = min(self.cap, self.base * 2 ** max(attempt_count, 0))
        # Never exactly zero: the CDK treats a falsy wait as "no opinion" and uses its own.
        return max(ceiling * 0.01, self._rng.uniform(0, ceiling))


class RetryBudget(ErrorHandler):
    """An error handler's retry budget (how many tries, how long); subclasses classify the answers."""

    def __init__(self, max_retries: int = 5, max_time: int = 600):
        self._max_retries = max_retries
        self._max_time = max_time

    @property
    def max_retries(self) -> int | None:
        return self._max_retries

    @property
    def max_time(self) -> int | None:
        return self._max_time
