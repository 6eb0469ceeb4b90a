"""A local sandbox of Coperniq's REST API (``/v1``): a real HTTP server over an in-memory backend.

    sandbox = make_sandbox(projects=200, seed=42)
    with sandbox:                       # starts the server (port 0 = a free port), stops on exit
        requests.get(f"{sandbox.base_url}/projects", headers={"x-api-key": sandbox.api_key})
        sandbox.backend.update_project(project_id, {"title": "New"})   # edit data as a user would
        sandbox.log.count("GET", r"/projects$")                          # requests answered
        sandbox.faults.inject(429, count=2, retry_after=1)              # the next two get a 429

See ``sandboxes/coperniq/README.md`` for what is implemented and the decisions taken where
Coperniq's reference is silent or inconsistent.
"""

from __future__ import annotations

import contextlib
import socket
import threading
from datetime import datetime

from sandboxes.coperniq.app import API_PREFIX, CoperniqApi, fault_response
from sandboxes.coperniq.models import Clock, CoperniqBackend, ManualClock, RateLimiter, utc_now
from sandboxes.coperniq.seed import SEED_ANCHOR, populate
from sandboxes.harness import FaultInjector, RequestLog, SandboxApp, SandboxServer

__all__ = ["DEFAULT_API_KEY", "CoperniqBackend", "CoperniqSandbox", "ManualClock", "RateLimiter", "make_sandbox"]

DEFAULT_API_KEY = "sandbox-key"


class CoperniqSandbox:
    """The backend, the WSGI app (auth, rate limits, log, faults) and the server that serves it."""

    def __init__(self, backend: CoperniqBackend, api_key: str = DEFAULT_API_KEY, daily_quota: int | None = 5000,
                 per_second_limit: int | None = 100, host: str = "127.0.0.1", port: int = 0):
        self.backend = backend
        self.api_key = api_key
        # the daily window follows the backend's clock, even if a test swaps the clock later
        self.rate_limiter = RateLimiter(lambda: backend.clock(), daily_quota=daily_quota,
                                        per_second=per_second_limit)
        self.api = CoperniqApi(backend, api_key, self.rate_limiter)
        self.app = SandboxApp(self.api, fault_response)
        self.server = SandboxServer(self.app, host=host, port=port)
        self._started = False

    @property
    def log(self) -> RequestLog:
        return self.app.log

    @property
    def faults(self) -> FaultInjector:
        return self.app.faults

    @property
    def url(self) -> str:
        """The server root (``http://127.0.0.1:PORT``); the admin API lives under ``/_sandbox``."""
        return self.server.url

    @property
    def base_url(self) -> str:
        """The API root a client is configured with: ``http://127.0.0.1:PORT/v1``."""
        return f"{self.server.url}{API_PREFIX}"

    @property
    def headers(self) -> dict[str, str]:
        return {"x-api-key": self.api_key}

    def start(self) -> CoperniqSandbox:
        if not self._started:
            self.server.start()
            self._started = True
        return self

    def stop(self) -> None:
        if self._started:
            # The harness's server checks for shutdown every 0.5 s; a throwaway connection wakes its
            # select loop at once, which keeps a suite of many short-lived sandboxes fast.
            waker = threading.Timer(0.02, self._wake)
            waker.start()
            self.server.stop()
            waker.cancel()
            self._started = False

    def _wake(self) -> None:
        host = "127.0.0.1" if self.server.host in ("0.0.0.0", "") else self.server.host
        with contextlib.suppress(OSError):  # already closed: nothing to wake
            socket.create_connection((host, self.server.port), timeout=1).close()

    def __enter__(self) -> CoperniqSandbox:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


def make_sandbox(
    api_key: str = DEFAULT_API_KEY,
    projects: int = 200,
    seed: int = 42,
    daily_quota: int | None = 5000,
    host: str = "127.0.0.1",
    port: int = 0,
    *,
    per_second_limit: int | None = 100,
    clock: Clock | None = None,
    anchor: datetime = SEED_ANCHOR,
) -> CoperniqSandbox:
    """A sandbox seeded with ``projects`` projects (and their contacts, invoices, catalog), not started.

    ``daily_quota`` / ``per_second_limit``: ``None`` switches the limit off. ``clock``: a callable
    returning an aware UTC datetime (e.g. :class:`ManualClock`) for writes' ``updatedAt`` and the
    daily quota window. ``anchor``: the "now" of the seeded history (fixed so a seed is reproducible).
    """
    backend = CoperniqBackend(clock=clock or utc_now)
    populate(backend, projects=projects, seed=seed, anchor=anchor)
    return CoperniqSandbox(backend, api_key=api_key, daily_quota=daily_quota, per_second_limit=per_second_limit,
                           host=host, port=port)
