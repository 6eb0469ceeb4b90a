"""source-quickbooks, run as its console script against the QuickBooks sandbox."""

from __future__ import annotations

import json
import logging
import math
import subprocess
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
from airbyte_cdk.models import AirbyteMessage, AirbyteMessageSerializer, Type

from connector_core.runner import RunResult, configured_catalog, run_connector, script
from mapping.links import project_id_from_notes
from sandboxes.quickbooks import QuickBooksSandbox
from source_quickbooks import SourceQuickbooks

STREAMS = ("customers", "invoices")
API = r"/v3/company/"


def _config(sandbox: QuickBooksSandbox, **extra: Any) -> dict[str, Any]:
    return {"client_id": sandbox.client_id, "client_secret": sandbox.client_secret,
            "refresh_token": sandbox.current_refresh_token or sandbox.refresh_token, "realm_id": sandbox.realm_id,
            "base_url": sandbox.base_url, "token_url": sandbox.token_url, **extra}


def _last_states(messages: list[dict[str, Any]]) -> list[dict[str, Any]]:
    last: dict[str, dict[str, Any]] = {}
    for message in messages:
        if message.get("type") == "STATE":
            state = message["state"]
            last[state["stream"]["stream_descriptor"]["name"]] = {"type": "STREAM", "stream": state["stream"]}
    return list(last.values())


class Connection:
    """What the platform keeps between syncs of one connection: the config (tokens rotate) and the state."""

    def __init__(self, sandbox: QuickBooksSandbox, tmp_path: Path, streams: tuple[str, ...] = STREAMS,
                 incremental: bool = True) -> None:
        self.sandbox = sandbox
        self.config = _config(sandbox)
        self.tmp_path = tmp_path
        self.streams = streams
        self.incremental = incremental
        self.state: list[dict[str, Any]] = []
        self._catalog: dict[str, Any] | None = None

    def _write(self, name: str, payload: Any) -> str:
        path = self.tmp_path / name
        path.write_text(json.dumps(payload))
        return str(path)

    def catalog(self) -> dict[str, Any]:
        """Discovered in-process (discover makes no request): one interpreter start less per test."""
        if self._catalog is None:
            discovered = SourceQuickbooks().discover(logging.getLogger("test"), self.config)
            serialized = AirbyteMessageSerializer.dump(AirbyteMessage(type=Type.CATALOG, catalog=discovered))
            self._catalog = configured_catalog(serialized["catalog"], self.incremental, self.streams)
        return self._catalog

    def run(self, verb: str, *extra: str) -> RunResult:
        result = run_connector([script("source-quickbooks"), verb, "--config", self._write("config.json", self.config),
                                *extra], timeout=300)
        for update in result.config_updates:  # the platform persists rotated tokens
            self.config = update
        return result

    def read_args(self) -> list[str]:
        args = ["--catalog", self._write("catalog.json", self.catalog())]
        if self.state:
            args += ["--state", self._write("state.json", self.state)]
        return args

    def read(self) -> RunResult:
        result = self.run("read", *self.read_args())
        assert result.returncode == 0, (result.errors, result.stderr[-2000:])
        self.state = _last_states(result.messages) or self.state
        return result


def _ids(result: RunResult, stream: str) -> list[str]:
    return [r["Id"] for r in result.records_of(stream)]


def test_full_refresh_of_2500_customers_takes_three_pages_and_one_count_and_sends_each_once(
        qbo_sandbox_factory: Any, tmp_path: Path) -> None:
    sandbox = qbo_sandbox_factory(customers=2_500, invoices=10, seed=3, throttle=False)
    connection = Connection(sandbox, tmp_path, streams=("customers",), incremental=False)
    connection.catalog()
    sandbox.log.clear()
    result = connection.read()
    ids = _ids(result, "customers")
    assert len(ids) == len(set(ids)) == len(sandbox.backend.customers) == 2_500
    inactive = {c["Id"] for c in sandbox.backend.customers.values() if not c.get("Active", True)}
    assert inactive and inactive <= set(ids)  # QBO hides them unless the query names Active
    queries = sandbox.log.count("POST", r"/query$")
    assert queries == math.ceil(2_500 / 1_000) + 1, queries  # three pages and the COUNT
    assert sandbox.log.count(path=API) == queries  # nothing else: no CDC on a full refresh
    estimates = [m["trace"]["estimate"] for m in result.of_type("TRACE") if m["trace"]["type"] == "ESTIMATE"]
    assert estimates == [{"name": "customers", "type": "STREAM", "row_estimate": 2_500}]


