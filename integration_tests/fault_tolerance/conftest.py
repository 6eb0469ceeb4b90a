"""Shared machinery of the fault-tolerance suite.

- ``--fault-full`` and the ``fault_full`` marker (in ``options.py``): the slow full matrix runs only when asked.
- :func:`run`: runs one connector console script over pipes like :func:`connector_core.runner.run_connector`,
  but can kill it at a chosen message, keeps the raw stdout and stderr, and records every run in
  :data:`TRANSCRIPT` so that the secret scan (an autouse fixture) sees all output of every test.
- :class:`Pipe`: one connection as the platform keeps it (configs updated by CONTROL messages, the
  states the destination acknowledged), including after a run that was killed.
- :class:`Intercept`: acts on the n-th matching request a sandbox receives, before or after the
  sandbox handles it (kill the connector mid-request, expire tokens, lose the response).
- :class:`World` and :func:`build_world`: the two sandboxes and the pipe of one flow
  (``qbo:in:1`` ... ``qbo:out:2``), seeded so that the flow has work to do, and the exactly-once
  check of what landed in the target sandbox.
"""

from __future__ import annotations

import contextlib
import json
import logging
import math
import os
import random
import re
import socket
import subprocess
import threading
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from airbyte_cdk.models import AirbyteMessage, AirbyteMessageSerializer, Type

from connector_core.runner import RunResult, configured_catalog, script
from mapping.addresses import format_address
from mapping.links import (
    clean_display_name,
    invoice_id_from_note,
    project_id_from_notes,
    qbo_invoice_id_from_description,
    suffixed_display_name,
)
from mapping.people import same_email
from sandboxes.coperniq import CoperniqSandbox
from sandboxes.quickbooks import QuickBooksSandbox

# -- the full matrix ----------------------------------------------------------------------------------

def matrix(fast: Iterable[Any], full: Iterable[Any], name: Callable[[Any], str] = str) -> list[Any]:
    """pytest params: the ``fast`` values run by default, the ``full`` ones only with ``--fault-full``."""
    params = [pytest.param(value, id=name(value)) for value in fast]
    params += [pytest.param(value, id=name(value), marks=pytest.mark.fault_full) for value in full]
    return params


# -- running connectors --------------------------------------------------------------------------------

CONNECTOR_TIMEOUT = 240.0
SECRET_KEYS = frozenset({"api_key", "client_secret", "refresh_token", "access_token"})


@dataclass
class Run(RunResult):
    """One connector process: its parsed messages plus the raw output and how it ended."""

    argv: list[str] = field(default_factory=list)
    stdout: str = ""  # everything the process printed, for the secret scan
    config: dict[str, Any] = field(default_factory=dict)
    timed_out: bool = False
    cut: bool = False  # stopped by ``stop``: ``messages`` end with the message it stopped at

    @property
    def name(self) -> str:
        return f"{Path(self.argv[0]).name} {self.argv[1]}" if len(self.argv) > 1 else "?"

    @property
    def killed(self) -> bool:
        return self.returncode < 0

    def describe(self) -> str:
        """What went wrong, for assertion messages (error traces, WARN logs, the end of stderr)."""
        errors = [{k: e.get(k) for k in ("message", "failure_type", "internal_message")} for e in self.errors]
        return (f"{self.name} exited {self.returncode}; errors={errors}; warnings={self.logs('WARN')[:10]}; "
                f"stderr tail={self.stderr[-1500:]!r}")

    def ok(self) -> bool:
        return self.returncode == 0 and not self.errors


TRANSCRIPT: list[Run] = []  # every run of the current test, scanned for secrets at its end


