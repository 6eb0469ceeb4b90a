"""destination-quickbooks' planner: Coperniq records + what QuickBooks holds -> the writes, each with its reason.

Pure: no request, no clock. The writer (``writer.py``) reads what the plan needs (``QuickBooksView``),
asks for a plan, hands its writes to the executor (``executor.py``) and lays the answers over the view.
A plan also says what it could not decide without more of QuickBooks (``Plan.needs``): the vendor and
employee names (read only once a customer is named) and the company's preferences (read only once a
customer is created); the writer reads them and plans again.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from destination_quickbooks.intake import FlushRecords, Outcome, ProjectFacts
from mapping.coperniq_to_qbo import customer_changes, customer_fields, invoice_changes, invoice_fields
from mapping.invoice_numbers import suffixed_doc_number
from mapping.links import (
    clean_display_name,
    is_inactive,
    own_display_name,
    project_id_from_notes,
    suffixed_display_name,
    title_from_display_name,
)
from mapping.ownership import (
    customer_notes_rebased,
    customer_to_create,
    customer_update,
    invoice_to_create,
    invoice_update,
)
from mapping.terms import Term
from mapping.write_rules import (
    adoptable,
    born_in_quickbooks,
    customer_contact,
    invoice_project_stage,
    may_create_invoice,
    update_fields,
)
from qbo.errors import DUPLICATE_DOC_NUMBER, DUPLICATE_NAME, STALE_OBJECT, QuickBooksFault

NEEDS_OTHER_NAMES = "other_names"  # vendors' and employees' DisplayNames
NEEDS_COMPANY = "company"  # the company's preferences (currency)
MAPPING_ERRORS = (ValueError, TypeError, AttributeError, ArithmeticError)  # a record the admission checks missed


@dataclass(frozen=True)
class PlannedWrite:
    """One create or sparse update, and why it is made."""

    entity: str  # Customer | Invoice
    action: str  # create | update
    body: dict[str, Any]
    stream: str  # the Coperniq stream reported for it
    record_id: Any  # the Coperniq record reported for it
    coperniq_id: int  # what the write links to: the project id (Customer) or the Coperniq invoice id (Invoice)
    reason: str = ""

    def with_body(self, body: dict[str, Any], action: str | None = None) -> PlannedWrite:
        return PlannedWrite(self.entity, action or self.action, body, self.stream, self.record_id, self.coperniq_id,
                            self.reason)


@dataclass
class Plan:
    writes: list[PlannedWrite] = field(default_factory=list)
    outcomes: list[Outcome] = field(default_factory=list)
    needs: set[str] = field(default_factory=set)
    adopted: set[str] = field(default_factory=set)  # customers linked by name so far in the run

    def note(self, stream: str, record_id: Any, kind: str, reason: str = "") -> None:
        self.outcomes.append(Outcome(stream, record_id, kind, reason))


@dataclass
class CustomerIndex:
    """Every QuickBooks customer (inactive included), by linked project and by name."""

    by_project: dict[int, dict[str, Any]] = field(default_factory=dict)
    by_name: dict[str, dict[str, Any]] = field(default_factory=dict)
    adopted: set[str] = field(default_factory=set)

    def add(self, customer: dict[str, Any]) -> None:
        project_id = project_id_from_notes(customer.get("Notes"))
        if project_id is not None:
            self.by_project[project_id] = customer
        name = str(own_display_name(customer) or "").casefold()  # an inactive customer still holds its name
        if name:
            self.by_name[name] = customer

    def replace(self, project_id: int, customer: dict[str, Any]) -> None:
        """A customer as QuickBooks answered a write: its old name is free again."""
        stale = self.by_project.get(project_id)
        if stale is not None:
            self.by_name.pop(str(own_display_name(stale) or "").casefold(), None)
        self.add(customer)

    def reserve(self, name: str, holder: dict[str, Any] | None = None) -> None:
        """Mark a name as taken: by a vendor or employee, or by a customer about to be created."""
        if name:
            self.by_name.setdefault(name.casefold(), holder or {"DisplayName": name})

    def holder_of(self, name: str) -> dict[str, Any] | None:
        return self.by_name.get(name.casefold())

    def copy(self) -> CustomerIndex:
        return CustomerIndex(dict(self.by_project), dict(self.by_name), set(self.adopted))


@dataclass
class QuickBooksView:
    """What this run knows QuickBooks holds: a value the planner reads and the writer keeps up to date."""

    customers: CustomerIndex = field(default_factory=CustomerIndex)
    other_names_known: bool = False  # vendors' and employees' names are reserved in ``customers``
    currency_ref: dict[str, str] | None = None  # a new customer's CurrencyRef, once the company is read
    company_known: bool = False
    new_customer_ids: set[str] = field(default_factory=set)  # created by this run: they hold no older invoice
    invoices: dict[int, dict[str, Any]] = field(default_factory=dict)  # this flush's linked invoices, by Coperniq id
    written_invoices: dict[int, dict[str, Any]] = field(default_factory=dict)  # as this run wrote them


@dataclass(frozen=True)
class InvoiceSettings:
    """What invoices are built with: the line item, the description's field, the company's terms and numbering."""

    item_ref: dict[str, str]
    description_target: str = "CustomerMemo"
    terms: tuple[Term, ...] = ()
    send_doc_number: bool = True


# -- which invoices ------------------------------------------------------------------------------


@dataclass
class InvoiceSelection:
    invoices: list[dict[str, Any]] = field(default_factory=list)
    update_only: set[int] = field(default_factory=set)  # may update what QuickBooks has, never create
    outcomes: list[Outcome] = field(default_factory=list)


def select_invoices(invoices: Iterable[dict[str, Any]], facts: Mapping[int, ProjectFacts],
                    stages: frozenset[str]) -> InvoiceSelection:
    """The invoices to write: project invoices not born in QuickBooks; the stage filter marks update-only ones.

    With ``invoice_stages`` set (qbo:in:2), the stage is the project record's when this run saw it, else
    the ``_project_stage`` source-coperniq puts on every invoice (``mapping.write_rules``).
    """
    selection = InvoiceSelection()
    for invoice in invoices:
        record = invoice.get("record")
        if not isinstance(record, Mapping) or not isinstance(record.get("id"), int):
            selection.outcomes.append(Outcome("invoices", invoice["id"], "skipped", "invoice belongs to no project "
                                              "(`record` is empty); only project invoices are written"))
            continue
        seen = facts.get(record["id"])
        known, stage = invoice_project_stage(invoice, seen is not None, seen.stage if seen else None)
        if not may_create_invoice(stages, known, stage):
            selection.update_only.add(invoice["id"])
        if born_in_quickbooks(invoice):
            selection.outcomes.append(Outcome("invoices", invoice["id"], "owned_by_quickbooks"))
            continue
        selection.invoices.append(invoice)
    return selection


# -- customers -----------------------------------------------------------------------------------


def plan_customers(records: FlushRecords, selection: InvoiceSelection, view: QuickBooksView,
                   facts: Mapping[int, ProjectFacts], currency: str = "USD") -> Plan:
    """The customer writes of one flush: one per project that arrived, or that a contact or invoice names."""
    plan = Plan()
    index = view.customers.copy()  # names reserved while planning stay in the plan
    creating = {i["record"]["id"] for i in selection.invoices if i["id"] not in selection.update_only}
    for project_id in sorted(set(records.projects) | set(records.contacts_by_project) | creating):
        try:
            write = _customer_write(project_id, records, index, view, facts.get(project_id), currency, plan)
        except MAPPING_ERRORS as error:
            plan.note("projects", project_id, "rejected",
                      f"cannot be mapped to QuickBooks: {type(error).__name__}: {error}")
            continue
        if write is not None:
            plan.writes.append(write)
    plan.outcomes += unlinked_contacts(records)
    plan.adopted = index.adopted
    return plan


def unlinked_contacts(records: FlushRecords) -> list[Outcome]:
    return [Outcome("contacts", contact_id, "skipped", "contact is linked to no project, so to no customer")
            for contact_id in records.unlinked_contacts]


def customer_source(project_id: int, records: FlushRecords,
                    has_customer: bool) -> tuple[dict[str, Any] | None, Outcome | None] | None:
    """What a project's customer is built from: (the project, None); (None, why not) to skip; None for no write.

    The project record when it arrived; else, for a project with no customer yet, the title a contact
    or invoice carries; else (a customer exists) None, and only a contact updates it. A project reached
    only through an invoice, whose customer exists, needs no write.
    """
    project = records.projects.get(project_id)
    contacts = records.contacts_by_project.get(project_id, [])
    if project is not None or (contacts and has_customer):
        return project, None
    if has_customer:
        return None
    title = records.titles.get(project_id)
    if not title:
        return None, Outcome("contacts", contacts[0]["id"] if contacts else project_id, "skipped",
                             f"project {project_id} has no customer yet and no title to create one with")
    return {"id": project_id, "title": title}, None


def reported_as(project_id: int, project: dict[str, Any] | None, contact: dict[str, Any] | None) -> tuple[str, Any]:
    """The (stream, record id) a customer write is reported under: the project, else the contact that made it."""
    if project is None and contact is not None:
        return "contacts", contact["id"]
    return "projects", project_id


def _customer_write(project_id: int, records: FlushRecords, index: CustomerIndex, view: QuickBooksView,
                    facts: ProjectFacts | None, currency: str, plan: Plan) -> PlannedWrite | None:
    current = index.by_project.get(project_id)
    found = customer_source(project_id, records, current is not None)
    if found is None or found[1] is not None:
        if found is not None:
            plan.outcomes.append(found[1])
        return None
    source, project = found[0], records.projects.get(project_id)
    contact = customer_contact(project, records.contacts_by_project.get(project_id, []), current,
                               facts.primary_email if facts else None, facts.primary_phone if facts else None)
    desired = customer_fields(source, contact, currency)
    stream, record_id = reported_as(project_id, project, contact)
    adopted = False
    if current is None and source is not None:
        same_name = index.holder_of(clean_display_name(source.get("title"), project_id))
        if adoptable(same_name, index.adopted):
            current, adopted = same_name, True
            index.adopted.add(same_name["Id"])  # a second project of that title must not adopt it too
    if "DisplayName" in desired:
        name = _display_name(source.get("title") if source else None, project_id, index, view, current, plan)
        if name is None:
            return None
        desired["DisplayName"] = name
    if current is None:
        return _customer_create(desired, project_id, stream, record_id, index, view, plan)
    return _customer_change(current, desired, project_id, stream, record_id, adopted, plan)


def _display_name(title: str | None, project_id: int, index: CustomerIndex, view: QuickBooksView,
                  current: dict[str, Any] | None, plan: Plan) -> str | None:
    """The title, unless another customer, a vendor or an employee holds it; then "Title (Coperniq #ID)".

    None when a new name is wanted and the vendors' and employees' names are not read yet (``plan.needs``).
    """
    name = clean_display_name(title, project_id)
    if (current is None or own_display_name(current) != name) and not view.other_names_known:
        plan.needs.add(NEEDS_OTHER_NAMES)
        return None
    holder = index.holder_of(name)
    if holder is None or (current is not None and holder.get("Id") == current.get("Id")):
        return name
    return suffixed_display_name(name, project_id)


def _customer_create(desired: dict[str, Any], project_id: int, stream: str, record_id: Any, index: CustomerIndex,
                     view: QuickBooksView, plan: Plan) -> PlannedWrite | None:
    if not view.company_known:
        plan.needs.add(NEEDS_COMPANY)
        return None
    desired.pop("CurrencyRef", None)
    body = customer_to_create({**desired, **({"CurrencyRef": view.currency_ref} if view.currency_ref else {})},
                              project_id)
    index.reserve(body["DisplayName"])  # a second project of the same title in this flush gets the suffix
    return PlannedWrite("Customer", "create", body, stream, record_id, project_id,
                        f"project {project_id} has no QuickBooks customer")


def _customer_change(current: dict[str, Any], desired: dict[str, Any], project_id: int, stream: str,
                     record_id: Any, adopted: bool, plan: Plan) -> PlannedWrite | None:
    # An inactive customer shows "Name (deleted)": its own name is compared, and the suffix never
    # becomes part of a name we send (the update keeps it inactive: sparse, no `Active`).
    compared = {**current, "DisplayName": own_display_name(current)}
    changes = customer_update(compared, update_fields("Customer", desired), project_id)
    if not changes:
        plan.note(stream, record_id, "unchanged")
        return None
    body = {"Id": current["Id"], "SyncToken": current["SyncToken"], "sparse": True, **changes}
    why = f"adopts the customer named {own_display_name(current)!r}" if adopted else \
        "changed in Coperniq: " + ", ".join(sorted(key for key in changes if key != "Notes") or ["the link"])
    return PlannedWrite("Customer", "update", body, stream, record_id, project_id, why)


# -- invoices ------------------------------------------------------------------------------------


def plan_invoices(selection: InvoiceSelection, view: QuickBooksView, settings: InvoiceSettings) -> Plan:
    """The invoice writes of one flush, once their customers are written (``view`` holds them)."""
    plan = Plan()
    for invoice in sorted(selection.invoices, key=lambda i: i["id"]):
        customer = view.customers.by_project.get(invoice["record"]["id"])
        if invoice["id"] in selection.update_only and (customer is None or invoice["id"] not in view.invoices):
            plan.note("invoices", invoice["id"], "filtered")  # its project is in no billing stage, never written
            continue
        problem = _no_invoice_for(customer, invoice["record"]["id"])
        if problem is not None:
            plan.note("invoices", invoice["id"], "skipped", problem)
            continue
        assert customer is not None
        try:
            desired = invoice_fields(invoice, str(customer["Id"]), settings.item_ref, customer.get("BillAddr"),
                                     settings.description_target, ship_addr=customer.get("ShipAddr"),
                                     terms=settings.terms, send_doc_number=settings.send_doc_number)
        except MAPPING_ERRORS as error:
            plan.note("invoices", invoice["id"], "rejected", f"cannot be mapped to QuickBooks: {error}")
            continue
        write = _invoice_write(invoice["id"], desired, view.invoices.get(invoice["id"]), settings, plan)
        if write is not None:
            plan.writes.append(write)
    return plan


def _no_invoice_for(customer: dict[str, Any] | None, project_id: int) -> str | None:
    """Why a project's customer takes no invoice, else None."""
    if customer is None:
        return f"its project {project_id} has no QuickBooks customer (see above)"
    if is_inactive(customer):
        return (f"its customer {own_display_name(customer)!r} (Id {customer['Id']}) is inactive in QuickBooks, "
                "which takes no invoice for it; make the customer active to write it")
    return None