def test_incremental_after_editing_5_customers_and_3_invoices_sends_exactly_those_in_four_requests(
        qbo_sandbox_factory: Any, tmp_path: Path) -> None:
    sandbox = qbo_sandbox_factory(customers=1_200, invoices=1_500, seed=4, throttle=False)
    connection = Connection(sandbox, tmp_path)
    first = connection.read()
    assert len(_ids(first, "customers")) == 1_200 and len(_ids(first, "invoices")) == 1_500
    customers = sorted(sandbox.backend.customers, key=int)[10:1_000:200]
    invoices = sorted(sandbox.backend.invoices, key=int)[7:1_400:600]
    for customer_id in customers:
        sandbox.backend.edit_customer(customer_id, Notes="edited for the incremental test")
    for invoice_id in invoices:
        sandbox.backend.edit_invoice(invoice_id, PrivateNote="edited for the incremental test")
    sandbox.log.clear()
    second = connection.read()
    assert sorted(_ids(second, "customers"), key=int) == customers
    assert sorted(_ids(second, "invoices"), key=int) == invoices
    assert all(r["Notes"] == "edited for the incremental test" for r in second.records_of("customers"))
    # Per stream one page (no COUNT for a one-page read), one look-up of the invoices' customers not
    # read in this sync (for `_coperniq_project_id`), and one CDC call for invoices (customers cannot
    # be deleted).
    assert sandbox.log.count("POST", r"/query$") == 3
    assert sandbox.log.count("GET", r"/cdc$") == 1
    assert sandbox.log.count(path=API) == 4


def test_a_deleted_invoice_is_sent_as_deleted_on_the_next_sync_and_only_once(
        qbo_sandbox: QuickBooksSandbox, tmp_path: Path) -> None:
    import jsonschema

    connection = Connection(qbo_sandbox, tmp_path)
    first = connection.read()
    schemas = {s["stream"]["name"]: s["stream"]["json_schema"] for s in connection.catalog()["streams"]}
    victim = _ids(first, "invoices")[3]
    qbo_sandbox.backend.delete_invoice_as_user(victim)
    second = connection.read()
    deleted = [r for r in second.records_of("invoices") if r.get("status") == "Deleted"]
    assert [r["Id"] for r in deleted] == [victim]
    assert deleted[0]["_ab_cdc_deleted_at"] == deleted[0]["MetaData"]["LastUpdatedTime"]
    jsonschema.validate(deleted[0], schemas["invoices"])
    third = connection.read()
    assert victim not in _ids(third, "invoices")


def test_records_keep_quickbooks_field_names_and_validate_against_the_discovered_schemas(
        qbo_sandbox: QuickBooksSandbox, tmp_path: Path) -> None:
    import jsonschema

    connection = Connection(qbo_sandbox, tmp_path, incremental=False)
    schemas = {s["stream"]["name"]: s["stream"]["json_schema"] for s in connection.catalog()["streams"]}
    result = connection.read()
    for stream in STREAMS:
        records = result.records_of(stream)
        assert records, stream
        for record in records:
            jsonschema.validate(record, schemas[stream])
    # QuickBooks' object as sent, plus the top-level cursor (MetaData.LastUpdatedTime) and, on invoices,
    # the linked Coperniq project.
    first = result.records_of("customers")[0]
    sent = qbo_sandbox.backend.customers[_ids(result, "customers")[0]]
    assert first == {**sent, "airbyte_cursor": sent["MetaData"]["LastUpdatedTime"]}
    for record in result.records_of("invoices"):
        customer = qbo_sandbox.backend.customers[record["CustomerRef"]["value"]]
        assert record["_coperniq_project_id"] == project_id_from_notes(customer.get("Notes"))  # null included
        assert record["airbyte_cursor"] == record["MetaData"]["LastUpdatedTime"]


def test_the_rotated_refresh_token_reaches_the_platform_and_an_expired_access_token_is_refreshed(
        qbo_sandbox: QuickBooksSandbox, tmp_path: Path) -> None:
    connection = Connection(qbo_sandbox, tmp_path, streams=("customers",))
    initial = connection.config["refresh_token"]
    first = connection.read()
    updates = first.config_updates
    assert updates and updates[-1]["refresh_token"] == qbo_sandbox.current_refresh_token != initial
    assert not qbo_sandbox.oauth.refresh_token_valid(initial)  # Intuit's rotation: the old one is dead
    assert initial not in json.dumps([m for m in first.messages if m["type"] == "LOG"])
    qbo_sandbox.backend.edit_customer(_ids(first, "customers")[0], Notes="after the token expired")
    qbo_sandbox.expire_access_tokens()  # the stored access token now gets 401
    second = connection.read()
    assert _ids(second, "customers") == [_ids(first, "customers")[0]]
    assert second.config_updates[-1]["refresh_token"] == qbo_sandbox.current_refresh_token


