"""What a bookkeeper sees, in scheduler rounds: terms both ways, field ownership, invoice numbers,
currency and the job site. Each round runs Coperniq -> QuickBooks, then QuickBooks -> Coperniq, with
state and config carried between rounds (demo/flows.py); people edit both systems between rounds.
Two stories, few rounds: each round starts four connector processes.
"""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path
from typing import Any

from connector_core.runner import run_connector, script
from demo.flows import TwoWaySync, quickbooks_config
from mapping.links import invoice_id_from_note, project_id_from_notes
from mapping.terms import term_for_dates, terms_from_rows

INVOICE_FIELDS = ("description", "dueDate", "amount", "lineItems", "status", "createdAt")


def _round(two_way: TwoWaySync) -> tuple[int, int]:
    result = two_way.round()
    assert not result.errors, result.errors
    return result.writes


def _ours(two_way: TwoWaySync) -> dict[int, dict[str, Any]]:
    """QuickBooks invoices made from Coperniq invoices, by Coperniq invoice id."""
    found = {}
    for invoice in two_way.quickbooks.backend.invoices.values():
        coperniq_id = invoice_id_from_note(invoice.get("PrivateNote"))
        if coperniq_id is not None:
            found[coperniq_id] = invoice
    return found


def _day(value: Any) -> date | None:
    return date.fromisoformat(str(value)[:10]) if value else None


def _sandboxes(coperniq_factory: Any, qbo_factory: Any, **qbo_options: Any) -> tuple[Any, Any]:
    return (coperniq_factory(projects=12, seed=23, daily_quota=None),
            qbo_factory(customers=6, invoices=6, seed=23, throttle=False, refresh_token_grace=86400, **qbo_options))


def test_terms_ownership_duplicate_numbers_and_job_site_over_four_rounds(coperniq_sandbox_factory: Any,
                                                                          qbo_sandbox_factory: Any) -> None:
    coperniq, quickbooks = _sandboxes(coperniq_sandbox_factory, qbo_sandbox_factory, check_duplicate_doc_number=True)
    books = quickbooks.backend
    # Both systems number from 1001: a Coperniq invoice whose number QuickBooks already used clashes.
    used = {i["DocNumber"] for i in books.invoices.values()}
    taken = min((i for i in coperniq.backend.invoices.values() if str(i.uid) in used and i.record_id in
                 coperniq.backend.projects), key=lambda i: i.id)
    before = {i: coperniq.backend.get_invoice(i) for i in coperniq.backend.invoices}
    two_way = TwoWaySync(coperniq, quickbooks)

    # Round 1: the initial load.
    first = two_way.round()
    assert not first.errors, first.errors
    ours = _ours(two_way)
    assert set(ours) == {i for i, v in before.items() if v["record"]}
    terms = terms_from_rows(books.terms.values())
    with_terms = set()
    for coperniq_id, qbo in ours.items():
        source = before[coperniq_id]
        if source.get("dueDate"):
            assert qbo["DueDate"] == source["dueDate"][:10], "the due date is always Coperniq's"
        assert qbo["TxnDate"] == source["createdAt"][:10]
        term = term_for_dates(terms, _day(source["createdAt"]), _day(source.get("dueDate")))
        if term is not None:
            with_terms.add(term.name)
            assert qbo["SalesTermRef"]["value"] == term.id, (coperniq_id, term)
    assert "Net 30" in with_terms and len(with_terms) >= 2, with_terms
    assert ours[taken.id]["DocNumber"] == f"{taken.uid}-C"
    assert any(f"{taken.uid}-C" in line for line in first.inbound[1].logs("WARN")), "the suffix is reported"
    customer = next(c for c in books.customers.values()
                    if project_id_from_notes(c.get("Notes")) and (c.get("ShipAddr") or {}).get("City"))
    assert customer["ShipAddr"]["Line1"] == customer["BillAddr"]["Line1"], "the job site is the ship-to address"
    project_id = project_id_from_notes(customer["Notes"])
    project = coperniq.backend.get_project(project_id, include_archived=True)

    # Round 2: the bookkeeper fixes a Coperniq invoice's due date and memo, gives a customer its office
    # as billing address and issues an invoice on Net 30; in Coperniq, unrelated changes to both.
    edited_id, edited = next((i, q) for i, q in sorted(ours.items()) if coperniq.backend.invoices[i].status != "PAID")
    books.edit_invoice(edited["Id"], DueDate="2031-01-31", CustomerMemo={"value": "Agreed by phone: pay in January"})
    coperniq.backend.update_invoice(edited_id, {"status": "DECLINED"})
    office = {"Line1": "PO Box 4410", "City": "Austin", "CountrySubDivisionCode": "TX", "PostalCode": "78765"}
    books.edit_customer(customer["Id"], BillAddr=office)
    coperniq.backend.update_project(project_id, {"title": project["title"] + " (phase 2)"})
    net30 = next(t for t in books.terms.values() if t["Name"] == "Net 30")
    issued = books.add_invoice(customer["Id"], [("1", 1, 480.0)], TxnDate="2024-06-03",
                               SalesTermRef={"value": net30["Id"]}, CustomerMemo={"value": "Spring tune-up"})
    qbo_writes, coperniq_writes = _round(two_way)
    assert qbo_writes == 1 and coperniq_writes == 1  # the rename; the new invoice
    kept = books.invoices[edited["Id"]]
    assert kept["DueDate"] == "2031-01-31" and kept["CustomerMemo"]["value"] == "Agreed by phone: pay in January"
    assert books.customers[customer["Id"]]["BillAddr"]["Line1"] == "PO Box 4410", "the billing address stays"
    assert coperniq.backend.get_project(project_id, include_archived=True)["address"] == project["address"]
    copy = next(i for i in coperniq.backend.invoices.values()
                if f"QuickBooks invoice #{issued['Id']}" in (i.description or ""))
    assert copy.description == f"Spring tune-up\nTerms: Net 30\nQuickBooks invoice #{issued['Id']}"
    assert copy.due_date.date() == date(2024, 7, 3)

    # Round 3: Coperniq changes the memo (its origin) and moves the job site.
    coperniq.backend.update_invoice(edited_id, {"description": "Final invoice, revised"})
    coperniq.backend.update_project(project_id, {"address": ["4801 Burnet Rd, Austin, TX 78756"]})
    assert _round(two_way) == (2, 0)  # two batches: the customer's two addresses, then the invoice's memo
    changed = books.invoices[edited["Id"]]
    assert changed["CustomerMemo"]["value"] == "Final invoice, revised"
    assert changed["DueDate"] == "2031-01-31", "the due date did not change in Coperniq: the bookkeeper's stays"
    moved = books.customers[customer["Id"]]
    assert moved["ShipAddr"]["Line1"] == moved["BillAddr"]["Line1"] == "4801 Burnet Rd"

    # Round 4: quiet, and Coperniq -> QuickBooks -> Coperniq changed no mapped field of any other invoice.
    assert _round(two_way) == (0, 0)
    for invoice_id, old in before.items():
        if invoice_id != edited_id:
            new = coperniq.backend.get_invoice(invoice_id)
            assert {k: new.get(k) for k in INVOICE_FIELDS} == {k: old.get(k) for k in INVOICE_FIELDS}, invoice_id


