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

State (per stream, after every page)::

    {"LastUpdatedTime": "2025-06-02T10:00:05-07:00",  # the last second read, as QBO wrote it
     "ids": {"131": "2", "7": "0"},                   # Id -> SyncToken sent at it (the last 1000)
     "position": 1994,                                # next STARTPOSITION, when not 1
     "deletions_since": "2025-06-02T16:50:00+00:00",  # where the next CDC call starts
     "deleted_ids": ["44"]}                           # tombstones at/after it, already sent

Deletions. Only CDC reports deleted objects, and only for 30 days. After the pages of an
incremental sync that resumes from a state, one ``GET /cdc?entities=Customer,Invoice`` (shared by
both streams, see :class:`DeletionFeed`) returns what was deleted since ``deletions_since``; each
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
from typing import Any, TypeVar

import requests
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

from qbo.client import MAX_QUERY_RESULTS, QuickBooksClient
from qbo.errors import QuickBooksFault
from qbo.query import quote, select

SCHEMAS = Path(__file__).parent / "schemas"
CURSOR_FIELD = ["MetaData", "LastUpdatedTime"]
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
CDC_MAX_PER_ENTITY = 1000
DELETIONS_OVERLAP = timedelta(minutes=10)
DELETED_AT = "_ab_cdc_deleted_at"

Clock = Callable[[], datetime]
T = TypeVar("T")


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


def as_traced(error: Exception, doing: str) -> AirbyteTracedException:
    """Plain words and the right failure type for an error met while ``doing`` something."""
    if isinstance(error, AirbyteTracedException):
        return error
    if isinstance(error, QuickBooksFault):
        failure = FailureType.config_error if error.status in (401, 403) else FailureType.system_error
        return AirbyteTracedException(message=f"QuickBooks refused the request while {doing}: {error}",
                                      internal_message=f"{type(error).__name__}: {error}",
                                      failure_type=failure, exception=error)
    if isinstance(error, requests.RequestException):
        return AirbyteTracedException(message=f"QuickBooks could not be reached while {doing}: {error}",
                                      internal_message=f"{type(error).__name__}: {error}",
                                      failure_type=FailureType.transient_error, exception=error)
    return AirbyteTracedException.from_exception(error)


def call(doing: str, function: Callable[[], T]) -> T:
    try:
        return function()
    except (QuickBooksFault, requests.RequestException) as error:
        raise as_traced(error, doing) from error


@cache
def load_schema(name: str) -> dict[str, Any]:
    return json.loads((SCHEMAS / f"{name}.json").read_text())


class DeletionFeed:
    """The sync's CDC call, shared by the streams: one ``GET /cdc?entities=Customer,Invoice``.

    The source fills :attr:`plan` (entity -> earliest ``changedSince`` it needs) from the catalog
    and the incoming state before any stream reads, so the first stream to ask fetches for all.
    A stream asking for more (an earlier time, another entity) gets a call of its own.
    """

    def __init__(self, client: QuickBooksClient, logger: logging.Logger | None = None, clock: Clock = utc_now):
        self._client = client
        self._logger = logger or logging.getLogger("airbyte.source_quickbooks")
        self._clock = clock
        self.plan: dict[str, datetime] = {}
        self._rows: dict[str, list[dict[str, Any]]] = {}
        self._since: dict[str, datetime] = {}
        self._called_at: dict[str, datetime] = {}

    def deleted(self, entity: str, since: datetime) -> tuple[list[dict[str, Any]], datetime]:
        """Tombstones of ``entity`` stamped at or after ``since`` (oldest first), and when CDC was asked."""
        if entity not in self._rows or since < self._since[entity]:
            wanted = {entity: since} if self._rows else {**self.plan, entity: min(since, self.plan.get(entity, since))}
            self._fetch(wanted)
        rows = [row for row in self._rows[entity]
                if is_tombstone(row) and (updated_at(row) or since) >= since]
        return rows, self._called_at[entity]

    def _fetch(self, wanted: Mapping[str, datetime]) -> None:
        entities = sorted(wanted)
        since = max(min(wanted.values()), cdc_floor(self._clock()))
        called_at = self._clock()
        changed = self._client.cdc(entities, query_literal(since))
        for entity in entities:
            rows = list(changed.get(entity, []))
            last_page, resume_from = rows, since
            # CDC answers at most 1000 objects per entity, oldest first: ask again from the last one's second.
            while len(last_page) >= CDC_MAX_PER_ENTITY:
                resume = updated_at(last_page[-1])
                if resume is None or resume <= resume_from:
                    self._logger.warning(f"More than {CDC_MAX_PER_ENTITY} {entity} objects changed in one second "
                                         f"({resume_from}); deletions beyond them cannot be listed by CDC.")
                    break
                resume_from = resume
                seen = {(str(r.get("Id")), updated_at(r)) for r in rows}
                last_page = self._client.cdc([entity], query_literal(resume)).get(entity, [])
                rows.extend(r for r in last_page if (str(r.get("Id")), updated_at(r)) not in seen)
            self._rows[entity] = rows
            self._since[entity] = since
            self._called_at[entity] = called_at