def run(args: list[str], *, config: Mapping[str, Any] | None = None, stdin_lines: Iterable[str] | None = None,
        env: Mapping[str, str] | None = None, stop: Callable[[dict[str, Any]], bool] | None = None,
        started: Callable[[subprocess.Popen[str]], None] | None = None,
        timeout: float = CONNECTOR_TIMEOUT) -> Run:
    """Run a console script; ``stop(message)`` returning True kills it (SIGKILL) right after that message.

    The result's ``messages`` then end with that message, as if the process had died right after
    printing it (whatever it printed meanwhile is still in ``stdout`` for the secret scan): what the
    platform gets does not depend on how fast this process reads the pipe.
    """
    process = subprocess.Popen(args, stdin=subprocess.PIPE if stdin_lines is not None else subprocess.DEVNULL,
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, encoding="utf-8",
                               env={**os.environ, **(env or {})})
    if started is not None:
        started(process)
    stderr: list[str] = []
    timed_out = threading.Event()

    def drain() -> None:
        assert process.stderr is not None
        stderr.append(process.stderr.read())

    def feed() -> None:
        assert process.stdin is not None
        try:
            for line in stdin_lines or ():
                process.stdin.write(line if line.endswith("\n") else line + "\n")
            process.stdin.close()
        except (BrokenPipeError, OSError, ValueError):
            pass  # the process died (killed, or it failed early): the rest is not read

    def expire() -> None:
        timed_out.set()
        process.kill()

    helpers = [threading.Thread(target=drain, daemon=True)]
    if stdin_lines is not None:
        helpers.append(threading.Thread(target=feed, daemon=True))
    for helper in helpers:
        helper.start()
    watchdog = threading.Timer(timeout, expire)
    watchdog.start()
    lines: list[str] = []
    messages: list[dict[str, Any]] = []
    cut: int | None = None
    try:
        assert process.stdout is not None
        for line in process.stdout:
            lines.append(line)
            message = parse_line(line)
            if message is None:
                continue
            messages.append(message)
            if stop is not None and cut is None and stop(message):
                cut = len(messages)
                process.kill()
    finally:
        process.wait()
        watchdog.cancel()
        for helper in helpers:
            helper.join(timeout=30)
    result = Run(process.returncode, messages[:cut], "".join(stderr), argv=list(args), stdout="".join(lines),
                 config=dict(config or {}), timed_out=timed_out.is_set(), cut=cut is not None)
    TRANSCRIPT.append(result)
    assert not result.timed_out, f"{result.name} ran longer than {timeout} s and was killed: {result.describe()}"
    return result


def parse_line(line: str) -> dict[str, Any] | None:
    line = line.strip()
    if not line.startswith("{"):
        return None
    try:
        message = json.loads(line)
    except ValueError:
        return None
    return message if isinstance(message, dict) else None


def after_messages(kind: str, count: int) -> Callable[[dict[str, Any]], bool]:
    """A ``stop`` predicate: true at the ``count``-th message of type ``kind`` (RECORD, STATE)."""
    seen = 0

    def stop(message: dict[str, Any]) -> bool:
        nonlocal seen
        if message.get("type") == kind:
            seen += 1
        return seen >= count

    return stop


def after_records(count: int) -> Callable[[dict[str, Any]], bool]:
    return after_messages("RECORD", count)


def after_states(count: int) -> Callable[[dict[str, Any]], bool]:
    return after_messages("STATE", count)


def write_json(directory: Path, name: str, payload: Any) -> str:
    path = directory / name
    path.write_text(json.dumps(payload))
    return str(path)


def record_line(stream: str, data: Any) -> str:
    return json.dumps({"type": "RECORD", "record": {"stream": stream, "data": data, "emitted_at": 0}})


def state_line(stream: str, state: Mapping[str, Any]) -> str:
    return json.dumps({"type": "STATE", "state": {"type": "STREAM", "stream": {
        "stream_descriptor": {"name": stream}, "stream_state": dict(state)}}})


def destination_catalog(streams: Iterable[str], primary_key: str) -> dict[str, Any]:
    """A configured catalog for a destination fed by hand (what the platform passes to ``write``)."""
    return {"streams": [{"stream": {"name": name, "json_schema": {"type": "object"},
                                    "supported_sync_modes": ["full_refresh", "incremental"]},
                         "sync_mode": "incremental", "destination_sync_mode": "append_dedup",
                         "primary_key": [[primary_key]]} for name in streams]}