def _check(quickbooks: Any, folder: Path, **config: Any) -> dict[str, Any]:
    path = folder / "destination-quickbooks.json"
    path.write_text(json.dumps(quickbooks_config(quickbooks, **config)))
    result = run_connector([script("destination-quickbooks"), "check", "--config", str(path)])
    return result.of_type("CONNECTION_STATUS")[0]["connectionStatus"]


def test_a_canadian_company_that_numbers_its_own_invoices(coperniq_sandbox_factory: Any, qbo_sandbox_factory: Any,
                                                           tmp_path: Path) -> None:
    coperniq, quickbooks = _sandboxes(coperniq_sandbox_factory, qbo_sandbox_factory, home_currency="CAD",
                                      custom_txn_numbers=False)
    status = _check(quickbooks, tmp_path, currency="USD")
    assert status["status"] == "FAILED" and "works in CAD only (multicurrency is off)" in status["message"]
    assert _check(quickbooks, tmp_path, currency="CAD")["status"] == "SUCCEEDED"

    # A sync started anyway stops once, in plain words, instead of refusing every customer one by one.
    refused = TwoWaySync(coperniq, quickbooks, inbound_config={"currency": "USD"})
    _, write = refused.inbound.sync()
    assert write.errors and all("works in CAD only" in e["message"] for e in write.errors)
    assert not any(project_id_from_notes(c.get("Notes")) for c in quickbooks.backend.customers.values())

    two_way = TwoWaySync(coperniq, quickbooks, inbound_config={"currency": "CAD"})
    _round(two_way)
    linked = [c for c in quickbooks.backend.customers.values() if project_id_from_notes(c.get("Notes"))]
    assert linked and all(c["CurrencyRef"]["value"] == "CAD" for c in linked)
    ours = _ours(two_way)
    # The sandbox keeps a number sent anyway (as QuickBooks does): QuickBooks' own sequence, carried on
    # from its last invoice, means none was sent.
    seeded = max(int(i["DocNumber"]) for i in quickbooks.backend.invoices.values() if i["Id"] not in
                 {q["Id"] for q in ours.values()})
    numbers = sorted(int(q["DocNumber"]) for q in ours.values())
    assert numbers == list(range(seeded + 1, seeded + 1 + len(ours))), "QuickBooks numbered them itself"
    assert all(q["DocNumber"] != str(coperniq.backend.invoices[i].uid) for i, q in ours.items())
    assert _round(two_way) == (0, 0), "found again by their link, without the number"
