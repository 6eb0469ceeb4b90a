"""source-coperniq in scheduler rounds: state carried from one sync to the next, edits in between.

Each test runs the console script as a scheduler would, against the Coperniq sandbox: the stage
trigger of flow qbo:in:2, resumed syncs, late commits, and the progress messages Airbyte shows.
"""

from __future__ import annotations

import json
import logging
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import pendulum
from airbyte_cdk.entrypoint import AirbyteEntrypoint
from airbyte_cdk.models import (
    AirbyteMessage,
    AirbyteMessageSerializer,
    AirbyteStateMessageSerializer,
    ConfiguredAirbyteCatalogSerializer,
    Type,
)

from connector_core.runner import configured_catalog
from sandboxes.coperniq import CoperniqSandbox
from source_coperniq import SourceCoperniq

STREAMS = ("projects", "contacts", "invoices")
LOGGER = logging.getLogger("airbyte")


@dataclass
class Rounds:
    """A source-coperniq connection: its config, configured catalog and the state kept between syncs.

    The source runs in this process (the CDK's ``read``, as the entrypoint calls it) to keep eight-round
    tests fast; ``integration_tests/test_source_coperniq.py`` runs the console script itself.
    """

    sandbox: CoperniqSandbox
    streams: tuple[str, ...] = STREAMS
    options: dict[str, Any] = field(default_factory=dict)
    full_refresh: tuple[str, ...] = ()  # streams synced as full refreshes, the others incrementally
    state: dict[str, dict[str, Any]] = field(default_factory=dict)
    _catalog: Any = None

    @property
    def config(self) -> dict[str, Any]:
        return {"api_key": self.sandbox.api_key, "base_url": self.sandbox.base_url, **self.options}

    def messages(self) -> Iterator[dict[str, Any]]:
        source = SourceCoperniq()
        if self._catalog is None:
            discovered = AirbyteMessageSerializer.dump(AirbyteMessage(
                type=Type.CATALOG, catalog=source.discover(LOGGER, self.config)))["catalog"]
            catalog = configured_catalog(discovered, True, self.streams)
            for entry in catalog["streams"]:
                if entry["stream"]["name"] in self.full_refresh:
                    entry.update(sync_mode="full_refresh", destination_sync_mode="overwrite")
                    entry.pop("cursor_field", None)
            self._catalog = ConfiguredAirbyteCatalogSerializer.load(catalog)
        state = [AirbyteStateMessageSerializer.load(s) for s in self.state.values()]
        for message in source.read(LOGGER, self.config, self._catalog, state):
            yield json.loads(AirbyteEntrypoint.airbyte_message_to_string(message))

    def keep(self, messages: list[dict[str, Any]]) -> None:
        for message in messages:
            if message.get("type") == "STATE":
                stream = message["state"]["stream"]
                self.state[stream["stream_descriptor"]["name"]] = {"type": "STREAM", "stream": stream}

    def sync(self) -> list[dict[str, Any]]:
        messages = list(self.messages())
        self.keep(messages)
        return messages

    def sync_aborted_after(self, stream: str, states: int) -> list[dict[str, Any]]:
        """A sync aborted after ``states`` checkpoints of ``stream``; the state it reached is kept."""
        seen: list[dict[str, Any]] = []
        reading = self.messages()
        for message in reading:
            seen.append(message)
            if message["type"] == "STATE" and message["state"]["stream"]["stream_descriptor"]["name"] == stream:
                states -= 1
                if states == 0:
                    break
        reading.close()
        self.keep(seen)
        return seen

    def cursor(self, stream: str) -> str:
        return self.state[stream]["stream"]["stream_state"]["updatedAt"]


def _records(messages: list[dict[str, Any]], stream: str) -> list[dict[str, Any]]:
    return [m["record"]["data"] for m in messages if m["type"] == "RECORD" and m["record"]["stream"] == stream]


def _move_to_another_step(sandbox: CoperniqSandbox, project_id: int) -> str:
    """Move a project to another stage (Workflows 1.0) or phase (2.0) of its workflow; the new name."""
    backend = sandbox.backend
    project = backend.projects[project_id]
    current = backend.get_project(project_id, include_archived=True)
    workflow = backend.workflows[project.workflow_id]
    if workflow.version == 1:
        target = next(s for s in workflow.stages if s.id != current["stage"]["id"])
        backend.update_project(project_id, {"stageId": target.id})
    else:
        target = next(p for p in workflow.phases if p.id != current["phase"]["templateId"])
        backend.update_project(project_id, {"phaseId": target.id})
    return target.name


