"""QuickBooks Online -> Coperniq (flows qbo:out:1 and qbo:out:2), as pure functions.

Every ``*_changes`` function compares in the space of the system that last wrote the value, so what
the connector itself wrote on the way in never comes back as an edit (echo suppression): a project
address is unchanged when it parses to the customer's BillAddr, a title when it cleans to the
DisplayName, a contact name when it splits to GivenName/FamilyName.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from mapping.addresses import format_address, parse_us_address, same_address
from mapping.coperniq_to_qbo import cents, date_part, money
from mapping.job_site import job_site_key
from mapping.links import (
    DISPLAY_NAME_MAX,
    description_with_qbo_link,
    display_name_matches,
    own_display_name,
    qbo_invoice_id_from_description,
    strip_links,
    title_from_display_name,
)
from mapping.people import contact_name, qbo_phone, same_contact_name, same_email, same_phone
from mapping.terms import qbo_invoice_terms, with_terms_line
from mapping.values import UnmappableRecord, money_amount, optional_date, optional_object, optional_text

INVOICE_STATUSES = ("DRAFT", "SENT", "DECLINED", "PAID", "PARTIALLY_PAID", "OVERDUE")
# How far payments went: QuickBooks' news moves a status up this ranking; every other status ranks 0.
PAYMENT_RANK = {"PARTIALLY_PAID": 1, "PAID": 2}
# InvoiceCreate fields an update never sends: the issue date stays as created, the lines keep their method.
CREATE_ONLY_INVOICE_FIELDS = ("issueDate", "calculationMethod")


def _clean(value: Any) -> str | None:
    """Whitespace-collapsed text, None when empty."""
    if value is None:
        return None
    return " ".join(str(value).split()) or None


def _project_address(project: dict) -> str | None:
    address = project.get("address")
    if isinstance(address, str):
        return _clean(address)
    parts = [part.strip() for part in address or [] if isinstance(part, str) and part.strip()]
    return ", ".join(parts) or None


def project_changes(customer: dict, project: dict, project_id: int) -> dict:
    """A Coperniq project PATCH body with only the fields QuickBooks changed: ``title``, ``address``.

    An empty DisplayName or BillAddr never blanks the project.
    """
    changes: dict[str, Any] = {}
    raw_name = optional_text(customer.get("DisplayName"), "DisplayName")
    display_name = _clean(raw_name)
    if raw_name and display_name and len(display_name) > DISPLAY_NAME_MAX:
        # QuickBooks itself holds at most 500: copying more into the project title would be copying garbage.
        raise UnmappableRecord(f"`DisplayName` is {len(raw_name):,} characters, more than the "
                               f"{DISPLAY_NAME_MAX} QuickBooks allows: too long to be a customer's name")
    if display_name and not display_name_matches(display_name, project.get("title"), project_id):
        title = title_from_display_name(display_name, project_id)
        if title and title != project.get("title"):
            changes["title"] = title
    # The project's address is the job site: the customer's ShipAddr, else its BillAddr (mapping/job_site.py).
    site = job_site_key(customer)
    bill_addr = optional_object(customer.get(site), site)
    text = format_address(dict(bill_addr) if bill_addr else None)
    if text:
        current = _project_address(project)
        unchanged = current is not None and (current == text or same_address(parse_us_address(current), bill_addr))
        if not unchanged:
            changes["address"] = [text]
    return changes


def project_status_change(current: str | None, *, filter_matched: bool, inactive: bool,
                          matched_status: str | None, inactive_status: str | None) -> str | None:
    """The project ``status`` a customer's update sends, or None.

    ``matched_status`` marks the project of a customer that passes a configured filter (an on-hold reason,
    say); ``inactive_status`` the project of a customer made inactive, and wins over it. A project already
    in that status gets nothing.
    """
    if inactive and inactive_status:
        return inactive_status if current != inactive_status else None
    if filter_matched and matched_status and current != matched_status:
        return matched_status
    return None


def project_for_unlinked_customer(customer: dict) -> dict | None:
    """A Coperniq ProjectCreate body for a customer linked to no project (``unlinked_customers: upsert``).

    The title is the customer's own name (``QuickBooks customer <Id>`` without one), the address its job
    site, and its primary email and phone go along for Coperniq's ``match_by``. None without an address:
    Coperniq requires one.
    """
    address = format_address(customer.get(job_site_key(customer)))
    if not address:
        return None
    body: dict[str, Any] = {"title": title_from_display_name(own_display_name(customer), 0) or
                            f"QuickBooks customer {customer['Id']}", "address": [address]}
    email = (customer.get("PrimaryEmailAddr") or {}).get("Address")
    phone = (customer.get("PrimaryPhone") or {}).get("FreeFormNumber")
    if email:
        body["primaryEmail"] = email
    if phone:
        body["primaryPhone"] = phone
    return body


def _name_parts(customer: dict) -> tuple[str | None, str | None]:
    return (_clean(optional_text(customer.get("GivenName"), "GivenName")),
            _clean(optional_text(customer.get("FamilyName"), "FamilyName")))


def _phone_matches(existing: str, qbo_value: str) -> bool:
    # QuickBooks keeps 30 characters of a phone: a contact's long note-like phone matches its truncation.
    return same_phone(existing, qbo_value) or qbo_phone(existing) == qbo_value


def names_nobody(customer: dict) -> bool:
    """A customer with no GivenName, FamilyName or CompanyName: there is no name for a new contact.

    A contact made for it would be named after the DisplayName (usually the project's title, as Coperniq
    names the contact it makes for a project's primary email or phone), and qbo:in:1 would read that back
    as a person's given and family names. So such a customer's email and phone make no new contact.
    """
    return not any(_clean(customer.get(key)) for key in ("GivenName", "FamilyName", "CompanyName"))


def contact_changes(customer: dict, contact: dict | None) -> dict:
    """A Coperniq contact body from a QuickBooks customer: ``name``, ``emails``, ``phones``.

    For an existing contact only what differs, and lists are never shortened: a QuickBooks email or
    phone the contact lacks is put first, the others stay. For a new contact (``contact`` None) the
    full body; ``name`` is required there and falls back to the DisplayName.
    """
    given, family = _name_parts(customer)
    company = _clean(optional_text(customer.get("CompanyName"), "CompanyName"))  # issue 11: business contacts
    name = contact_name(given, family, company, contact.get("name") if contact else None)
    email = _clean((optional_object(customer.get("PrimaryEmailAddr"), "PrimaryEmailAddr") or {}).get("Address"))
    phone = _clean((optional_object(customer.get("PrimaryPhone"), "PrimaryPhone") or {}).get("FreeFormNumber"))
    if contact is None:
        fallback = _clean(customer.get("DisplayName")) or f"QuickBooks customer {customer.get('Id')}"
        body: dict[str, Any] = {"name": name or fallback}
        if email:
            body["emails"] = [email]
        if phone:
            body["phones"] = [phone]
        return body
    changes: dict[str, Any] = {}
    if name and name != _clean(contact.get("name")) and not same_contact_name(contact.get("name"), given, family,
                                                                            company):
        changes["name"] = name
    emails = [item for item in contact.get("emails") or [] if isinstance(item, str)]
    if email and not any(same_email(item, email) for item in emails):
        changes["emails"] = [email, *emails]
    phones = [item for item in contact.get("phones") or [] if isinstance(item, str)]
    if phone and not any(_phone_matches(item, phone) for item in phones):
        changes["phones"] = [phone, *phones]
    return changes


def payment_rank(status: str | None) -> int:
    """How far payments went by this status: 2 paid, 1 partly paid, 0 none known."""
    return PAYMENT_RANK.get(status or "", 0)


def invoice_status(total: float, balance: float, current: str | None) -> str:
    """Coperniq InvoiceStatus from QuickBooks TotalAmt and Balance.

    PAID when nothing is left to pay on a positive total, PARTIALLY_PAID when part is paid; otherwise
    the current status is kept (SENT by default), except that a PAID or PARTIALLY_PAID invoice whose
    payments were removed in QuickBooks (balance back to the total) goes back to SENT.
    """
    total_cents, balance_cents = cents(total), cents(balance)
    if total_cents > 0 and balance_cents == 0:
        return "PAID"
    if 0 < balance_cents < total_cents:
        return "PARTIALLY_PAID"
    if payment_rank(current) and total_cents > 0 and balance_cents == total_cents:
        return "SENT"
    return current if current in INVOICE_STATUSES else "SENT"


def payment_status_forward(invoice: dict, current: str | None) -> str | None:
    """The status a Coperniq-born invoice takes from QuickBooks' payments, or None.

    Coperniq owns such an invoice; QuickBooks only adds news of payments. Payments Coperniq recorded
    itself are unknown to QuickBooks, so an unpaid balance there never downgrades Coperniq's status: only
    a payment that moves the status up ``PAYMENT_RANK`` is sent.
    """
    total = money_amount(invoice.get("TotalAmt"), "TotalAmt")
    balance = money_amount(invoice.get("Balance", total), "Balance")
    status = invoice_status(total, balance, current)
    return status if payment_rank(status) > payment_rank(current) else None


def shows_payment(invoice: dict) -> bool:
    """Whether QuickBooks records a payment on the invoice (its balance is below its total)."""
    total = money_amount(invoice.get("TotalAmt"), "TotalAmt")
    return money_amount(invoice.get("Balance", total), "Balance") < total


def _midnight_utc(value: Any, name: str) -> str | None:
    day = optional_date(value, name)
    return f"{day.isoformat()}T00:00:00.000Z" if day else None


def coperniq_invoice_fields(invoice: dict, catalog_item_id: int) -> dict:
    """Coperniq InvoiceCreate fields for a QuickBooks invoice (the caller adds ``recordId``).

    One line for the whole TotalAmt on the configured catalog item, so the Coperniq amount equals the
    QuickBooks total to the cent whatever QuickBooks' lines, discounts and taxes were. ``unitCost`` is
    required by Coperniq and unknown to QuickBooks' invoice: 0. ``issueDate`` (from TxnDate) is required
    by Coperniq for a SENT/PAID invoice; an update never sends it (``CREATE_ONLY_INVOICE_FIELDS``).
    """
    total = money_amount(invoice.get("TotalAmt"), "TotalAmt")
    balance = money_amount(invoice.get("Balance", total), "Balance")
    number = invoice.get("DocNumber") or invoice.get("Id")
    memo = strip_links(optional_text((optional_object(invoice.get("CustomerMemo"), "CustomerMemo") or {}).get("value"),
                                     "CustomerMemo"))
    fields: dict[str, Any] = {
        "calculationMethod": "LINE_ITEMS",
        "lineItems": [
            {
                "catalogItemId": catalog_item_id,
                "quantity": 1,
                "unitCost": 0.0,
                "unitPrice": money(total),
                "description": f"QuickBooks invoice {number}",
            }
        ],
        "status": invoice_status(total, balance, None),
    }
    # The seed's "Invoice terms <-> description": the memo, then ``Terms: Net 30``, then the link line.
    terms = qbo_invoice_terms(invoice, optional_date(invoice.get("TxnDate"), "TxnDate"),
                              optional_date(invoice.get("DueDate"), "DueDate"))
    fields["description"] = description_with_qbo_link(with_terms_line(memo, terms), invoice.get("Id"))
    due = _midnight_utc(invoice.get("DueDate"), "DueDate")
    if due:
        fields["dueDate"] = due
    issued = _midnight_utc(invoice.get("TxnDate"), "TxnDate")
    if issued:
        fields["issueDate"] = issued
    return fields


def _lines_total(line_items: list[dict] | None) -> Decimal:
    total = Decimal("0.00")
    for item in line_items or []:
        quantity = Decimal(str(item.get("quantity") if item.get("quantity") is not None else 1))
        total += cents(quantity * Decimal(str(item.get("unitPrice") or 0)))
    return total


def _description_key(text: str | None) -> tuple[str, str | None]:
    return " ".join((strip_links(text) or "").split()), qbo_invoice_id_from_description(text)


def coperniq_invoice_changes(current: dict, desired: dict) -> dict:
    """A Coperniq InvoiceUpdate body with only what differs from the current Coperniq invoice.

    ``amount`` to the cent (the lines are resent when it differs, reusing the current line id of the
    same catalog item), ``description`` ignoring whitespace around the marker, ``dueDate`` by date,
    ``status`` only where QuickBooks knows better: a payment made (PAID / PARTIALLY_PAID) or undone.
    Never ``CREATE_ONLY_INVOICE_FIELDS``.
    """
    desired = {key: value for key, value in desired.items() if key not in CREATE_ONLY_INVOICE_FIELDS}
    changes: dict[str, Any] = {}
    if "lineItems" in desired and cents(current.get("amount")) != _lines_total(desired["lineItems"]):
        ids = {item.get("catalogItemId"): item.get("id") for item in current.get("lineItems") or []}
        changes["lineItems"] = [
            {**item, "id": ids[item.get("catalogItemId")]} if ids.get(item.get("catalogItemId")) else dict(item)
            for item in desired["lineItems"]
        ]
    if "description" in desired and _description_key(current.get("description")) != _description_key(
        desired["description"]
    ):
        changes["description"] = desired["description"]
    if desired.get("dueDate") and date_part(current.get("dueDate")) != date_part(desired["dueDate"]):
        changes["dueDate"] = desired["dueDate"]
    status = desired.get("status")
    current_status = current.get("status")
    if status and status != current_status:
        payment_news = payment_rank(status) > 0
        payment_undone = status == "SENT" and payment_rank(current_status) > 0
        if payment_news or payment_undone:
            changes["status"] = status
    return changes


def record_problem(stream: str, record: dict) -> str | None:
    """Why a QuickBooks record cannot be mapped to Coperniq, or None: the same functions, run on it alone."""
    try:
        if stream == "customers":
            project_changes(record, {"title": None, "address": None}, 0)
            contact_changes(record, None)
        elif stream == "invoices":
            coperniq_invoice_fields(record, 0)
    except UnmappableRecord as error:
        return str(error)
    except (TypeError, AttributeError, ArithmeticError, ValueError) as error:  # a shape no rule foresaw
        return f"a value of an unexpected shape ({type(error).__name__}: {error})"
    return None
