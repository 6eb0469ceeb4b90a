"""source-coperniq against requests-mock: paging, windows, resume, retries and errors."""

from __future__ import annotations

import logging
from typing import Any
from urllib.parse import parse_qs, urlparse

import pendulum
import pytest
import requests
import requests_mock as rm
from airbyte_cdk.models import (
    AirbyteStateBlob,
    AirbyteStateMessage,
    AirbyteStateType,
    AirbyteStreamState,
    ConfiguredAirbyteCatalog,
    FailureType,
    StreamDescriptor,
    SyncMode,
)
from airbyte_cdk.test.catalog_builder import CatalogBuilder, ConfiguredAirbyteStreamBuilder
from airbyte_cdk.test.entrypoint_wrapper import EntrypointOutput, read

from source_coperniq import SourceCoperniq

BASE = "https://api.coperniq.io/v1"
CONFIG = {"api_key": "test-key"}


def _project(i: int, updated: str = "2024-03-01T10:00:00.000Z") -> dict[str, Any]:
    return {"id": i, "title": f"Project {i}", "address": ["1 Main St, Austin, TX 78701"],
            "createdAt": "2024-01-01T00:00:00.000Z", "updatedAt": updated}


def _catalog(stream: str, mode: SyncMode) -> ConfiguredAirbyteCatalog:
    catalog = CatalogBuilder().with_stream(
        ConfiguredAirbyteStreamBuilder().with_name(stream).with_sync_mode(mode).with_primary_key([["id"]])).build()
    if mode == SyncMode.incremental:
        catalog.streams[0].cursor_field = ["updatedAt"]
    return catalog


def _state(stream: str, blob: dict[str, Any]) -> list[AirbyteStateMessage]:
    return [AirbyteStateMessage(type=AirbyteStateType.STREAM, stream=AirbyteStreamState(
        stream_descriptor=StreamDescriptor(name=stream), stream_state=AirbyteStateBlob(**blob)))]


def _read(stream: str, mode: SyncMode, state: dict[str, Any] | None = None,
          config: dict[str, Any] | None = None) -> EntrypointOutput:
    return read(SourceCoperniq(), config or CONFIG, _catalog(stream, mode),
                _state(stream, state) if state else None)


def _pages(records: list[dict[str, Any]], size: int = 100) -> list[dict[str, Any]]:
    chunks = [records[i:i + size] for i in range(0, len(records), size)] or [[]]
    if len(chunks[-1]) == size:
        chunks.append([])  # a bare array cannot say "no more": the API answers one empty page
    return [{"json": chunk, "status_code": 200} for chunk in chunks]


def _query(request: Any) -> dict[str, str]:
    return {k: v[0] for k, v in parse_qs(urlparse(request.url).query).items()}


def test_given_250_projects_when_full_refresh_then_three_pages_of_100_and_every_record(
        requests_mock: rm.Mocker) -> None:
    requests_mock.get(f"{BASE}/projects", _pages([_project(i) for i in range(250)]))
    output = _read("projects", SyncMode.full_refresh)
    assert [r.record.data["id"] for r in output.records] == list(range(250))
    assert requests_mock.call_count == 3
    first = _query(requests_mock.request_history[0])
    assert first["page_size"] == "100" and first["page"] == "1" and first["include_archived"] == "true"
    assert requests_mock.request_history[0].headers["x-api-key"] == "test-key"


def test_given_exactly_one_full_page_when_read_then_one_extra_empty_page_ends_it(
        requests_mock: rm.Mocker) -> None:
    requests_mock.get(f"{BASE}/contacts", _pages([{"id": i, "name": "A", "updatedAt": "2024-01-01T00:00:00.000Z"}
                                                  for i in range(100)]))
    output = _read("contacts", SyncMode.full_refresh)
    assert len(output.records) == 100
    assert requests_mock.call_count == 2


def test_given_invoices_envelope_when_read_then_has_more_drives_paging(requests_mock: rm.Mocker) -> None:
    invoices = [{"id": i, "updatedAt": "2024-01-01T00:00:00.000Z"} for i in range(100)]
    requests_mock.get(f"{BASE}/invoices", [
        {"json": {"items": invoices, "page": 1, "page_size": 100, "has_more": True}},
        {"json": {"items": [{"id": 100, "updatedAt": "2024-01-01T00:00:00.000Z"}], "page": 2,
                  "page_size": 100, "has_more": False}},
    ])
    output = _read("invoices", SyncMode.full_refresh)
    assert len(output.records) == 101
    assert requests_mock.call_count == 2


