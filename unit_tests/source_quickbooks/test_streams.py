"""source-quickbooks against requests-mock: query text, keyset paging, state, resume, CDC deletions, auth, errors.

The mocked /query endpoint answers with the sandbox's query engine (the same parser and ordering
rules), so each test states only its data and what it checks.
"""

from __future__ import annotations

import copy
import json
from collections import Counter
from collections.abc import Callable
from datetime import UTC, datetime, timedelta, timezone
from types import SimpleNamespace
from typing import Any
from urllib.parse import parse_qs, urlparse

import backoff._sync as backoff_sync
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
    Level,
    StreamDescriptor,
    SyncMode,
    TraceType,
    Type,
)
from airbyte_cdk.sources.streams.http import rate_limiting as cdk_rate_limiting
from airbyte_cdk.test.catalog_builder import CatalogBuilder, ConfiguredAirbyteStreamBuilder
from airbyte_cdk.test.entrypoint_wrapper import EntrypointOutput, read

from sandboxes.quickbooks import query as qbo_query
from sandboxes.quickbooks.models import PACIFIC
from source_quickbooks import SourceQuickbooks
from source_quickbooks.streams import DELETED_AT

REALM = "4620816365"
API = f"https://quickbooks.api.intuit.com/v3/company/{REALM}"
TOKEN_URL = "https://oauth.platform.intuit.com/oauth2/v1/tokens/bearer"
CONFIG = {"client_id": "app", "client_secret": "secret", "refresh_token": "rt-0", "realm_id": REALM}
MST = timezone(timedelta(hours=-7))
BASE = datetime(2025, 6, 2, 10, 0, 0, tzinfo=MST)


@pytest.fixture(autouse=True)
def no_pacing(monkeypatch: pytest.MonkeyPatch) -> None:
    """The client paces itself to 10 requests a second; these tests make hundreds in a blink.

    The CDK also adds a second to every backoff; retries keep their count and order here, not their waits.
    """
    monkeypatch.setenv("QBO_THROTTLE_SCALE", "0")
    no_sleep = SimpleNamespace(sleep=lambda seconds: None)
    monkeypatch.setattr(backoff_sync, "time", no_sleep)
    monkeypatch.setattr(cdk_rate_limiting, "time", no_sleep)


def stamp(second: int, tz: timezone = MST) -> str:
    return (BASE + timedelta(seconds=second)).astimezone(tz).isoformat()


def customer(i: int, second: int, active: bool = True) -> dict[str, Any]:
    return {"Id": str(i), "SyncToken": "0", "DisplayName": f"Customer {i}", "Active": active,
            "MetaData": {"CreateTime": stamp(0), "LastUpdatedTime": stamp(second)}}


def invoice(i: int, second: int) -> dict[str, Any]:
    return {"Id": str(i), "SyncToken": "0", "DocNumber": str(1000 + i), "CustomerRef": {"value": "1"},
            "TotalAmt": 10.0, "MetaData": {"CreateTime": stamp(0), "LastUpdatedTime": stamp(second)}}


class FakeQuickBooks:
    """QuickBooks behind requests-mock: tokens that rotate, /query run by the sandbox's engine, /cdc."""

    def __init__(self, mocker: rm.Mocker, customers: list[dict[str, Any]] = (),
                 invoices: list[dict[str, Any]] = ()) -> None:
        self.tables: dict[str, dict[str, dict[str, Any]]] = {
            "Customer": {c["Id"]: c for c in customers}, "Invoice": {i["Id"]: i for i in invoices}}
        self.tombstones: dict[str, list[dict[str, Any]]] = {"Customer": [], "Invoice": []}
        self.statements: list[str] = []
        self.on_query: Callable[[int], None] | None = None  # called before answering the n-th query
        self.refresh_tokens: list[str] = []
        mocker.post(TOKEN_URL, json=self._token)
        self.query_mock = mocker.post(f"{API}/query", json=self._query)
        self.cdc_mock = mocker.get(f"{API}/cdc", json=self._cdc)
        mocker.get(f"{API}/companyinfo/{REALM}", json={"CompanyInfo": {"CompanyName": "Acme Solar"}})
        mocker.head("https://quickbooks.api.intuit.com", status_code=404)
        mocker.head(TOKEN_URL, status_code=405)

    def _token(self, request: Any, context: Any) -> dict[str, Any]:
        form = parse_qs(request.text)
        self.refresh_tokens.append(form["refresh_token"][0])
        return {"access_token": f"at-{len(self.refresh_tokens)}", "refresh_token": f"rt-{len(self.refresh_tokens)}",
                "expires_in": 3600, "token_type": "bearer"}

    def _query(self, request: Any, context: Any) -> dict[str, Any]:
        text = request.text
        self.statements.append(text)
        if self.on_query:
            self.on_query(len(self.statements))
        parsed = qbo_query.parse(text)
        entity = qbo_query.canonical_entity(parsed.entity)
        result = qbo_query.execute(parsed, list(self.tables[entity].values()), PACIFIC)
        if parsed.count:
            return {"QueryResponse": {"totalCount": result.count}}
        rows = copy.deepcopy(result.rows)
        body: dict[str, Any] = {"startPosition": result.start_position, "maxResults": len(rows)}
        return {"QueryResponse": {entity: rows, **body} if rows else {}}

    def _cdc(self, request: Any, context: Any) -> dict[str, Any]:
        query = parse_qs(urlparse(request.url).query)
        since = qbo_query.parse_instant(query["changedSince"][0], PACIFIC)
        blocks = []
        for entity in query["entities"][0].split(","):
            entity = qbo_query.canonical_entity(entity)
            rows = [r for r in [*self.tables[entity].values(), *self.tombstones[entity]]
                    if qbo_query.parse_instant(r["MetaData"]["LastUpdatedTime"], PACIFIC) >= since]
            if rows:
                blocks.append({entity: copy.deepcopy(rows), "startPosition": 1, "maxResults": len(rows)})
        return {"CDCResponse": [{"QueryResponse": blocks or [{}]}], "time": stamp(0)}

    def edit(self, entity: str, row_id: str, when: str) -> None:
        self.tables[entity][row_id]["MetaData"]["LastUpdatedTime"] = when

    def pages(self) -> list[str]:
        return [s for s in self.statements if "COUNT(*)" not in s]


