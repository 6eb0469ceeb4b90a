"""Client-side pacing so a connector stays inside an API's published limits instead of hitting 429s."""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field


@dataclass
class SlidingWindow:
    """At most ``limit`` calls in any ``seconds``-long window."""

    limit: int
    seconds: float
    _calls: deque[float] = field(default_factory=deque)

    def wait_time(self, now: float) -> float:
        while self._calls and now - self._calls[0] >= self.seconds:
            self._calls.popleft()
        if len(self._calls) < self.limit:
            return 0.0
        return self.seconds - (now - self._calls[0])

    def record(self, now: float) -> None:
        self._calls.append(now)


class Throttle:
    """Named groups of sliding windows; a call waits until every window of its groups has room.

    QuickBooks, per company: 10 requests a second and 500 a minute for every call, and 40 batch
    calls a minute on top, so a batch call belongs to both the ``all`` and ``batch`` groups.
    """

    def __init__(self, groups: dict[str, list[SlidingWindow]],
                 clock: Callable[[], float] = time.monotonic, sleep: Callable[[float], None] = time.sleep):
        self._groups = groups
        self._clock = clock
        self._sleep = sleep
        self._lock = threading.Lock()
        self.waited = 0.0

    def acquire(self, *groups: str) -> None:
        windows = [w for g in groups for w in self._groups.get(g, [])]
        while True:
            with self._lock:
                now = self._clock()
                delay = max((w.wait_time(now) for w in windows), default=0.0)
                if delay <= 0:
                    for window in windows:
                        window.record(now)
                    return
            self.waited += delay
            self._sleep(delay)
