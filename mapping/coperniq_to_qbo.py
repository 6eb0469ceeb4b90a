"""Coperniq -> QuickBooks Online (flows qbo:in:1 and qbo:in:2), as pure functions.

Outputs use QuickBooks' own field names and shapes; callers add ``Id``/``SyncToken``/``sparse``.
A key is left out when Coperniq has no value for it, so a sparse update never blanks a field a
bookkeeper filled in QuickBooks.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, datetime
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Any

from mapping.addresses import ADDRESS_KEYS, parse_us_address, same_address
from mapping.invoice_numbers import doc_number, doc_number_matches
from mapping.job_site import billing_follows_job_site
from mapping.links import (
    DISPLAY_NAME_MAX,
    PRIVATE_NOTE_MAX,
    clean_display_name,
    customer_notes_with_link,
    display_name_matches,
    invoice_id_from_note,
    invoice_note_with_link,
    project_id_from_display_name,
    project_id_from_notes,
    strip_links,
)
from mapping.people import business_title, first_email, qbo_phone, same_email, same_phone, split_contact_name
from mapping.terms import Term, sales_term_ref, term_for_dates
from mapping.values import (
    UnmappableRecord,
    decimal_number,
    money_amount,
    optional_date,
    optional_object,
    optional_text,
    text_list,
)

CUSTOMER_MEMO_MAX = 1000  # Invoice.CustomerMemo
LINE_DESCRIPTION_MAX = 4000  # SalesItemLine.Description
DOC_NUMBER_MAX = 21
ADJUSTMENT_DESCRIPTION = "Adjustment to Coperniq total"
DESCRIPTION_TARGETS = ("CustomerMemo", "PrivateNote")

CENT = Decimal("0.01")


def cents(value: Any) -> Decimal:
    """A money value as Decimal rounded half-up to the cent; floats go through ``repr`` (0.1+0.2 -> 0.30)."""
    if value is None or value == "":
        return Decimal("0.00")
    try:
        return Decimal(str(value)).quantize(CENT, rounding=ROUND_HALF_UP)
    except InvalidOperation as error:
        raise ValueError(f"not a money amount: {value!r}") from error


def money(value: Decimal) -> float:
    """Decimal cents -> a JSON number with at most 2 decimals."""
    return float(value.quantize(CENT, rounding=ROUND_HALF_UP))


def date_part(value: Any) -> date | None:
    """The calendar date of an ISO date or datetime as written (no time-zone shift), else None."""
    if not value:
        return None
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    try:
        return date.fromisoformat(str(value).strip()[:10])
    except ValueError:
        return None


def _number(value: Decimal) -> int | float:
    return int(value) if value == value.to_integral_value() else float(value)


def _address_text(project: dict) -> str | None:
    """Coperniq's address: a one-element array of one string (tolerates a bare string or several parts)."""
    parts = [part.strip() for part in text_list(project.get("address"), "address") if part.strip()]
    return ", ".join(parts) or None


def _first_phone(phones: Any, name: str) -> str | None:
    for raw in text_list(phones, name):
        if raw.strip():
            return qbo_phone(raw)
    return None


def customer_fields(project: dict | None, contact: dict | None, currency: str = "USD") -> dict:
    """The QuickBooks Customer fields this connector owns, from a project and its primary contact.

    ``Notes`` carries the link marker (``Coperniq project #<id>``); ``customer_changes`` keeps the
    bookkeeper's own notes around it. ``CurrencyRef`` is always present: QuickBooks accepts it only on
    create, so the caller drops it on update.
    """
    fields: dict[str, Any] = {}
    project = project or {}
    contact = contact or {}
    if project:
        fields["DisplayName"] = clean_display_name(optional_text(project.get("title"), "title"), project.get("id"))
        bill_addr = parse_us_address(_address_text(project))
        if bill_addr:
            fields["BillAddr"] = bill_addr
            # The project's address is the job site: QuickBooks' automated sales tax uses the ship-to address.
            fields["ShipAddr"] = dict(bill_addr)
        if project.get("id") is not None:
            fields["Notes"] = customer_notes_with_link(None, project["id"])
    # CompanyName (issue 11): a business contact's name, else a project titled like an organisation.
    company, given, family = split_contact_name(optional_text(contact.get("name"), "name"))
    if company is None and project:
        company = business_title(optional_text(project.get("title"), "title"))
    if company:
        fields["CompanyName"] = company
    if given:
        fields["GivenName"] = given
    if family:
        fields["FamilyName"] = family
    email = first_email(text_list(contact.get("emails"), "emails")) or first_email(
        text_list(project.get("primaryEmail"), "primaryEmail"))
    if email:
        fields["PrimaryEmailAddr"] = {"Address": email}
    phone = _first_phone(contact.get("phones"), "phones") or _first_phone(project.get("primaryPhone"), "primaryPhone")
    if phone:
        fields["PrimaryPhone"] = {"FreeFormNumber": phone}
    fields["CurrencyRef"] = {"value": currency}
    return fields


