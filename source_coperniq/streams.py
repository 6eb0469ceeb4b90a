"""Coperniq streams: order-safe incremental reads over ``updated_after`` / ``updated_before`` windows.

Why Python and not the declarative framework: the reference does not say what ``order_by``
sorts on, so the cursor cannot follow the last record read (the CDK's declarative cursors do).
Instead each incremental read is a frozen time window ``(lower, upper)`` paged in order:

- ``upper`` is the moment the sync started (one moment for every stream of the sync), so records
  edited during the sync fall outside it and pages do not grow under the reader.
- ``lower`` is the previous window's ``upper`` minus ``LOOKBACK`` (a minute): a change stamped
  before the previous window ended but visible to list calls only later (a late commit, a clock
  that disagrees) is read by the next sync. The records of that minute already delivered are
  remembered in the state (``recent``: id -> updatedAt, at most ``RECENT_CAP``) and not sent again.
- The cursor only advances to ``upper`` once every page of the window has been read. Each page
  is one slice: its checkpoint, emitted after its records, records the window and the next page.
- A sync resumed from such a checkpoint re-opens the same window, re-reads the last completed
  page too (records that left the window meanwhile shift later ones back; re-reads are
  duplicates, never losses), then reads on from that window's end to the sync's start, so it ends
  as fresh as a new sync: a pending record edited meanwhile left the frozen window for that one.
- A read of several pages is only trusted if no record changed since the read began: one request
  of one record checks it; otherwise the window is read again (edits during a read move records
  out of the window and shift the others back, which could skip one).
- Timestamps are compared with millisecond precision; ``updated_after`` is strict, so windows
  start one millisecond before their lower bound.

The ``invoices`` stream also serves flow qbo:in:2 ("a project's stage is updated"): every invoice
carries ``_project_stage``, and a project whose stage/phase changed gets its invoices sent again,
even when they did not change. See :class:`StageMemory` for how a change is told from an edit.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Generator, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

import pendulum
from airbyte_cdk.models import (
    AirbyteEstimateTraceMessage,
    AirbyteMessage,
    AirbyteTraceMessage,
    EstimateType,
    SyncMode,
    TraceType,
)
from airbyte_cdk.models import Type as MessageType

from connector_core.streams import Unit, UnitStream
from coperniq.client import MAX_PAGE_SIZE, CoperniqClient, Page
from coperniq.records import project_stage
from mapping.write_rules import stage_names

CURSOR = "updatedAt"
STAGE_FIELD = "_project_stage"
OVERLAP = timedelta(milliseconds=1)
LOOKBACK = timedelta(minutes=1)  # how late a change may become visible and still be read by the next sync
RECENT_CAP = 1_000  # more records than this in a window's last minute are simply sent again
MAX_REREADS = 2
DAY = timedelta(days=1)


def format_timestamp(moment: pendulum.DateTime) -> str:
    """ISO 8601 in UTC with milliseconds, the form Coperniq returns."""
    return moment.in_timezone("UTC").format("YYYY-MM-DDTHH:mm:ss.SSS") + "Z"


def parse_timestamp(value: str) -> pendulum.DateTime:
    parsed = pendulum.parse(value)
    if not isinstance(parsed, pendulum.DateTime):
        raise ValueError(f"{value!r} is not a date-time")
    return parsed.in_timezone("UTC")


def time_in_stage_days(project: Mapping[str, Any]) -> int | None:
    for key in ("stage", "phase"):
        step = project.get(key)
        if isinstance(step, Mapping) and isinstance(step.get("timeInStageDays"), int):
            return int(step["timeInStageDays"])
    return None


def invoice_project_id(invoice: Mapping[str, Any]) -> int | None:
    record = invoice.get("record")
    return record.get("id") if isinstance(record, Mapping) and isinstance(record.get("id"), int) else None


@dataclass(frozen=True)
class ProjectSeen:
    updated_at: pendulum.DateTime
    stage: str | None
    days_in_stage: int | None
    created_at: pendulum.DateTime | None = None


@dataclass
class ProjectDirectory:
    """What one sync learned about projects, shared by its streams so nothing is asked twice.

    ``stages``: project id -> current stage/phase name (None: none, or no such project).
    ``changed``: the projects read by updatedAt windows; ``covered``: the windows read completely,
    so the invoices stream knows which projects changed in its window without reading them again.
    """

    stages: dict[int, str | None] = field(default_factory=dict)
    changed: dict[int, ProjectSeen] = field(default_factory=dict)
    covered: list[tuple[pendulum.DateTime | None, pendulum.DateTime]] = field(default_factory=list)

    def learn(self, project: Mapping[str, Any], from_window: bool) -> None:
        if not isinstance(project.get("id"), int):
            return
        stage = project_stage(project)
        self.stages[project["id"]] = stage
        if from_window and project.get(CURSOR):
            created = parse_timestamp(project["createdAt"]) if project.get("createdAt") else None
            self.changed[project["id"]] = ProjectSeen(parse_timestamp(project[CURSOR]), stage,
                                                      time_in_stage_days(project), created)

    def cover(self, lower: pendulum.DateTime | None, upper: pendulum.DateTime) -> None:
        self.covered.append((lower, upper))

    def covers(self, lower: pendulum.DateTime | None, upper: pendulum.DateTime) -> bool:
        """Whether the windows read so far together cover ``[lower, upper)``."""
        reached = lower  # None: from the beginning of time, which only a window without a start covers
        for start, end in sorted(self.covered, key=lambda w: (w[0] is not None, w[0] or w[1])):
            if start is None or (reached is not None and start <= reached):
                reached = end if reached is None else max(reached, end)
        return reached is not None and reached >= upper

    def changed_between(self, lower: pendulum.DateTime | None, upper: pendulum.DateTime) -> dict[int, ProjectSeen]:
        return {pid: seen for pid, seen in self.changed.items()
                if (lower is None or seen.updated_at > lower - OVERLAP) and seen.updated_at < upper}


class StageMemory:
    """Which projects' stage changes were already answered (their invoices sent): a small, pruned map.

    A project read in the window is taken as *moved* when the memory holds another stage for it, or,
    when the memory holds nothing, when its ``timeInStageDays`` says it may have entered the stage
    within the window (``timeInStageDays <= ceil(window length in days)``: whole days, so this errs
    toward sending). An entry is kept while a project could still look freshly moved, i.e. for
    ``ceil(window length in days) + 1`` days: with hourly syncs, the projects moved in the last two
    days. State: ``{"stages": {"<project id>": ["<stage or null>", "<when noted>"]}}``.
    """

    def __init__(self, raw: Mapping[str, Any] | None):
        self.entries: dict[str, list[Any]] = {str(k): list(v) for k, v in (raw or {}).items()
                                              if isinstance(v, list | tuple) and len(v) == 2}

    def moved(self, project_id: int, seen: ProjectSeen, horizon_days: int) -> bool:
        known = self.entries.get(str(project_id))
        if known is not None:
            return known[0] != seen.stage
        return seen.stage is not None and (seen.days_in_stage is None or seen.days_in_stage <= horizon_days)

    def note(self, project_id: int, stage: str | None, now: pendulum.DateTime) -> None:
        self.entries[str(project_id)] = [stage, format_timestamp(now)]

    def prune(self, now: pendulum.DateTime, horizon_days: int) -> None:
        keep = timedelta(days=horizon_days + 1).total_seconds()
        self.entries = {k: v for k, v in self.entries.items()
                        if (now - parse_timestamp(v[1])).total_seconds() < keep}

    def dump(self) -> dict[str, list[Any]]:
        return dict(self.entries)


def stages_of(memory: StageMemory | None) -> dict[str, Any]:
    """The ``stages`` of an invoices state (other streams keep none)."""
    return {"stages": memory.dump()} if memory is not None else {}


OpenState = Callable[[int | None], dict[str, Any]]  # the state while a window is open, before its given page


class CoperniqStream(UnitStream):
    """One Coperniq list endpoint; the stream name is the path (``/projects``...).

    A unit is one page, or one project's invoices; the checkpoint after it records the window and the next page.
    """

    primary_key = "id"
    cursor_field = CURSOR

    def __init__(self, name: str, client: CoperniqClient, start_date: pendulum.DateTime | None = None,
                 extra_params: Mapping[str, Any] | None = None, now: pendulum.DateTime | None = None,
                 directory: ProjectDirectory | None = None, trigger_stages: Iterable[str] = ()):
        super().__init__(name)
        self._client = client
        self._start_date = start_date
        self._extra_params = dict(extra_params or {})
        self._now = now
        self._directory = directory if directory is not None else ProjectDirectory()
        # Moves into other stages are noted but cost no request (empty: every move sends its invoices).
        self._trigger_stages = stage_names(trigger_stages)
        self._emitted = 0
        self._sent_ids: set[Any] = set()

    # -- the work of one sync ---------------------------------------------------------------------

    def _sync_now(self) -> pendulum.DateTime:
        # `updated_before` is strict and millisecond-precise: end one millisecond on, so a change stamped in
        # the millisecond the sync started is in this window rather than the next.
        return (self._now or pendulum.now("UTC")).in_timezone("UTC") + OVERLAP

    def units(self, sync_mode: SyncMode) -> Iterator[Unit]:
        self._emitted, self._sent_ids = 0, set()
        if sync_mode == SyncMode.full_refresh:
            # The full read begins after the sync started: it holds every change up to the sync's window end.
            opened = max(pendulum.now("UTC"), self._sync_now())
            for unit, _ in self._pages(self._start_date, None, 1, {}, lambda _: None):
                yield unit
            if self._name == "projects":
                self._directory.cover(self._start_date, opened)
            return
        state = dict(self._state)
        cursor = parse_timestamp(state[CURSOR]) if state.get(CURSOR) else None
        recent = {str(k): v for k, v in (state.get("recent") or {}).items()}
        memory = StageMemory(state.get("stages")) if self._name == "invoices" else None
        end = self._sync_now()
        window = state.get("window") or {}
        if window:
            # Resuming an interrupted window: same bounds, one page of overlap (see module doc) ...
            upper = parse_timestamp(window["upper"])
            first_page = None if window.get("pages_done") else max(1, int(window.get("next_page", 1)) - 1)
            recent = yield from self._window(cursor, upper, first_page, recent, memory)
            cursor = upper
        # ... then on to the start of this sync, as a new sync would.
        if cursor is None or cursor < end:
            yield from self._window(cursor, end, 1, recent, memory)

    def _window(self, cursor: pendulum.DateTime | None, upper: pendulum.DateTime, first_page: int | None,
                recent: dict[str, Any], memory: StageMemory | None) -> Generator[Unit, None, dict[str, Any]]:
        """Read ``(cursor - LOOKBACK, upper)`` completely; returns the window's ``recent`` map.

        ``first_page`` None: a resumed window whose pages were all read (only stage changes were left).
        """
        lower = self._lower_bound(cursor)
        kept = {CURSOR: format_timestamp(cursor)} if cursor is not None else {}
        if recent:
            kept["recent"] = recent

        def open_state(next_page: int | None) -> dict[str, Any]:
            position = {"next_page": next_page} if next_page is not None else {"pages_done": True}
            return {**kept, "window": {"upper": format_timestamp(upper), **position},
                    **stages_of(memory)}

        fresh, first_page = yield from self._read_window(lower, upper, first_page, recent, open_state)
        if self._name == "projects" and first_page == 1:  # a resumed window lacks its first pages' projects
            self._directory.cover(lower, upper)
        if memory is not None and cursor is not None:
            yield from self._stage_changes(lower, upper, memory, open_state)
        fresh = fresh if len(fresh) <= RECENT_CAP else {}
        yield Unit([], {CURSOR: format_timestamp(upper), **({"recent": fresh} if fresh else {}), **stages_of(memory)})
        return fresh

    def _lower_bound(self, cursor: pendulum.DateTime | None) -> pendulum.DateTime | None:
        """The window's start: a minute before the cursor (late changes), never before ``start_date``."""
        lower = cursor - LOOKBACK if cursor is not None else self._start_date
        if cursor is not None and self._start_date is not None:
            lower = max(lower, self._start_date) if lower is not None else self._start_date
        return lower

    def _read_window(self, lower: pendulum.DateTime | None, upper: pendulum.DateTime, first_page: int | None,
                     recent: dict[str, Any], open_state: OpenState
                     ) -> Generator[Unit, None, tuple[dict[str, Any], int | None]]:
        """The window's pages, read again while records change under the reader.

        Returns the ids and ``updatedAt`` read in the window's last minute, and the first page of the last read.
        """
        fresh: dict[str, Any] = {}
        # A window resumed past its first page was partly read by an earlier sync: any change since it
        # froze may have shifted its pages. A window read from its first page only fears changes from now.
        stable_since = upper if first_page is not None and first_page > 1 else pendulum.now("UTC")
        for attempt in range(MAX_REREADS + 1 if first_page is not None else 0):
            pages = 0
            for unit, page in self._pages(lower, upper, first_page, recent, open_state):
                pages += 1
                fresh.update((str(record.get("id")), record[CURSOR]) for record in page.records
                             if record.get(CURSOR) and parse_timestamp(record[CURSOR]) > upper - LOOKBACK)
                yield unit
            # One page is one atomic answer. Over several pages, a record edited meanwhile leaves the
            # window and shifts the ones behind it back one place, past the reader: if anything changed
            # since the read began, read the window again (duplicates, never a loss).
            if (first_page == 1 and pages <= 1) or not self._changed_since(stable_since):
                break
            if attempt == MAX_REREADS:
                self.logger.warning(f"{self.name}: records kept changing during {MAX_REREADS + 1} reads of the "
                                    "window; a record displaced by those edits may come only with a full refresh.")
                break
            self.logger.info(f"{self.name}: records changed during the read; reading the window again.")
            stable_since, first_page = pendulum.now("UTC"), 1
        return fresh, first_page

    def _pages(self, lower: pendulum.DateTime | None, upper: pendulum.DateTime | None, first_page: int,
               recent: Mapping[str, Any], open_state: OpenState) -> Iterator[tuple[Unit, Page]]:
        after = format_timestamp(lower - OVERLAP) if lower else None
        before = format_timestamp(upper) if upper else None
        page_number = first_page
        while True:
            page = self._client.list_page(self._name, page=page_number, page_size=MAX_PAGE_SIZE,
                                          updated_after=after, updated_before=before, order_by="asc",
                                          **self._extra_params)
            # Sent by the previous window already, unchanged (its last minute is read again): skip.
            records = [r for r in page.records if recent.get(str(r.get("id"))) != r.get(CURSOR)]
            if self._name == "projects":
                for project in page.records:  # a full read is a window too: from the start date to now
                    self._directory.learn(project, from_window=True)
            if self._name == "invoices":
                records = self._with_stage(records)
            self._emitted += len(records)
            self._sent_ids.update(r.get("id") for r in records)
            more = page.has_more and bool(page.records)
            yield Unit([self._estimate(more), *records], open_state(page_number + 1)), page
            if not more:
                return
            page_number += 1

    def _estimate(self, more: bool) -> AirbyteMessage:
        """Coperniq has no count: the rows sent so far, plus a page while more pages follow."""
        return AirbyteMessage(type=MessageType.TRACE, trace=AirbyteTraceMessage(
            type=TraceType.ESTIMATE, emitted_at=time.time() * 1000,
            estimate=AirbyteEstimateTraceMessage(name=self.name, type=EstimateType.STREAM,
                                                 row_estimate=self._emitted + (MAX_PAGE_SIZE if more else 0))))

    def _changed_since(self, moment: pendulum.DateTime) -> bool:
        """Whether any record of this stream was updated after ``moment`` (one request of one record)."""
        page = self._client.list_page(self._name, page=1, page_size=1,
                                      updated_after=format_timestamp(moment - OVERLAP), **self._extra_params)
        return bool(page.records)

    # -- invoices: the project's stage on every invoice, and stage changes --------------------------

    def _with_stage(self, invoices: list[Mapping[str, Any]]) -> list[dict[str, Any]]:
        """``_project_stage`` on each invoice: projects known this sync, the others one search per 100."""
        unknown = sorted({pid for i in invoices if (pid := invoice_project_id(i)) is not None
                          and pid not in self._directory.stages})
        if unknown:
            for project in self._client.projects_by_id(unknown):
                self._directory.learn(project, from_window=False)
            for pid in unknown:  # not a project (an account, a deleted project): no stage
                self._directory.stages.setdefault(pid, None)
        return [{**i, STAGE_FIELD: self._directory.stages.get(pid) if (pid := invoice_project_id(i)) else None}
                for i in invoices]

    def _stage_changes(self, lower: pendulum.DateTime | None, upper: pendulum.DateTime, memory: StageMemory,
                       open_state: OpenState) -> Iterator[Unit]:
        """The invoices of projects whose stage/phase changed in the window (one request per such project)."""
        if not self._directory.covers(lower, upper):
            self._read_projects(lower, upper)
        now = pendulum.now("UTC")
        horizon_days = math.ceil((now - lower).total_seconds() / DAY.total_seconds()) if lower is not None else 0
        after_pages = open_state(None)
        for project_id, seen in sorted(self._directory.changed_between(lower, upper).items()):
            if not memory.moved(project_id, seen, horizon_days):
                continue
            memory.note(project_id, seen.stage, now)
            records: list[Mapping[str, Any]] = []
            # A project created in the window has only invoices created in it, which the window read; a
            # project that left its workflow has nothing to bill; a move outside `invoice_stages` is only noted.
            created_in_window = seen.created_at is not None and lower is not None and seen.created_at > lower
            wanted = not self._trigger_stages or (seen.stage or "").strip().casefold() in self._trigger_stages
            if seen.stage is not None and not created_in_window and wanted:
                records = [{**i, STAGE_FIELD: seen.stage} for i in self._client.list_project_invoices(project_id)
                           if i.get("id") not in self._sent_ids]
                self._emitted += len(records)
                self._sent_ids.update(r.get("id") for r in records)
            yield Unit(records, {**after_pages, "stages": memory.dump()})
        memory.prune(now, horizon_days)

    def _read_projects(self, lower: pendulum.DateTime | None, upper: pendulum.DateTime) -> None:
        """The projects changed in the window, when no projects read of this sync covered it."""
        after = format_timestamp(lower - OVERLAP) if lower else None
        stable_since = pendulum.now("UTC")
        for _ in range(MAX_REREADS + 1):
            page_number = 1
            while True:
                page = self._client.list_page("projects", page=page_number, page_size=MAX_PAGE_SIZE,
                                              updated_after=after, updated_before=format_timestamp(upper),
                                              order_by="asc", include_archived="true")
                for project in page.records:
                    self._directory.learn(project, from_window=True)
                if not page.has_more or not page.records:
                    break
                page_number += 1
            if page_number == 1 or not self._client.list_page(
                    "projects", page=1, page_size=1, include_archived="true",
                    updated_after=format_timestamp(stable_since - OVERLAP)).records:
                break
            stable_since = pendulum.now("UTC")
        self._directory.cover(lower, upper)
