"""Where a QuickBooks read stands: the keyset position as a value, with pure moves (see ``streams`` for the why).

A :class:`KeysetPosition` says which query comes next (:meth:`~KeysetPosition.page_query`,
:meth:`~KeysetPosition.late_window_query`) and which rows were sent already (:meth:`~KeysetPosition.unsent`);
reading a page gives a new position (:meth:`~KeysetPosition.advance`, :meth:`~KeysetPosition.after_late_window`,
:meth:`~KeysetPosition.stepped_back`). It never asks QuickBooks anything and never changes: the stream threads
it through its pages, and it round-trips through the stream state (:meth:`~KeysetPosition.from_state`,
:meth:`~KeysetPosition.to_state`), whose shape older syncs wrote too.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from types import MappingProxyType
from typing import Any, NamedTuple, TypeVar

from qbo.client import MAX_QUERY_RESULTS
from qbo.query import quote

PAGE_SIZE = MAX_QUERY_RESULTS
# The top-level cursor every record carries (as in Airbyte's own QuickBooks source): warehouse
# destinations refuse nested cursors in append-dedup. Its value is ``MetaData.LastUpdatedTime``.
CURSOR = "airbyte_cursor"
STATE_CURSOR = "LastUpdatedTime"
MAX_STATE_IDS = 1000  # bounds the state; only seconds holding more rows than this can repeat a few
# Restart at STARTPOSITION 1 while the rows already read at the cursor second are this few: re-reading
# them is cheap and does not depend on how QBO orders rows within a second.
REREAD_LIMIT = 100
# A change can become visible to queries after rows stamped later were read (a late commit, servers
# whose clocks differ). Each sync reads again from this far before its cursor: up to a minute late,
# with a minute of margin.
LATE_WINDOW = timedelta(minutes=2)
INACTIVE_HIDDEN = {"Customer"}  # name lists answer only active rows unless the WHERE names Active


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


def stamped_between(entity: str, floor: datetime | None, until: datetime | None = None) -> list[str]:
    """The WHERE of rows stamped ``>= floor`` (when given) and ``< until`` (when given), inactive ones included."""
    conditions = ["Active IN (true, false)"] if entity in INACTIVE_HIDDEN else []
    if floor is not None:
        conditions.append(f"MetaData.LastUpdatedTime >= {quote(query_literal(floor))}")
    if until is not None:
        conditions.append(f"MetaData.LastUpdatedTime < {quote(query_literal(until))}")
    return conditions


class SentRow(NamedTuple):
    """What was sent of one row: its version (``None`` in states of old, which kept no versions) and second."""

    token: str | None
    second: datetime


Sent = Mapping[str, SentRow]  # Id -> what was sent, in the order read
Row = TypeVar("Row", bound=Mapping[str, Any])


def read_ids(value: Any) -> dict[str, str | None]:
    """The ``ids`` of a state: ``{Id: SyncToken}``; a plain list of Ids (no versions) is accepted too."""
    if isinstance(value, Mapping):
        return {str(k): None if v is None else str(v) for k, v in value.items()}
    return {str(i): None for i in value or []}


def read_sent(state: Mapping[str, Any], cursor: datetime) -> dict[str, SentRow]:
    """Rows already sent near the cursor: ``recent`` (``{second: {Id: SyncToken}}``), then ``ids`` (at the cursor)."""
    recent = state.get("recent")
    seconds = [(second, ids) for literal, ids in recent.items() if (second := parse_instant(literal))] \
        if isinstance(recent, Mapping) else []
    sent: dict[str, SentRow] = {}
    for second, ids in sorted(seconds, key=lambda item: item[0]):
        sent.update((i, SentRow(token, second)) for i, token in read_ids(ids).items())
    for i, token in read_ids(state.get("ids")).items():
        sent.pop(i, None)
        sent[i] = SentRow(token, cursor)
    return sent


class UnstampedRow(ValueError):
    """QuickBooks answered a row without ``MetaData.LastUpdatedTime``: paging on the stamp cannot go on."""

    def __init__(self, row: Mapping[str, Any]):
        super().__init__(f"{row.get('Id')} has no MetaData.LastUpdatedTime")
        self.row_id = row.get("Id")


@dataclass(frozen=True)
class PageQuery:
    """One page to ask for: ``>= floor`` (none: from the start), ``< until`` if given, from STARTPOSITION ``start``."""

    floor: datetime | None
    until: datetime | None
    start: int


@dataclass(frozen=True)
class KeysetPosition:
    """Where the keyset stands: the page query's ``>= floor`` and STARTPOSITION, the rows sent near the cursor."""

    cursor: datetime | None = None  # the latest second read
    floor: datetime | None = None  # the page query's ``>=``
    position: int = 1  # its STARTPOSITION
    sent: Sent = field(default_factory=lambda: MappingProxyType({}))  # read in the late window before the cursor
    sweep: int | None = None  # STARTPOSITION of the late-window query still due before the pages
    # The cursor whose late window was read when every late commit before it was visible: no more to come.
    late_checked: datetime | None = None
    # The next page starts at the late window before the cursor (a sync resumed at STARTPOSITION 1).
    reads_late_window: bool = False

    # -- to and from the stream state -------------------------------------------------------------

    @classmethod
    def from_state(cls, state: Mapping[str, Any], start_date: datetime | None = None) -> KeysetPosition:
        """The position a sync starts from: a first sync's (from ``start_date``) unless the state holds a cursor.

        A cursor before ``start_date`` (the date was moved later) starts over too.
        """
        cursor = parse_instant(state.get(STATE_CURSOR) or state.get(CURSOR))
        if cursor is None or (start_date is not None and cursor < start_date):
            return cls(floor=start_date)
        sent = MappingProxyType(read_sent(state, cursor))
        position = max(1, int(state.get("position") or 1))
        late_checked = cursor if parse_instant(state.get("late_checked")) == cursor else None
        if position > 1:
            # Inside a crowded second: go on from its position, after one bounded query of the late
            # window before it (re-reading that second from the start would cost pages), unless an
            # earlier sync read that window when nothing more could come late.
            return cls(cursor, cursor, position, sent, None if late_checked is not None else 1, late_checked)
        # Changes stamped up to LATE_WINDOW before the cursor may have become visible since.
        return cls(cursor, cursor - LATE_WINDOW, 1, sent, None, late_checked, reads_late_window=True)

    def to_state(self) -> dict[str, Any]:
        """``LastUpdatedTime``, ``ids`` sent at it, ``recent`` (at earlier seconds), ``position``, ``late_checked``."""
        if self.cursor is None:
            return {}
        state: dict[str, Any] = {STATE_CURSOR: query_literal(self.cursor),
                                 "ids": {i: s.token for i, s in self.sent.items() if s.second == self.cursor}}
        earlier: dict[str, dict[str, str | None]] = {}
        for i, sent in self.sent.items():
            if sent.second != self.cursor:
                earlier.setdefault(query_literal(sent.second), {})[i] = sent.token
        if earlier:
            state["recent"] = earlier
        if self.position > 1 and self.floor == self.cursor:
            state["position"] = self.position
        if self.late_checked == self.cursor:
            state["late_checked"] = query_literal(self.cursor)
        return state

    # -- what to ask, what was sent ------------------------------------------------------------------

    def page_query(self) -> PageQuery:
        return PageQuery(self.floor, None, self.position)

    def late_window_query(self) -> PageQuery | None:
        """The next page of ``>= cursor - LATE_WINDOW AND < cursor``, while it is due."""
        if self.sweep is None or self.cursor is None:
            return None
        return PageQuery(self.cursor - LATE_WINDOW, self.cursor, self.sweep)

    def is_sent(self, row: Mapping[str, Any]) -> bool:
        """Sent already: same Id, second and version (states of old may lack the version)."""
        sent = self.sent.get(str(row.get("Id")))
        return sent is not None and sent.second == updated_at(row) and sent.token in (None, sync_token(row))

    def unsent(self, rows: Iterable[Row]) -> list[Row]:
        return [row for row in rows if not self.is_sent(row)]

    def sent_since_floor(self) -> int:
        """Rows sent already that the page query ``>= floor`` answers again."""
        return sum(1 for sent in self.sent.values() if self.floor is None or sent.second >= self.floor)

    def displaced(self, rows: Sequence[Mapping[str, Any]]) -> bool:
        """A page past STARTPOSITION 1 must start with the last row already read, unchanged (same Id, second and
        SyncToken); otherwise rows of this second were edited away and unread rows moved up past the offset."""
        return self.position > 1 and (not rows or not self.is_sent(rows[0]))

    # -- moves -------------------------------------------------------------------------------------

    def stepped_back(self) -> KeysetPosition:
        """A page earlier, for a displaced page: the rows sent already are dropped again by :meth:`unsent`."""
        return replace(self, position=max(1, self.position - PAGE_SIZE))

    def advance(self, rows: Sequence[Mapping[str, Any]], now: datetime) -> KeysetPosition:
        """After the page :meth:`page_query` answered (read at ``now``): on to the last row's second.

        Raises :class:`UnstampedRow` when the last row has no stamp to page on.
        """
        moved = self._late_window_read(now) if self.reads_late_window else self
        moved = replace(moved, reads_late_window=False)
        if not rows:
            return moved
        last = updated_at(rows[-1])
        if last is None:  # QBO stamps every object
            raise UnstampedRow(rows[-1])
        if last == self.floor:  # the whole page was this second, from STARTPOSITION on
            floor, last_position = self.floor, self.position + len(rows) - 1
        else:  # a later second: its rows in this page are the first ones of ``>= last``
            floor, last_position = last, sum(1 for row in rows if updated_at(row) == last)
        cursor = last if self.cursor is None or last > self.cursor else self.cursor
        return replace(moved, cursor=cursor, floor=floor, position=last_position if last_position > REREAD_LIMIT else 1,
                       sent=_recent(_remembered(self.sent, rows), cursor))

    def after_late_window(self, rows: Sequence[Mapping[str, Any]], now: datetime) -> KeysetPosition:
        """After the page :meth:`late_window_query` answered, read at ``now``: its next page, if any."""
        sweep = self.sweep + PAGE_SIZE if self.sweep is not None and len(rows) >= PAGE_SIZE else None
        moved = replace(self, sweep=sweep, sent=_recent(_remembered(self.sent, rows), self.cursor))
        return moved._late_window_read(now) if sweep is None else moved

    def _late_window_read(self, now: datetime) -> KeysetPosition:
        """The late window before the cursor was just read: for good once lateness and margin are past."""
        if self.cursor is not None and now - self.cursor > LATE_WINDOW:
            return replace(self, late_checked=self.cursor)
        return self


def _remembered(sent: Sent, rows: Iterable[Mapping[str, Any]]) -> dict[str, SentRow]:
    """``sent`` and the stamped ``rows``, each re-inserted last: the memory keeps read order."""
    remembered = dict(sent)
    for row in rows:
        second = updated_at(row)
        if second is not None:
            remembered.pop(str(row.get("Id")), None)
            remembered[str(row.get("Id"))] = SentRow(sync_token(row), second)
    return remembered


def _recent(sent: Mapping[str, SentRow], cursor: datetime | None) -> Sent:
    """What was read inside the late window before the cursor, at most MAX_STATE_IDS rows."""
    if cursor is None:
        return MappingProxyType(dict(sent))
    oldest = cursor - LATE_WINDOW
    kept = [(i, row) for i, row in sent.items() if row.second >= oldest]
    if len(kept) > MAX_STATE_IDS:  # the newest seconds matter most: the cursor second is re-read first
        kept = sorted(kept, key=lambda item: item[1].second)[-MAX_STATE_IDS:]
    return MappingProxyType(dict(kept))