def _linked_project_ids(contact: dict) -> set:
    return {item.get("id") for item in contact.get("projects") or [] if isinstance(item, dict)}


def _by_id(contacts: list[dict]) -> list[dict]:
    return sorted(contacts, key=lambda contact: (contact.get("id") is None, contact.get("id") or 0))


def contact_reached_at(contacts: list[dict], email: str | None, phone: str | None) -> dict | None:
    """The contact (lowest id first) having this email, else the one having this phone; None if none has."""
    ordered = _by_id(contacts or [])
    if email and email.strip():
        for contact in ordered:
            if any(same_email(item, email) for item in contact.get("emails") or []):
                return contact
    if phone and phone.strip():
        for contact in ordered:
            if any(same_phone(item, phone) for item in contact.get("phones") or []):
                return contact
    return None


def primary_contact_at(contacts: list[dict], email: str | None, phone: str | None) -> dict | None:
    """The contact the project's primary email names, else (no primary email) its primary phone; else None.

    Strict on purpose: a project with a primary email is never spoken for by a contact that only shares
    its phone (a spouse, an office line), so the answer does not depend on which contacts have arrived.
    """
    if email and email.strip():
        return contact_reached_at(contacts, email, None)
    if phone and phone.strip():
        return contact_reached_at(contacts, None, phone)
    return None


def primary_contact(project: dict | None, contacts: list[dict]) -> dict | None:
    """The project's primary contact among ``contacts``.

    The contact whose email is the project's ``primaryEmail`` (else, with no primary email, whose phone
    is its ``primaryPhone``); None when the project holds a primary that none of these contacts has
    (its primary contact is not among them: another contact must not stand in for it). Only a project
    holding neither falls back to its lowest-id contact.
    """
    if not project:
        return None
    linked = [contact for contact in contacts or [] if project.get("id") in _linked_project_ids(contact)]
    if not linked:
        return None
    email, phone = project.get("primaryEmail"), project.get("primaryPhone")
    if (email and str(email).strip()) or (phone and str(phone).strip()):
        return primary_contact_at(linked, email, phone)
    return _by_id(linked)[0]


def _sales_line(
    amount: Decimal,
    description: str | None,
    item_ref: dict,
    qty: Decimal | None = None,
    unit_price: Decimal | None = None,
) -> dict:
    detail: dict[str, Any] = {"ItemRef": item_ref}
    # QuickBooks checks Amount == Qty x UnitPrice (fault 6070): send them only when that holds to the cent.
    if qty is not None and unit_price is not None and qty * unit_price == amount:
        detail["Qty"] = _number(qty)
        detail["UnitPrice"] = float(unit_price)
    line: dict[str, Any] = {"DetailType": "SalesItemLineDetail", "Amount": money(amount)}
    if description:
        line["Description"] = description[:LINE_DESCRIPTION_MAX]
    line["SalesItemLineDetail"] = detail
    return line


def _line_description(item: dict) -> str | None:
    text = strip_links(item.get("description"))
    if text:
        return text
    catalog_item = item.get("catalogItem") or {}
    return (catalog_item.get("name") or "").strip() or None


def invoice_lines(invoice: dict, item_ref: dict) -> list[dict]:
    """QuickBooks sales lines whose Amounts sum exactly to the Coperniq invoice ``amount``."""
    total = money_amount(invoice.get("amount"), "amount")
    lines = []
    running = Decimal("0.00")
    items = invoice.get("lineItems") or []
    if not isinstance(items, list):
        raise UnmappableRecord("`lineItems` must be a list")
    for item in items:
        item = optional_object(item, "lineItems[]") or {}
        quantity, unit_price = item.get("quantity"), item.get("unitPrice")
        qty = decimal_number(1 if quantity is None else quantity, "lineItems[].quantity")
        unit_price = decimal_number(0 if unit_price is None else unit_price, "lineItems[].unitPrice")
        amount = (qty * unit_price).quantize(CENT, rounding=ROUND_HALF_UP)
        running += amount
        lines.append(_sales_line(amount, _line_description(item), item_ref, qty, unit_price))
    if not lines:
        description = strip_links(invoice.get("description")) or f"Coperniq invoice {invoice.get('uid')}"
        return [_sales_line(total, description, item_ref)]
    if running != total:  # PERCENTAGE invoices, rounding, discounts applied to the total
        lines.append(_sales_line(total - running, ADJUSTMENT_DESCRIPTION, item_ref))
    return lines


