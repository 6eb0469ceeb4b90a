"""source-quickbooks in scheduler rounds: state and rotated config carried from one sync to the next.

- invoices carry ``_coperniq_project_id`` whatever else the sync holds (issue 10, item 2);
- changes that become visible late are delivered by the next sync (item 4);
- a sync resumed from a mid-sync checkpoint ends as fresh as a new one (item 3);
- deletions are listed completely when change data capture cuts its answer at 1,000 objects (item 9).
"""

from __future__ import annotations

import json
import subprocess
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from airbyte_cdk.models import AirbyteMessageSerializer, AirbyteStateMessageSerializer
from airbyte_cdk.models.airbyte_protocol_serializers import ConfiguredAirbyteCatalogSerializer
from airbyte_cdk.test.entrypoint_wrapper import read as read_in_process

from connector_core.runner import RunResult, script
from integration_tests.test_source_quickbooks import Connection, _ids, _last_states
from mapping.links import customer_notes_with_link, project_id_from_notes
from sandboxes.quickbooks.models import ManualClock
from source_quickbooks import SourceQuickbooks


class Rounds(Connection):
    """The same connection (config and state carried), read in-process: no interpreter start per round.

    The CDK prints the CONTROL message of a rotated refresh token straight to stdout, so it is
    taken from pytest's captured output.
    """

    def __init__(self, sandbox: Any, tmp_path: Path, capsys: pytest.CaptureFixture[str], **options: Any) -> None:
        super().__init__(sandbox, tmp_path, **options)
        self.capsys = capsys

    def read(self) -> RunResult:
        catalog = ConfiguredAirbyteCatalogSerializer.load(self.catalog())
        state = [AirbyteStateMessageSerializer.load(s) for s in self.state] or None
        self.capsys.readouterr()
        output = read_in_process(SourceQuickbooks(), self.config, catalog, state)
        printed = [json.loads(line) for line in self.capsys.readouterr().out.splitlines()
                   if line.startswith('{"type":"CONTROL"')]
        result = RunResult(0, [*printed, *(AirbyteMessageSerializer.dump(m) for m in output.get_message_iterator())],
                           "")
        assert not result.errors, result.errors
        for update in result.config_updates:  # the platform persists rotated tokens
            self.config = update
        self.state = _last_states(result.messages) or self.state
        return result


def _queries(sandbox: Any) -> int:
    """Queries answered (a 401 after the access token expired, retried after a refresh, is not a read)."""
    return sum(1 for e in sandbox.log.entries() if e.method == "POST" and e.path.endswith("/query") and e.status == 200)