def catalog(*streams: str, mode: SyncMode = SyncMode.incremental) -> ConfiguredAirbyteCatalog:
    builder = CatalogBuilder()
    for name in streams:
        builder.with_stream(ConfiguredAirbyteStreamBuilder().with_name(name).with_sync_mode(mode)
                            .with_primary_key([["Id"]]))
    built = builder.build()
    for configured in built.streams:
        if mode == SyncMode.incremental:
            configured.cursor_field = ["MetaData", "LastUpdatedTime"]
    return built


def state_of(**streams: dict[str, Any]) -> list[AirbyteStateMessage]:
    return [AirbyteStateMessage(type=AirbyteStateType.STREAM, stream=AirbyteStreamState(
        stream_descriptor=StreamDescriptor(name=name), stream_state=AirbyteStateBlob(**blob)))
        for name, blob in streams.items()]


def run(*streams: str, mode: SyncMode = SyncMode.incremental, state: list[AirbyteStateMessage] | None = None,
        config: dict[str, Any] | None = None) -> EntrypointOutput:
    return read(SourceQuickbooks(), config or CONFIG, catalog(*streams, mode=mode), state)


def ids_of(output: EntrypointOutput, stream: str | None = None) -> list[str]:
    return [r.record.data["Id"] for r in output.records if stream is None or r.record.stream == stream]


def states_of(output: EntrypointOutput, stream: str) -> list[dict[str, Any]]:
    return [m.state.stream.stream_state.__dict__ for m in output.state_messages
            if m.state.stream.stream_descriptor.name == stream]


def recent(minutes: int = 60) -> str:
    return (datetime.now(UTC) - timedelta(minutes=minutes)).replace(microsecond=0).isoformat()


# -- query text ------------------------------------------------------------------------------------


def test_first_sync_asks_ordered_pages_of_1000_including_inactive_customers_and_counts_after_a_full_one(
        requests_mock: rm.Mocker) -> None:
    qbo = FakeQuickBooks(requests_mock, customers=[customer(i, i, active=i % 5 != 0) for i in range(1, 1201)])
    output = run("customers")
    assert qbo.statements == [
        "SELECT * FROM Customer WHERE Active IN (true, false) ORDERBY MetaData.LastUpdatedTime "
        "STARTPOSITION 1 MAXRESULTS 1000",
        f"SELECT COUNT(*) FROM Customer WHERE Active IN (true, false) AND MetaData.LastUpdatedTime >= '{stamp(1000)}'",
        "SELECT * FROM Customer WHERE Active IN (true, false) AND MetaData.LastUpdatedTime >= "
        f"'{stamp(1000)}' ORDERBY MetaData.LastUpdatedTime STARTPOSITION 1 MAXRESULTS 1000",
    ]
    assert stamp(1000) == "2025-06-02T10:16:40-07:00"  # the literal keeps QBO's own form and offset
    assert sorted(ids_of(output), key=int) == [str(i) for i in range(1, 1201)]
    assert qbo.cdc_mock.call_count == 0  # first sync: nothing sent yet that could have been deleted


