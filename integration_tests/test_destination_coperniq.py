"""qbo:out:1 and qbo:out:2: destination-coperniq fed QuickBooks records, against both sandboxes.

The records are QuickBooks' own objects taken from the QuickBooks sandbox (what source-quickbooks
emits); the full four-flow round trip is in test_two_way_sync.py.
"""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from connector_core.runner import RunResult, run_connector, script
from integration_tests.test_destination_quickbooks import _connection, _linked_customers
from mapping.links import qbo_invoice_id_from_description
from sandboxes.coperniq import CoperniqSandbox
from sandboxes.quickbooks import QuickBooksSandbox

WRITES = r"^/v1/(projects|contacts|invoices)"


def _catalog() -> dict[str, Any]:
    streams = []
    for name in ("customers", "invoices"):
        streams.append({"stream": {"name": name, "json_schema": {"type": "object"},
                                   "supported_sync_modes": ["full_refresh", "incremental"]},
                        "sync_mode": "incremental", "destination_sync_mode": "append_dedup",
                        "cursor_field": ["MetaData", "LastUpdatedTime"], "primary_key": [["Id"]]})
    return {"streams": streams}


def _messages(customers: list[dict[str, Any]], invoices: list[dict[str, Any]]) -> list[str]:
    lines = []
    for stream, records in (("customers", customers), ("invoices", invoices)):
        lines += [json.dumps({"type": "RECORD", "record": {"stream": stream, "data": r, "emitted_at": 0}})
                  for r in records]
        lines.append(json.dumps({"type": "STATE", "state": {"type": "STREAM", "stream": {
            "stream_descriptor": {"name": stream}, "stream_state": {"n": len(records)}}}}))
    return lines


def _write(tmp_path: Path, coperniq: CoperniqSandbox, customers: list[dict[str, Any]],
           invoices: list[dict[str, Any]] = (), **config: Any) -> RunResult:
    (tmp_path / "config.json").write_text(json.dumps(
        {"api_key": coperniq.api_key, "base_url": coperniq.base_url, **config}))
    (tmp_path / "catalog.json").write_text(json.dumps(_catalog()))
    return run_connector([script("destination-coperniq"), "write", "--config", str(tmp_path / "config.json"),
                          "--catalog", str(tmp_path / "catalog.json")], _messages(customers, list(invoices)))


def _coperniq_writes(coperniq: CoperniqSandbox) -> int:
    return sum(coperniq.log.count(method, WRITES) for method in ("POST", "PATCH", "DELETE"))


@pytest.fixture
def synced(coperniq_sandbox_factory: Any, qbo_sandbox_factory: Any) -> tuple[CoperniqSandbox, QuickBooksSandbox]:
    """Both systems after qbo:in:1 and qbo:in:2 have run once."""
    coperniq = coperniq_sandbox_factory(projects=40, seed=13, daily_quota=None)
    quickbooks = qbo_sandbox_factory(customers=15, invoices=20, seed=13, throttle=False)
    _, write = _connection(coperniq, quickbooks).sync()
    assert write.returncode == 0 and not write.errors
    coperniq.log.clear()
    return coperniq, quickbooks


def _linked(quickbooks: QuickBooksSandbox) -> list[dict[str, Any]]:
    return [c[0] for c in _linked_customers(quickbooks).values()]


def test_the_echo_of_our_own_writes_writes_nothing_back(synced: Any, tmp_path: Path) -> None:
    coperniq, quickbooks = synced
    linked = _linked(quickbooks)
    ours = [i for i in quickbooks.backend.invoices.values() if "Coperniq invoice" in (i.get("PrivateNote") or "")]
    result = _write(tmp_path, coperniq, linked, ours)
    assert result.returncode == 0 and not result.errors, result.errors
    assert _coperniq_writes(coperniq) == 0, result.logs()
    assert len(result.states) == 2


def test_a_customer_edited_by_the_bookkeeper_updates_its_project_and_contact_once(synced: Any, tmp_path: Path) -> None:
    coperniq, quickbooks = synced
    customer = sorted(_linked(quickbooks), key=lambda c: int(c["Id"]))[0]
    project_id = int(customer["Notes"].rsplit("#", 1)[1].split()[0])
    moved = {"Line1": "500 Congress Ave", "Line2": "Suite 200", "City": "Austin", "CountrySubDivisionCode": "TX",
             "PostalCode": "78701", "Country": "US"}
    # Both addresses, as QuickBooks' "Same as billing address" box does: the ship-to one is the job site.
    edited = quickbooks.backend.edit_customer(customer["Id"], DisplayName="Okafor Residence", BillAddr=moved,
                                              ShipAddr=dict(moved), PrimaryPhone={"FreeFormNumber": "(512) 555-0142"})
    result = _write(tmp_path, coperniq, [edited])
    assert not result.errors
    project = coperniq.backend.get_project(project_id)
    assert project["title"] == "Okafor Residence"
    assert project["address"] == ["500 Congress Ave, Suite 200, Austin, TX 78701"]
    contacts = [c for c in coperniq.backend.contacts.values() if project_id in c.project_ids]
    assert any("(512) 555-0142" in c.phones for c in contacts)
    coperniq.log.clear()
    again = _write(tmp_path, coperniq, [quickbooks.backend.customers[customer["Id"]]])
    assert not again.errors and _coperniq_writes(coperniq) == 0