def test_given_state_when_incremental_then_window_is_cursor_to_now_and_cursor_advances_to_window_end(
        requests_mock: rm.Mocker) -> None:
    requests_mock.get(f"{BASE}/projects", _pages([_project(1, "2024-06-01T00:00:00.000Z")]))
    before = pendulum.now("UTC")
    output = _read("projects", SyncMode.incremental, state={"updatedAt": "2024-05-01T00:00:00.000Z"})
    query = _query(requests_mock.request_history[0])
    # The window re-reads the last minute before the cursor (late commits), and updated_after is
    # strict, so it starts one millisecond earlier still.
    assert query["updated_after"] == "2024-04-30T23:58:59.999Z"
    upper = pendulum.parse(query["updated_before"])
    assert upper >= before.subtract(seconds=1)
    final = output.state_messages[-1].state.stream.stream_state.__dict__
    assert final == {"updatedAt": query["updated_before"]}
    assert len(output.records) == 1


def test_given_records_not_sorted_by_updated_at_when_incremental_then_cursor_is_window_end_not_last_record(
        requests_mock: rm.Mocker) -> None:
    # The API may sort by id: the last record read is not the newest. The cursor must not follow it.
    records = [_project(1, "2024-06-03T00:00:00.000Z"), _project(2, "2024-06-01T00:00:00.000Z")]
    requests_mock.get(f"{BASE}/projects", _pages(records))
    output = _read("projects", SyncMode.incremental)
    final = output.state_messages[-1].state.stream.stream_state.__dict__
    assert pendulum.parse(final["updatedAt"]) > pendulum.parse("2024-06-03T00:00:00Z")
    assert "window" not in final


def test_given_long_window_when_incremental_then_checkpoint_after_each_page_keeps_cursor_and_next_page(
        requests_mock: rm.Mocker) -> None:
    requests_mock.get(f"{BASE}/projects", _pages([_project(i) for i in range(250)]))
    requests_mock.get(f"{BASE}/projects?page_size=1", json=[])  # nothing changed during the read
    output = _read("projects", SyncMode.incremental, state={"updatedAt": "2024-01-01T00:00:00.000Z"})
    blobs = [m.state.stream.stream_state.__dict__ for m in output.state_messages]
    mid = [b for b in blobs if "window" in b]
    assert [b["window"]["next_page"] for b in mid] == [2, 3, 4]  # each after its page's records
    assert all(b["updatedAt"] == "2024-01-01T00:00:00.000Z" for b in mid)
    assert "window" not in blobs[-1]


def test_given_interrupted_window_state_when_resumed_then_same_window_from_previous_page_then_on_to_now(
        requests_mock: rm.Mocker) -> None:
    requests_mock.get(f"{BASE}/projects", [{"json": [_project(i) for i in range(100, 150)]},
                                           {"json": [_project(7, "2024-08-01T00:00:00.000Z")]}])
    requests_mock.get(f"{BASE}/projects?page_size=1", json=[])
    state = {"updatedAt": "2024-01-01T00:00:00.000Z",
             "window": {"upper": "2024-07-01T00:00:00.000Z", "next_page": 3}}
    before = pendulum.now("UTC")
    output = _read("projects", SyncMode.incremental, state=state)
    reads = [_query(r) for r in requests_mock.request_history if _query(r)["page_size"] == "100"]
    assert reads[0]["page"] == "2"  # one page of overlap absorbs records that left the window meanwhile
    assert reads[0]["updated_before"] == "2024-07-01T00:00:00.000Z"
    assert reads[0]["updated_after"] == "2023-12-31T23:58:59.999Z"
    # The old window done, the sync reads on to its own start, as a new sync would.
    assert reads[1]["page"] == "1" and reads[1]["updated_after"] == "2024-06-30T23:58:59.999Z"
    assert pendulum.parse(reads[1]["updated_before"]) >= before.subtract(seconds=1)
    assert [r.record.data["id"] for r in output.records][-1] == 7
    assert output.state_messages[-1].state.stream.stream_state.__dict__["updatedAt"] == reads[1]["updated_before"]