def test_invoices_have_no_active_filter_and_a_start_date_becomes_a_utc_literal(requests_mock: rm.Mocker) -> None:
    qbo = FakeQuickBooks(requests_mock, invoices=[invoice(i, i * 3600) for i in range(1, 6)])
    output = run("invoices", config={**CONFIG, "start_date": "2025-06-02T19:00:00Z"})
    assert qbo.statements[0] == ("SELECT * FROM Invoice WHERE MetaData.LastUpdatedTime >= '2025-06-02T19:00:00+00:00' "
                                 "ORDERBY MetaData.LastUpdatedTime STARTPOSITION 1 MAXRESULTS 1000")
    # 19:00 UTC is 12:00 at -07:00, i.e. BASE + 2 h: invoices 2..5.
    assert ids_of(output) == ["2", "3", "4", "5"]


def test_an_estimate_trace_comes_from_one_count_after_a_full_first_page_before_the_first_record(
        requests_mock: rm.Mocker) -> None:
    FakeQuickBooks(requests_mock, customers=[customer(i, i) for i in range(1, 1_501)])
    output = run("customers")
    estimates = [m.trace.estimate for m in output.trace_messages if m.trace.type == TraceType.ESTIMATE]
    assert [(e.name, e.type.value, e.row_estimate) for e in estimates] == [("customers", "STREAM", 1_500)]
    kinds = [m.type for m in output.get_message_iterator() if m.type in (Type.RECORD, Type.TRACE)
             and (m.type == Type.RECORD or m.trace.type == TraceType.ESTIMATE)]
    assert kinds[0] == Type.TRACE


def test_a_read_of_one_page_spends_no_count(requests_mock: rm.Mocker) -> None:
    qbo = FakeQuickBooks(requests_mock, customers=[customer(i, i) for i in range(1, 8)])
    output = run("customers")
    assert not [m for m in output.trace_messages if m.trace.type == TraceType.ESTIMATE]
    assert len(qbo.statements) == 1 and "COUNT" not in qbo.statements[0]


# -- keyset paging ---------------------------------------------------------------------------------


def test_rows_sharing_a_second_across_the_page_boundary_are_sent_once(requests_mock: rm.Mocker) -> None:
    # Ids 996..1005 share one second: the page ends in the middle of it.
    rows = [customer(i, i if i < 996 else 996 if i <= 1005 else i) for i in range(1, 1501)]
    qbo = FakeQuickBooks(requests_mock, customers=rows)
    output = run("customers")
    assert Counter(ids_of(output)) == Counter(str(i) for i in range(1, 1501))
    assert len(qbo.pages()) == 2
    assert f">= '{stamp(996)}'" in qbo.pages()[1] and "STARTPOSITION 1 " in qbo.pages()[1]
    first_state = states_of(output, "customers")[0]
    assert first_state["LastUpdatedTime"] == stamp(996)
    assert first_state["ids"] == {str(i): "0" for i in range(996, 1001)}  # Id -> SyncToken
    assert "position" not in first_state


def test_a_whole_page_in_one_second_continues_by_position_and_loses_nothing(requests_mock: rm.Mocker) -> None:
    rows = [customer(i, 0 if i <= 5 else 7 if i <= 2305 else 9) for i in range(1, 2311)]
    qbo = FakeQuickBooks(requests_mock, customers=rows)
    output = run("customers")
    assert Counter(ids_of(output)) == Counter(str(i) for i in range(1, 2311))
    pages = qbo.pages()
    assert len(pages) == 3  # ⌈2310 / 1000⌉: no page is spent re-reading the crowded second
    # Page 1 ended with 995 rows of second 7: page 2 starts at the 995th row of ">= second 7",
    # overlapping the last row read by one; page 2 was all second 7, so page 3 goes on at 1994.
    assert "STARTPOSITION 995 " in pages[1] and f">= '{stamp(7)}'" in pages[1]
    assert "STARTPOSITION 1994 " in pages[2]
    states = states_of(output, "customers")
    assert states[0]["LastUpdatedTime"] == stamp(7) and states[0]["position"] == 995
    assert states[1]["LastUpdatedTime"] == stamp(7) and states[1]["position"] == 1994
    assert len(states[1]["ids"]) == 1000  # bounded: the ids of the last 1000 rows read at that second
    assert states[2]["LastUpdatedTime"] == stamp(9) and "position" not in states[2]


def test_state_is_checkpointed_after_every_page(requests_mock: rm.Mocker) -> None:
    FakeQuickBooks(requests_mock, customers=[customer(i, i) for i in range(1, 2501)])
    output = run("customers")
    states = states_of(output, "customers")
    assert [s["LastUpdatedTime"] for s in states] == [stamp(1000), stamp(1999), stamp(2500)]
    assert [s["ids"] for s in states] == [{"1000": "0"}, {"1999": "0"}, {"2500": "0"}]
    records_before_state = []
    count = 0
    for message in output.get_message_iterator():
        if message.type == Type.RECORD:
            count += 1
        elif message.type == Type.STATE:
            records_before_state.append(count)
    assert records_before_state == [1000, 1999, 2500]  # page 2 re-read id 1000 and did not send it again


