"""Coperniq streams: order-safe incremental reads over ``updated_after`` / ``updated_before`` windows.

Why Python and not the declarative framework: the reference does not say what ``order_by``
sorts on, so the cursor cannot follow the last record read (the CDK's declarative cursors do).
Instead each incremental read is one frozen time window ``(lower, upper)`` paged in order:

- ``upper`` is fixed when the window opens, so records edited during the sync fall outside it
  and pages do not grow under the reader; they are picked up by the next sync.
- The cursor only advances to ``upper`` once every page of the window has been read.
- While a window is open, each page's checkpoint records the window and the next page. A sync
  resumed from such a state re-opens the same window and re-reads the last completed page too:
  records that left the window in between (they were edited, so the next window has them) shift
  later records back by at most a page without losing them. Re-reads are duplicates, which the
  primary key deduplicates; nothing is skipped.
- A read of several pages is only trusted if no record changed since the window froze: one
  request of one record checks it; otherwise the window is read again (edits during a read move
  records out of the window and shift the others back, which could skip one).
- Timestamps are compared with millisecond precision; the next window starts one millisecond
  before the previous ``upper`` because the API's ``updated_after`` is strict.
"""

from __future__ import annotations

import json
from collections.abc import Generator, Iterable, Mapping, MutableMapping
from datetime import timedelta
from functools import cache
from pathlib import Path
from typing import Any

import pendulum
from airbyte_cdk.models import SyncMode
from airbyte_cdk.sources.streams import CheckpointMixin, Stream

from coperniq.client import MAX_PAGE_SIZE, CoperniqClient

SCHEMAS = Path(__file__).parent / "schemas"
CURSOR = "updatedAt"
OVERLAP = timedelta(milliseconds=1)
MAX_REREADS = 2


def format_timestamp(moment: pendulum.DateTime) -> str:
    """ISO 8601 in UTC with milliseconds, the form Coperniq returns."""
    return moment.in_timezone("UTC").format("YYYY-MM-DDTHH:mm:ss.SSS") + "Z"


def parse_timestamp(value: str) -> pendulum.DateTime:
    parsed = pendulum.parse(value)
    if not isinstance(parsed, pendulum.DateTime):
        raise ValueError(f"{value!r} is not a date-time")
    return parsed.in_timezone("UTC")


@cache
def load_schema(name: str) -> dict[str, Any]:
    return json.loads((SCHEMAS / f"{name}.json").read_text())


class CoperniqStream(Stream, CheckpointMixin):
    """One Coperniq list endpoint; the stream name is the path (``/projects``...)."""

    primary_key = "id"
    cursor_field = CURSOR
    # The CDK emits the checkpoint after every full page: `state` is updated before a page's
    # records are yielded, so at the 100th record it already says "this page is done".
    state_checkpoint_interval = MAX_PAGE_SIZE

    def __init__(self, name: str, client: CoperniqClient, start_date: pendulum.DateTime | None = None,
                 extra_params: Mapping[str, Any] | None = None, now: pendulum.DateTime | None = None):
        self._name = name
        self._client = client
        self._start_date = start_date
        self._extra_params = dict(extra_params or {})
        self._now = now
        self._state: MutableMapping[str, Any] = {}

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

    def read_records(
        self,
        sync_mode: SyncMode,
        cursor_field: list[str] | None = None,
        stream_slice: Mapping[str, Any] | None = None,
        stream_state: Mapping[str, Any] | None = None,
    ) -> Iterable[Mapping[str, Any]]:
        if sync_mode == SyncMode.full_refresh:
            lower = self._start_date
            yield from self._read_window(lower, None, first_page=1, checkpoint=False)
            return
        window = self._state.get("window") or {}
        if window:
            # Resuming an interrupted window: same bounds, one page of overlap (see module doc).
            lower = parse_timestamp(self._state[CURSOR]) if self._state.get(CURSOR) else self._start_date
            upper = parse_timestamp(window["upper"])
            first_page = max(1, int(window.get("next_page", 1)) - 1)
        else:
            lower = parse_timestamp(self._state[CURSOR]) if self._state.get(CURSOR) else self._start_date
            upper = (self._now or pendulum.now("UTC")).in_timezone("UTC")
            first_page = 1
        stable_since = upper
        for attempt in range(MAX_REREADS + 1):
            pages = yield from self._read_window(lower, upper, first_page=first_page, checkpoint=True)
            # One page is one atomic answer. Over several pages, a record edited meanwhile leaves the
            # window and shifts the ones behind it back one place, past the reader: if anything changed
            # since the window froze, read the window again (duplicates, never a loss).
            if first_page == 1 and pages <= 1:
                break
            if not self._changed_since(stable_since):
                break
            if attempt == MAX_REREADS:
                self.logger.warning(f"{self.name}: records kept changing during {MAX_REREADS + 1} reads of the "
                                    "window; a record displaced by those edits may come only with a full refresh.")
                break
            self.logger.info(f"{self.name}: records changed during the read; reading the window again.")
            stable_since, first_page = pendulum.now("UTC"), 1
        self._state = {CURSOR: format_timestamp(upper)}

    def _changed_since(self, moment: pendulum.DateTime) -> bool:
        """Whether any record of this stream was updated after ``moment`` (one request of one record)."""
        page = self._client.list_page(self._name, page=1, page_size=1,
                                      updated_after=format_timestamp(moment - OVERLAP), **self._extra_params)
        return bool(page.records)

    def _read_window(self, lower: pendulum.DateTime | None, upper: pendulum.DateTime | None,
                     first_page: int, checkpoint: bool) -> Generator[Mapping[str, Any], None, int]:
        """Page through the window; returns how many pages it read."""
        after = format_timestamp(lower - OVERLAP) if lower else None
        before = format_timestamp(upper) if upper else None
        page_number = first_page
        while True:
            page = self._client.list_page(self._name, page=page_number, page_size=MAX_PAGE_SIZE,
                                          updated_after=after, updated_before=before, order_by="asc",
                                          **self._extra_params)
            if checkpoint and upper is not None:
                self._state = {
                    **({CURSOR: format_timestamp(lower)} if lower else {}),
                    "window": {"upper": format_timestamp(upper), "next_page": page_number + 1},
                }
            yield from page.records
            if not page.has_more or not page.records:
                return page_number - first_page + 1
            page_number += 1