def test_given_start_date_when_first_incremental_sync_then_it_bounds_the_window(requests_mock: rm.Mocker) -> None:
    requests_mock.get(f"{BASE}/invoices", [{"json": {"items": [], "page": 1, "page_size": 100, "has_more": False}}])
    _read("invoices", SyncMode.incremental, config={**CONFIG, "start_date": "2023-02-01"})
    assert _query(requests_mock.request_history[0])["updated_after"] == "2023-01-31T23:59:59.999Z"


def test_given_429_with_retry_after_then_success_when_read_then_retried_and_records_kept(
        requests_mock: rm.Mocker) -> None:
    requests_mock.get(f"{BASE}/projects", [
        {"status_code": 429, "headers": {"Retry-After": "1", "X-RateLimit-Remaining": "4000"},
         "json": {"message": "Too many requests", "code": "RATE_LIMITED"}},
        *_pages([_project(1)]),
    ])
    output = _read("projects", SyncMode.full_refresh)
    assert len(output.records) == 1
    assert requests_mock.call_count == 2


def test_given_500_until_retries_run_out_when_read_then_trace_error_not_a_crash(requests_mock: rm.Mocker) -> None:
    requests_mock.get(f"{BASE}/projects", status_code=500, json={"message": "boom"})
    output = _read("projects", SyncMode.full_refresh)
    assert requests_mock.call_count == 6  # the first try and five retries
    errors = output.errors
    assert errors and errors[0].trace.error.failure_type in (FailureType.system_error, FailureType.transient_error)


def test_given_wrong_key_when_read_then_config_error_trace(requests_mock: rm.Mocker) -> None:
    requests_mock.get(f"{BASE}/projects", status_code=401, json={"message": "Invalid API key", "code": "UNAUTHORIZED"})
    output = _read("projects", SyncMode.full_refresh)
    assert output.errors[0].trace.error.failure_type == FailureType.config_error
    assert "api_key" in output.errors[0].trace.error.message
    assert "test-key" not in "".join(str(m) for m in output._messages)


def test_given_daily_quota_spent_when_read_then_clear_transient_error_without_retry_storm(
        requests_mock: rm.Mocker) -> None:
    requests_mock.get(f"{BASE}/projects", status_code=429,
                      headers={"X-RateLimit-Remaining": "0", "X-RateLimit-Reset": "3600"},
                      json={"message": "Daily quota exceeded", "code": "RATE_LIMITED"})
    output = _read("projects", SyncMode.full_refresh)
    assert requests_mock.call_count == 1
    assert "quota" in output.errors[0].trace.error.message


@pytest.mark.parametrize(
    ("config", "mock", "expected"),
    [
        pytest.param({"api_key": "bad"}, {"status_code": 401, "json": {"message": "Invalid API key"}}, "api_key",
                     id="wrong-key"),
        pytest.param({"api_key": "k", "start_date": "last tuesday"}, None, "start_date", id="bad-start-date"),
        pytest.param({"api_key": "k", "invoice_stages": "GLASS ON ROOF"}, None, "invoice_stages",
                     id="stages-not-a-list"),
        pytest.param({"api_key": "k", "base_url": "http://api.example.com/v1"}, None, "https", id="plain-http"),
        pytest.param({"api_key": "k"}, {"exc": requests.ConnectionError("refused")}, "reached",
                     id="unreachable"),
    ],
)
def test_given_bad_setup_when_check_then_failed_with_plain_words(
        requests_mock: rm.Mocker, config: dict[str, Any], mock: dict[str, Any] | None, expected: str) -> None:
    if mock:
        requests_mock.get(f"{BASE}/projects", **mock)
    status = SourceCoperniq().check(logging.getLogger("test"), config)
    assert status.status.value == "FAILED"
    assert expected in status.message


def test_given_good_key_when_check_then_one_cheap_request(requests_mock: rm.Mocker) -> None:
    requests_mock.get(f"{BASE}/projects", json=[_project(1)])
    status = SourceCoperniq().check(logging.getLogger("test"), CONFIG)
    assert status.status.value == "SUCCEEDED"
    assert _query(requests_mock.request_history[0])["page_size"] == "1"