@pytest.mark.parametrize("kill_after_states", [1, 2])
def test_read_killed_midway_and_resumed_from_its_last_state_misses_nothing(
        qbo_sandbox_factory: Any, tmp_path: Path, kill_after_states: int) -> None:
    sandbox = qbo_sandbox_factory(customers=2_500, invoices=5, seed=11, throttle=False)
    connection = Connection(sandbox, tmp_path, streams=("customers",))
    args = [script("source-quickbooks"), "read", "--config", connection._write("config.json", connection.config),
            *connection.read_args()]
    delivered: Counter[str] = Counter()
    seen: list[dict[str, Any]] = []
    process = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    states = 0
    assert process.stdout is not None
    for line in process.stdout:
        message = json.loads(line)
        seen.append(message)
        if message["type"] == "RECORD":
            delivered[message["record"]["data"]["Id"]] += 1
        if message["type"] == "CONTROL":
            connection.config = message["control"]["connectorConfig"]["config"]
        if message["type"] == "STATE":
            states += 1
            if states == kill_after_states:
                process.kill()
                break
    process.wait()
    assert 0 < len(delivered) < 2_500
    connection.state = _last_states(seen)
    # Meanwhile users edit customers: some already sent, some not yet. They move to the end.
    edited = sorted(delivered, key=int)[:20] + sorted(set(sandbox.backend.customers) - set(delivered), key=int)[:20]
    for customer_id in edited:
        sandbox.backend.edit_customer(customer_id, Notes="edited while the sync was down")
    resumed = connection.read()
    delivered.update(_ids(resumed, "customers"))
    assert set(delivered) == set(sandbox.backend.customers)
    repeated = {customer_id for customer_id, count in delivered.items() if count > 1}
    assert repeated <= set(edited)  # only new versions come again, nothing else is repeated


def test_throttling_and_server_errors_mid_read_are_retried_and_the_read_completes(
        qbo_sandbox_factory: Any, tmp_path: Path) -> None:
    sandbox = qbo_sandbox_factory(customers=1_100, invoices=30, seed=5, throttle=False)
    sandbox.faults.inject(429, count=1, path=r"/query$")
    sandbox.faults.inject(503, count=1, path=r"/query$", retry_after=1)
    result = Connection(sandbox, tmp_path, incremental=False).read()
    assert set(_ids(result, "customers")) == set(sandbox.backend.customers)
    assert len(_ids(result, "invoices")) == len(sandbox.backend.invoices)


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        pytest.param({"refresh_token": "RT1-revoked"}, "refused the refresh token", id="dead-refresh-token"),
        pytest.param({"client_secret": "wrong-secret"}, "client_secret", id="wrong-client-secret"),
        pytest.param({"realm_id": "1234567"}, "realm_id", id="wrong-realm"),
        pytest.param({"base_url": "http://127.0.0.1:9", "token_url": "http://127.0.0.1:9/oauth2/v1/tokens/bearer"},
                     "could not be reached", id="unreachable"),
        pytest.param({"start_date": "2024-99-99"}, "start_date", id="bad-start-date"),
    ],
)
def test_check_fails_with_a_plain_message(qbo_sandbox: QuickBooksSandbox, tmp_path: Path,
                                          change: dict[str, Any], expected: str) -> None:
    connection = Connection(qbo_sandbox, tmp_path)
    connection.config.update(change)
    result = connection.run("check")
    status = result.of_type("CONNECTION_STATUS")[0]["connectionStatus"]
    assert status["status"] == "FAILED"
    assert expected in status["message"] and "Traceback" not in status["message"]
    # Only CONTROL messages (the config the platform stores) may carry the secret.
    assert qbo_sandbox.client_secret not in json.dumps([m for m in result.messages if m["type"] != "CONTROL"])


def test_a_read_against_the_wrong_realm_fails_as_a_config_error(qbo_sandbox: QuickBooksSandbox,
                                                                 tmp_path: Path) -> None:
    connection = Connection(qbo_sandbox, tmp_path, streams=("customers",))
    connection.catalog()
    connection.config["realm_id"] = "1234567"
    result = connection.run("read", *connection.read_args())
    assert result.returncode != 0
    errors = [e for e in result.errors if e.get("stream_descriptor")]
    assert errors[0]["failure_type"] == "config_error" and "realm_id" in errors[0]["message"]


def test_rows_edited_away_from_a_crowded_second_are_not_skipped_on_the_next_sync(
        qbo_sandbox_factory: Any, tmp_path: Path) -> None:
    # An initial load writes hundreds of customers within one second; the state then continues at a
    # STARTPOSITION inside that second. Editing some of them moves them to a later second and shifts
    # the rest up: the next sync must still deliver every edited one.
    sandbox = qbo_sandbox_factory(customers=5, invoices=0, seed=6, throttle=False)
    created = [sandbox.backend.add_customer(DisplayName=f"Crowded {n}")["Id"] for n in range(300)]
    connection = Connection(sandbox, tmp_path, streams=("customers",))
    first = connection.read()
    assert set(created) <= set(_ids(first, "customers"))
    edited = [created[3], created[150], created[299]]
    for customer_id in edited:
        sandbox.backend.edit_customer(customer_id, Notes="moved to a later second")
    second = connection.read()
    assert sorted(_ids(second, "customers"), key=int) == sorted(edited, key=int)