def test_on_hold_filter_updates_matching_customers_and_sets_the_project_status(synced: Any, tmp_path: Path) -> None:
    coperniq, quickbooks = synced
    customers = sorted(_linked(quickbooks), key=lambda c: int(c["Id"]))[:3]
    held = quickbooks.backend.edit_customer(customers[0]["Id"],
                                            Notes=customers[0]["Notes"] + "\nOn hold: unpaid invoice 1043")
    result = _write(tmp_path, coperniq, [held, *customers[1:]], customer_filter_field="Notes",
                    customer_filter_value="on hold", customer_filter_match="contains",
                    matched_project_status="ON_HOLD")
    assert not result.errors
    project_id = int(customers[0]["Notes"].rsplit("#", 1)[1].split()[0])
    assert coperniq.backend.get_project(project_id)["status"] == "ON_HOLD"
    summary = next(m for m in result.logs() if m.startswith("Write summary"))
    assert "filtered 2" in summary


def test_an_invoice_born_in_quickbooks_lands_once_on_the_project_and_follows_payments(
        synced: Any, tmp_path: Path) -> None:
    coperniq, quickbooks = synced
    customer = sorted(_linked(quickbooks), key=lambda c: int(c["Id"]))[1]
    project_id = int(customer["Notes"].rsplit("#", 1)[1].split()[0])
    invoice = quickbooks.backend.add_invoice(customer["Id"], [("1", 2, 1250.0), ("1", 1, 99.99)],
                                             CustomerMemo={"value": "Battery add-on"}, DueDate="2027-03-01")
    result = _write(tmp_path, coperniq, [], [invoice])
    assert not result.errors, result.errors
    copies = [i for i in coperniq.backend.list_invoices(record_id=project_id, page_size=100)["items"]
              if qbo_invoice_id_from_description(i.get("description")) == invoice["Id"]]
    assert len(copies) == 1
    assert Decimal(str(copies[0]["amount"])) == Decimal("2599.99")
    coperniq.log.clear()
    assert not _write(tmp_path, coperniq, [], [invoice]).errors
    assert _coperniq_writes(coperniq) == 0, "a rerun must not create a second copy"
    paid = quickbooks.backend.record_payment(invoice["Id"], 1000)
    _write(tmp_path, coperniq, [], [paid])
    assert coperniq.backend.get_invoice(copies[0]["id"])["status"] == "PARTIALLY_PAID"


def test_payment_of_an_invoice_born_in_coperniq_comes_back_as_its_status(synced: Any, tmp_path: Path) -> None:
    coperniq, quickbooks = synced
    ours = next(i for i in quickbooks.backend.invoices.values() if "Coperniq invoice" in (i.get("PrivateNote") or "")
                and float(i["TotalAmt"]) > 0)
    coperniq_id = int(ours["PrivateNote"].rsplit("#", 1)[1].split()[0])
    paid = quickbooks.backend.record_payment(ours["Id"], ours["TotalAmt"])
    result = _write(tmp_path, coperniq, [], [paid])
    assert not result.errors
    assert coperniq.backend.get_invoice(coperniq_id)["status"] == "PAID"


def test_unlinked_customers_are_reported_or_upserted_never_duplicated(synced: Any, tmp_path: Path) -> None:
    coperniq, quickbooks = synced
    stranger = quickbooks.backend.add_customer(DisplayName="Brand New Homeowner", GivenName="Ada", FamilyName="Obi",
                                               BillAddr={"Line1": "12 Elm St", "City": "Austin",
                                                         "CountrySubDivisionCode": "TX", "PostalCode": "78702"})
    reported = _write(tmp_path, coperniq, [stranger])
    assert any("no linked Coperniq project" in m for m in reported.logs("WARN"))
    assert _coperniq_writes(coperniq) == 0
    before = len(coperniq.backend.projects)
    _write(tmp_path, coperniq, [stranger], unlinked_customers="upsert")
    _write(tmp_path, coperniq, [stranger], unlinked_customers="upsert")
    titles = [p.title for p in coperniq.backend.projects.values()]
    assert titles.count("Brand New Homeowner") == 1 and len(coperniq.backend.projects) == before + 1


def test_low_daily_quota_stops_cleanly_after_the_last_committed_state(
        coperniq_sandbox_factory: Any, qbo_sandbox_factory: Any, tmp_path: Path) -> None:
    coperniq = coperniq_sandbox_factory(projects=30, seed=13, daily_quota=200)
    quickbooks = qbo_sandbox_factory(customers=5, invoices=5, seed=13, throttle=False)
    _connection(coperniq, quickbooks).sync()
    linked = _linked(quickbooks)
    for customer in linked:
        quickbooks.backend.edit_customer(customer["Id"], PrimaryPhone={"FreeFormNumber": "(512) 555-0100"})
    edited = [quickbooks.backend.customers[c["Id"]] for c in linked]
    # Keep in reserve all but a few requests of what is left today: the write starts, then must stop.
    left = 200 - coperniq.rate_limiter.used_today(coperniq.api_key)
    result = _write(tmp_path, coperniq, edited, min_remaining_quota=left - 8)
    assert 0 < _coperniq_writes(coperniq) < len(edited), "the guard stopped nothing, or everything"
    assert result.errors and "quota" in result.errors[0]["message"]
    assert result.errors[0]["failure_type"] == "transient_error"
    assert result.states == []  # nothing after the stop is acknowledged


def test_dry_run_reports_and_writes_nothing(synced: Any, tmp_path: Path) -> None:
    coperniq, quickbooks = synced
    customer = sorted(_linked(quickbooks), key=lambda c: int(c["Id"]))[0]
    edited = quickbooks.backend.edit_customer(customer["Id"], DisplayName="Renamed In Books")
    result = _write(tmp_path, coperniq, [edited], dry_run=True)
    assert _coperniq_writes(coperniq) == 0
    assert "would_update" in next(m for m in result.logs() if m.startswith("Write summary"))
