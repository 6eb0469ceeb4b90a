"""What a bookkeeper looks at first (issue 11), added to the demo's seeded Coperniq company, and the checks.

- a Canadian home (a Montréal address typed as people type it: no commas, a French street type and
  unit, the postal code in lower case without its space): its QuickBooks customer must hold it in
  ``BillAddr`` as street, unit, city, province code, postal code and country;
- a business as the contact of a project (``Sunrise Roofing LLC``): ``CompanyName``, no person's names;
- invoices whose due dates follow their issue date by a company term's days (Due on receipt, Net 15,
  Net 30) get that ``SalesTermRef``; one due in 45 days fits no term and keeps its due date, unnamed.

The expected values are written out here, not derived from ``mapping/``: the check is the bookkeeper's
reading of the books, so a mapping rule that drifted shows up as a failed case.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

from demo.steady_state import INVOICE_STAGE, Snapshot, invoice_stage_move
from mapping.links import invoice_id_from_note, project_id_from_notes
from sandboxes.coperniq import CoperniqSandbox

CANADIAN_ADDRESS = "4521 rue Saint-Denis app. 3 Montréal QC h2j2l4"
CANADIAN_BILL_ADDR = {"Line1": "4521 rue Saint-Denis", "Line2": "app. 3", "City": "Montréal",
                      "CountrySubDivisionCode": "QC", "PostalCode": "H2J 2L4", "Country": "Canada"}
BUSINESS_NAME = "Sunrise Roofing LLC"
# Days from issue to due date -> the term QuickBooks' default list has for them (None: no term fits).
TERM_DAYS = {"canadian": (15, 45), "business": (30, 0)}
TERM_NAMES = {0: "Due on receipt", 15: "Net 15", 30: "Net 30", 45: None}
ADDRESS_PARTS = tuple(CANADIAN_BILL_ADDR)


@dataclass
class BookkeeperCases:
    """The records added to the Coperniq sandbox, by id, and what each must become in QuickBooks."""

    canadian_project: int
    business_project: int
    invoice_terms: dict[int, str | None] = field(default_factory=dict)  # Coperniq invoice id -> term name
    invoice_due: dict[int, date] = field(default_factory=dict)  # Coperniq invoice id -> its due date

    def __str__(self) -> str:
        return (f"a Canadian home (project {self.canadian_project}, {CANADIAN_ADDRESS!r}), a business contact "
                f"({BUSINESS_NAME!r}, project {self.business_project}) and {len(self.invoice_terms)} invoices due "
                f"{', '.join(str(d) for d in sorted(TERM_NAMES))} days after issue, both at {INVOICE_STAGE}")


def add_bookkeeper_cases(coperniq: CoperniqSandbox) -> BookkeeperCases:
    """Adds the two projects, their contacts and invoices through the sandbox's API model, at the invoice stage."""
    backend = coperniq.backend
    canadian = _project_at_invoice_stage(backend, "Tremblay Residence - Heat Pump", CANADIAN_ADDRESS)
    backend.create_contact({"name": "Émilie Tremblay", "emails": ["emilie.tremblay@videotron.example"],
                            "phones": ["514-555-0148"], "projectIds": [canadian]})
    business = _project_at_invoice_stage(backend, "Sunrise Roofing - Warehouse PV",
                                         "2200 Burleson Rd, Austin, TX 78741")
    backend.create_contact({"name": BUSINESS_NAME, "emails": ["ap@sunrise-roofing.example"],
                            "phones": ["(512) 555-0163"], "projectIds": [business]})
    cases = BookkeeperCases(canadian, business)
    for kind, project_id in (("canadian", canadian), ("business", business)):
        for days in TERM_DAYS[kind]:
            invoice_id, due = _invoice_due_after(backend, project_id, days)
            cases.invoice_terms[invoice_id] = TERM_NAMES[days]
            cases.invoice_due[invoice_id] = due
    return cases