def test_given_records_changed_during_a_multi_page_read_when_incremental_then_the_window_is_read_again(
        requests_mock: rm.Mocker) -> None:
    # An edit during the read moves a record out of the frozen window and shifts the rest back one
    # place, so a record can slip past the reader: a change seen after the read triggers one re-read.
    pages = _pages([_project(i) for i in range(150)])
    requests_mock.get(f"{BASE}/projects", pages + pages)
    requests_mock.get(f"{BASE}/projects?page_size=1", [{"json": [_project(7, "2030-01-01T00:00:00.000Z")]},
                                                        {"json": []}])
    output = _read("projects", SyncMode.incremental, state={"updatedAt": "2024-01-01T00:00:00.000Z"})
    ids = [r.record.data["id"] for r in output.records]
    assert sorted(set(ids)) == list(range(150)) and len(ids) == 300  # read twice: duplicates, no loss
    checks = [r for r in requests_mock.request_history if _query(r)["page_size"] == "1"]
    assert len(checks) == 2


def test_given_a_single_page_window_then_no_extra_request_is_made(requests_mock: rm.Mocker) -> None:
    requests_mock.get(f"{BASE}/projects", _pages([_project(i) for i in range(30)]))
    _read("projects", SyncMode.incremental, state={"updatedAt": "2024-01-01T00:00:00.000Z"})
    assert requests_mock.call_count == 1


# -- qbo:in:2 helpers: the project directory and the stage memory ------------------------------------

def test_project_directory_knows_which_windows_it_covers() -> None:
    from source_coperniq.streams import ProjectDirectory

    at = pendulum.datetime
    directory = ProjectDirectory()
    assert not directory.covers(at(2024, 1, 1), at(2024, 1, 2))
    directory.cover(at(2024, 1, 1), at(2024, 1, 2))
    directory.cover(at(2024, 1, 2), at(2024, 1, 3))  # chained windows (a resumed sync) add up
    assert directory.covers(at(2024, 1, 1, 12), at(2024, 1, 3))
    assert not directory.covers(at(2023, 12, 31), at(2024, 1, 2))
    assert not directory.covers(None, at(2024, 1, 2))
    directory.cover(None, at(2024, 1, 1))  # a full read
    assert directory.covers(None, at(2024, 1, 3))


def test_stage_memory_tells_a_stage_change_from_an_edit_and_forgets_old_entries() -> None:
    from source_coperniq.streams import ProjectSeen, StageMemory

    now = pendulum.datetime(2024, 6, 1, 12)
    memory = StageMemory({"7": ["Design", "2024-06-01T10:00:00.000Z"], "8": ["Permit", "2024-05-20T10:00:00.000Z"]})
    seen = ProjectSeen(now, "Design", 0)
    assert not memory.moved(7, seen, horizon_days=1)  # same stage as noted: an edit, not a move
    assert memory.moved(7, ProjectSeen(now, "Install", 0), horizon_days=1)
    assert memory.moved(9, ProjectSeen(now, "Install", 0), horizon_days=1)  # unknown and fresh in its stage
    assert not memory.moved(9, ProjectSeen(now, "Install", 30), horizon_days=1)  # in it for a month
    assert not memory.moved(9, ProjectSeen(now, None, None), horizon_days=1)  # no workflow: nothing reached
    memory.prune(now, horizon_days=1)
    assert set(memory.dump()) == {"7"}  # noted 12 days ago: it cannot look freshly moved any more


def test_given_invoices_of_unknown_projects_then_one_search_by_id_gives_their_stage(requests_mock: rm.Mocker) -> None:
    invoices = [{"id": 1, "updatedAt": "2024-01-01T00:00:00.000Z", "record": {"id": 11}},
                {"id": 2, "updatedAt": "2024-01-01T00:00:00.000Z", "record": {"id": 12}},
                {"id": 3, "updatedAt": "2024-01-01T00:00:00.000Z", "record": None}]
    requests_mock.get(f"{BASE}/invoices", json={"items": invoices, "page": 1, "page_size": 100, "has_more": False})
    requests_mock.get(f"{BASE}/projects/search", json=[
        {**_project(11), "stage": {"id": 3, "name": "GLASS ON ROOF", "timeInStageDays": 2}}])
    output = _read("invoices", SyncMode.full_refresh)
    # The CDK's serializer leaves top-level nulls out of a record: a missing `_project_stage` is null.
    assert [r.record.data.get("_project_stage") for r in output.records] == ["GLASS ON ROOF", None, None]
    search = [_query(r) for r in requests_mock.request_history if r.path.endswith("/projects/search")]
    assert search == [{"prop1": "id", "op1": "in", "value1": "11,12", "page": "1", "page_size": "100",
                       "include_archived": "true"}]
    estimates = [m.trace.estimate.row_estimate for m in output.trace_messages if m.trace.estimate]
    assert estimates == [3]
