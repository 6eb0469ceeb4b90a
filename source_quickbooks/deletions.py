"""Deleted QuickBooks objects: change data capture (:class:`DeletionFeed`) and its watermark in the state.

Only CDC reports deleted objects, and only for 30 days. Deletions do not move the record cursor: a
deletion's time can be later than rows edited after the query passed them, and a cursor moved to it
would skip those rows. They have their own watermark (:class:`DeletionWatermark`), ``deletions_since``:
the local time of the last CDC call minus ten minutes (for clock skew), so it keeps moving when nothing
else changes. Tombstones in that overlap are remembered in ``deleted_ids`` and not sent again.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, TypeVar

from qbo.client import QuickBooksClient
from source_quickbooks.paging import (
    MAX_STATE_IDS,
    STATE_CURSOR,
    parse_instant,
    query_literal,
    stamped_between,
    updated_at,
)

CDC_LOOKBACK = timedelta(days=30)
CDC_LOOKBACK_SLACK = timedelta(hours=1)  # keep clear of the 30-day edge: clocks differ, calls take time
CDC_MAX_OBJECTS = 1000  # per answer, all entities together (Intuit)
DELETIONS_OVERLAP = timedelta(minutes=10)

Clock = Callable[[], datetime]
Row = TypeVar("Row", bound=Mapping[str, Any])


def utc_now() -> datetime:
    return datetime.now(UTC)


def cdc_floor(now: datetime) -> datetime:
    """The earliest ``changedSince`` QuickBooks accepts, with some slack."""
    return now - CDC_LOOKBACK + CDC_LOOKBACK_SLACK


def is_tombstone(row: Mapping[str, Any]) -> bool:
    return str(row.get("status") or "").lower() == "deleted"


@dataclass(frozen=True)
class DeletionWatermark:
    """Where the next CDC call starts (``since``), the tombstones at or after it already sent, and whether
    this sync owes a CDC call (``due``: only after an earlier sync, which may have sent what was deleted since)."""

    since: datetime | None = None
    deleted_ids: tuple[str, ...] = ()
    due: bool = False

    @classmethod
    def from_state(cls, state: Mapping[str, Any], now: datetime) -> DeletionWatermark:
        """States without ``deletions_since`` fall back to the record cursor; without either, watch from ``now`` on."""
        since = parse_instant(state.get("deletions_since")) or parse_instant(state.get(STATE_CURSOR))
        if since is None:  # without an earlier sync nothing was sent that could be deleted
            return cls(now - DELETIONS_OVERLAP)
        return cls(since, tuple(str(i) for i in state.get("deleted_ids") or []), due=True)

    def to_state(self) -> dict[str, Any]:
        state: dict[str, Any] = {}
        if self.since is not None:
            state["deletions_since"] = query_literal(self.since)
        if self.deleted_ids:
            state["deleted_ids"] = list(self.deleted_ids[-MAX_STATE_IDS:])
        return state

    def unsent(self, tombstones: Iterable[Row]) -> list[Row]:
        known = set(self.deleted_ids)
        return [row for row in tombstones if str(row.get("Id")) not in known]

    def after(self, tombstones: Iterable[Mapping[str, Any]], called_at: datetime) -> DeletionWatermark:
        """After a CDC call at ``called_at`` answered ``tombstones``: the overlap before it, and what was sent in it."""
        since = called_at - DELETIONS_OVERLAP
        return DeletionWatermark(since, tuple(str(row.get("Id")) for row in tombstones
                                              if (updated_at(row) or called_at) >= since))


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
        live = self._client.count(entity, stamped_between(entity, start, until))
        if live > seen:
            self._logger.warning(
                f"Change data capture answered {CDC_MAX_OBJECTS} {entity} objects but left out {live - seen} "
                f"changed between {start.isoformat()} and {until.isoformat()}: "
                "deletions in that span may be missing. A full refresh (reset) of the stream removes them.")