def test_rows_edited_mid_sync_are_neither_skipped_nor_lost(requests_mock: rm.Mocker) -> None:
    qbo = FakeQuickBooks(requests_mock, customers=[customer(i, i) for i in range(1, 2001)])
    edited = ["5", "500", "1200", "1800"]  # two already read, two not yet

    def edit_after_first_page(n: int) -> None:
        if n == 3:  # page 1, the COUNT, then the edits land before page 2 is answered
            for row_id in edited:
                qbo.edit("Customer", row_id, stamp(5000))

    qbo.on_query = edit_after_first_page
    output = run("customers")
    delivered = Counter(ids_of(output))
    assert set(delivered) == {str(i) for i in range(1, 2001)}
    assert delivered["5"] == delivered["500"] == 2  # the old version, then the edited one at the end
    assert delivered["1200"] == delivered["1800"] == 1


def test_position_steps_back_when_rows_of_a_crowded_second_move_away(requests_mock: rm.Mocker) -> None:
    qbo = FakeQuickBooks(requests_mock, customers=[customer(i, 3) for i in range(1, 2501)])

    def edit_read_rows(n: int) -> None:
        if n == 3:
            for row_id in ("10", "11", "12"):
                qbo.edit("Customer", row_id, stamp(60))

    qbo.on_query = edit_read_rows
    output = run("customers")
    delivered = Counter(ids_of(output))
    assert set(delivered) == {str(i) for i in range(1, 2501)}
    pages = qbo.pages()
    # Page 2 asked at 1000, found row 1003 there (rows moved up), stepped back to 1 and re-read.
    assert "STARTPOSITION 1000 " in pages[1] and "STARTPOSITION 1 " in pages[2]
    assert max(count for row_id, count in delivered.items() if row_id not in ("10", "11", "12")) == 1


def test_resume_from_a_mid_sync_state_sends_the_rest_of_the_second_and_nothing_before(
        requests_mock: rm.Mocker) -> None:
    rows = [customer(i, 10 if i <= 6 else 10 + i) for i in range(1, 30)]
    qbo = FakeQuickBooks(requests_mock, customers=rows)
    state = {"LastUpdatedTime": stamp(10), "ids": {"1": "0", "2": "0", "3": "0"}, "deletions_since": recent()}
    output = run("customers", state=state_of(customers=state))
    assert f">= '{stamp(10 - 120)}'" in qbo.pages()[0]  # the late window: two minutes before the cursor
    assert ids_of(output) == ["4", "5", "6", *[str(i) for i in range(7, 30)]]


def test_a_row_edited_again_within_the_second_it_was_read_is_sent_again(requests_mock: rm.Mocker) -> None:
    rows = [customer(1, 10), customer(2, 10), customer(3, 10)]
    rows[1]["SyncToken"] = "1"  # edited after the last sync read version 0, still within second 10
    FakeQuickBooks(requests_mock, customers=rows)
    state = {"LastUpdatedTime": stamp(10), "ids": {"1": "0", "2": "0"}}
    assert ids_of(run("customers", state=state_of(customers=state))) == ["2", "3"]
    # A state written without versions (a plain list of ids) still skips by Id.
    legacy = {"LastUpdatedTime": stamp(10), "ids": ["1", "2"]}
    assert ids_of(run("customers", state=state_of(customers=legacy))) == ["3"]


def test_resume_with_a_position_verifies_the_overlap_row(requests_mock: rm.Mocker) -> None:
    qbo = FakeQuickBooks(requests_mock, customers=[customer(i, 3) for i in range(1, 1301)])
    state = {"LastUpdatedTime": stamp(3), "ids": {str(i): "0" for i in range(1, 1001)}, "position": 1000}
    output = run("customers", state=state_of(customers=state))
    # First the late window before the crowded second (bounded, one page), then on from the position.
    assert f"< '{stamp(3)}'" in qbo.pages()[0] and "STARTPOSITION 1 " in qbo.pages()[0]
    assert "STARTPOSITION 1000 " in qbo.pages()[1]
    assert ids_of(output) == [str(i) for i in range(1001, 1301)]
    # That window was read long after its second: nothing can come late there any more. The next sync
    # (still inside the crowded second) goes straight to its position.
    final = states_of(output, "customers")[-1]
    assert final["late_checked"] == final["LastUpdatedTime"] == stamp(3) and final["position"] > 1
    qbo.statements.clear()
    again = run("customers", state=state_of(customers=final))
    assert ids_of(again) == [] and len(qbo.pages()) == 1 and "< '" not in qbo.pages()[0]


