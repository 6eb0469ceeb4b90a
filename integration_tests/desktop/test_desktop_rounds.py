"""The four flows through the bridge and the Web Connector, in scheduler rounds.

Each round: source-coperniq | destination-quickbooks-desktop (writes queued in the bridge), a Web
Connector session against the company-file sandbox, then source-quickbooks-desktop | destination-coperniq.
"""

from __future__ import annotations

from collections import Counter
from typing import Any

from demo.desktop import DesktopRound, DesktopTwoWaySync
from mapping.links import invoice_id_from_note, project_id_from_notes


def _round(sync: DesktopTwoWaySync) -> tuple[int, int]:
    result = sync.round()
    assert not result.errors, result.errors
    return result.writes


def _linked_customers(sync: DesktopTwoWaySync) -> Counter[int]:
    return Counter(p for c in sync.desktop.company.customers.values()
                   if (p := project_id_from_notes(c.get("Notes"))) is not None)


def _linked_invoices(sync: DesktopTwoWaySync) -> Counter[int]:
    return Counter(i for v in sync.desktop.company.invoices.values()
                   if (i := invoice_id_from_note(v.get("Memo"))) is not None)


def assert_every_record_once(sync: DesktopTwoWaySync) -> None:
    backend = sync.coperniq.backend
    customers, invoices = _linked_customers(sync), _linked_invoices(sync)
    assert set(customers) == set(backend.projects), "every project has a customer"
    assert max(customers.values()) == 1, "and only one"
    project_invoices = {i for i, inv in backend.invoices.items() if inv.record_id in backend.projects
                        and "QuickBooks invoice #" not in (inv.description or "")}
    assert set(invoices) == project_invoices, "every project invoice has a QuickBooks invoice"
    assert max(invoices.values(), default=1) == 1, "and only one"


def test_first_sync_both_directions_then_quiet_rounds(desktop_sync: Any) -> None:
    sync = desktop_sync()
    first = sync.round()
    assert not first.errors, first.errors
    assert first.qbxml_writes > 0
    assert_every_record_once(sync)
    company = sync.desktop.company
    assert all(len(c["Name"]) <= 41 for c in company.customers.values())
    assert all(len(v.get("RefNumber", "")) <= 11 for v in company.invoices.values())
    assert _round(sync) == (0, 0), "a quiet round writes nothing on either side"
    assert _round(sync) == (0, 0)
    sync.reset()
    assert _round(sync) == (0, 0), "a sync from scratch writes nothing when both sides agree"


def test_edits_cross_once_and_links_survive_renames(desktop_sync: Any) -> None:
    sync = desktop_sync()
    _round(sync)
    backend, company = sync.coperniq.backend, sync.desktop.company
    project_id = sorted(backend.projects)[2]
    backend.update_project(project_id, {"title": "Okonkwo Residence"})
    qbxml_writes, coperniq_writes = _round(sync)
    assert qbxml_writes == 1 and coperniq_writes == 0
    customer = next(c for c in company.customers.values() if project_id_from_notes(c.get("Notes")) == project_id)
    assert customer["Name"] == "Okonkwo Residence"
    assert _round(sync) == (0, 0)

    # The bookkeeper renames the customer and moves it: the link (Notes marker) holds; the project follows.
    company.edit_customer(customer["ListID"], Name="Okonkwo Residence (billing)",
                          BillAddress={"Addr1": "901 W Riverside Dr", "City": "Austin", "State": "TX",
                                       "PostalCode": "78704"})
    qbxml_writes, coperniq_writes = _round(sync)
    assert coperniq_writes >= 1 and qbxml_writes == 0
    project = backend.get_project(project_id, include_archived=True)
    assert project["title"] == "Okonkwo Residence (billing)"
    assert project["address"] == ["901 W Riverside Dr, Austin, TX 78704"]
    assert _round(sync) == (0, 0)
    assert_every_record_once(sync)


def test_an_invoice_born_in_quickbooks_reaches_coperniq_once(desktop_sync: Any) -> None:
    sync = desktop_sync()
    _round(sync)
    company = sync.desktop.company
    customer = next(c for c in company.customers.values() if project_id_from_notes(c.get("Notes")))
    project_id = project_id_from_notes(customer["Notes"])
    born = company.add_invoice({"CustomerRef": {"ListID": customer["ListID"]}, "RefNumber": "QB-77",
                                "DueDate": "2026-08-01", "Memo": "Main panel upgrade",
                                "InvoiceLineAdd": [{"ItemRef": {"FullName": "Services"}, "Amount": "4200.00"}]})
    before = len(sync.coperniq.backend.invoices)
    qbxml_writes, coperniq_writes = _round(sync)
    assert qbxml_writes == 0 and coperniq_writes >= 1
    copies = [i for i in sync.coperniq.backend.invoices.values()
              if f"QuickBooks invoice #{born['TxnID']}" in (i.description or "")]
    assert len(sync.coperniq.backend.invoices) == before + 1 and len(copies) == 1
    assert copies[0].record_id == project_id
    company.receive_payment(born["TxnID"], "4200.00")
    _round(sync)
    assert len(sync.coperniq.backend.invoices) == before + 1, "an update, never a second copy"
    assert _round(sync) == (0, 0)


def test_dry_run_queues_nothing(desktop_sync: Any) -> None:
    sync = desktop_sync(dry_run=True)
    result: DesktopRound = sync.round()
    assert not result.errors
    summary = next(m for m in result.inbound[1].logs() if m.startswith("Write summary:"))
    assert "would_create" in summary
    assert result.qbxml_writes == 0 and not _linked_customers(sync)
