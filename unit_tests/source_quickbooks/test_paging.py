"""The keyset position by itself: states in and out, and each move after a page, as tables (no HTTP)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest

from source_quickbooks.deletions import DELETIONS_OVERLAP, DeletionWatermark
from source_quickbooks.paging import (
    LATE_WINDOW,
    MAX_STATE_IDS,
    PAGE_SIZE,
    KeysetPosition,
    PageQuery,
    SentRow,
    UnstampedRow,
    stamped_between,
)

MST = timezone(timedelta(hours=-7))
BASE = datetime(2025, 6, 2, 10, 0, 0, tzinfo=MST)
LONG_AFTER = BASE + timedelta(hours=1)  # a read long after the cursor: nothing more can come late


def at(second: int) -> datetime:
    return BASE + timedelta(seconds=second)


def stamp(second: int) -> str:
    return at(second).isoformat()


def row(i: int, second: int, token: str = "0") -> dict[str, Any]:
    return {"Id": str(i), "SyncToken": token, "MetaData": {"LastUpdatedTime": stamp(second)}}


def sent(*rows: tuple[int, int]) -> dict[str, SentRow]:
    return {str(i): SentRow("0", at(second)) for i, second in rows}


# -- from_state -----------------------------------------------------------------------------------------


@pytest.mark.parametrize(("state", "start_date", "expected"), [
    pytest.param({}, None, KeysetPosition(), id="first-sync"),
    pytest.param({}, at(50), KeysetPosition(floor=at(50)), id="first-sync-from-start-date"),
    pytest.param({"LastUpdatedTime": stamp(10), "ids": {"1": "0"}}, at(50), KeysetPosition(floor=at(50)),
                 id="start-date-moved-past-the-cursor-starts-over"),
    pytest.param({"LastUpdatedTime": stamp(10), "ids": {"1": "0"}}, None,
                 KeysetPosition(at(10), at(10) - LATE_WINDOW, 1, sent((1, 10)), reads_late_window=True),
                 id="resume-reads-the-late-window-first"),
    pytest.param({"airbyte_cursor": stamp(10), "ids": ["1"]}, None,
                 KeysetPosition(at(10), at(10) - LATE_WINDOW, 1, {"1": SentRow(None, at(10))},
                                reads_late_window=True),
                 id="state-keyed-on-airbyte-cursor-with-plain-ids"),
    pytest.param({"LastUpdatedTime": stamp(10), "ids": {"1": "0"}, "position": 995}, None,
                 KeysetPosition(at(10), at(10), 995, sent((1, 10)), sweep=1),
                 id="crowded-second-sweeps-the-late-window-then-goes-on-at-its-position"),
    pytest.param({"LastUpdatedTime": stamp(10), "ids": {"1": "0"}, "position": 995, "late_checked": stamp(10)},
                 None, KeysetPosition(at(10), at(10), 995, sent((1, 10)), late_checked=at(10)),
                 id="crowded-second-whose-late-window-was-read-for-good"),
    pytest.param({"LastUpdatedTime": stamp(10), "ids": {}, "position": 995, "late_checked": stamp(9)}, None,
                 KeysetPosition(at(10), at(10), 995, sweep=1), id="late-check-of-another-cursor-is-dropped"),
    pytest.param({"LastUpdatedTime": stamp(10), "ids": {"1": "0"}, "recent": {stamp(9): {"2": "3", "1": "0"}}},
                 None, KeysetPosition(at(10), at(10) - LATE_WINDOW, 1,
                                      {"2": SentRow("3", at(9)), "1": SentRow("0", at(10))}, reads_late_window=True),
                 id="recent-then-ids-an-id-at-the-cursor-wins"),
])
def test_from_state(state: dict[str, Any], start_date: datetime | None, expected: KeysetPosition) -> None:
    assert KeysetPosition.from_state(state, start_date) == expected


@pytest.mark.parametrize("state", [
    pytest.param({}, id="empty"),
    pytest.param({"LastUpdatedTime": stamp(10), "ids": {"1": "0", "2": None}}, id="ids"),
    pytest.param({"LastUpdatedTime": stamp(10), "ids": {"1": "0"}, "recent": {stamp(9): {"2": "3"}}}, id="recent"),
    pytest.param({"LastUpdatedTime": stamp(10), "ids": {"1": "0"}, "position": 995}, id="position"),
    pytest.param({"LastUpdatedTime": stamp(10), "ids": {}, "position": 995, "late_checked": stamp(10)},
                 id="late-checked"),
])
def test_a_state_reads_back_as_it_was_written(state: dict[str, Any]) -> None:
    assert KeysetPosition.from_state(state).to_state() == state


def test_instants_compare_across_offsets_and_the_state_keeps_the_cursors_offset() -> None:
    in_utc = at(10).astimezone(UTC).isoformat()
    keyset = KeysetPosition.from_state({"LastUpdatedTime": in_utc, "ids": {"1": "0"}})
    assert keyset.is_sent(row(1, 10))  # the row writes -07:00, the state +00:00: one instant
    assert keyset.to_state()["LastUpdatedTime"] == in_utc


# -- what to ask, what was sent ---------------------------------------------------------------------------


def test_queries_and_their_where() -> None:
    keyset = KeysetPosition(at(10), at(10), 995, sweep=1001)
    assert keyset.page_query() == PageQuery(at(10), None, 995)
    assert keyset.late_window_query() == PageQuery(at(10) - LATE_WINDOW, at(10), 1001)
    assert KeysetPosition(at(10), at(10), 995).late_window_query() is None
    assert stamped_between("Customer", at(10), at(20)) == [
        "Active IN (true, false)", f"MetaData.LastUpdatedTime >= '{stamp(10)}'",
        f"MetaData.LastUpdatedTime < '{stamp(20)}'"]
    assert stamped_between("Invoice", None) == []


@pytest.mark.parametrize(("candidate", "expected"), [
    pytest.param(row(1, 10), True, id="same-id-second-and-version"),
    pytest.param(row(1, 10, token="1"), False, id="edited-again-within-the-second"),
    pytest.param(row(1, 11), False, id="edited-to-a-later-second"),
    pytest.param(row(2, 10), True, id="no-version-in-an-old-state-matches-any"),
    pytest.param(row(3, 10), False, id="never-sent"),
])
def test_is_sent(candidate: dict[str, Any], expected: bool) -> None:
    keyset = KeysetPosition(at(10), at(10), 1, {"1": SentRow("0", at(10)), "2": SentRow(None, at(10))})
    assert keyset.is_sent(candidate) is expected


@pytest.mark.parametrize(("position", "page", "displaced"), [
    pytest.param(1, [], False, id="first-position-is-never-displaced"),
    pytest.param(995, [row(5, 10), row(6, 10)], False, id="starts-with-the-last-row-read"),
    pytest.param(995, [row(6, 10)], True, id="starts-with-an-unread-row"),
    pytest.param(995, [], True, id="empty-past-the-first-position"),
])
def test_displaced_and_stepped_back(position: int, page: list[dict[str, Any]], displaced: bool) -> None:
    keyset = KeysetPosition(at(10), at(10), position, sent((5, 10)))
    assert keyset.displaced(page) is displaced
    assert keyset.stepped_back().position == max(1, position - PAGE_SIZE)
    assert KeysetPosition(position=2500).stepped_back().position == 1500


def test_sent_since_floor_counts_what_the_page_query_answers_again() -> None:
    keyset = KeysetPosition(at(10), at(9), 1, sent((1, 8), (2, 9), (3, 10)))
    assert keyset.sent_since_floor() == 2
    assert KeysetPosition(None, None, 1, sent((1, 8))).sent_since_floor() == 1


# -- advance: after a keyset page -------------------------------------------------------------------------


def crowded(count: int, second: int, first_id: int = 1) -> list[dict[str, Any]]:
    return [row(i, second) for i in range(first_id, first_id + count)]


@pytest.mark.parametrize(("before", "page", "cursor", "floor", "position"), [
    pytest.param(KeysetPosition(), [row(1, 1), row(2, 2)], at(2), at(2), 1, id="short-page-moves-to-its-last-second"),
    pytest.param(KeysetPosition(), [], None, None, 1, id="empty-first-page-stays"),
    pytest.param(KeysetPosition(), [*crowded(5, 0), *crowded(995, 7, 6)], at(7), at(7), 995,
                 id="more-than-100-rows-of-the-last-second-continue-at-the-last-one"),
    pytest.param(KeysetPosition(), [*crowded(900, 0), *crowded(100, 7, 901)], at(7), at(7), 1,
                 id="up-to-100-rows-of-the-last-second-are-re-read-from-1"),
    pytest.param(KeysetPosition(at(7), at(7), 995), crowded(1000, 7, 995), at(7), at(7), 1994,
                 id="a-whole-page-of-the-floor-second-goes-on-by-position"),
    pytest.param(KeysetPosition(at(10), at(10) - LATE_WINDOW, 1, reads_late_window=True), [row(1, 9)],
                 at(10), at(9), 1, id="the-late-window-page-never-moves-the-cursor-back"),
])
def test_advance(before: KeysetPosition, page: list[dict[str, Any]], cursor: datetime | None,
                 floor: datetime | None, position: int) -> None:
    after = before.advance(page, LONG_AFTER)
    assert (after.cursor, after.floor, after.position) == (cursor, floor, position)
    assert all(after.is_sent(r) for r in page) and not any(before.is_sent(r) for r in page)


def test_advance_keeps_the_late_window_and_at_most_1000_rows_in_read_order() -> None:
    before = KeysetPosition(at(500), at(500), 1, sent((1, 10), (2, 400)))
    after = before.advance([row(3, 500), row(2, 600)], LONG_AFTER)
    assert list(after.sent) == ["3", "2"]  # id 1 fell out of the window, id 2 moved to the end
    assert after.to_state() == {"LastUpdatedTime": stamp(600), "ids": {"2": "0"}, "recent": {stamp(500): {"3": "0"}}}
    assert before.sent == sent((1, 10), (2, 400))
    bounded = KeysetPosition().advance([*crowded(1500, 7)], LONG_AFTER)
    assert list(bounded.sent) == [str(i) for i in range(501, 1501)] and MAX_STATE_IDS == 1000


@pytest.mark.parametrize(("now", "late_checked"), [
    pytest.param(LONG_AFTER, at(10), id="read-long-after-for-good"),
    pytest.param(at(10) + LATE_WINDOW, None, id="read-too-soon-late-commits-may-still-come"),
])
def test_the_first_page_after_a_resume_reads_the_late_window(now: datetime, late_checked: datetime | None) -> None:
    resumed = KeysetPosition.from_state({"LastUpdatedTime": stamp(10), "ids": {"1": "0"}})
    after = resumed.advance([row(1, 10)], now)
    assert after.late_checked == late_checked and not after.reads_late_window
    assert after.to_state().get("late_checked") == (stamp(10) if late_checked else None)
    assert after.advance([row(1, 10)], now) == after  # later pages read no late window


def test_a_row_without_a_stamp_cannot_be_paged() -> None:
    with pytest.raises(UnstampedRow) as raised:
        KeysetPosition().advance([row(1, 1), {"Id": "2"}], LONG_AFTER)
    assert raised.value.row_id == "2"


# -- after_late_window: the bounded query before a crowded second ------------------------------------------


@pytest.mark.parametrize(("page", "now", "sweep", "late_checked"), [
    pytest.param(crowded(PAGE_SIZE, 9, 2000), LONG_AFTER, 1 + PAGE_SIZE, None, id="full-page-asks-the-next"),
    pytest.param([row(9, 9)], LONG_AFTER, None, at(10), id="short-page-ends-the-window-for-good"),
    pytest.param([], at(10) + LATE_WINDOW, None, None, id="read-too-soon"),
])
def test_after_late_window(page: list[dict[str, Any]], now: datetime, sweep: int | None,
                           late_checked: datetime | None) -> None:
    before = KeysetPosition.from_state({"LastUpdatedTime": stamp(10), "ids": {}, "position": 995})
    after = before.after_late_window(page, now)
    assert (after.sweep, after.late_checked) == (sweep, late_checked)
    assert (after.cursor, after.floor, after.position) == (at(10), at(10), 995)  # the keyset waits
    assert all(after.is_sent(r) for r in page)


# -- the deletions' watermark -------------------------------------------------------------------------------


def test_deletion_watermark_from_state_after_a_call_and_back() -> None:
    now = datetime(2025, 6, 2, 17, 0, tzinfo=UTC)
    assert DeletionWatermark.from_state({}, now) == DeletionWatermark(now - DELETIONS_OVERLAP)
    old = DeletionWatermark.from_state({"LastUpdatedTime": stamp(1)}, now)  # older states: the record cursor
    assert old == DeletionWatermark(at(1), (), due=True)
    watermark = DeletionWatermark.from_state({"deletions_since": stamp(1), "deleted_ids": ["7"]}, now)
    assert watermark.due and watermark.unsent([{"Id": "7"}, {"Id": "8"}]) == [{"Id": "8"}]
    tombstones = [{"Id": "8", "MetaData": {"LastUpdatedTime": (now - timedelta(minutes=2)).isoformat()}},
                  {"Id": "9", "MetaData": {"LastUpdatedTime": (now - timedelta(hours=1)).isoformat()}}]
    after = watermark.after(tombstones, now)
    assert after == DeletionWatermark(now - DELETIONS_OVERLAP, ("8",))  # 9 is older than the overlap
    assert after.to_state() == {"deletions_since": (now - DELETIONS_OVERLAP).isoformat(), "deleted_ids": ["8"]}
    assert DeletionWatermark().to_state() == {}