class QuickBooksStream(Stream, CheckpointMixin):
    """One QuickBooks entity (``Customer``, ``Invoice``) read in ``MetaData.LastUpdatedTime`` order."""

    primary_key = "Id"
    cursor_field = CURSOR_FIELD

    def __init__(self, name: str, entity: str, client: QuickBooksClient, start_date: datetime | None = None,
                 deletions: DeletionFeed | None = None, clock: Clock = utc_now,
                 logger: logging.Logger | None = None):
        self._name = name
        self._entity = entity
        self._client = client
        self._start_date = start_date
        self._deletions = deletions
        self._clock = clock
        self._logger = logger or logging.getLogger("airbyte.source_quickbooks")
        self._state: dict[str, Any] = {}
        self._begun = False
        self._pages_done = False
        self._pages_read = 0
        self._estimated = False
        self._second: datetime | None = None
        self._ids: dict[str, str | None] = {}  # Id -> SyncToken of the rows sent at ``_second``, in read order
        self._position = 1
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
        second = parse_instant(incoming.get(STATE_CURSOR))
        if second is not None and (self._start_date is None or second >= self._start_date):
            self._second = second
            self._ids = read_ids(incoming.get("ids"))
            self._position = max(1, int(incoming.get("position") or 1))
        else:  # first sync, full refresh, or a start_date moved past the cursor
            self._second, self._ids, self._position = None, {}, 1
        since = deletions_since(incoming)
        self._deletions_due = since is not None and self._deletions is not None
        # Without an earlier sync nothing was sent that could be deleted: watch from now on.
        self._deletions_since = since if since is not None else now - DELETIONS_OVERLAP
        self._deleted_ids = [str(i) for i in incoming.get("deleted_ids") or []] if since is not None else []
        self._checkpoint()

    def _where(self) -> list[str]:
        conditions = ["Active IN (true, false)"] if self._entity in INACTIVE_HIDDEN else []
        floor = self._second if self._second is not None else self._start_date
        if floor is not None:
            conditions.append(f"MetaData.LastUpdatedTime >= {quote(query_literal(floor))}")
        return conditions

    def _estimate(self, read: int) -> AirbyteMessage:
        """``read`` rows so far plus a COUNT of the rest (the rows of the cursor second already sent excluded)."""
        rest = call(f"counting {self.name}", lambda: self._client.count(self._entity, self._where()))
        return AirbyteMessage(type=Type.TRACE, trace=AirbyteTraceMessage(
            type=TraceType.ESTIMATE, emitted_at=time.time() * 1000,
            estimate=AirbyteEstimateTraceMessage(name=self.name, type=EstimateType.STREAM,
                                                 row_estimate=read + max(0, rest - len(self._ids)))))

    def _read_page(self) -> Iterable[Mapping[str, Any] | AirbyteMessage]:
        while True:
            statement = select(self._entity, self._where(), ORDER_BY, self._position, PAGE_SIZE)
            rows: list[dict[str, Any]] = call(f"reading {self.name}",
                                              lambda s=statement: self._client.query(s).get(self._entity, []))
            if self._position > 1 and (not rows or not self._sent(rows[0])):
                # The page must start with the last row already read, unchanged (same Id, second and
                # SyncToken). Otherwise rows of this second were edited away and unread rows moved up
                # past the offset: step back a page; the id filter drops repeats.
                self._position = max(1, self._position - PAGE_SIZE)
                continue
            break
        self._pages_read += 1
        fresh = self._advance(rows)
        self._pages_done = len(rows) < PAGE_SIZE
        if not self._estimated and not self._pages_done:
            # Worth one COUNT only when more than a page is coming: QuickBooks meters reads, and most
            # incremental syncs fit in one page.
            self._estimated = True
            yield self._estimate(len(fresh))
        self._checkpoint()
        yield from fresh

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
        if last == self._second:  # the whole page was this second, from STARTPOSITION on
            last_position = self._position + len(rows) - 1
        else:  # a later second: its rows in this page are the first ones of ``>= last``
            self._second, self._ids = last, {}
            last_position = sum(1 for row in rows if updated_at(row) == last)
        for row in rows:
            if updated_at(row) == last:
                self._ids[str(row.get("Id"))] = sync_token(row)
        self._position = last_position if last_position > REREAD_LIMIT else 1
        return fresh

    def _sent(self, row: Mapping[str, Any]) -> bool:
        """Sent already: same second, same Id and the same version (states of old may lack the version)."""
        row_id = str(row.get("Id"))
        return (updated_at(row) == self._second and row_id in self._ids
                and self._ids[row_id] in (None, sync_token(row)))

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
        feed = self._deletions
        tombstones, called_at = call(f"listing deleted {self.name}", lambda: feed.deleted(self._entity, since))
        known = set(self._deleted_ids)
        fresh = [{**row, DELETED_AT: row.get("MetaData", {}).get("LastUpdatedTime") or called_at.isoformat()}
                 for row in tombstones if str(row.get("Id")) not in known]
        self._logger.info(f"{self.name}: {len(fresh)} deleted since {since.isoformat()} (change data capture).")
        self._deletions_since = called_at - DELETIONS_OVERLAP
        self._deleted_ids = [str(row.get("Id")) for row in tombstones
                             if (updated_at(row) or called_at) >= self._deletions_since]
        self._deletions_due = False
        self._checkpoint()
        yield from fresh

    def _checkpoint(self) -> None:
        state: dict[str, Any] = {}
        if self._second is not None:
            state[STATE_CURSOR] = query_literal(self._second)
            state["ids"] = dict(list(self._ids.items())[-MAX_STATE_IDS:])
            if self._position > 1:
                state["position"] = self._position
        if self._deletions_since is not None:
            state["deletions_since"] = query_literal(self._deletions_since)
        if self._deleted_ids:
            state["deleted_ids"] = self._deleted_ids[-MAX_STATE_IDS:]
        self._state = state