def test_instants_are_compared_across_time_zone_offsets(requests_mock: rm.Mocker) -> None:
    rows = [customer(1, 5), customer(2, 5), customer(3, 6)]
    rows[1]["MetaData"]["LastUpdatedTime"] = stamp(5, UTC)  # the same second, written in UTC
    qbo = FakeQuickBooks(requests_mock, customers=rows)
    state = {"LastUpdatedTime": stamp(5, UTC), "ids": {"1": "0", "2": "0"}}
    output = run("customers", state=state_of(customers=state))
    assert ids_of(output) == ["3"]
    assert "'2025-06-02T16:58:05+00:00'" in qbo.pages()[0]  # in the state's offset, the late window before it


def test_full_refresh_ignores_a_state_and_reads_everything(requests_mock: rm.Mocker) -> None:
    qbo = FakeQuickBooks(requests_mock, customers=[customer(i, i) for i in range(1, 11)])
    output = run("customers", mode=SyncMode.full_refresh,
                 state=state_of(customers={"LastUpdatedTime": stamp(8), "ids": ["8"]}))
    assert ids_of(output) == [str(i) for i in range(1, 11)]
    assert "LastUpdatedTime >=" not in qbo.pages()[0]
    assert qbo.cdc_mock.call_count == 0


# -- deletions -------------------------------------------------------------------------------------


def test_deleted_invoices_come_from_one_cdc_call_of_invoices_alone_marked_deleted_and_are_not_sent_twice(
        requests_mock: rm.Mocker) -> None:
    qbo = FakeQuickBooks(requests_mock, customers=[customer(1, 1)], invoices=[invoice(1, 1), invoice(2, 200)])
    def ago(minutes: int) -> str:
        return (datetime.now(UTC) - timedelta(minutes=minutes)).astimezone(MST).replace(microsecond=0).isoformat()

    deleted_at, just_deleted_at = ago(30), ago(2)
    qbo.tombstones["Invoice"] += [
        {"Id": "7", "status": "Deleted", "domain": "QBO", "MetaData": {"LastUpdatedTime": deleted_at}},
        {"Id": "8", "status": "Deleted", "domain": "QBO", "MetaData": {"LastUpdatedTime": just_deleted_at}},
    ]
    customers_since, invoices_since = recent(120), recent(90)
    state = state_of(customers={"LastUpdatedTime": stamp(1), "ids": ["1"], "deletions_since": customers_since},
                     invoices={"LastUpdatedTime": stamp(200), "ids": ["2"], "deletions_since": invoices_since})
    output = run("customers", "invoices", state=state)

    # One entity per call (Intuit caps an answer at 1,000 objects in all); customers cannot be deleted.
    assert qbo.cdc_mock.call_count == 1
    asked = parse_qs(urlparse(qbo.cdc_mock.request_history[0].url).query)
    assert asked["entities"] == ["Invoice"]
    assert asked["changedSince"] == [invoices_since]
    deleted = [r.record.data for r in output.records if r.record.stream == "invoices"]
    assert deleted[0] == {"Id": "7", "status": "Deleted", "domain": "QBO", "MetaData": {"LastUpdatedTime": deleted_at},
                          DELETED_AT: deleted_at, "airbyte_cursor": deleted_at}  # the CDK omits nulls on the wire
    assert [(r["Id"], r[DELETED_AT]) for r in deleted[1:]] == [("8", just_deleted_at)]
    assert ids_of(output, "customers") == []  # the live rows CDC also lists are the queries' business
    final = states_of(output, "invoices")[-1]
    assert final["LastUpdatedTime"] == stamp(200)  # deletions do not move the record cursor
    # The next window starts ten minutes before this call: the tombstone inside it is remembered.
    watermark = datetime.fromisoformat(final["deletions_since"])
    assert timedelta(minutes=9) < datetime.now(UTC) - watermark < timedelta(minutes=11)
    assert final["deleted_ids"] == ["8"]

    again = run("invoices", state=state_of(invoices=final))
    assert qbo.cdc_mock.call_count == 2
    assert ids_of(again) == []  # id 8 is in CDC's answer again, but was sent already


def test_a_deletion_watermark_older_than_30_days_is_clamped_and_logged(requests_mock: rm.Mocker) -> None:
    qbo = FakeQuickBooks(requests_mock, invoices=[invoice(1, 1)])
    old = (datetime.now(UTC) - timedelta(days=45)).replace(microsecond=0).isoformat()
    output = run("invoices", state=state_of(invoices={"LastUpdatedTime": stamp(1), "ids": ["1"],
                                                      "deletions_since": old}))
    asked = parse_qs(urlparse(qbo.cdc_mock.request_history[0].url).query)["changedSince"][0]
    assert timedelta(days=29) < datetime.now(UTC) - datetime.fromisoformat(asked) < timedelta(days=30)
    warnings = [m.log.message for m in output.logs if m.log.level == Level.WARN]
    assert any("more than 30 days ago" in w for w in warnings)


# -- auth, retries and errors ----------------------------------------------------------------------