# -- a connection as the platform keeps it -------------------------------------------------------------


def _discover(source: str, config: Mapping[str, Any]) -> dict[str, Any]:
    """Discover in-process (no request is made): one interpreter start less per test."""
    if source == "source-coperniq":
        from source_coperniq import SourceCoperniq as Source
    else:
        from source_quickbooks import SourceQuickbooks as Source
    catalog = Source().discover(logging.getLogger("fault-tolerance"), dict(config))
    return AirbyteMessageSerializer.dump(AirbyteMessage(type=Type.CATALOG, catalog=catalog))["catalog"]


@dataclass
class Pipe:
    """``source read | destination write`` with what the platform persists between attempts."""

    source: str
    source_config: dict[str, Any]
    destination: str
    destination_config: dict[str, Any]
    streams: tuple[str, ...]
    workdir: Path
    state: dict[str, dict[str, Any]] = field(default_factory=dict)
    source_process: subprocess.Popen[str] | None = None
    destination_process: subprocess.Popen[str] | None = None
    _catalog: dict[str, Any] | None = None

    def catalog(self) -> dict[str, Any]:
        if self._catalog is None:
            self._catalog = configured_catalog(_discover(self.source, self.source_config), True, self.streams)
        return self._catalog

    def _started(self, role: str) -> Callable[[subprocess.Popen[str]], None]:
        def remember(process: subprocess.Popen[str]) -> None:
            setattr(self, f"{role}_process", process)
        return remember

    def read(self, stop: Callable[[dict[str, Any]], bool] | None = None,
             env: Mapping[str, str] | None = None) -> Run:
        args = [script(self.source), "read",
                "--config", write_json(self.workdir, "source.json", self.source_config),
                "--catalog", write_json(self.workdir, "catalog.json", self.catalog())]
        if self.state:
            args += ["--state", write_json(self.workdir, "state.json", list(self.state.values()))]
        result = run(args, config=self.source_config, stop=stop, env=env, started=self._started("source"))
        for update in result.config_updates:  # persisted even when the process died later
            self.source_config = update
        return result

    def write(self, lines: Iterable[str], stop: Callable[[dict[str, Any]], bool] | None = None,
              env: Mapping[str, str] | None = None) -> Run:
        args = [script(self.destination), "write",
                "--config", write_json(self.workdir, "destination.json", self.destination_config),
                "--catalog", write_json(self.workdir, "catalog.json", self.catalog())]
        result = run(args, config=self.destination_config, stdin_lines=list(lines), stop=stop, env=env,
                     started=self._started("destination"))
        for update in result.config_updates:
            self.destination_config = update
        for state in result.states:  # only what the destination acknowledged, even if it was killed
            name = state.get("stream", {}).get("stream_descriptor", {}).get("name")
            if name:
                self.state[name] = {"type": "STREAM", "stream": state["stream"]}
        return result

    def sync(self, env: Mapping[str, str] | None = None) -> tuple[Run, Run]:
        read = self.read(env=env)
        return read, self.write(deliverable(read), env=env)


def deliverable(result: RunResult) -> list[str]:
    """The lines the platform forwards from a source to its destination: RECORD and STATE, in order."""
    return [json.dumps(m) for m in result.messages if m.get("type") in ("RECORD", "STATE")]


# -- acting on one request of a sandbox ----------------------------------------------------------------


def drop(environ: Mapping[str, Any]) -> None:
    """Close the client's connection without an answer (as a broken link would)."""
    sock = environ.get("werkzeug.socket")
    if isinstance(sock, socket.socket):
        with contextlib.suppress(OSError):
            sock.shutdown(socket.SHUT_RDWR)
        sock.close()
    raise ConnectionResetError("fault-tolerance suite: connection dropped")


