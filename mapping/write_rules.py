"""Which Coperniq records become which QuickBooks writes (qbo:in:1, qbo:in:2), Online and Desktop alike.

The field mappings (``coperniq_to_qbo``) say what a customer or an invoice looks like; these rules say
which contact fills a customer, when a customer the bookkeeper made is adopted instead of duplicated,
which invoices a billing stage lets through, and which fields a write sends only on creation. Pure
functions: both QuickBooks destinations' planners call them.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping
from typing import Any

from mapping.coperniq_to_qbo import contact_reached_at, primary_contact, primary_contact_at
from mapping.links import is_inactive, project_id_from_notes, qbo_invoice_id_from_description
from mapping.people import split_name

# Fields QuickBooks takes only on creation, or that an issued object keeps: an update never sends them.
# A customer's currency is fixed at creation; an invoice's bill-to and ship-to addresses are the
# customer's at the time of invoicing (an issued invoice keeps them when the customer moves, and a
# re-sync from scratch must not rewrite history).
CREATE_ONLY_FIELDS = {"Customer": ("CurrencyRef",), "Invoice": ("BillAddr", "ShipAddr")}


def update_fields(entity: str, desired: Mapping[str, Any]) -> dict[str, Any]:
    """The desired fields an update of ``entity`` may send: all but the create-only ones."""
    dropped = CREATE_ONLY_FIELDS.get(entity, ())
    return {key: value for key, value in desired.items() if key not in dropped}


def _named_contact(contacts: list[dict], given: str | None, family: str | None) -> dict | None:
    """The lowest-id contact whose name splits to these given and family names."""
    return next((c for c in sorted(contacts, key=lambda c: c["id"]) if split_name(c.get("name")) == (given, family)),
                None)


def customer_contact(project: dict | None, contacts: list[dict], customer: Mapping[str, Any] | None,
                     primary_email: str | None = None, primary_phone: str | None = None) -> dict | None:
    """The contact that fills (or updates) a project's customer, else None.

    With the project record at hand: its primary contact (``primary_contact``). Without it, a project
    has still one primary contact and the others must never overwrite the customer: when the run saw
    the project (``primary_email``/``primary_phone``), they decide; otherwise only the person the
    customer already names (same email or phone, else the same name) may update it; any contact (the
    lowest id) may fill a customer that names no one. ``customer`` is in QuickBooks Online's shape.
    """
    if project is not None:
        return primary_contact(project, contacts)
    if not contacts:
        return None
    if primary_email or primary_phone:
        return primary_contact_at(contacts, primary_email, primary_phone)
    customer = customer or {}
    email = (customer.get("PrimaryEmailAddr") or {}).get("Address")
    phone = (customer.get("PrimaryPhone") or {}).get("FreeFormNumber")
    named = (customer.get("GivenName"), customer.get("FamilyName"))
    found = contact_reached_at(contacts, email, phone)
    if found is None and any(named):  # a customer that names its person by name alone (no email, no phone)
        found = _named_contact(contacts, *named)
    if found is not None or any((email, phone, *named)):
        return found
    return min(contacts, key=lambda c: c["id"])


def adoptable(customer: Mapping[str, Any] | None, adopted: Collection[str] = ()) -> bool:
    """Whether a customer holding a project's name may be linked to it instead of creating a duplicate.

    A customer the bookkeeper made before the sync existed, under the same name: active, linked to no
    project, and not already adopted by another project of the same title in this run.
    """
    return (customer is not None and bool(customer.get("Id")) and customer["Id"] not in adopted
            and project_id_from_notes(customer.get("Notes")) is None and not is_inactive(dict(customer)))


def stage_names(configured: Iterable[Any] | None) -> frozenset[str]:
    """The ``invoice_stages`` setting as casefolded names (blank entries dropped)."""
    return frozenset(str(s).strip().casefold() for s in configured or [] if str(s).strip())


def invoice_project_stage(invoice: Mapping[str, Any], project_seen: bool,
                          stage_in_run: str | None) -> tuple[bool, str | None]:
    """(known, stage name) of an invoice's project: the project record of this run wins, else the
    ``_project_stage`` source-coperniq puts on every invoice (a name, or the whole stage object)."""
    if project_seen:
        return True, stage_in_run
    if "_project_stage" in invoice:
        stage = invoice.get("_project_stage")
        if isinstance(stage, Mapping):
            stage = stage.get("name")
        return True, str(stage) if stage else None
    return False, None


def may_create_invoice(stages: frozenset[str], known: bool, stage: str | None) -> bool:
    """qbo:in:2's filter: with billing stages set, an invoice is created only while its project is in one.

    An invoice whose project is in none of them (it left the stage, never reached it, or its stage is
    unknown) may still update the invoice QuickBooks already has (it was billed), never create one.
    """
    return not stages or (known and stage is not None and stage.casefold() in stages)


def born_in_quickbooks(invoice: Mapping[str, Any]) -> bool:
    """A Coperniq invoice that qbo:out:2 copied from QuickBooks: QuickBooks owns it, writing it back would echo."""
    return bool(qbo_invoice_id_from_description(invoice.get("description")))
