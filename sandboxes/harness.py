"""What both sandboxes share: a real threaded HTTP server, a request log and fault injection.

Each sandbox is a plain WSGI handler (``Request -> Response``) wrapped in :class:`SandboxApp`,
which logs every API request (so tests and benchmarks can count them), applies injected faults
before the handler runs, and serves a small admin API under ``/_sandbox`` so a sandbox started
from its console script can be inspected and steered from another process:

- ``GET /_sandbox/requests``   the request log (``count`` and the last 1,000 entries)
- ``DELETE /_sandbox/requests`` clears the log
- ``POST /_sandbox/faults``    adds a fault, JSON body with the fields of :class:`Fault`
- ``DELETE /_sandbox/faults``  clears pending faults

Admin requests are neither logged nor subject to faults.
"""

from __future__ import annotations

import json
import logging
import re
import threading
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from typing import Any

from werkzeug.serving import BaseWSGIServer, make_server
from werkzeug.wrappers import Request, Response

ADMIN_PREFIX = "/_sandbox"

Handler = Callable[[Request], Response]
FaultResponder = Callable[[int, dict[str, str]], Response]


@dataclass(frozen=True)
class LoggedRequest:
    method: str
    path: str
    query: str
    status: int
    started_at: float
    duration: float
    fault: bool


class RequestLog:
    """Thread-safe log of every API request the sandbox answered (faults included)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._entries: list[LoggedRequest] = []

    def record(self, entry: LoggedRequest) -> None:
        with self._lock:
            self._entries.append(entry)

    def entries(self) -> list[LoggedRequest]:
        with self._lock:
            return list(self._entries)

    def count(self, method: str | None = None, path: str | None = None) -> int:
        """Requests matching ``method`` (exact) and ``path`` (a regex searched in the path)."""
        pattern = re.compile(path) if path else None
        return sum(
            1
            for e in self.entries()
            if (method is None or e.method == method.upper()) and (pattern is None or pattern.search(e.path))
        )

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()


@dataclass
class Fault:
    """A fault applied to the next ``count`` requests matching ``method`` and ``path``.

    ``status`` answers with that HTTP status and the API's own error body; ``retry_after`` adds
    a ``Retry-After`` header; ``latency`` (seconds) delays the request before anything else;
    ``drop`` closes the connection without an answer.
    """

    status: int | None = None
    count: int = 1
    method: str | None = None
    path: str | None = None
    retry_after: int | None = None
    latency: float = 0.0
    drop: bool = False

    def matches(self, method: str, path: str) -> bool:
        if self.method and self.method.upper() != method:
            return False
        return not (self.path and not re.search(self.path, path))


class FaultInjector:
    """Pending faults, consumed first-come first-served by matching requests."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._faults: list[Fault] = []

    def add(self, fault: Fault) -> Fault:
        with self._lock:
            self._faults.append(fault)
        return fault

    def inject(self, status: int, count: int = 1, **match: Any) -> Fault:
        """Answer the next ``count`` matching requests with ``status``."""
        return self.add(Fault(status=status, count=count, **match))

    def delay(self, seconds: float, count: int = 1, **match: Any) -> Fault:
        return self.add(Fault(latency=seconds, count=count, **match))

    def drop_connection(self, count: int = 1, **match: Any) -> Fault:
        return self.add(Fault(drop=True, count=count, **match))

    def take(self, method: str, path: str) -> Fault | None:
        with self._lock:
            for fault in self._faults:
                if fault.count > 0 and fault.matches(method, path):
                    fault.count -= 1
                    if fault.count == 0:
                        self._faults.remove(fault)
                    return fault
        return None

    def pending(self) -> list[Fault]:
        with self._lock:
            return list(self._faults)

    def clear(self) -> None:
        with self._lock:
            self._faults.clear()