def invoice_fields(
    invoice: dict,
    customer_id: str,
    item_ref: dict,
    bill_addr: dict | None,
    description_target: str = "CustomerMemo",
    *,
    ship_addr: dict | None = None,
    terms: Iterable[Term] = (),
    send_doc_number: bool = True,
) -> dict:
    """The QuickBooks Invoice for a Coperniq invoice.

    ``description_target`` decides where the Coperniq description goes (the seed's "terms/memo"):
    ``CustomerMemo`` (printed on the invoice, default) or ``PrivateNote`` (internal memo, before
    the link marker). ``PrivateNote`` always ends with ``Coperniq invoice #<id>``.
    ``issueDate`` (else ``createdAt``) becomes ``TxnDate``; a due date that follows it by one of the company's ``terms``
    adds that ``SalesTermRef`` (mapping/terms.py). ``send_doc_number`` False (the company numbers its
    invoices itself) leaves ``DocNumber`` out. ``ship_addr``: the job site (the customer's ShipAddr).
    """
    if description_target not in DESCRIPTION_TARGETS:
        raise ValueError(f"description_target must be one of {DESCRIPTION_TARGETS}, not {description_target!r}")
    fields: dict[str, Any] = {"CustomerRef": {"value": str(customer_id)}}
    number = doc_number(invoice.get("uid"))
    if number and send_doc_number:
        fields["DocNumber"] = number
    # Coperniq's Invoice as read has no issueDate (only InvoiceCreate takes one): its creation date stands for it.
    issued = optional_date(invoice.get("issueDate") or invoice.get("createdAt"), "issueDate")
    if issued:
        fields["TxnDate"] = issued.isoformat()
    due = optional_date(invoice.get("dueDate"), "dueDate")
    if due:
        fields["DueDate"] = due.isoformat()
    term = term_for_dates(terms, issued, due)
    if term is not None:
        fields["SalesTermRef"] = sales_term_ref(term)
    for key, source in (("BillAddr", bill_addr), ("ShipAddr", ship_addr)):
        address = _address_only(source)
        if address:
            fields[key] = address
    fields.update(_description_fields(invoice, description_target))
    fields["Line"] = invoice_lines(invoice, item_ref)
    return fields


def _address_only(address: dict | None) -> dict:
    """Only the address itself: a customer's BillAddr also carries its own Id, Lat and Long."""
    return {part: address[part] for part in ADDRESS_KEYS if address and address.get(part)}


def _description_fields(invoice: dict, description_target: str) -> dict:
    """``CustomerMemo`` (the description) and ``PrivateNote`` (the link), or the description in ``PrivateNote``."""
    description = strip_links(optional_text(invoice.get("description"), "description"))
    if description_target != "CustomerMemo":
        return {"PrivateNote": invoice_note_with_link(description, invoice["id"])}
    fields: dict[str, Any] = {}
    if description:
        fields["CustomerMemo"] = {"value": description[:CUSTOMER_MEMO_MAX].rstrip()}
    fields["PrivateNote"] = invoice_note_with_link(None, invoice["id"])
    return fields


def _text(value: Any) -> str:
    return " ".join(str(value).split()) if value is not None else ""


def _ref_value(value: Any) -> str:
    return str(value.get("value") or "") if isinstance(value, dict) else _text(value)


def _changed(key: str, current: Any, desired: Any) -> bool:
    if key in ("BillAddr", "ShipAddr"):
        return not same_address(current, desired)
    if key == "PrimaryEmailAddr":
        return not same_email((current or {}).get("Address"), (desired or {}).get("Address"))
    if key in ("PrimaryPhone", "Mobile", "AlternatePhone"):
        return not same_phone((current or {}).get("FreeFormNumber"), (desired or {}).get("FreeFormNumber"))
    if key in ("CustomerRef", "ItemRef", "SalesTermRef", "CurrencyRef"):
        return _ref_value(current) != _ref_value(desired)
    if key == "CustomerMemo":
        return _text((current or {}).get("value")) != _text((desired or {}).get("value"))
    if key in ("DueDate", "TxnDate"):
        return date_part(current) != date_part(desired)
    if key == "DocNumber":
        return not doc_number_matches(current, desired)  # also "1042-C", the number after a duplicate (6140)
    if key in ("GivenName", "FamilyName", "CompanyName"):
        return (current or "") != (desired or "")  # names exactly: a re-cased name is a real edit
    return current != desired


def _project_id(current: dict, desired: dict) -> int | None:
    """The project a customer stands for: from the desired link marker, else from a DisplayName suffix."""
    return project_id_from_notes(desired.get("Notes")) or project_id_from_display_name(current.get("DisplayName"))