class Intercept:
    """On the ``nth`` request matching ``method``/``path`` (a regex searched in the path), call ``before()``
    and then let the sandbox handle it (``then="handle"``), drop it unhandled (``"drop"``), handle it and
    drop the connection instead of answering (``"lose"``: committed, but the client never hears so), or
    answer what ``then()`` returns instead (e.g. the sandbox's own error response for a status).

    Use as a context manager; interceptors nest (each wraps the handler the previous one installed).
    """

    def __init__(self, sandbox: CoperniqSandbox | QuickBooksSandbox, path: str, nth: int = 1,
                 method: str | Iterable[str] | None = None, before: Callable[[], None] | None = None,
                 then: str | Callable[[], Any] = "handle"):
        assert callable(then) or then in ("handle", "drop", "lose"), then
        self.sandbox = sandbox
        self.pattern = re.compile(path)
        methods = [method] if isinstance(method, str) else list(method or [])
        self.methods = {m.upper() for m in methods} or None
        self.nth = nth
        self.before = before
        self.then = then
        self.seen = 0
        self.fired = threading.Event()
        self._lock = threading.Lock()
        self._original: Callable[..., Any] | None = None

    def __enter__(self) -> Intercept:
        app = self.sandbox.app
        self._original = original = app.handler

        def handler(request: Any) -> Any:
            if (self.methods is None or request.method in self.methods) and self.pattern.search(request.path):
                with self._lock:
                    self.seen += 1
                    hit = self.seen == self.nth
                if hit:
                    self.fired.set()
                    if self.before is not None:
                        self.before()
                    if callable(self.then):
                        return self.then()
                    if self.then == "drop":
                        drop(request.environ)
                    if self.then == "lose":
                        original(request)
                        drop(request.environ)
            return original(request)

        app.handler = handler
        return self

    def __exit__(self, *exc: object) -> None:
        self.sandbox.app.handler = self._original


def kill(process_of: Callable[[], subprocess.Popen[str] | None]) -> Callable[[], None]:
    """A ``before`` action: SIGKILL the connector process (looked up when the request arrives)."""
    def action() -> None:
        process = process_of()
        if process is not None and process.poll() is None:
            process.kill()
            process.wait()  # dead before the sandbox goes on with the request
    return action


# -- the four flows ------------------------------------------------------------------------------------

FLOWS = ("qbo:in:1", "qbo:in:2", "qbo:out:1", "qbo:out:2")
FLOW_STREAMS = {"qbo:in:1": ("projects", "contacts"), "qbo:in:2": ("invoices",),
                "qbo:out:1": ("customers",), "qbo:out:2": ("invoices",)}
QBO_API = r"^/v3/company/\d+"
QBO_TOKEN = r"^/oauth2/v1/tokens/bearer$"
QBO_WRITES = QBO_API + r"/(batch|customer|invoice)$"
COPERNIQ_WRITES = r"^/v1/(projects|contacts|invoices)"


@dataclass(frozen=True)
class Endpoint:
    """Requests of one kind that a flow's first sync is sure to make (at least ``sure`` of them)."""

    api: str  # "coperniq" | "quickbooks"
    method: str
    path: str
    sure: int = 1


def _qbo(path: str, sure: int) -> Endpoint:
    return Endpoint("quickbooks", "POST", QBO_API + path, sure)


TOKEN = Endpoint("quickbooks", "POST", QBO_TOKEN, 1)
FLOW_ENDPOINTS: dict[str, tuple[Endpoint, ...]] = {  # counts from the worlds of build_world at FLOW_SIZES
    "qbo:in:1": (Endpoint("coperniq", "GET", r"^/v1/projects$", 2), Endpoint("coperniq", "GET", r"^/v1/contacts$", 2),
                 _qbo(r"/query$", 2), _qbo(r"/batch$", 3), TOKEN),
    "qbo:in:2": (Endpoint("coperniq", "GET", r"^/v1/invoices$", 2), _qbo(r"/query$", 4), _qbo(r"/batch$", 6), TOKEN),
    # The out flows read Coperniq's lists (one page each at these sizes) rather than record by record.
    "qbo:out:1": (_qbo(r"/query$", 1), TOKEN,
                  Endpoint("coperniq", "GET", r"^/v1/projects$", 1),
                  Endpoint("coperniq", "PATCH", r"^/v1/projects/\d+$", 20),
                  Endpoint("coperniq", "GET", r"^/v1/contacts$", 1),
                  Endpoint("coperniq", "PATCH", r"^/v1/contacts/\d+$", 10)),
    # qbo:out:2's invoices carry their project (`_coperniq_project_id`): no project list is needed to route them.
    "qbo:out:2": (_qbo(r"/query$", 1), TOKEN,
                  Endpoint("coperniq", "GET", r"^/v1/invoices$", 1),
                  Endpoint("coperniq", "GET", r"^/v1/catalog-items$", 1),
                  Endpoint("coperniq", "POST", r"^/v1/invoices$", 20)),
}


