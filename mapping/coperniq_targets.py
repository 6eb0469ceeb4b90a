"""Which Coperniq record a QuickBooks record is written to (flows qbo:out:1 and qbo:out:2), as pure rules.

A customer is taken by qbo:out:1 when it passes the configured filter, and lands on the project its
link names (``linked_project``). The project's contact is the one holding the project's primary email,
else its primary phone, else the customer's name (``contact_probes``). An unlinked customer is matched
to a project by Coperniq's ``match_by`` only where ``same_match_value`` says the values are equal. A
QuickBooks invoice lands on the project of its customer and is found again as the Coperniq invoice
whose description carries its id (``qbo_invoice_copy``); a title names a project only when exactly one
project has it (``projects_titled``).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any, Literal

from mapping.links import (
    display_name_matches,
    project_id_from_display_name,
    project_id_from_notes,
    qbo_invoice_id_from_description,
)
from mapping.people import join_name, same_email, same_phone, split_name

# match_by -> the /projects list filter that finds candidates (Coperniq matches on the primary contact's values)
MATCH_FILTERS = {"title": "title", "primaryEmail": "primary_email", "primaryPhone": "primary_phone",
                 "address": "address"}


def field_value(record: Mapping[str, Any], path: str) -> Any:
    """The value at a dotted path (``PrimaryEmailAddr.Address``), None where the path does not lead."""
    value: Any = record
    for part in path.split("."):
        value = value.get(part) if isinstance(value, Mapping) else None
    return value


@dataclass(frozen=True)
class CustomerFilter:
    """qbo:out:1's filter: a QuickBooks field and the value it must equal (or contain); no field takes all."""

    field: str = ""
    value: str = ""
    contains: bool = False

    @classmethod
    def from_config(cls, config: Mapping[str, Any]) -> CustomerFilter:
        return cls(field=str(config.get("customer_filter_field") or "").strip(),
                   value=str(config.get("customer_filter_value") or "").strip().casefold(),
                   contains=config.get("customer_filter_match") == "contains")

    def admits(self, customer: Mapping[str, Any]) -> bool:
        if not self.field:
            return True
        value = field_value(customer, self.field)
        text = str(value).casefold() if value is not None else ""
        return self.value in text if self.contains else text == self.value


def is_deleted(record: Mapping[str, Any]) -> bool:
    """A QuickBooks record deleted (or voided) there: its Coperniq side is left to people."""
    return record.get("status") == "Deleted" or bool(record.get("_ab_cdc_deleted_at"))


def linked_project(customer: Mapping[str, Any]) -> int | None:
    """The Coperniq project a QuickBooks customer stands for: its Notes marker, else its DisplayName suffix."""
    return project_id_from_notes(customer.get("Notes")) or project_id_from_display_name(customer.get("DisplayName"))


def has_person(customer: Mapping[str, Any]) -> bool:
    """Whether a customer names a person to keep as the project's contact."""
    return any((customer.get("GivenName"), customer.get("FamilyName"),
                (customer.get("PrimaryEmailAddr") or {}).get("Address"),
                (customer.get("PrimaryPhone") or {}).get("FreeFormNumber")))


@dataclass(frozen=True)
class ContactProbe:
    """One way to recognise a project's contact: by the project's primary email or phone, or by a name."""

    kind: Literal["email", "phone", "name"]
    value: str

    def matches(self, contact: Mapping[str, Any]) -> bool:
        if self.kind == "email":
            return any(same_email(email, self.value) for email in contact.get("emails") or [])
        if self.kind == "phone":
            return any(same_phone(phone, self.value) for phone in contact.get("phones") or [])
        return split_name(contact.get("name")) == split_name(self.value)


def contact_probes(project: Mapping[str, Any], customer: Mapping[str, Any]) -> list[ContactProbe]:
    """How the project's contact is recognised, in order: the project's primary email, its primary phone,
    then the customer's name (Coperniq lists a project's contacts only through a search)."""
    email, phone = project.get("primaryEmail"), project.get("primaryPhone")
    name = join_name(customer.get("GivenName"), customer.get("FamilyName"))
    return ([ContactProbe("email", str(email))] if email else []) + \
        ([ContactProbe("phone", str(phone))] if phone else []) + ([ContactProbe("name", name)] if name else [])


def contact_searches(project: Mapping[str, Any], customer: Mapping[str, Any]) -> list[tuple[str, ContactProbe]]:
    """The texts to search Coperniq's contacts for, in order, each with the probe a found contact must pass.

    The name is searched once more by its last part alone: Coperniq's search matches text as stored, and a
    stored " Emily  Thompson " is not found by "Emily Thompson".
    """
    probes = contact_probes(project, customer)
    searches = [(probe.value, probe) for probe in probes]
    name = join_name(customer.get("GivenName"), customer.get("FamilyName"))
    family = customer.get("FamilyName")
    if name and family and str(family).strip() != name:
        searches.append((str(family).strip(), ContactProbe("name", name)))
    return searches


def first_matching_contact(contacts: Iterable[Mapping[str, Any]],
                           probes: Iterable[ContactProbe]) -> Mapping[str, Any] | None:
    """The first contact the first probe that finds any recognises (an email beats a phone beats a name)."""
    listed = list(contacts)
    for probe in probes:
        found = next((contact for contact in listed if probe.matches(contact)), None)
        if found is not None:
            return found
    return None


def same_match_value(match_by: str, a: Any, b: Any) -> bool:
    """Whether two values are equal the way Coperniq's match_by compares them."""
    if match_by == "address":
        a, b = (v[0] if isinstance(v, list) and v else v for v in (a, b))
        return bool(a and b) and re.sub(r"[^0-9a-z]", "", str(a).casefold()) == re.sub(r"[^0-9a-z]", "",
                                                                                       str(b).casefold())
    if match_by == "primaryEmail":
        return bool(a and b) and same_email(str(a), str(b))
    if match_by == "primaryPhone":
        return bool(a and b) and same_phone(str(a), str(b))
    return " ".join(str(a or "").casefold().split()) == " ".join(str(b or "").casefold().split()) != ""


def projects_matching(match_by: str, value: Any, candidates: Iterable[Mapping[str, Any]]) -> list[int]:
    """The ids of the candidate projects whose ``match_by`` field equals ``value`` as Coperniq compares it."""
    return sorted(p["id"] for p in candidates if isinstance(p.get("id"), int)
                  and same_match_value(match_by, p.get(match_by), value))


def projects_titled(display_name: str, candidates: Iterable[Mapping[str, Any]]) -> list[int]:
    """The ids of the candidate projects whose title becomes this DisplayName in QuickBooks."""
    return sorted(p["id"] for p in candidates if display_name_matches(display_name, p.get("title"), p["id"]))


def qbo_invoice_copy(invoices: Iterable[Mapping[str, Any]], qbo_invoice_id: Any) -> Mapping[str, Any] | None:
    """The Coperniq invoice made from this QuickBooks invoice (its description carries the marker)."""
    return next((i for i in invoices if qbo_invoice_id_from_description(i.get("description")) == str(qbo_invoice_id)),
                None)