def _project_at_invoice_stage(backend: Any, title: str, address: str) -> int:
    project, _ = backend.create_project({"title": title, "address": [address], "workflowId": 11},
                                        match_by="title", match_found_strategy="skip")
    move = invoice_stage_move(backend, project["id"])
    if move is None:
        raise RuntimeError(f"workflow 11 has no {INVOICE_STAGE} stage")
    backend.update_project(project["id"], move[1])
    return project["id"]


def _invoice_due_after(backend: Any, project_id: int, days: int) -> tuple[int, date]:
    """A SENT invoice due ``days`` after its issue date (Coperniq shows its creation date as the issue date)."""
    item = min(i.id for i in backend.catalog_items.values() if not i.is_archived)
    now = backend.now()
    invoice = backend.create_invoice({
        "recordId": project_id, "calculationMethod": "LINE_ITEMS", "status": "SENT",
        "issueDate": now.strftime("%Y-%m-%dT%H:%M:%S.000Z"), "description": f"Milestone billing, {days} days",
        "lineItems": [{"catalogItemId": item, "quantity": 2, "unitCost": 50.0, "unitPrice": 1250.0}]})
    due = date.fromisoformat(invoice["createdAt"][:10]) + timedelta(days=days)
    backend.update_invoice(invoice["id"], {"dueDate": f"{due.isoformat()}T00:00:00.000Z"})
    return invoice["id"], due


def check_bookkeeper_cases(cases: BookkeeperCases, snapshot: Snapshot) -> list[tuple[bool, str]]:
    """(landed right, what the bookkeeper sees) for every case."""
    customers = {project_id_from_notes(c.get("Notes")): c for c in snapshot.customers.values()}
    results = [_canadian_address(customers.get(cases.canadian_project)),
               _business_contact(customers.get(cases.business_project))]
    invoices = {invoice_id_from_note(row.get("PrivateNote")): row for row in snapshot.qbo_invoices.values()}
    term_names = {row["Id"]: row.get("Name") for row in snapshot.term_rows}
    for invoice_id in sorted(cases.invoice_terms):
        results.append(_invoice_terms(invoice_id, invoices.get(invoice_id), cases.invoice_terms[invoice_id],
                                      cases.invoice_due[invoice_id], term_names))
    return results


def _canadian_address(customer: dict[str, Any] | None) -> tuple[bool, str]:
    if customer is None:
        return False, "the Canadian project has no QuickBooks customer"
    landed = {part: (customer.get("BillAddr") or {}).get(part) for part in ADDRESS_PARTS}
    shown = " / ".join(str(landed[part]) for part in ADDRESS_PARTS)
    return landed == CANADIAN_BILL_ADDR, f"customer {customer['DisplayName']!r}: BillAddr {shown}"


def _business_contact(customer: dict[str, Any] | None) -> tuple[bool, str]:
    if customer is None:
        return False, "the business contact's project has no QuickBooks customer"
    company, given, family = customer.get("CompanyName"), customer.get("GivenName"), customer.get("FamilyName")
    right = company == BUSINESS_NAME and not given and not family
    return right, (f"customer {customer['DisplayName']!r}: CompanyName {company!r}, GivenName {given!r}, "
                   f"FamilyName {family!r}")


def _invoice_terms(invoice_id: int, row: dict[str, Any] | None, term: str | None, due: date,
                   term_names: dict[str, str | None]) -> tuple[bool, str]:
    if row is None:
        return False, f"Coperniq invoice {invoice_id} is not in QuickBooks"
    ref = row.get("SalesTermRef") or {}
    landed = term_names.get(str(ref.get("value"))) if ref.get("value") else None
    right = landed == term and row.get("DueDate") == due.isoformat()
    return right, (f"invoice {row.get('DocNumber') or row['Id']} (Coperniq {invoice_id}): terms {landed or 'none'}, "
                   f"due {row.get('DueDate')} (wanted {term or 'none'}, due {due.isoformat()})")