def test_a_401_refreshes_the_token_retries_and_persists_the_rotated_refresh_token(
        requests_mock: rm.Mocker, capsys: pytest.CaptureFixture[str]) -> None:
    qbo = FakeQuickBooks(requests_mock, customers=[customer(i, i) for i in range(1, 4)])
    answers = iter([{"status_code": 401, "json": {"Fault": {"Error": [{"Message": "AuthenticationFailed",
                                                                      "code": "3200"}],
                                                           "type": "AUTHENTICATION"}}}])

    def first_query_unauthorized(request: Any, context: Any) -> dict[str, Any]:
        answer = next(answers, None)
        if answer is not None:
            context.status_code = answer["status_code"]
            return answer["json"]
        return qbo._query(request, context)

    requests_mock.post(f"{API}/query", json=first_query_unauthorized)
    output = run("customers")
    assert ids_of(output) == ["1", "2", "3"]
    assert qbo.refresh_tokens == ["rt-0", "rt-1"]  # the second refresh used the rotated token
    query_calls = [r for r in requests_mock.request_history if r.path.endswith("/query")]
    assert len(query_calls) == 2  # the page refused with 401, the same page again (no COUNT for one page)
    assert query_calls[-1].headers["Authorization"] == "Bearer at-2"
    controls = [json.loads(line) for line in capsys.readouterr().out.splitlines() if '"CONTROL"' in line]
    assert controls[-1]["control"]["connectorConfig"]["config"]["refresh_token"] == "rt-2"


def test_a_429_is_retried_and_the_read_completes(requests_mock: rm.Mocker) -> None:
    qbo = FakeQuickBooks(requests_mock, customers=[customer(i, i) for i in range(1, 4)])
    throttled = iter([True])

    def throttle_once(request: Any, context: Any) -> Any:
        if next(throttled, False):
            context.status_code = 429
            return {"Fault": {"Error": [{"Message": "ThrottleExceeded", "code": "3001"}], "type": "SERVICE"}}
        return qbo._query(request, context)

    requests_mock.post(f"{API}/query", json=throttle_once)
    output = run("customers")
    assert ids_of(output) == ["1", "2", "3"]
    assert not output.errors


@pytest.mark.parametrize(
    ("status", "failure_type"),
    [pytest.param(403, FailureType.config_error, id="403-realm-not-authorized"),
     pytest.param(503, FailureType.transient_error, id="503-retries-exhausted"),
     pytest.param(400, FailureType.system_error, id="400-query-refused")],
)
def test_read_errors_are_traced_with_their_failure_type(requests_mock: rm.Mocker, status: int,
                                                        failure_type: FailureType) -> None:
    FakeQuickBooks(requests_mock, customers=[customer(1, 1)])
    requests_mock.post(f"{API}/query", status_code=status,
                       json={"Fault": {"Error": [{"Message": "nope", "code": "4000"}], "type": "ValidationFault"}})
    output = read(SourceQuickbooks(), CONFIG, catalog("customers"), expecting_exception=True)
    errors = [m.trace.error for m in output.errors if m.trace.error.stream_descriptor]
    assert errors and errors[0].failure_type == failure_type
    assert "Traceback" not in errors[0].message


def test_a_dead_refresh_token_during_read_is_a_config_error(requests_mock: rm.Mocker) -> None:
    FakeQuickBooks(requests_mock, customers=[customer(1, 1)])
    requests_mock.post(TOKEN_URL, status_code=400, json={"error": "invalid_grant"})
    output = read(SourceQuickbooks(), CONFIG, catalog("customers"), expecting_exception=True)
    assert output.errors[0].trace.error.failure_type == FailureType.config_error


@pytest.mark.parametrize(
    ("setup", "expected"),
    [
        pytest.param(lambda m: m.post(TOKEN_URL, status_code=400, json={"error": "invalid_grant"}),
                     "refused the refresh token", id="dead-refresh-token"),
        pytest.param(lambda m: m.post(TOKEN_URL, status_code=401, json={"error": "invalid_client"}),
                     "client_secret", id="wrong-client-secret"),
        pytest.param(lambda m: m.get(f"{API}/companyinfo/{REALM}", status_code=403,
                                     json={"Fault": {"Error": [{"Message": "ApplicationAuthorizationFailed",
                                                                "code": "3100"}], "type": "SECURITY"}}),
                     "realm_id", id="wrong-realm"),
        pytest.param(lambda m: m.head(TOKEN_URL, exc=requests.ConnectionError("connection refused")),
                     "could not be reached", id="unreachable"),
    ],
)
def test_check_explains_failures_in_plain_words(requests_mock: rm.Mocker, setup: Callable[[rm.Mocker], Any],
                                                expected: str) -> None:
    FakeQuickBooks(requests_mock)
    setup(requests_mock)
    status = SourceQuickbooks().check(logger=__import__("logging").getLogger("test"), config=CONFIG)
    assert status.status.value == "FAILED"
    assert expected in status.message and "Traceback" not in status.message


