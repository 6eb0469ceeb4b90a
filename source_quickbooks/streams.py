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

Where each part lives. ``paging.py``: the keyset position, a frozen value with pure moves
(``from_state``, ``advance``, ``to_state``); ``deletions.py``: the CDC feed and its watermark; here:
the stream, one plain loop over pages (:meth:`QuickBooksStream.units`) that asks QuickBooks and
threads both values through, one unit (records, then the state) per page.
"""

from __future__ import annotations

import itertools
import logging
import time
from collections.abc import Iterable, Iterator, Mapping, Sequence
from datetime import datetime
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
from airbyte_cdk.utils.traced_exception import AirbyteTracedException

from connector_core.streams import Unit, UnitStream
from mapping.links import project_id_from_notes
from qbo.client import MAX_QUERY_RESULTS, QuickBooksClient
from qbo.errors import explained
from qbo.query import in_list, select
from source_quickbooks.deletions import Clock, DeletionFeed, DeletionWatermark, cdc_floor, is_tombstone, utc_now
from source_quickbooks.paging import (
    CURSOR,
    PAGE_SIZE,
    KeysetPosition,
    PageQuery,
    UnstampedRow,
    stamped_between,
)

CURSOR_FIELD = [CURSOR]
PROJECT_ID = "_coperniq_project_id"  # on invoices: the Coperniq project linked to the invoice's customer
ORDER_BY = "MetaData.LastUpdatedTime"
DELETED_AT = "_ab_cdc_deleted_at"

def customer_ref(invoice: Mapping[str, Any]) -> str | None:
    ref = invoice.get("CustomerRef")
    value = ref.get("value") if isinstance(ref, Mapping) else ref
    return str(value) if value not in (None, "") else None


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


class QuickBooksStream(UnitStream):
    """One QuickBooks entity (``Customer``, ``Invoice``) read in ``MetaData.LastUpdatedTime`` order.

    A sync is a plain loop (:meth:`units`) threading a :class:`KeysetPosition` through its pages: the late-window
    pages still due, the keyset pages, then the deletions; each page is one unit, checkpointed after its records.
    """

    primary_key = "Id"
    cursor_field = CURSOR_FIELD
    source_defined_cursor = True

    def __init__(self, name: str, entity: str, client: QuickBooksClient, start_date: datetime | None = None,
                 deletions: DeletionFeed | None = None, links: CustomerLinks | None = None,
                 clock: Clock = utc_now, logger: logging.Logger | None = None):
        super().__init__(name)
        self._entity = entity
        self._client = client
        self._start_date = start_date
        self._deletions = deletions
        self._links = links
        self._clock = clock
        self._logger = logger or logging.getLogger("airbyte.source_quickbooks")

    def units(self, sync_mode: SyncMode) -> Iterator[Unit]:
        incoming = self.state if sync_mode == SyncMode.incremental else {}
        keyset = KeysetPosition.from_state(incoming, self._start_date)
        watermark = DeletionWatermark()  # an entity QuickBooks cannot delete keeps none
        if self._deletions is not None:
            watermark = DeletionWatermark.from_state(incoming, self._clock())
        while (late := keyset.late_window_query()) is not None:
            rows = self._query(late)
            fresh = keyset.unsent(rows)
            keyset = keyset.after_late_window(rows, self._clock())
            yield self._unit(fresh, keyset, watermark)
        for page in itertools.count(1):  # keyset pages until a short one
            rows, keyset = self._keyset_page(keyset)
            fresh, keyset = keyset.unsent(rows), self._advanced(keyset, rows)
            full = len(rows) >= PAGE_SIZE
            # Worth one COUNT only when more than a page is coming: QuickBooks meters reads, and most
            # incremental syncs fit in one page.
            estimate = [self._estimate(keyset, len(fresh))] if page == 1 and full else []
            if self._links is not None and self._entity == "Customer":
                for row in rows:
                    self._links.remember(row)
            yield self._unit(fresh, keyset, watermark, before=estimate)
            if not full:
                break
        if watermark.due:
            yield self._deletions_unit(keyset, watermark)

    # -- reading -------------------------------------------------------------------------------------

    def _where(self, floor: datetime | None, until: datetime | None = None) -> list[str]:
        """``>= floor``, never before ``start_date``, and ``< until`` when given."""
        if self._start_date is not None and (floor is None or floor < self._start_date):
            floor = self._start_date
        return stamped_between(self._entity, floor, until)

    def _query(self, page: PageQuery) -> list[dict[str, Any]]:
        statement = select(self._entity, self._where(page.floor, page.until), ORDER_BY, page.start, PAGE_SIZE)
        with explained(f"reading {self.name}"):
            return self._client.query(statement).get(self._entity, [])

    def _keyset_page(self, keyset: KeysetPosition) -> tuple[list[dict[str, Any]], KeysetPosition]:
        """The next keyset page, and the position that asked for it: a displaced page is asked a page earlier."""
        while True:
            rows = self._query(keyset.page_query())
            if not keyset.displaced(rows):
                return rows, keyset
            keyset = keyset.stepped_back()

    def _advanced(self, keyset: KeysetPosition, rows: Sequence[dict[str, Any]]) -> KeysetPosition:
        try:
            return keyset.advance(rows, self._clock())
        except UnstampedRow as error:
            raise AirbyteTracedException(
                message=f"QuickBooks returned {self.name} without MetaData.LastUpdatedTime; they cannot be paged.",
                internal_message=f"{self._entity} {error.row_id} has no MetaData.LastUpdatedTime",
                failure_type=FailureType.system_error) from error

    def _estimate(self, keyset: KeysetPosition, read: int) -> AirbyteMessage:
        """``read`` rows so far plus a COUNT of the rest (the rows already sent near the cursor excluded)."""
        where = self._where(keyset.floor)
        with explained(f"counting {self.name}"):
            rest = self._client.count(self._entity, where)
        return AirbyteMessage(type=Type.TRACE, trace=AirbyteTraceMessage(
            type=TraceType.ESTIMATE, emitted_at=time.time() * 1000,
            estimate=AirbyteEstimateTraceMessage(name=self.name, type=EstimateType.STREAM,
                                                 row_estimate=read + max(0, rest - keyset.sent_since_floor()))))

    # -- what each unit sends ------------------------------------------------------------------------

    def _unit(self, fresh: list[dict[str, Any]], keyset: KeysetPosition, watermark: DeletionWatermark,
              before: Sequence[AirbyteMessage] = ()) -> Unit:
        """The page's new rows with their top-level fields (after ``before``), and the state once they are out."""
        self._link(fresh)
        return Unit([*before, *(self._decorate(row) for row in fresh)], {**keyset.to_state(), **watermark.to_state()})

    def _link(self, fresh: list[dict[str, Any]]) -> None:
        """Customers tell the links what they link to; invoices get their customer's project."""
        if self._links is None:
            return
        if self._entity == "Customer":
            for row in fresh:
                self._links.remember(row)
        elif self._entity == "Invoice" and fresh:
            refs = [customer_ref(row) for row in fresh]
            with explained(f"reading the customers of {self.name}"):
                projects = self._links.project_ids(r for r in refs if r)
            for row, ref in zip(fresh, refs, strict=True):
                row[PROJECT_ID] = projects.get(ref) if ref else None

    def _decorate(self, row: dict[str, Any]) -> dict[str, Any]:
        """The top-level fields every record carries: the cursor, and an invoice's linked project."""
        row[CURSOR] = (row.get("MetaData") or {}).get("LastUpdatedTime") or row.get(DELETED_AT)
        if self._entity == "Invoice":
            row.setdefault(PROJECT_ID, None)
        return row

    def _deletions_unit(self, keyset: KeysetPosition, watermark: DeletionWatermark) -> Unit:
        """The tombstones of one CDC call since the watermark, those not sent yet, and the watermark after it."""
        assert self._deletions is not None and watermark.since is not None
        since, floor = watermark.since, cdc_floor(self._clock())
        if since < floor:
            self._logger.warning(
                f"{self.name}: deletions were last checked at {since.isoformat()}, more than 30 days ago. "
                f"QuickBooks lists deleted objects for 30 days only, so those deleted before {floor.isoformat()} "
                "cannot be reported; a full refresh (reset) of this stream removes them.")
            since = floor
        with explained(f"listing deleted {self.name}"):
            tombstones, called_at = self._deletions.deleted(self._entity, since)
        fresh = [{**row, DELETED_AT: row.get("MetaData", {}).get("LastUpdatedTime") or called_at.isoformat()}
                 for row in watermark.unsent(tombstones)]
        self._logger.info(f"{self.name}: {len(fresh)} deleted since {since.isoformat()} (change data capture).")
        watermark = watermark.after(tombstones, called_at)
        return Unit([self._decorate(row) for row in fresh], {**keyset.to_state(), **watermark.to_state()})