def json_response(body: Any, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    return Response(json.dumps(body), status=status, headers=headers, mimetype="application/json")


@dataclass
class SandboxApp:
    """WSGI app: admin API, faults, then the sandbox's own handler; logs every API request."""

    handler: Handler
    fault_responder: FaultResponder
    log: RequestLog = field(default_factory=RequestLog)
    faults: FaultInjector = field(default_factory=FaultInjector)

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Any:
        request = Request(environ)
        if request.path.startswith(ADMIN_PREFIX):
            return self._admin(request)(environ, start_response)
        started = time.monotonic()
        fault = self.faults.take(request.method, request.path)
        response: Response | None = None
        if fault is not None:
            if fault.latency:
                time.sleep(fault.latency)
            if fault.drop:
                self._log(request, 0, started, fault=True)
                _drop(environ)
            if fault.status:
                headers = {"Retry-After": str(fault.retry_after)} if fault.retry_after is not None else {}
                response = self.fault_responder(fault.status, headers)
        if response is None:
            response = self.handler(request)
        self._log(request, response.status_code, started, fault=fault is not None and bool(fault.status))
        return response(environ, start_response)

    def _log(self, request: Request, status: int, started: float, fault: bool) -> None:
        self.log.record(
            LoggedRequest(
                method=request.method,
                path=request.path,
                query=request.query_string.decode("latin-1"),
                status=status,
                started_at=started,
                duration=time.monotonic() - started,
                fault=fault,
            )
        )

    def _admin(self, request: Request) -> Response:
        what = request.path[len(ADMIN_PREFIX) :].strip("/")
        if what == "requests" and request.method == "GET":
            entries = self.log.entries()
            return json_response({"count": len(entries), "requests": [asdict(e) for e in entries[-1000:]]})
        if what == "requests" and request.method == "DELETE":
            self.log.clear()
            return json_response({"cleared": True})
        if what == "faults" and request.method == "POST":
            try:
                fault = self.faults.add(Fault(**(request.get_json(force=True) or {})))
            except (TypeError, ValueError) as error:
                return json_response({"message": f"bad fault: {error}"}, status=400)
            return json_response(asdict(fault), status=201)
        if what == "faults" and request.method == "GET":
            return json_response([asdict(f) for f in self.faults.pending()])
        if what == "faults" and request.method == "DELETE":
            self.faults.clear()
            return json_response({"cleared": True})
        return json_response({"message": f"unknown admin call {request.method} {request.path}"}, status=404)


def _drop(environ: dict[str, Any]) -> None:
    """Close the client's connection mid-request, as a dropped network link would."""
    sock = environ.get("werkzeug.socket")
    if sock is not None:
        try:
            sock.shutdown(2)
        finally:
            sock.close()
    # werkzeug treats a ConnectionError from the app as a dropped connection and stays quiet.
    raise ConnectionResetError("sandbox fault: connection dropped")


class SandboxServer:
    """Runs a WSGI app on a real threaded HTTP server in a background thread.

    ``port=0`` picks a free port; the chosen one is in :attr:`port` and :attr:`url`.
    """

    def __init__(self, app: Callable[..., Any], host: str = "127.0.0.1", port: int = 0, quiet: bool = True):
        self.app = app
        self.host = host
        self._requested_port = port
        self._server: BaseWSGIServer | None = None
        self._thread: threading.Thread | None = None
        if quiet:
            logging.getLogger("werkzeug").setLevel(logging.ERROR)

    @property
    def port(self) -> int:
        assert self._server is not None, "server not started"
        return self._server.server_port

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def start(self) -> SandboxServer:
        self._server = make_server(self.host, self._requested_port, self.app, threaded=True)
        self._server.daemon_threads = True
        # A short poll interval makes stop() prompt (the default 0.5 s adds up over a test suite).
        self._thread = threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.05},
                                        name="sandbox", daemon=True)
        self._thread.start()
        return self

    def serve_forever(self) -> None:
        """Blocks until interrupted (the console scripts' mode)."""
        if self._server is None:
            self._server = make_server(self.host, self._requested_port, self.app, threaded=True)
        self._server.serve_forever()

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)

    def __enter__(self) -> SandboxServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