def coperniq_config(sandbox: CoperniqSandbox, **extra: Any) -> dict[str, Any]:
    return {"api_key": sandbox.api_key, "base_url": sandbox.base_url, **extra}


def quickbooks_config(sandbox: QuickBooksSandbox, **extra: Any) -> dict[str, Any]:
    return {"client_id": sandbox.client_id, "client_secret": sandbox.client_secret, "realm_id": sandbox.realm_id,
            "refresh_token": sandbox.current_refresh_token or sandbox.refresh_token,
            "base_url": sandbox.base_url, "token_url": sandbox.token_url, **extra}


def linked_customers(quickbooks: QuickBooksSandbox) -> Counter[int]:
    """Project id -> how many QuickBooks customers (active or not) link to it."""
    return Counter(pid for c in list(quickbooks.backend.customers.values())
                   if (pid := project_id_from_notes(c.get("Notes"))) is not None)


def linked_invoices(quickbooks: QuickBooksSandbox) -> Counter[int]:
    """Coperniq invoice id -> how many live QuickBooks invoices link to it."""
    return Counter(iid for i in list(quickbooks.backend.invoices.values())
                   if i.get("status") != "Deleted" and (iid := invoice_id_from_note(i.get("PrivateNote"))) is not None)


def coperniq_copies(coperniq: CoperniqSandbox) -> dict[str, list[Any]]:
    """QuickBooks invoice Id -> the Coperniq invoices that are its copy."""
    copies: dict[str, list[Any]] = {}
    for invoice in list(coperniq.backend.invoices.values()):
        qbo_id = qbo_invoice_id_from_description(invoice.description)
        if qbo_id is not None:
            copies.setdefault(str(qbo_id), []).append(invoice)
    return copies