def test_check_succeeds_and_discover_lists_both_streams_with_the_top_level_cursor(requests_mock: rm.Mocker) -> None:
    FakeQuickBooks(requests_mock)
    source = SourceQuickbooks()
    assert source.check(logger=__import__("logging").getLogger("test"), config=CONFIG).status.value == "SUCCEEDED"
    streams = {s.name: s for s in source.discover(__import__("logging").getLogger("test"), CONFIG).streams}
    assert set(streams) == {"customers", "invoices"}
    for stream in streams.values():
        assert stream.default_cursor_field == ["airbyte_cursor"] and stream.source_defined_cursor
        assert "airbyte_cursor" in stream.json_schema["required"]
        assert stream.source_defined_primary_key == [["Id"]]
        assert [m.value for m in stream.supported_sync_modes] == ["full_refresh", "incremental"]
        assert {"status", DELETED_AT} <= set(stream.json_schema["properties"])


# -- top-level fields: airbyte_cursor, _coperniq_project_id ----------------------------------------


def linked_customer(i: int, second: int, project_id: int | None) -> dict[str, Any]:
    row = customer(i, second)
    if project_id is not None:
        row["Notes"] = f"Gate code 1234\nCoperniq project #{project_id}"
    return row


def invoice_of(i: int, second: int, customer_id: str) -> dict[str, Any]:
    row = invoice(i, second)
    row["CustomerRef"] = {"value": customer_id}
    return row


def lookups(qbo: FakeQuickBooks) -> list[str]:
    return [s for s in qbo.statements if s.startswith("SELECT Id, Notes FROM Customer")]


def test_invoices_carry_the_project_of_their_customer_with_one_look_up_per_page(requests_mock: rm.Mocker) -> None:
    customers = [linked_customer(1, 1, 501), linked_customer(2, 1, None), linked_customer(3, 1, 503)]
    customers.append({**linked_customer(4, 1, 504), "Active": False})  # inactive customers are looked up too
    invoices = [invoice_of(i, 10 + i, str(1 + i % 4)) for i in range(1, 2_101)]
    qbo = FakeQuickBooks(requests_mock, customers=customers, invoices=invoices)
    output = run("invoices")
    records = [r.record.data for r in output.records]
    assert len(records) == 2_100
    expected = {"1": 501, "2": None, "3": 503, "4": 504}
    # In-process the CDK's serializer leaves nulls out; the console script writes them (test below).
    assert all(r.get("_coperniq_project_id") == expected[r["CustomerRef"]["value"]] for r in records)
    assert all(r["airbyte_cursor"] == r["MetaData"]["LastUpdatedTime"] for r in records)
    # Three pages of invoices, one look-up for the first; the later pages' customers are known by then.
    assert len(lookups(qbo)) == 1
    assert lookups(qbo)[0] == ("SELECT Id, Notes FROM Customer WHERE Id IN ('1', '2', '3', '4') "
                               "AND Active IN (true, false) MAXRESULTS 1000")


def test_customers_read_in_the_same_sync_need_no_look_up(requests_mock: rm.Mocker) -> None:
    customers = [linked_customer(1, 1, 501), linked_customer(2, 1, 502)]
    invoices = [invoice_of(1, 2, "1"), invoice_of(2, 3, "2"), invoice_of(3, 4, "9")]
    qbo = FakeQuickBooks(requests_mock, customers=customers, invoices=invoices)
    output = run("customers", "invoices")
    projects = {r.record.data["Id"]: r.record.data.get("_coperniq_project_id")
                for r in output.records if r.record.stream == "invoices"}
    assert projects == {"1": 501, "2": 502, "3": None}  # customer 9 does not exist: null
    assert lookups(qbo) == ["SELECT Id, Notes FROM Customer WHERE Id IN ('9') AND Active IN (true, false) "
                            "MAXRESULTS 1000"]


def test_a_state_keyed_on_airbyte_cursor_and_a_catalog_naming_the_nested_cursor_still_read(
        requests_mock: rm.Mocker) -> None:
    qbo = FakeQuickBooks(requests_mock, customers=[customer(i, i * 200) for i in range(1, 6)])
    output = run("customers", state=state_of(customers={"airbyte_cursor": stamp(600), "ids": ["3"]}))
    assert ids_of(output) == ["4", "5"]  # the catalog built above names MetaData.LastUpdatedTime
    assert f">= '{stamp(600 - 120)}'" in qbo.pages()[0]
    assert states_of(output, "customers")[-1]["LastUpdatedTime"] == stamp(1000)