def test_an_invoice_on_an_unchanged_linked_customer_carries_that_customers_project_in_every_round(
        qbo_sandbox_factory: Any, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    clock = ManualClock(datetime.now(UTC).replace(microsecond=0))
    sandbox = qbo_sandbox_factory(customers=40, invoices=30, seed=5, throttle=False, clock=clock)
    backend = sandbox.backend
    linked = sorted((c for c in backend.customers if backend.customers[c].get("Active")), key=int)[:12]
    for n, customer_id in enumerate(linked):
        backend.edit_customer(customer_id, Notes=customer_notes_with_link(backend.customers[customer_id].get("Notes"),
                                                                          5000 + n))
    clock.advance(600)  # another customer changes later: the linked ones are no longer near the cursor
    backend.edit_customer(next(c for c in sorted(backend.customers, key=int) if c not in linked), Notes="later")
    connection = Rounds(sandbox, tmp_path, capsys)
    first = connection.read()
    for invoice in first.records_of("invoices"):  # the first sync: every invoice, linked or not
        notes = backend.customers[invoice["CustomerRef"]["value"]].get("Notes")
        assert invoice.get("_coperniq_project_id") == project_id_from_notes(notes)

    for round_number in range(3):
        clock.advance(3600)  # hourly syncs
        # Bookkeepers bill linked customers that did not change; one customer is edited in the same round.
        billed = linked[round_number * 3:round_number * 3 + 3]
        created = [backend.add_invoice(customer_id, [("1", 1, 100 + round_number)])["Id"] for customer_id in billed]
        edited = linked[-1 - round_number]
        backend.edit_customer(edited, CompanyName=f"Edited in round {round_number}")
        created.append(backend.add_invoice(edited, [("1", 2, 50)])["Id"])
        sandbox.log.clear()
        result = connection.read()
        assert _ids(result, "customers") == [edited]
        invoices = {r["Id"]: r for r in result.records_of("invoices")}
        assert sorted(invoices, key=int) == sorted(created, key=int)
        for customer_id, invoice_id in zip([*billed, edited], created, strict=True):
            assert invoices[invoice_id]["_coperniq_project_id"] == 5000 + linked.index(customer_id)
        # Per stream one page, plus one look-up of the invoices' customers (those of the page not read
        # by this sync), plus the invoices' CDC call.
        assert _queries(sandbox) == 3
        assert sandbox.log.count("GET", r"/cdc$") == 1

    clock.advance(3600)
    sandbox.log.clear()  # a quiet round: nothing sent, no look-up
    quiet = connection.read()
    assert quiet.records_of("invoices") == [] and quiet.records_of("customers") == []
    assert _queries(sandbox) == 2


def test_five_late_commits_are_each_delivered_by_the_first_sync_after_they_become_visible(
        qbo_sandbox_factory: Any, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    clock = ManualClock(datetime.now(UTC).replace(microsecond=0))
    sandbox = qbo_sandbox_factory(customers=30, invoices=20, seed=8, throttle=False, clock=clock)
    backend = sandbox.backend
    connection = Rounds(sandbox, tmp_path, capsys)
    connection.read()
    customers = sorted(backend.customers, key=int)
    late, on_time = customers[:5], customers[10:15]
    invoices = sorted((i for i, invoice in backend.invoices.items()
                       if backend.customers[invoice["CustomerRef"]["value"]].get("Active")), key=int)
    delivered: Counter[tuple[str, str]] = Counter()
    for round_number in range(6):
        if round_number < 5:
            clock.advance(30)
            backend.visibility_delay = 55  # committed 55 s after its stamp: a slow transaction
            backend.edit_customer(late[round_number], Notes=f"late edit {round_number}")
            backend.edit_invoice(invoices[round_number], PrivateNote=f"late edit {round_number}")
            backend.visibility_delay = 0
            clock.advance(5)  # stamped later, visible at once: the sync reads past the late ones
            backend.edit_customer(on_time[round_number], Notes=f"on time {round_number}")
        sandbox.log.clear()
        result = connection.read()
        for stream in ("customers", "invoices"):
            delivered.update((stream, i) for i in _ids(result, stream))
        if round_number < 5:
            assert late[round_number] not in _ids(result, "customers")  # not visible yet
            assert on_time[round_number] in _ids(result, "customers")
        if round_number > 0:  # the late edit of the round before became visible in between: delivered now
            assert late[round_number - 1] in _ids(result, "customers")
            assert invoices[round_number - 1] in _ids(result, "invoices")
            record = next(r for r in result.records_of("customers") if r["Id"] == late[round_number - 1])
            assert record["Notes"] == f"late edit {round_number - 1}"
        # Reads within the minimum (one page per stream) plus two: here one page each and the look-up.
        assert _queries(sandbox) <= 2 * (1 + 2)
        clock.advance(60)
    assert all(delivered[("customers", c)] == 1 for c in late + on_time), delivered
    assert all(delivered[("invoices", i)] == 1 for i in invoices[:5]), delivered
    assert sum(delivered.values()) == 15  # nothing else re-sent


def test_a_sync_resumed_from_a_mid_sync_checkpoint_ends_as_fresh_as_a_new_sync(
        qbo_sandbox_factory: Any, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    sandbox = qbo_sandbox_factory(customers=2_300, invoices=5, seed=12, throttle=False)
    backend = sandbox.backend
    resumed = Rounds(sandbox, tmp_path / "resumed", capsys, streams=("customers",))
    (tmp_path / "resumed").mkdir()
    args = [script("source-quickbooks"), "read", "--config", resumed._write("config.json", resumed.config),
            *resumed.read_args()]
    seen: list[dict[str, Any]] = []
    process = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    assert process.stdout is not None
    for line in process.stdout:
        message = json.loads(line)
        seen.append(message)
        if message["type"] == "CONTROL":
            resumed.config = message["control"]["connectorConfig"]["config"]
        if message["type"] == "STATE" and sum(m["type"] == "STATE" for m in seen) == 2:
            process.kill()  # killed after its first page's checkpoint
            break
    process.wait()
    resumed.state = _last_states(seen)
    delivered = {m["record"]["data"]["Id"]: m["record"]["data"]["SyncToken"] for m in seen if m["type"] == "RECORD"}
    assert 0 < len(delivered) < 2_300
    # While it was down: rows already sent and rows pending are edited, a customer is added.
    for customer_id in sorted(delivered, key=int)[:15] + sorted(set(backend.customers) - set(delivered), key=int)[:15]:
        backend.edit_customer(customer_id, Notes="edited while the sync was down")
    added = backend.add_customer(DisplayName="Added while the sync was down")["Id"]

    result = resumed.read()
    delivered.update({r["Id"]: r["SyncToken"] for r in result.records_of("customers")})
    # As fresh as a new sync started now: every customer, each at its current version.
    fresh = Rounds(sandbox, tmp_path, capsys, streams=("customers",)).read()
    current = {r["Id"]: r["SyncToken"] for r in fresh.records_of("customers")}
    assert added in current
    assert delivered == current == {i: c["SyncToken"] for i, c in backend.customers.items()}
    assert resumed.state[0]["stream"]["stream_state"]["LastUpdatedTime"] == \
        _last_states(fresh.messages)[0]["stream"]["stream_state"]["LastUpdatedTime"]


def test_deletions_are_all_reported_when_change_data_capture_cuts_its_answer_at_1000(
        qbo_sandbox_factory: Any, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    clock = ManualClock(datetime.now(UTC).replace(microsecond=0))
    sandbox = qbo_sandbox_factory(customers=30, invoices=1_300, seed=9, throttle=False, clock=clock)
    backend = sandbox.backend
    connection = Rounds(sandbox, tmp_path, capsys, streams=("invoices",))
    connection.read()
    invoices = sorted((i for i, invoice in backend.invoices.items()
                       if backend.customers[invoice["CustomerRef"]["value"]].get("Active")), key=int)
    deleted = invoices[:10] + invoices[-10:]
    for invoice_id in invoices[:5]:
        backend.delete_invoice_as_user(invoice_id)
    for n, invoice_id in enumerate(invoices[20:1_220]):  # 1,200 edits: more than one CDC answer holds
        if n % 50 == 0:
            clock.advance(1)
        backend.edit_invoice(invoice_id, PrivateNote="bulk edit")
    clock.advance(1)
    for invoice_id in [*invoices[5:10], *invoices[-10:]]:
        backend.delete_invoice_as_user(invoice_id)
    sandbox.log.clear()
    result = connection.read()
    tombstones = [r for r in result.records_of("invoices") if r.get("_ab_cdc_deleted_at")]
    assert sorted(r["Id"] for r in tombstones) == sorted(deleted)
    assert sandbox.log.count("GET", r"/cdc$") == 2  # the first answer was full: asked again from its latest stamp
    assert not [w for w in result.logs(level="WARN") if "change data capture" in w.lower()]