@dataclass
class World:
    """The sandboxes and the connection of one flow, and what must have landed once the flow has run."""

    flow: str
    coperniq: CoperniqSandbox
    quickbooks: QuickBooksSandbox
    pipe: Pipe
    expected: set[Any]
    min_writes: int  # write requests a complete first sync surely makes (a safe upper bound for a kill)
    customers: dict[int, dict[str, Any]] = field(default_factory=dict)  # out flows: project id -> customer

    @property
    def inbound(self) -> bool:
        return self.flow.startswith("qbo:in")

    @property
    def source_api(self) -> CoperniqSandbox | QuickBooksSandbox:
        return self.coperniq if self.inbound else self.quickbooks

    @property
    def target_api(self) -> CoperniqSandbox | QuickBooksSandbox:
        return self.quickbooks if self.inbound else self.coperniq

    def api(self, name: str) -> CoperniqSandbox | QuickBooksSandbox:
        return self.coperniq if name == "coperniq" else self.quickbooks

    @property
    def write_path(self) -> str:
        return QBO_WRITES if self.inbound else COPERNIQ_WRITES

    @property
    def write_methods(self) -> tuple[str, ...]:
        return ("POST",) if self.inbound else ("POST", "PATCH")

    def landed(self) -> Counter[Any]:
        """Key -> how many times it is in the target (0 or missing: lost; above 1: duplicated)."""
        if self.flow == "qbo:in:1":
            return linked_customers(self.quickbooks)
        if self.flow == "qbo:in:2":
            return linked_invoices(self.quickbooks)
        if self.flow == "qbo:out:1":
            return self._landed_customers()
        return self._landed_invoices()

    def _landed_customers(self) -> Counter[Any]:
        """A customer landed when its project has its title and address, once per contact carrying its email."""
        counts: Counter[Any] = Counter()
        backend = self.coperniq.backend
        for project_id, customer in self.customers.items():
            project = backend.get_project(project_id, include_archived=True)
            if project["title"] != customer["DisplayName"] or project["address"] != [
                    format_address(customer["BillAddr"])]:
                continue
            email = customer["PrimaryEmailAddr"]["Address"]
            counts[project_id] = sum(1 for c in list(backend.contacts.values()) if project_id in c.project_ids
                                     and any(same_email(e, email) for e in c.emails))
        return counts

    def _landed_invoices(self) -> Counter[Any]:
        """A QuickBooks invoice landed once per Coperniq copy on the right project with the right amount."""
        counts: Counter[Any] = Counter()
        for qbo_id, copies in coperniq_copies(self.coperniq).items():
            invoice = self.quickbooks.backend.invoices.get(qbo_id)
            if invoice is None:
                counts[qbo_id] += len(copies)  # a copy of something that does not exist: reported as extra
                continue
            project_id = project_id_from_notes(
                self.quickbooks.backend.customers[invoice["CustomerRef"]["value"]].get("Notes"))
            counts[qbo_id] = sum(1 for c in copies if c.record_id == project_id
                                 and Decimal(str(c.amount)) == Decimal(str(invoice["TotalAmt"])))
        return counts

    def exactly_once_problems(self) -> list[str]:
        landed = self.landed()
        missing = sorted(k for k in self.expected if landed.get(k, 0) == 0)
        duplicated = sorted((k, n) for k, n in landed.items() if n > 1)
        unexpected = sorted(k for k, n in landed.items() if n and k not in self.expected)
        problems = []
        if missing:
            problems.append(f"{len(missing)} of {len(self.expected)} missing: {missing[:20]}")
        if duplicated:
            problems.append(f"{len(duplicated)} duplicated (key, copies): {duplicated[:20]}")
        if unexpected:
            problems.append(f"{len(unexpected)} unexpected: {unexpected[:20]}")
        if self.flow == "qbo:in:2":  # invoices create their customers: those must be single too
            doubled = sorted(p for p, n in linked_customers(self.quickbooks).items() if n > 1)
            if doubled:
                problems.append(f"projects with several customers: {doubled[:20]}")
        return problems

    def assert_exactly_once(self, context: str = "") -> None:
        problems = self.exactly_once_problems()
        assert not problems, f"{self.flow}: target does not hold every record exactly once ({context}): {problems}"


FLOW_SIZES = {"qbo:in:1": 120, "qbo:in:2": 110, "qbo:out:1": 40, "qbo:out:2": 36}
GIVEN_NAMES = ("Ada", "Bola", "Chidi", "Dana", "Emeka", "Folake", "Grace", "Hassan")