def _stage_name(sandbox: CoperniqSandbox, project_id: int) -> str | None:
    project = sandbox.backend.get_project(project_id, include_archived=True)
    return (project.get("stage") or project.get("phase") or {}).get("name")


def _invoices_of(sandbox: CoperniqSandbox, project_id: int) -> set[int]:
    return {i.id for i in sandbox.backend.invoices.values() if i.record_id == project_id}


def _billable_projects(sandbox: CoperniqSandbox, count: int) -> list[int]:
    """Projects with invoices, on both workflow generations."""
    backend = sandbox.backend
    with_invoices = sorted({i.record_id for i in backend.invoices.values() if i.record_id in backend.projects
                            and backend.projects[i.record_id].workflow_id is not None})
    v1 = [p for p in with_invoices if backend.workflows[backend.projects[p].workflow_id].version == 1]
    v2 = [p for p in with_invoices if backend.workflows[backend.projects[p].workflow_id].version == 2]
    chosen = v1[:count // 2] + v2[:count - count // 2]
    assert len(chosen) == count
    return chosen


def test_a_project_moved_to_another_stage_gets_its_unchanged_invoices_sent_by_the_next_sync(
        coperniq_sandbox_factory: Any) -> None:
    sandbox = coperniq_sandbox_factory(projects=80, seed=21, daily_quota=None)
    rounds = Rounds(sandbox)

    first = rounds.sync()
    invoices = _records(first, "invoices")
    assert len(invoices) == len(sandbox.backend.invoices)
    for invoice in invoices:  # every invoice carries its project's stage (null without a project or a workflow)
        project_id = (invoice.get("record") or {}).get("id")
        expected = _stage_name(sandbox, project_id) if project_id in sandbox.backend.projects else None
        assert invoice.get("_project_stage") == expected, invoice["id"]  # the CDK omits top-level nulls

    quiet = rounds.sync()
    assert [m for m in quiet if m["type"] == "RECORD"] == []

    moved = _billable_projects(sandbox, 8)
    stages = {project_id: _move_to_another_step(sandbox, project_id) for project_id in moved}
    # A project created meanwhile is on its first stage too, but can only have invoices the window reads.
    created, _ = sandbox.backend.create_project({"title": "New Roof Project", "address": ["1 New St, Austin, TX"],
                                                 "workflowId": 12})
    sandbox.log.clear()
    third = rounds.sync()
    sent = _records(third, "invoices")
    assert sorted(i["id"] for i in sent) == sorted(set().union(*(_invoices_of(sandbox, p) for p in moved)))
    assert all(i["_project_stage"] == stages[i["record"]["id"]] for i in sent)
    assert sorted(p["id"] for p in _records(third, "projects")) == sorted([*moved, created["id"]])
    # Cost: one request per moved project; the stages came from the projects the sync read.
    assert sandbox.log.count("GET", r"/v1/projects/\d+/invoices$") == len(moved)
    assert sandbox.log.count("GET", r"/v1/projects/search$") == 0
    assert sandbox.log.count("GET") == len(STREAMS) + len(moved)

    sandbox.log.clear()
    after = rounds.sync()  # the moves sit in the re-read last minute: nothing is sent again
    assert [m for m in after if m["type"] == "RECORD"] == []
    assert sandbox.log.count("GET") == len(STREAMS)

    # A project that leaves the stage and comes back: each move sends its invoices once, with its stage.
    project_id = moved[0]
    back_to = _stage_name(sandbox, project_id)
    away = _move_to_another_step(sandbox, project_id)
    assert away != back_to
    leaving = rounds.sync()
    assert {i["_project_stage"] for i in _records(leaving, "invoices")} == {away}
    workflow = sandbox.backend.workflows[sandbox.backend.projects[project_id].workflow_id]
    step = next(s for s in (workflow.stages or workflow.phases) if s.name == back_to)
    sandbox.backend.update_project(project_id, {"stageId" if workflow.version == 1 else "phaseId": step.id})
    returning = rounds.sync()
    assert sorted(i["id"] for i in _records(returning, "invoices")) == sorted(_invoices_of(sandbox, project_id))
    assert {i["_project_stage"] for i in _records(returning, "invoices")} == {back_to}
    assert [m for m in rounds.sync() if m["type"] == "RECORD"] == []


def test_the_invoices_stream_alone_finds_stages_itself_in_a_few_requests(
        coperniq_sandbox_factory: Any) -> None:
    sandbox = coperniq_sandbox_factory(projects=150, seed=22, daily_quota=None)
    rounds = Rounds(sandbox, streams=("invoices",))
    first = rounds.sync()
    invoices = _records(first, "invoices")
    assert len(invoices) == len(sandbox.backend.invoices) > 100
    for invoice in invoices:
        project_id = (invoice.get("record") or {}).get("id")
        expected = _stage_name(sandbox, project_id) if project_id in sandbox.backend.projects else None
        assert invoice.get("_project_stage") == expected, invoice["id"]  # the CDK omits top-level nulls
    # The stages were looked up by id, 100 at a time: at most one search per page of invoices.
    pages = sandbox.log.count("GET", r"/v1/invoices$")
    assert 1 <= sandbox.log.count("GET", r"/v1/projects/search$") <= pages

    moved = _billable_projects(sandbox, 4)
    for project_id in moved:
        _move_to_another_step(sandbox, project_id)
    sandbox.log.clear()
    second = rounds.sync()
    assert sorted(i["id"] for i in _records(second, "invoices")) == \
        sorted(set().union(*(_invoices_of(sandbox, p) for p in moved)))
    # One page of invoices, one page of the projects changed in the window, one request per moved project.
    assert sandbox.log.count("GET", r"/v1/invoices$") == 1
    assert sandbox.log.count("GET", r"/v1/projects$") == 1
    assert sandbox.log.count("GET", r"/v1/projects/\d+/invoices$") == len(moved)


def test_a_full_refresh_of_projects_feeds_the_stage_check_of_incremental_invoices(
        coperniq_sandbox_factory: Any) -> None:
    sandbox = coperniq_sandbox_factory(projects=60, seed=26, daily_quota=None)
    rounds = Rounds(sandbox, streams=("projects", "invoices"), full_refresh=("projects",))
    rounds.sync()
    moved = _billable_projects(sandbox, 2)
    for project_id in moved:
        _move_to_another_step(sandbox, project_id)
    sandbox.log.clear()
    second = rounds.sync()
    assert len(_records(second, "projects")) == len(sandbox.backend.projects)
    assert sorted(i["id"] for i in _records(second, "invoices")) == \
        sorted(set().union(*(_invoices_of(sandbox, p) for p in moved)))
    assert sandbox.log.count("GET", r"/v1/projects$") == 1  # the full read only: no read of changed projects


def test_with_invoice_stages_only_moves_into_those_stages_cost_a_request(coperniq_sandbox_factory: Any) -> None:
    sandbox = coperniq_sandbox_factory(projects=80, seed=21, daily_quota=None)
    backend = sandbox.backend
    workflow = backend.workflows[11]  # Workflows 1.0
    billing = workflow.stages[-1]
    same = sorted({i.record_id for i in backend.invoices.values() if i.record_id in backend.projects
                   and backend.projects[i.record_id].workflow_id == workflow.id
                   and backend.projects[i.record_id].stage_id != billing.id})
    into, elsewhere = same[:2], same[2:4]
    assert len(elsewhere) == 2
    rounds = Rounds(sandbox, options={"invoice_stages": [billing.name.lower()]})
    rounds.sync()
    for project_id in into:
        backend.update_project(project_id, {"stageId": billing.id})
    for project_id in elsewhere:
        current = backend.projects[project_id].stage_id
        backend.update_project(project_id, {"stageId": next(s.id for s in workflow.stages
                                                            if s.id not in (billing.id, current))})
    sandbox.log.clear()
    moved = rounds.sync()
    assert sorted(i["id"] for i in _records(moved, "invoices")) == \
        sorted(set().union(*(_invoices_of(sandbox, p) for p in into)))
    assert {i["_project_stage"] for i in _records(moved, "invoices")} == {billing.name}
    assert sandbox.log.count("GET", r"/v1/projects/\d+/invoices$") == len(into)
    for project_id in elsewhere:  # their earlier move was noted: reaching the stage later is a move too
        backend.update_project(project_id, {"stageId": billing.id})
    later = rounds.sync()
    assert sorted(i["id"] for i in _records(later, "invoices")) == \
        sorted(set().union(*(_invoices_of(sandbox, p) for p in elsewhere)))


def test_a_resumed_sync_ends_as_fresh_as_a_new_one_and_loses_no_pending_record(
        coperniq_sandbox_factory: Any) -> None:
    sandbox = coperniq_sandbox_factory(projects=450, seed=23, daily_quota=None)
    rounds = Rounds(sandbox, streams=("projects",))
    rounds.sync()
    backend = sandbox.backend
    ids = sorted(backend.projects)
    edited = ids[:300]  # three pages of changes
    for project_id in edited:
        backend.update_project(project_id, {"description": "round 2"})

    killed = rounds.sync_aborted_after("projects", states=1)  # one page read, the window still open
    delivered: Counter[int] = Counter(r["id"] for r in _records(killed, "projects"))
    assert "window" in rounds.state["projects"]["stream"]["stream_state"]
    pending = [p for p in edited if p not in delivered]
    assert pending

    # While the sync is down: a pending record is edited (it leaves the frozen window), new edits land.
    latest = {pending[-1]: "edited while down", ids[-1]: "new while down", ids[-2]: "new while down"}
    for project_id, description in latest.items():
        backend.update_project(project_id, {"description": description})
    started = pendulum.now("UTC")
    resumed = rounds.sync()
    records = _records(resumed, "projects")
    delivered.update(r["id"] for r in records)
    assert set(edited) | set(latest) <= set(delivered)
    last_seen = {r["id"]: r["description"] for r in records}
    for project_id, description in latest.items():
        assert last_seen[project_id] == description
    assert "window" not in rounds.state["projects"]["stream"]["stream_state"]
    assert pendulum.parse(rounds.cursor("projects")) >= started.subtract(seconds=1)

    assert _records(rounds.sync(), "projects") == []  # nothing was left for a later sync


def test_five_changes_committed_late_are_delivered_by_the_first_sync_after_they_are_visible(
        coperniq_sandbox_factory: Any) -> None:
    sandbox = coperniq_sandbox_factory(projects=60, seed=24, daily_quota=None)
    backend = sandbox.backend
    rounds = Rounds(sandbox)
    rounds.sync()

    backend.delay_visibility(55)  # within the minute the connector allows for
    projects = sorted(backend.projects)[:2]
    contact = sorted(backend.contacts)[0]
    invoices = sorted(backend.invoices)[:2]
    stamped = time.monotonic()
    for project_id in projects:
        backend.update_project(project_id, {"description": "committed late"})
    backend.update_contact(contact, {"title": "Committed late"})
    for invoice_id in invoices:
        backend.update_invoice(invoice_id, {"description": "committed late"})
    assert backend.pending_changes() == 5

    blind = rounds.sync()  # the changes are stamped before this sync's window ends, but not visible yet
    assert [m for m in blind if m["type"] == "RECORD"] == []
    backend.reveal_late_changes()
    assert time.monotonic() - stamped < 60

    sandbox.log.clear()
    late = rounds.sync()
    assert sorted(r["id"] for r in _records(late, "projects")) == projects
    assert [r["id"] for r in _records(late, "contacts")] == [contact]
    assert sorted(r["id"] for r in _records(late, "invoices")) == invoices
    for stream in STREAMS:  # one page each: within the minimum pages + 2
        assert sandbox.log.count("GET", rf"/v1/{stream}$") <= 1 + 2
    backend.delay_visibility(0)
    assert [m for m in rounds.sync() if m["type"] == "RECORD"] == []  # not re-sent


def test_every_stream_reports_its_status_and_an_estimate(coperniq_sandbox_factory: Any) -> None:
    sandbox = coperniq_sandbox_factory(projects=250, seed=25, daily_quota=None)
    result = Rounds(sandbox).sync()
    traces = [m["trace"] for m in result if m["type"] == "TRACE"]
    for stream in STREAMS:
        statuses = [t["stream_status"]["status"] for t in traces if t["type"] == "STREAM_STATUS"
                    and t["stream_status"]["stream_descriptor"]["name"] == stream]
        assert statuses[0] == "STARTED" and "RUNNING" in statuses and statuses[-1] == "COMPLETE", (stream, statuses)
        estimates = [t["estimate"] for t in traces if t["type"] == "ESTIMATE" and t["estimate"]["name"] == stream]
        assert estimates and all(e["type"] == "STREAM" for e in estimates), stream
        # Coperniq has no count: a running figure (rows so far, plus a page while more follow), exact at the end.
        assert estimates[-1]["row_estimate"] == len(_records(result, stream)), stream
    assert len([t for t in traces if t["type"] == "ESTIMATE" and t["estimate"]["name"] == "projects"]) == 3
