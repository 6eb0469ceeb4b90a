"""QuickBooks streams: keyset paging on ``MetaData.LastUpdatedTime``, a checkpoint per page, deletions from CDC.

Paging. Every page is one ordered query on the cursor, never a fixed date window::

    SELECT * FROM Customer WHERE Active IN (true, false) AND MetaData.LastUpdatedTime >= '<second>'
    ORDERBY MetaData.LastUpdatedTime STARTPOSITION <n> MAXRESULTS 1000

``<second>`` is the last second read so far (QBO stamps with one-second precision) and the
stream remembers the rows it has sent at that second, as Id and SyncToken. Each page re-asks
``>= second`` from STARTPOSITION 1 and drops those rows, so

- rows sharing the second of the last row read are neither lost nor sent twice,
- a row edited again within the second it was read keeps its second but not its SyncToken, so
  its new version is sent, and
- rows edited mid-sync only move to a later second, past the reader, and are read again there;
  nothing shifts under an offset, so nothing is skipped.

When a page was (nearly) all one second, restarting at 1 would re-read that page for little
progress, or none when a whole page shares the second: once more than 100 rows of the cursor
second have been read, the next page continues at the STARTPOSITION of the last row read,
overlapping it by one. If that row is no longer there (rows of that second were edited away and
the rest moved up), the reader steps back a page and lets the id filter drop what it already
sent. Ties within one second are assumed to keep their relative order between queries (the
sandbox orders them by Id); that matters only for seconds holding more than 100 rows.

Late commits. A change can reach queries after rows stamped later were read (a transaction that
commits late, servers whose clocks differ), so the first page of every incremental sync asks
``>= cursor - LATE_WINDOW`` (two minutes) and the memory of rows sent covers that window, not
only the cursor second: what was sent there is dropped again, what appeared late is sent. When
the state holds a ``position`` (inside a crowded second), one bounded query of the window
(``>= cursor - LATE_WINDOW AND < cursor``) comes first and the pages go on from the position.

Records. Each carries ``airbyte_cursor`` (``MetaData.LastUpdatedTime`` at the top level, the
catalog's cursor); each invoice ``_coperniq_project_id``, the project its customer's ``Notes``
links to (:class:`CustomerLinks`: customers read in the sync, else one query per page).

State (per stream, after every page)::

    {"LastUpdatedTime": "2025-06-02T10:00:05-07:00",  # the last second read, as QBO wrote it
     "ids": {"131": "2", "7": "0"},                   # Id -> SyncToken sent at it
     "recent": {"2025-06-02T10:00:01-07:00": {"12": "4"}},  # the same at earlier seconds of the window
     "position": 1994,                                # next STARTPOSITION, when not 1
     "deletions_since": "2025-06-02T16:50:00+00:00",  # where the next CDC call starts
     "deleted_ids": ["44"]}                           # tombstones at/after it, already sent

Deletions. Only CDC reports deleted objects, and only for 30 days; customers cannot be deleted, so
only invoices ask. After the pages of an incremental sync that resumes from a state, one
``GET /cdc?entities=Invoice`` (see :class:`DeletionFeed` for answers cut at 1,000 objects) returns
what was deleted since ``deletions_since``; each
tombstone ``{"Id", "status": "Deleted", "MetaData"}`` is sent as a record with
``_ab_cdc_deleted_at``. The first sync makes no CDC call: it sends no deleted rows, and it sets
``deletions_since`` to when it started.

Deletions do not move the record cursor: a deletion's time can be later than rows edited after
the query passed them, and a cursor moved to it would skip those rows. They have their own
watermark, ``deletions_since``: the local time of the last CDC call minus ten minutes (for clock
skew), so it keeps moving when nothing else changes and stays inside CDC's 30 days for any
connection that syncs at least monthly. Tombstones in that overlap are remembered in
``deleted_ids`` and not sent again. A watermark older than 30 days is clamped to CDC's window
and the loss is logged.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable, Iterable, Mapping, MutableMapping, Sequence
from datetime import UTC, datetime, timedelta
from functools import cache
from pathlib import Path
from typing import Any

from airbyte_cdk.models import (
    AirbyteEstimateTraceMessage,
    AirbyteMessage,
    AirbyteTraceMessage,
    EstimateType,
    FailureType,
    SyncMode,
    TraceType,
    Type,
)
from airbyte_cdk.sources.streams import CheckpointMixin, Stream
from airbyte_cdk.utils.traced_exception import AirbyteTracedException

from mapping.links import project_id_from_notes
from qbo.client import MAX_QUERY_RESULTS, QuickBooksClient
from qbo.errors import explained
from qbo.query import in_list, quote, select

SCHEMAS = Path(__file__).parent / "schemas"
# The top-level cursor every record carries (as in Airbyte's own QuickBooks source): warehouse
# destinations refuse nested cursors in append-dedup. Its value is ``MetaData.LastUpdatedTime``.
CURSOR = "airbyte_cursor"
CURSOR_FIELD = [CURSOR]
PROJECT_ID = "_coperniq_project_id"  # on invoices: the Coperniq project linked to the invoice's customer
ORDER_BY = "MetaData.LastUpdatedTime"
PAGE_SIZE = MAX_QUERY_RESULTS
STATE_CURSOR = "LastUpdatedTime"
MAX_STATE_IDS = 1000  # bounds the state; only seconds holding more rows than this can repeat a few
# Restart at STARTPOSITION 1 while the rows already read at the cursor second are this few: re-reading
# them is cheap and does not depend on how QBO orders rows within a second.
REREAD_LIMIT = 100
INACTIVE_HIDDEN = {"Customer"}  # name lists answer only active rows unless the WHERE names Active
CDC_LOOKBACK = timedelta(days=30)
CDC_LOOKBACK_SLACK = timedelta(hours=1)  # keep clear of the 30-day edge: clocks differ, calls take time
CDC_MAX_OBJECTS = 1000  # per answer, all entities together (Intuit)
# A change can become visible to queries after rows stamped later were read (a late commit, servers
# whose clocks differ). Each sync reads again from this far before its cursor: up to a minute late,
# with a minute of margin.
LATE_WINDOW = timedelta(minutes=2)
DELETIONS_OVERLAP = timedelta(minutes=10)
DELETED_AT = "_ab_cdc_deleted_at"

Clock = Callable[[], datetime]


def utc_now() -> datetime:
    return datetime.now(UTC)


def parse_instant(value: Any) -> datetime | None:
    """A QuickBooks date-time as an aware instant to the second; ``None`` when absent or unreadable.

    QBO writes the company's offset (``-07:00``); comparing aware datetimes compares instants, so
    two stamps of one second in different offsets are equal.
    """
    if not isinstance(value, str) or not value.strip():
        return None
    try:
        parsed = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
    except ValueError:
        return None
    if parsed.tzinfo is None:  # QBO always sends an offset; a bare value in a state is taken as UTC
        parsed = parsed.replace(tzinfo=UTC)
    return parsed.replace(microsecond=0)


def query_literal(moment: datetime) -> str:
    """ISO 8601 to the second with a numeric offset, the form QBO itself writes: ``2025-06-02T10:00:05-07:00``."""
    return moment.replace(microsecond=0).isoformat()


def updated_at(row: Mapping[str, Any]) -> datetime | None:
    meta = row.get("MetaData")
    return parse_instant(meta.get("LastUpdatedTime")) if isinstance(meta, Mapping) else None


def sync_token(row: Mapping[str, Any]) -> str | None:
    token = row.get("SyncToken")
    return None if token is None else str(token)


def read_ids(value: Any) -> dict[str, str | None]:
    """The ``ids`` of a state: ``{Id: SyncToken}``; a plain list of Ids (no versions) is accepted too."""
    if isinstance(value, Mapping):
        return {str(k): None if v is None else str(v) for k, v in value.items()}
    return {str(i): None for i in value or []}


def read_seen(state: Mapping[str, Any], cursor: datetime) -> dict[str, tuple[str | None, datetime]]:
    """Rows already sent near the cursor: ``recent`` (``{second: {Id: SyncToken}}``), then ``ids`` (at the cursor)."""
    seen: dict[str, tuple[str | None, datetime]] = {}
    recent = state.get("recent")
    if isinstance(recent, Mapping):
        for literal, ids in sorted(((parse_instant(k), v) for k, v in recent.items() if parse_instant(k)),
                                   key=lambda item: item[0]):
            for i, token in read_ids(ids).items():
                seen[i] = (token, literal)
    for i, token in read_ids(state.get("ids")).items():
        seen.pop(i, None)
        seen[i] = (token, cursor)
    return seen


def customer_ref(invoice: Mapping[str, Any]) -> str | None:
    ref = invoice.get("CustomerRef")
    value = ref.get("value") if isinstance(ref, Mapping) else ref
    return str(value) if value not in (None, "") else None


def deletions_since(state: Mapping[str, Any] | None) -> datetime | None:
    """Where the next CDC call starts; states without the key fall back to the record cursor."""
    if not state:
        return None
    return parse_instant(state.get("deletions_since")) or parse_instant(state.get(STATE_CURSOR))


def cdc_floor(now: datetime) -> datetime:
    """The earliest ``changedSince`` QuickBooks accepts, with some slack."""
    return now - CDC_LOOKBACK + CDC_LOOKBACK_SLACK


def is_tombstone(row: Mapping[str, Any]) -> bool:
    return str(row.get("status") or "").lower() == "deleted"


@cache
def load_schema(name: str) -> dict[str, Any]:
    return json.loads((SCHEMAS / f"{name}.json").read_text())


class DeletionFeed:
    """Deleted objects from change data capture: ``GET /cdc?entities=<one entity>&changedSince=...``.

    Intuit caps a CDC answer at 1,000 objects in all (not per entity) and does not document their
    order, so each call names one entity and an answer of 1,000 objects is taken as cut off. The
    feed then asks again from the latest stamp the answer holds (a choice that does not depend on
    the order) and checks the cut answer: it must hold every live object of its entity stamped
    before that point, which one ``COUNT(*)`` query tells. When it does not (the answer was not
    oldest first), deletions in that span cannot be listed completely: the feed says so in a
    warning naming the span, sends what it saw, and goes on.
    """

    def __init__(self, client: QuickBooksClient, logger: logging.Logger | None = None, clock: Clock = utc_now):
        self._client = client
        self._logger = logger or logging.getLogger("airbyte.source_quickbooks")
        self._clock = clock

    def deleted(self, entity: str, since: datetime) -> tuple[list[dict[str, Any]], datetime]:
        """Tombstones of ``entity`` stamped at or after ``since`` (oldest first), and when CDC was asked."""
        called_at = self._clock()
        since = max(since, cdc_floor(called_at))
        changed = self._changed(entity, since)
        rows = [row for row in changed if is_tombstone(row) and (updated_at(row) or since) >= since]
        rows.sort(key=lambda row: updated_at(row) or since)
        return rows, called_at

    def _changed(self, entity: str, since: datetime) -> list[dict[str, Any]]:
        answer = self._client.cdc([entity], query_literal(since)).get(entity, [])
        collected = {(str(r.get("Id")), updated_at(r)): r for r in answer}
        start = since
        while len(answer) >= CDC_MAX_OBJECTS:  # a full answer is cut off
            latest = max((t for t in map(updated_at, answer) if t is not None), default=None)
            if latest is None or latest <= start:
                self._logger.warning(f"More than {CDC_MAX_OBJECTS} {entity} objects changed at {start.isoformat()}: "
                                     "change data capture cannot list them all, so deletions of that second may "
                                     "be missing; a full refresh (reset) of the stream removes them.")
                break
            self._check_complete(entity, answer, start, latest)
            start = latest
            answer = self._client.cdc([entity], query_literal(latest)).get(entity, [])
            for row in answer:
                collected.setdefault((str(row.get("Id")), updated_at(row)), row)
        return list(collected.values())

    def _check_complete(self, entity: str, answer: Sequence[Mapping[str, Any]], start: datetime,
                        until: datetime) -> None:
        """Warn when a cut-off answer misses live objects stamped before ``until``: it was not oldest first."""
        seen = sum(1 for row in answer if not is_tombstone(row) and start <= (updated_at(row) or until) < until)
        where = [*(["Active IN (true, false)"] if entity in INACTIVE_HIDDEN else []),
                 f"MetaData.LastUpdatedTime >= {quote(query_literal(start))}",
                 f"MetaData.LastUpdatedTime < {quote(query_literal(until))}"]
        live = self._client.count(entity, where)
        if live > seen:
            self._logger.warning(
                f"Change data capture answered {CDC_MAX_OBJECTS} {entity} objects but left out {live - seen} "
                f"changed between {start.isoformat()} and {until.isoformat()}: "
                "deletions in that span may be missing. A full refresh (reset) of the stream removes them.")


class CustomerLinks:
    """The Coperniq project each customer links to (its ``Notes`` marker), for ``_coperniq_project_id``.

    Customers read in the same sync are remembered; the others an invoice page names are read with
    one ``SELECT Id, Notes FROM Customer WHERE Id IN (...)`` for the page (a page holds at most
    1,000 invoices, so at most 1,000 customers).
    """

    def __init__(self, client: QuickBooksClient):
        self._client = client
        self._project_ids: dict[str, int | None] = {}

    def remember(self, customer: Mapping[str, Any]) -> None:
        if customer.get("Id") is not None and not is_tombstone(customer):
            self._project_ids[str(customer["Id"])] = project_id_from_notes(customer.get("Notes"))

    def project_ids(self, customer_ids: Iterable[str]) -> dict[str, int | None]:
        wanted = {str(i) for i in customer_ids if i}
        missing = sorted(wanted - set(self._project_ids))
        if missing:
            statement = select("Customer", [f"Id IN {in_list(missing)}", "Active IN (true, false)"],
                               max_results=MAX_QUERY_RESULTS, fields=("Id", "Notes"))
            rows = self._client.query(statement).get("Customer", [])
            self._project_ids.update(dict.fromkeys(missing))
            for row in rows:
                self.remember(row)
        return {i: self._project_ids.get(i) for i in wanted}


class QuickBooksStream(Stream, CheckpointMixin):
    """One QuickBooks entity (``Customer``, ``Invoice``) read in ``MetaData.LastUpdatedTime`` order."""

    primary_key = "Id"
    cursor_field = CURSOR_FIELD
    source_defined_cursor = True

    def __init__(self, name: str, entity: str, client: QuickBooksClient, start_date: datetime | None = None,
                 deletions: DeletionFeed | None = None, links: CustomerLinks | None = None,
                 clock: Clock = utc_now, logger: logging.Logger | None = None):
        self._name = name
        self._entity = entity
        self._client = client
        self._start_date = start_date
        self._deletions = deletions
        self._links = links
        self._clock = clock
        self._logger = logger or logging.getLogger("airbyte.source_quickbooks")
        self._state: dict[str, Any] = {}
        self._begun = False
        self._pages_done = False
        self._pages_read = 0
        self._estimated = False
        self._cursor: datetime | None = None  # the latest second read
        self._floor: datetime | None = None  # the page query's ``>=``
        self._position = 1  # its STARTPOSITION
        self._seen: dict[str, tuple[str | None, datetime]] = {}  # Id -> (SyncToken, second) read near the cursor
        self._sweep: int | None = None  # STARTPOSITION of the late-window query still due before the pages
        # The cursor whose late window was read when every late commit before it was visible: no more to come.
        self._late_checked: datetime | None = None
        self._deletions_due = False
        self._deletions_since: datetime | None = None
        self._deleted_ids: list[str] = []

    @property
    def name(self) -> str:
        return self._name

    def get_json_schema(self) -> Mapping[str, Any]:
        return load_schema(self._name)

    @property
    def state(self) -> MutableMapping[str, Any]:
        return self._state

    @state.setter
    def state(self, value: MutableMapping[str, Any]) -> None:
        self._state = dict(value or {})

    # -- the CDK's loop: one slice per page, so a checkpoint follows every page --------------------

    def stream_slices(self, *, sync_mode: SyncMode, cursor_field: list[str] | None = None,
                      stream_state: Mapping[str, Any] | None = None) -> Iterable[Mapping[str, Any] | None]:
        # Lazy: the CDK asks for the next slice only after reading the previous one, so the loop
        # sees whether the last page was short.
        self._begin(sync_mode)
        page = 1
        while not self._pages_done:
            read_before = self._pages_read
            yield {"page": page}
            if self._pages_read == read_before:
                return  # the caller did not read the slice (only listed them): never spin
            page += 1
        if self._deletions_due:
            yield {"deletions": True}

    def read_records(self, sync_mode: SyncMode, cursor_field: list[str] | None = None,
                     stream_slice: Mapping[str, Any] | None = None,
                     stream_state: Mapping[str, Any] | None = None) -> Iterable[Mapping[str, Any] | AirbyteMessage]:
        if not stream_slice:  # called outside the CDK's slice loop: read everything at once
            self._begin(sync_mode)
            while not self._pages_done:
                yield from self._read_page()
            if self._deletions_due:
                yield from self._read_deletions()
            return
        if not self._begun:
            self._begin(sync_mode)
        if stream_slice.get("deletions"):
            yield from self._read_deletions()
        else:
            yield from self._read_page()

    # -- reading -------------------------------------------------------------------------------------

    def _begin(self, sync_mode: SyncMode) -> None:
        incoming = self._state if sync_mode == SyncMode.incremental else {}
        now = self._clock()
        self._begun, self._pages_done, self._pages_read, self._estimated = True, False, 0, False
        cursor = parse_instant(incoming.get(STATE_CURSOR) or incoming.get(CURSOR))
        if cursor is not None and (self._start_date is None or cursor >= self._start_date):
            self._cursor = cursor
            self._seen = read_seen(incoming, cursor)
            position = max(1, int(incoming.get("position") or 1))
            checked = parse_instant(incoming.get("late_checked"))
            self._late_checked = checked if checked == cursor else None
            if position > 1:
                # Inside a crowded second: go on from its position, after one bounded query of the
                # late window before it (re-reading that second from the start would cost pages),
                # unless an earlier sync read that window when nothing more could come late.
                self._floor, self._position = cursor, position
                self._sweep = None if self._late_checked is not None else 1
            else:
                # Changes stamped up to LATE_WINDOW before the cursor may have become visible since.
                self._floor, self._position, self._sweep = cursor - LATE_WINDOW, 1, None
        else:  # first sync, full refresh, or a start_date moved past the cursor
            self._cursor, self._floor, self._seen, self._position, self._sweep = None, self._start_date, {}, 1, None
            self._late_checked = None
        if self._deletions is None:  # an entity QuickBooks cannot delete
            self._deletions_due, self._deletions_since, self._deleted_ids = False, None, []
        else:
            since = deletions_since(incoming)
            self._deletions_due = since is not None
            # Without an earlier sync nothing was sent that could be deleted: watch from now on.
            self._deletions_since = since if since is not None else now - DELETIONS_OVERLAP
            self._deleted_ids = [str(i) for i in incoming.get("deleted_ids") or []] if since is not None else []
        self._checkpoint()

    def _where(self, floor: datetime | None = None, until: datetime | None = None) -> list[str]:
        """``>= floor`` (the keyset's by default, never before ``start_date``), and ``< until`` when given."""
        conditions = ["Active IN (true, false)"] if self._entity in INACTIVE_HIDDEN else []
        floor = floor or self._floor
        if self._start_date is not None and (floor is None or floor < self._start_date):
            floor = self._start_date
        if floor is not None:
            conditions.append(f"MetaData.LastUpdatedTime >= {quote(query_literal(floor))}")
        if until is not None:
            conditions.append(f"MetaData.LastUpdatedTime < {quote(query_literal(until))}")
        return conditions

    def _estimate(self, read: int) -> AirbyteMessage:
        """``read`` rows so far plus a COUNT of the rest (the rows already sent near the cursor excluded)."""
        with explained(f"counting {self.name}"):
            rest = self._client.count(self._entity, self._where())
        already = sum(1 for _, second in self._seen.values() if self._floor is None or second >= self._floor)
        return AirbyteMessage(type=Type.TRACE, trace=AirbyteTraceMessage(
            type=TraceType.ESTIMATE, emitted_at=time.time() * 1000,
            estimate=AirbyteEstimateTraceMessage(name=self.name, type=EstimateType.STREAM,
                                                 row_estimate=read + max(0, rest - already))))

    def _read_late_window(self) -> list[dict[str, Any]]:
        """Rows stamped in the late window before the cursor, not sent yet: ``>= cursor - LATE_WINDOW AND < cursor``."""
        assert self._cursor is not None and self._sweep is not None
        where = self._where(self._cursor - LATE_WINDOW, until=self._cursor)
        statement = select(self._entity, where, ORDER_BY, self._sweep, PAGE_SIZE)
        with explained(f"reading {self.name}"):
            rows: list[dict[str, Any]] = self._client.query(statement).get(self._entity, [])
        self._sweep = self._sweep + PAGE_SIZE if len(rows) >= PAGE_SIZE else None
        if self._sweep is None:
            self._window_read(self._cursor)
        fresh = [row for row in rows if not self._sent(row)]
        for row in rows:
            self._remember(row)
        self._forget()
        return fresh

    def _read_page(self) -> Iterable[Mapping[str, Any] | AirbyteMessage]:
        if self._sweep is not None:
            self._pages_read += 1
            fresh = self._read_late_window()
            yield from self._emit(fresh)
            return
        while True:
            statement = select(self._entity, self._where(), ORDER_BY, self._position, PAGE_SIZE)
            with explained(f"reading {self.name}"):
                rows: list[dict[str, Any]] = self._client.query(statement).get(self._entity, [])
            if self._position > 1 and (not rows or not self._sent(rows[0])):
                # The page must start with the last row already read, unchanged (same Id, second and
                # SyncToken). Otherwise rows of this second were edited away and unread rows moved up
                # past the offset: step back a page; the id filter drops repeats.
                self._position = max(1, self._position - PAGE_SIZE)
                continue
            break
        self._pages_read += 1
        if self._pages_read == 1 and self._cursor is not None and self._floor == self._cursor - LATE_WINDOW:
            self._window_read(self._cursor)
        fresh = self._advance(rows)
        self._pages_done = len(rows) < PAGE_SIZE
        if not self._estimated and not self._pages_done:
            # Worth one COUNT only when more than a page is coming: QuickBooks meters reads, and most
            # incremental syncs fit in one page.
            self._estimated = True
            yield self._estimate(len(fresh))
        if self._links is not None and self._entity == "Customer":
            for row in rows:
                self._links.remember(row)
        yield from self._emit(fresh)

    def _emit(self, fresh: list[dict[str, Any]]) -> Iterable[Mapping[str, Any]]:
        """Checkpoint, then the page's new rows with their top-level fields."""
        if self._links is not None:
            if self._entity == "Customer":
                for row in fresh:
                    self._links.remember(row)
            elif self._entity == "Invoice" and fresh:
                refs = [customer_ref(row) for row in fresh]
                with explained(f"reading the customers of {self.name}"):
                    projects = self._links.project_ids(r for r in refs if r)
                for row, ref in zip(fresh, refs, strict=True):
                    row[PROJECT_ID] = projects.get(ref) if ref else None
        self._checkpoint()
        yield from (self._decorate(row) for row in fresh)

    def _decorate(self, row: dict[str, Any]) -> dict[str, Any]:
        """The top-level fields every record carries: the cursor, and an invoice's linked project."""
        row[CURSOR] = (row.get("MetaData") or {}).get("LastUpdatedTime") or row.get(DELETED_AT)
        if self._entity == "Invoice":
            row.setdefault(PROJECT_ID, None)
        return row

    def _advance(self, rows: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
        """The rows not sent yet; moves the keyset to the last row's second."""
        fresh = [row for row in rows if not self._sent(row)]
        if not rows:
            return fresh
        last = updated_at(rows[-1])
        if last is None:  # QBO stamps every object; paging on the stamp cannot go on without one
            raise AirbyteTracedException(
                message=f"QuickBooks returned {self.name} without MetaData.LastUpdatedTime; they cannot be paged.",
                internal_message=f"{self._entity} {rows[-1].get('Id')} has no MetaData.LastUpdatedTime",
                failure_type=FailureType.system_error)
        for row in rows:
            self._remember(row)
        if last == self._floor:  # the whole page was this second, from STARTPOSITION on
            last_position = self._position + len(rows) - 1
        else:  # a later second: its rows in this page are the first ones of ``>= last``
            self._floor = last
            last_position = sum(1 for row in rows if updated_at(row) == last)
        self._position = last_position if last_position > REREAD_LIMIT else 1
        if self._cursor is None or last > self._cursor:
            self._cursor = last
        self._forget()
        return fresh

    def _window_read(self, cursor: datetime) -> None:
        """The late window before ``cursor`` was just read: for good once lateness and margin are past."""
        if self._clock() - cursor > LATE_WINDOW:
            self._late_checked = cursor

    def _remember(self, row: Mapping[str, Any]) -> None:
        second = updated_at(row)
        if second is not None:
            self._seen.pop(str(row.get("Id")), None)  # re-inserted last: the memory keeps read order
            self._seen[str(row.get("Id"))] = (sync_token(row), second)

    def _forget(self) -> None:
        """Keep what was read inside the late window before the cursor, at most MAX_STATE_IDS rows."""
        if self._cursor is None:
            return
        oldest = self._cursor - LATE_WINDOW
        kept = [(i, seen) for i, seen in self._seen.items() if seen[1] >= oldest]
        if len(kept) > MAX_STATE_IDS:  # the newest seconds matter most: the cursor second is re-read first
            kept = sorted(kept, key=lambda item: item[1][1])[-MAX_STATE_IDS:]
        self._seen = dict(kept)

    def _sent(self, row: Mapping[str, Any]) -> bool:
        """Sent already: same Id, second and version (states of old may lack the version)."""
        seen = self._seen.get(str(row.get("Id")))
        return seen is not None and seen[1] == updated_at(row) and seen[0] in (None, sync_token(row))

    def _read_deletions(self) -> Iterable[Mapping[str, Any]]:
        if self._deletions is None or self._deletions_since is None:
            return
        since = self._deletions_since
        floor = cdc_floor(self._clock())
        if since < floor:
            self._logger.warning(
                f"{self.name}: deletions were last checked at {since.isoformat()}, more than 30 days ago. "
                f"QuickBooks lists deleted objects for 30 days only, so those deleted before {floor.isoformat()} "
                "cannot be reported; a full refresh (reset) of this stream removes them.")
            since = floor
        with explained(f"listing deleted {self.name}"):
            tombstones, called_at = self._deletions.deleted(self._entity, since)
        known = set(self._deleted_ids)
        fresh = [{**row, DELETED_AT: row.get("MetaData", {}).get("LastUpdatedTime") or called_at.isoformat()}
                 for row in tombstones if str(row.get("Id")) not in known]
        self._logger.info(f"{self.name}: {len(fresh)} deleted since {since.isoformat()} (change data capture).")
        self._deletions_since = called_at - DELETIONS_OVERLAP
        self._deleted_ids = [str(row.get("Id")) for row in tombstones
                             if (updated_at(row) or called_at) >= self._deletions_since]
        self._deletions_due = False
        self._checkpoint()
        yield from (self._decorate(row) for row in fresh)

    def _checkpoint(self) -> None:
        state: dict[str, Any] = {}
        if self._cursor is not None:
            state[STATE_CURSOR] = query_literal(self._cursor)
            state["ids"] = {i: token for i, (token, second) in self._seen.items() if second == self._cursor}
            earlier: dict[str, dict[str, str | None]] = {}
            for i, (token, second) in self._seen.items():
                if second != self._cursor:
                    earlier.setdefault(query_literal(second), {})[i] = token
            if earlier:
                state["recent"] = earlier
            if self._position > 1 and self._floor == self._cursor:
                state["position"] = self._position
            if self._late_checked == self._cursor:
                state["late_checked"] = query_literal(self._cursor)
        if self._deletions_since is not None:
            state["deletions_since"] = query_literal(self._deletions_since)
        if self._deleted_ids:
            state["deleted_ids"] = self._deleted_ids[-MAX_STATE_IDS:]
        self._state = state