def build_world(flow: str, seed: int, coperniq_factory: Callable[..., CoperniqSandbox],
                qbo_factory: Callable[..., QuickBooksSandbox], workdir: Path, size: int | None = None,
                refresh_token_grace: float = 0.0) -> World:
    """Both sandboxes seeded for ``flow`` (``size`` records to move) and its connection, nothing run yet."""
    size = size or FLOW_SIZES[flow]
    rng = random.Random(f"{flow}/{seed}")
    streams = FLOW_STREAMS[flow]
    if flow.startswith("qbo:in"):
        coperniq = coperniq_factory(projects=size, seed=seed, daily_quota=None)
        quickbooks = qbo_factory(customers=6, invoices=6, seed=seed, throttle=False,
                                 refresh_token_grace=refresh_token_grace)
        pipe = Pipe("source-coperniq", coperniq_config(coperniq), "destination-quickbooks",
                    quickbooks_config(quickbooks), streams, workdir)
        backend = coperniq.backend
        if flow == "qbo:in:1":
            expected: set[Any] = set(backend.projects)
            min_writes = math.ceil(len(expected) / 30)
        else:
            # QuickBooks holds no negative invoice (the seed has a few credits): those are reported, not written.
            expected = {i.id for i in backend.invoices.values() if i.record_id in backend.projects and i.amount >= 0}
            min_writes = math.ceil(len({backend.invoices[i].record_id for i in expected}) / 30) + \
                math.ceil(len(expected) / 30)
        return World(flow, coperniq, quickbooks, pipe, expected, min_writes)

    coperniq = coperniq_factory(projects=max(size + 10, 50), seed=seed, daily_quota=None)
    quickbooks = qbo_factory(customers=0, invoices=0, seed=seed, throttle=False,
                             refresh_token_grace=refresh_token_grace)
    pipe = Pipe("source-quickbooks", quickbooks_config(quickbooks), "destination-coperniq",
                coperniq_config(coperniq), streams, workdir)
    projects = coperniq.backend.projects
    titles = Counter(p.title for p in projects.values())
    # Titles QuickBooks takes as they are (a colon or an empty title would be rewritten) and no other project has.
    unique = sorted(pid for pid, p in projects.items()
                    if titles[p.title] == 1 and p.title and clean_display_name(p.title, pid) == p.title)
    customers: dict[int, dict[str, Any]] = {}
    if flow == "qbo:out:1":
        for pid in sorted(rng.sample(unique, min(size, len(unique)))):
            given = rng.choice(GIVEN_NAMES)
            customers[pid] = quickbooks.backend.add_customer(
                DisplayName=f"{given} Family{pid} Home", GivenName=given, FamilyName=f"Family{pid}",
                PrimaryEmailAddr={"Address": f"owner{pid}@example.com"},
                PrimaryPhone={"FreeFormNumber": f"(512) 555-{pid % 10000:04d}"},
                BillAddr={"Line1": f"{100 + pid} Congress Ave", "City": "Austin", "CountrySubDivisionCode": "TX",
                          "PostalCode": "78701", "Country": "US"},
                Notes=f"Coperniq project #{pid}")
        return World(flow, coperniq, quickbooks, pipe, set(customers), len(customers), customers)

    # qbo:out:2: invoices born in QuickBooks, for customers linked by DisplayName suffix or by plain title.
    invoice_ids: set[Any] = set()
    for n, pid in enumerate(sorted(rng.sample(unique, min(size // 2 + 1, len(unique))))):
        title = projects[pid].title
        name = suffixed_display_name(title, pid) if n % 2 else title
        customer = quickbooks.backend.add_customer(DisplayName=name, Notes=f"Coperniq project #{pid}")
        customers[pid] = customer
        for _ in range(2):
            if len(invoice_ids) >= size:
                break
            invoice = quickbooks.backend.add_invoice(
                customer["Id"], [("1", rng.randint(1, 4), float(rng.randint(50, 5000)))],
                DueDate=f"2031-0{rng.randint(1, 9)}-1{rng.randint(0, 9)}",
                CustomerMemo={"value": f"Battery add-on {rng.randint(1, 999)}"})
            if rng.random() < 0.3:
                invoice = quickbooks.backend.record_payment(invoice["Id"], 25)
            invoice_ids.add(invoice["Id"])
    return World(flow, coperniq, quickbooks, pipe, invoice_ids, len(invoice_ids), customers)


# -- secrets -------------------------------------------------------------------------------------------

MIN_SECRET_LENGTH = 6


def issued_tokens(sandbox: QuickBooksSandbox) -> set[str]:
    """Every refresh and access token the sandbox's OAuth server ever issued (the suite's own bookkeeping)."""
    oauth = sandbox.oauth
    with oauth._lock:
        return set(oauth._refresh) | set(oauth._access)


def config_secrets(config: Mapping[str, Any]) -> set[str]:
    return {str(v) for k, v in config.items() if k in SECRET_KEYS and v and isinstance(v, str | int)}


def is_config_control(message: Mapping[str, Any] | None) -> bool:
    return bool(message) and message.get("type") == "CONTROL" and \
        (message.get("control") or {}).get("type") == "CONNECTOR_CONFIG"


def scrub_config_control(message: dict[str, Any]) -> dict[str, Any]:
    """The one allowed place for a secret: as the value of its own key in the config a CONTROL message
    hands the platform. Those values are masked; anything else in the message is scanned as usual."""
    control = dict(message["control"])
    connector_config = dict(control.get("connectorConfig") or {})
    config = connector_config.get("config")
    if isinstance(config, dict):
        connector_config["config"] = {k: ("<secret>" if k in SECRET_KEYS and isinstance(v, str) else v)
                                      for k, v in config.items()}
    control["connectorConfig"] = connector_config
    return {**message, "control": control}


def find_leaks(result: Run, secrets: Iterable[str]) -> list[str]:
    """Where a secret appears in a run's stdout or stderr (without printing the secret)."""
    wanted = sorted({s for s in secrets if len(s) >= MIN_SECRET_LENGTH}, key=len, reverse=True)
    leaks = []
    for number, line in enumerate(result.stdout.splitlines(), 1):
        message = parse_line(line)
        text = json.dumps(scrub_config_control(message)) if is_config_control(message) else line
        kind = message.get("type") if message else "raw"
        for secret in wanted:
            if secret in text:
                leaks.append(f"{result.name}: stdout line {number} ({kind}) holds a secret starting "
                             f"{secret[:4]!r}")
    for secret in wanted:
        if secret in result.stderr:
            leaks.append(f"{result.name}: stderr holds a secret starting {secret[:4]!r}")
    return leaks


@dataclass
class Sandboxes:
    """The sandboxes the current test started through the suite's factories, for the secret scan."""

    coperniq: list[CoperniqSandbox] = field(default_factory=list)
    quickbooks: list[QuickBooksSandbox] = field(default_factory=list)

    def clear(self) -> None:
        self.coperniq.clear()
        self.quickbooks.clear()

    def secrets(self) -> set[str]:
        found = {s.api_key for s in self.coperniq}
        for sandbox in self.quickbooks:
            found |= {sandbox.client_secret, sandbox.refresh_token} | issued_tokens(sandbox)
        return found


STARTED = Sandboxes()


@pytest.fixture
def coperniq_factory(coperniq_sandbox_factory: Any) -> Callable[..., CoperniqSandbox]:
    def build(**options: Any) -> CoperniqSandbox:
        sandbox = coperniq_sandbox_factory(**options)
        STARTED.coperniq.append(sandbox)
        return sandbox
    return build


@pytest.fixture
def qbo_factory(qbo_sandbox_factory: Any) -> Callable[..., QuickBooksSandbox]:
    def build(**options: Any) -> QuickBooksSandbox:
        options.setdefault("throttle", False)
        sandbox = qbo_sandbox_factory(**options)
        STARTED.quickbooks.append(sandbox)
        return sandbox
    return build


@pytest.fixture
def world_factory(coperniq_factory: Any, qbo_factory: Any, tmp_path: Path) -> Callable[..., World]:
    def build(flow: str, seed: int, **options: Any) -> World:
        workdir = tmp_path / f"{flow.replace(':', '-')}-{seed}"
        workdir.mkdir(exist_ok=True)
        return build_world(flow, seed, coperniq_factory, qbo_factory, workdir, **options)
    return build


@pytest.fixture(autouse=True)
def no_secret_in_any_output() -> Iterator[None]:
    """Every run of every test in this suite: no configured secret in stdout or stderr, except as the
    value of its own key inside a CONTROL connector-config message (see :func:`scrub_config_control`)."""
    TRANSCRIPT.clear()
    STARTED.clear()
    yield
    runs = list(TRANSCRIPT)
    secrets = STARTED.secrets()
    TRANSCRIPT.clear()
    STARTED.clear()
    for result in runs:
        secrets |= config_secrets(result.config)
        for update in result.config_updates:
            secrets |= config_secrets(update)
    leaks = [leak for result in runs for leak in find_leaks(result, secrets)]
    assert not leaks, f"secrets in connector output: {leaks[:20]}"