def test_the_console_script_writes_a_null_project_id_the_cdk_serializer_leaves_out() -> None:
    from source_quickbooks.run import with_null_project_id

    line = '{"type":"RECORD","record":{"stream":"invoices","data":{"Id":"1"},"emitted_at":1}}'
    assert json.loads(with_null_project_id(line))["record"]["data"] == {"Id": "1", "_coperniq_project_id": None}
    linked = ('{"type":"RECORD","record":{"stream":"invoices","data":{"Id":"1","_coperniq_project_id":7},'
              '"emitted_at":1}}')
    customer_line = '{"type":"RECORD","record":{"stream":"customers","data":{"Id":"1"},"emitted_at":1}}'
    assert with_null_project_id(linked) == linked and with_null_project_id(customer_line) == customer_line


# -- late commits ------------------------------------------------------------------------------------


def test_a_row_stamped_before_the_cursor_but_visible_only_later_is_read_by_the_next_sync_once(
        requests_mock: rm.Mocker) -> None:
    qbo = FakeQuickBooks(requests_mock, customers=[customer(i, i) for i in range(1, 6)])
    first = run("customers")
    assert ids_of(first) == ["1", "2", "3", "4", "5"]
    late = customer(9, 4)  # stamped a second before the cursor, committed after the read
    qbo.tables["Customer"]["9"] = late
    second = run("customers", state=state_of(customers=states_of(first, "customers")[-1]))
    assert ids_of(second) == ["9"]  # only the late row: the others of the window are remembered
    third = run("customers", state=state_of(customers=states_of(second, "customers")[-1]))
    assert ids_of(third) == []
    assert states_of(third, "customers")[-1]["recent"] == {stamp(1): {"1": "0"}, stamp(2): {"2": "0"},
                                                           stamp(3): {"3": "0"}, stamp(4): {"4": "0", "9": "0"}}


# -- change data capture: one entity per call, a full answer is cut off ------------------------------


class CutOffCdc:
    """A CDC endpoint that answers at most 1,000 objects, oldest first or (``shuffled``) in any order."""

    def __init__(self, mocker: rm.Mocker, objects: list[dict[str, Any]], shuffled: bool = False) -> None:
        self.objects, self.shuffled = objects, shuffled
        self.asked: list[dict[str, list[str]]] = []
        mocker.get(f"{API}/cdc", json=self._answer)

    def _answer(self, request: Any, context: Any) -> dict[str, Any]:
        query = parse_qs(urlparse(request.url).query)
        self.asked.append(query)
        since = qbo_query.parse_instant(query["changedSince"][0], PACIFIC)
        rows = [o for o in self.objects if qbo_query.parse_instant(o["MetaData"]["LastUpdatedTime"], PACIFIC) >= since]
        rows = sorted(rows, key=lambda o: (-int(o["Id"]) if self.shuffled else 0,
                                           qbo_query.parse_instant(o["MetaData"]["LastUpdatedTime"], PACIFIC)))
        return {"CDCResponse": [{"QueryResponse": [{"Invoice": copy.deepcopy(rows[:1000])}]}]}


def cdc_objects(now: datetime) -> tuple[list[dict[str, Any]], list[str]]:
    """1,500 invoices changed over the last 25 minutes, every 100th deleted."""
    objects, deleted = [], []
    for i in range(1, 1_501):
        when = (now - timedelta(seconds=1_500 - i)).astimezone(MST).replace(microsecond=0).isoformat()
        if i % 100 == 0:
            objects.append({"Id": str(i), "status": "Deleted", "domain": "QBO", "MetaData": {"LastUpdatedTime": when}})
            deleted.append(str(i))
        else:
            objects.append({**invoice(i, 0), "MetaData": {"LastUpdatedTime": when}})
    return objects, deleted


@pytest.mark.parametrize("shuffled", [False, True])
def test_a_full_cdc_answer_is_taken_as_cut_off_and_continued_and_checked(requests_mock: rm.Mocker,
                                                                           shuffled: bool) -> None:
    now = datetime.now(UTC)
    objects, deleted = cdc_objects(now)
    qbo = FakeQuickBooks(requests_mock, invoices=[o for o in objects if "status" not in o])
    cdc = CutOffCdc(requests_mock, objects, shuffled=shuffled)
    since = (now - timedelta(hours=1)).replace(microsecond=0).isoformat()
    state = {"LastUpdatedTime": objects[-1]["MetaData"]["LastUpdatedTime"], "deletions_since": since}
    output = run("invoices", state=state_of(invoices=state))
    tombstones = [r.record.data["Id"] for r in output.records if r.record.data.get(DELETED_AT)]
    assert all(q["entities"] == ["Invoice"] for q in cdc.asked)  # one entity per call
    assert len(cdc.asked) == 2  # the first answer was full: asked again from its latest stamp
    assert any("COUNT(*)" in s and "< '" in s for s in qbo.statements)  # the cut answer was checked
    warnings = [m.log.message for m in output.logs if m.log.level == Level.WARN]
    if shuffled:  # newest first: the first answer missed older objects, and the connector says so
        assert any("deletions in that span may be missing" in w for w in warnings)
    else:
        assert sorted(tombstones, key=int) == deleted and not warnings
