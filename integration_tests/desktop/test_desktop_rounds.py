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


def test_rounds_both_directions_every_record_once_quiet_rounds_and_rename_proof_links(desktop_sync: Any) -> None:
    sync = desktop_sync(terms_name="Net 30")
    first = sync.round()
    assert not first.errors, first.errors
    assert first.qbxml_writes > 0
    assert_every_record_once(sync)
    backend, company = sync.coperniq.backend, sync.desktop.company
    assert all(len(c["Name"]) <= 41 for c in company.customers.values())
    assert all(len(v.get("RefNumber", "")) <= 11 for v in company.invoices.values())
    ours = [v for v in company.invoices.values() if invoice_id_from_note(v.get("Memo"))]
    assert ours and all(v["TermsRef"]["FullName"] == "Net 30" for v in ours)
    assert _round(sync) == (0, 0), "a quiet round writes nothing on either side"

    # Both sides work between two syncs: a project renamed in Coperniq; in QuickBooks the bookkeeper renames
    # and moves another customer, and issues an invoice to a third.
    renamed = sorted(backend.projects)[2]
    backend.update_project(renamed, {"title": "Okonkwo Residence"})
    linked = sorted((c for c in company.customers.values() if project_id_from_notes(c.get("Notes"))),
                    key=lambda c: c["ListID"])
    moved = next(c for c in linked if project_id_from_notes(c["Notes"]) != renamed)
    moved_project = project_id_from_notes(moved["Notes"])
    company.edit_customer(moved["ListID"], Name="Haddad Residence (billing)",
                          BillAddress={"Addr1": "901 W Riverside Dr", "City": "Austin", "State": "TX",
                                       "PostalCode": "78704"})
    billed = next(c for c in linked if project_id_from_notes(c["Notes"]) not in (renamed, moved_project))
    born = company.add_invoice({"CustomerRef": {"ListID": billed["ListID"]}, "RefNumber": "QB-77",
                                "DueDate": "2026-08-01", "Memo": "Main panel upgrade",
                                "InvoiceLineAdd": [{"ItemRef": {"FullName": "Services"}, "Amount": "4200.00"}]})
    before = len(backend.invoices)
    qbxml_writes, coperniq_writes = _round(sync)
    assert qbxml_writes == 1, "one CustomerMod for the rename, nothing else"
    assert coperniq_writes >= 2
    customer = next(c for c in company.customers.values() if project_id_from_notes(c.get("Notes")) == renamed)
    assert customer["Name"] == "Okonkwo Residence"
    project = backend.get_project(moved_project, include_archived=True)
    assert project["title"] == "Haddad Residence (billing)", "the link lives in Notes: a renamed customer holds it"
    assert project["address"] == ["901 W Riverside Dr, Austin, TX 78704"]
    copies = [i for i in backend.invoices.values() if f"QuickBooks invoice #{born['TxnID']}" in (i.description or "")]
    assert len(backend.invoices) == before + 1 and len(copies) == 1
    assert copies[0].record_id == project_id_from_notes(billed["Notes"])
    assert _round(sync) == (0, 0), "the echoes of those writes write nothing"
    assert_every_record_once(sync)

    sync.reset()
    assert _round(sync) == (0, 0), "a sync from scratch writes nothing when both sides agree"


def test_dry_run_queues_nothing(desktop_sync: Any) -> None:
    sync = desktop_sync(dry_run=True)
    result: DesktopRound = sync.round()
    assert not result.errors
    summary = next(m for m in result.inbound[1].logs() if m.startswith("Write summary:"))
    assert "would_create" in summary
    assert result.qbxml_writes == 0 and not _linked_customers(sync)