def customer_changes(current: dict, desired: dict) -> dict:
    """The desired Customer fields whose value differs from what QuickBooks holds; {} means no write.

    Never ``CurrencyRef`` (QuickBooks fixes it at creation). For ``Notes`` only the link marker is
    owned: when it is missing or points elsewhere, the change keeps the bookkeeper's text and
    appends the marker.
    """
    changes: dict[str, Any] = {}
    for key, value in billing_follows_job_site(current, desired).items():
        if key == "CurrencyRef":
            continue
        if key == "DisplayName":
            if not display_name_matches(current.get("DisplayName"), value, _project_id(current, desired)):
                changes["DisplayName"] = value
            continue
        if key == "Notes":
            wanted = project_id_from_notes(value)
            if wanted is not None and project_id_from_notes(current.get("Notes")) != wanted:
                changes["Notes"] = customer_notes_with_link(current.get("Notes"), wanted)
            elif wanted is None and _text(current.get("Notes")) != _text(value):
                changes["Notes"] = value
            continue
        if _changed(key, current.get(key), value):
            changes[key] = value
    return changes


def _line_key(line: dict, with_qty: bool) -> tuple:
    detail = line.get("SalesItemLineDetail") or {}
    qty = detail.get("Qty")
    unit_price = detail.get("UnitPrice")
    return (
        cents(line.get("Amount")),
        _text(line.get("Description")),
        _ref_value(detail.get("ItemRef")),
        Decimal(str(qty)) if with_qty and qty is not None else None,
        Decimal(str(unit_price)) if with_qty and unit_price is not None else None,
    )


def _sales_lines(lines: list[dict] | None) -> list[dict]:
    return [line for line in lines or [] if line.get("DetailType") == "SalesItemLineDetail"]


def lines_differ(current: list[dict] | None, desired: list[dict] | None) -> bool:
    """Compare sales lines by Amount, Description, ItemRef and (when we send them) Qty and UnitPrice.

    QuickBooks' SubTotalLine, line Ids, LineNum and TaxCodeRef are ignored.
    """
    current_lines, desired_lines = _sales_lines(current), _sales_lines(desired)
    if len(current_lines) != len(desired_lines):
        return True
    for have, want in zip(current_lines, desired_lines, strict=True):
        with_qty = "Qty" in (want.get("SalesItemLineDetail") or {})
        if _line_key(have, with_qty) != _line_key(want, with_qty):
            return True
    return False


def invoice_changes(current: dict, desired: dict) -> dict:
    """The desired Invoice fields whose value differs from what QuickBooks holds; {} means no write.

    ``PrivateNote``: the marker must be there; text besides the marker is compared only when the
    desired note has some (description_target == "PrivateNote"), otherwise the bookkeeper's memo is
    kept and the marker appended.
    """
    changes: dict[str, Any] = {}
    for key, value in desired.items():
        if key == "CurrencyRef":
            continue
        if key == "Line":
            if lines_differ(current.get("Line"), value):
                changes["Line"] = value
            continue
        if key == "PrivateNote":
            note = _private_note_change(current.get("PrivateNote"), value)
            if note is not None:
                changes["PrivateNote"] = note
            continue
        if _changed(key, current.get(key), value):
            changes[key] = value
    return changes


def _private_note_change(current: str | None, desired: str | None) -> str | None:
    wanted_id = invoice_id_from_note(desired)
    if wanted_id is None:
        return desired if _text(current) != _text(desired) else None
    wanted_text = strip_links(desired)
    if wanted_text:
        same_text = _text(strip_links(current)) == _text(wanted_text)
        return None if same_text and invoice_id_from_note(current) == wanted_id else desired
    if invoice_id_from_note(current) == wanted_id:
        return None
    return invoice_note_with_link(strip_links(current), wanted_id)[:PRIVATE_NOTE_MAX]


def record_problem(stream: str, record: dict) -> str | None:
    """Why a Coperniq record cannot be mapped to QuickBooks, or None: the same functions, run on it alone."""
    try:
        if stream == "projects":
            customer_fields(record, None)
        elif stream == "contacts":
            customer_fields(None, record)
        elif stream == "invoices":
            invoice_fields(record, "0", {"value": "0"}, None)
    except UnmappableRecord as error:
        return str(error)
    except (TypeError, AttributeError, ArithmeticError, ValueError) as error:  # a shape no rule foresaw
        return f"a value of an unexpected shape ({type(error).__name__}: {error})"
    return None


def shortened_title(project: dict) -> str | None:
    """A note when QuickBooks can hold only the start of a project's title (DisplayName: 500 characters)."""
    title = project.get("title")
    if isinstance(title, str) and len(" ".join(title.split())) > DISPLAY_NAME_MAX:
        return (f"`title` is {len(title):,} characters; QuickBooks keeps the first {DISPLAY_NAME_MAX} "
                "as the customer's DisplayName (truncated)")
    return None