def _invoice_write(invoice_id: int, desired: dict[str, Any], current: dict[str, Any] | None,
                   settings: InvoiceSettings, plan: Plan) -> PlannedWrite | None:
    if current is None:
        body = invoice_to_create(desired, settings.description_target)  # with the sync baseline
        return PlannedWrite("Invoice", "create", body, "invoices", invoice_id, invoice_id,
                            "no QuickBooks invoice links to it")
    # Only what Coperniq changed since the last sync (mapping/ownership.py): edits made in QuickBooks stay.
    changes = invoice_update(current, update_fields("Invoice", desired), settings.description_target)
    if not changes:
        plan.note("invoices", invoice_id, "unchanged")
        return None
    body = {"Id": current["Id"], "SyncToken": current["SyncToken"], "sparse": True, **changes}
    return PlannedWrite("Invoice", "update", body, "invoices", invoice_id, invoice_id,
                        "changed in Coperniq: " + ", ".join(sorted(key for key in changes if key != "PrivateNote")
                                                            or ["the link"]))


# -- faults --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Retry:
    """What a fault leads to: the one write to try again, or nothing left to write (``write`` None)."""

    write: PlannedWrite | None
    caveat: str | None = None  # something the user should know about the retried write


def retry_after_fault(write: PlannedWrite, fault: QuickBooksFault, fresh: dict[str, Any] | None = None) -> Retry | None:
    """The one retry a per-item fault deserves, else None (the record is reported with the fault).

    A stale SyncToken (5010) is retried over ``fresh`` (the object re-read) with only what still differs,
    never overwriting blindly; a taken DisplayName (6240) under the collision-free name; a taken invoice
    number (6140) as ``<uid>-C``, once.
    """
    if fault.has_code(STALE_OBJECT) and write.action == "update" and fresh is not None:
        return _over_fresh(write, fresh)
    if fault.has_code(DUPLICATE_NAME) and write.entity == "Customer" and "DisplayName" in write.body:
        # The name is held by a vendor, an employee or a customer created meanwhile.
        name = suffixed_display_name(title_from_display_name(write.body["DisplayName"], write.coperniq_id),
                                     write.coperniq_id)
        if name != write.body["DisplayName"]:
            return Retry(write.with_body({**write.body, "DisplayName": name}))
    if fault.has_code(DUPLICATE_DOC_NUMBER) and write.entity == "Invoice" and write.action == "create" \
            and write.body.get("DocNumber"):
        number = suffixed_doc_number(write.body["DocNumber"])
        if number != write.body["DocNumber"]:
            return Retry(write.with_body({**write.body, "DocNumber": number}),
                         f"QuickBooks already has an invoice numbered {write.body['DocNumber']}; "
                         f"this one is sent as {number}")
    return None


def _over_fresh(write: PlannedWrite, fresh: dict[str, Any]) -> Retry:
    """An update recomputed over the object as someone else left it."""
    wanted = {k: v for k, v in write.body.items() if k not in ("Id", "SyncToken", "sparse")}
    if write.entity == "Customer":
        changed = customer_changes({**fresh, "DisplayName": own_display_name(fresh)}, wanted)
        if changed and "Notes" in wanted:  # the written baseline, over the bookkeeper's fresh Notes
            notes = customer_notes_rebased(fresh.get("Notes"), wanted["Notes"], write.coperniq_id)
            changed.pop("Notes", None)
            if notes != fresh.get("Notes"):
                changed["Notes"] = notes
    else:
        changed = invoice_changes(fresh, wanted)
    if not changed:
        return Retry(None)
    return Retry(write.with_body({"Id": fresh["Id"], "SyncToken": fresh["SyncToken"], "sparse": True, **changed}))

