"""QuickBooks Online field dicts <-> QuickBooks Desktop (qbXML) elements, as pure functions.

The flows' field values come from the Online mappings (``coperniq_to_qbo``, ``qbo_to_coperniq``):
this module only re-shapes them for Desktop and back, with Desktop's limits (qbxmltypes130.xsd):

- ``customer_elements`` / ``invoice_elements``: Online fields -> ``CustomerAdd``/``InvoiceAdd`` elements;
- ``online_customer`` / ``online_invoice``: a Desktop record (a ``CustomerRet``/``InvoiceRet`` as the
  bridge mirrors it) -> the Online record shape, so destination-coperniq reads Desktop records as it
  reads Online ones (this is its one adapter), and so the diffs below reuse the Online diff functions;
- ``customer_element_changes`` / ``invoice_element_changes``: what to send in a ``*Mod``, compared in
  Desktop's space (a desired value is first cut to Desktop's lengths, so a truncated value never
  looks changed and a two-way sync never ping-pongs).
"""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal, InvalidOperation
from typing import Any

from mapping.coperniq_to_qbo import cents, customer_changes, invoice_changes
from mapping.links import _display_suffix, clean_display_name, strip_links

NAME_MAX = 41  # Customer Name (FullName of a sub-customer: 209)
FIRST_LAST_MAX = 25
PHONE_MAX = 21
EMAIL_MAX = 1023
NOTES_MAX = 4095
MEMO_MAX = 4095
REF_NUMBER_MAX = 11
DESC_MAX = 4095
ADDRESS_LIMITS = {"Addr1": 41, "Addr2": 41, "Addr3": 41, "Addr4": 41, "Addr5": 41, "City": 31, "State": 21,
                  "PostalCode": 13, "Country": 31}
# Online PhysicalAddress key -> Desktop address element.
ADDRESS_KEYS = {"Line1": "Addr1", "Line2": "Addr2", "Line3": "Addr3", "Line4": "Addr4", "Line5": "Addr5",
                "City": "City", "CountrySubDivisionCode": "State", "PostalCode": "PostalCode", "Country": "Country"}


def _cut(value: Any, limit: int) -> str:
    return str(value)[:limit].rstrip()


def desktop_name(title: str | None, project_id: int | None) -> str:
    """A Customer Name for a project title: the Online clean-up (no ``:``, one space), at most 41 characters."""
    return _cut(clean_display_name(title, project_id), NAME_MAX)


def suffixed_desktop_name(title: str | None, project_id: int) -> str:
    """``Title (Coperniq #ID)`` within 41 characters: the title is shortened, never the suffix."""
    suffix = _display_suffix(project_id)
    return clean_display_name(title, project_id)[: NAME_MAX - len(suffix)].rstrip() + suffix


def address_elements(address: dict | None) -> dict[str, str]:
    """An Online ``PhysicalAddress`` as a Desktop ``BillAddress`` (Addr1-Addr5, City, State, PostalCode, Country)."""
    result = {}
    for online_key, desktop_key in ADDRESS_KEYS.items():
        value = (address or {}).get(online_key)
        if value:
            result[desktop_key] = _cut(value, ADDRESS_LIMITS[desktop_key])
    return result


def online_address(address: dict | None) -> dict[str, str]:
    """A Desktop address as an Online ``PhysicalAddress``."""
    return {online_key: address[desktop_key] for online_key, desktop_key in ADDRESS_KEYS.items()
            if isinstance(address, dict) and address.get(desktop_key)}


def _cut_to(limit: int) -> Callable[[Any], str]:
    def cut(value: Any) -> str:
        return _cut(value, limit)
    return cut


def _end_kept_to(limit: int) -> Callable[[Any], str]:
    """The text's last ``limit`` characters: a Notes or Memo ends with its link marker."""
    def end(value: Any) -> str:
        return str(value)[-limit:]
    return end


def _phone(value: Any) -> str | None:
    number = value.get("FreeFormNumber") if isinstance(value, dict) else None
    return _cut(number, PHONE_MAX) if number else None


def _email(value: Any) -> str | None:
    address = value.get("Address") if isinstance(value, dict) else None
    return _cut(address, EMAIL_MAX) if address else None


def _customer_ref(value: Any) -> dict[str, str] | None:
    return {"ListID": str(value["value"])} if isinstance(value, dict) and value.get("value") else None


def _date(value: Any) -> str:
    return str(value)[:10]


# (Online field, Desktop element, how the value is re-shaped), in qbXML's element order. A field that is
# absent or empty, or whose re-shaped value is empty, gives no element.
CUSTOMER_ELEMENTS: tuple[tuple[str, str, Callable[[Any], Any]], ...] = (
    ("DisplayName", "Name", _cut_to(NAME_MAX)),
    ("GivenName", "FirstName", _cut_to(FIRST_LAST_MAX)),
    ("FamilyName", "LastName", _cut_to(FIRST_LAST_MAX)),
    ("BillAddr", "BillAddress", address_elements),
    ("PrimaryPhone", "Phone", _phone),
    ("PrimaryEmailAddr", "Email", _email),
    ("Notes", "Notes", _end_kept_to(NOTES_MAX)),
)
INVOICE_ELEMENTS: tuple[tuple[str, str, Callable[[Any], Any]], ...] = (
    ("CustomerRef", "CustomerRef", _customer_ref),
    ("TxnDate", "TxnDate", _date),
    ("DocNumber", "RefNumber", _cut_to(REF_NUMBER_MAX)),
    ("BillAddr", "BillAddress", address_elements),
    ("DueDate", "DueDate", _date),
    ("PrivateNote", "Memo", _end_kept_to(MEMO_MAX)),
)


def _elements(fields: dict, table: tuple[tuple[str, str, Callable[[Any], Any]], ...]) -> dict[str, Any]:
    elements: dict[str, Any] = {}
    for online_key, desktop_key, reshape in table:
        value = fields.get(online_key)
        element = reshape(value) if value else None
        if element:
            elements[desktop_key] = element
    return elements


def customer_elements(fields: dict) -> dict[str, Any]:
    """Online Customer fields (from ``customer_fields`` or ``customer_changes``) as ``CustomerAdd`` elements.

    ``CurrencyRef`` is left out: Desktop files are single-currency unless multicurrency is switched on,
    and then the customer's currency is the home currency by default.
    """
    return _elements(fields, CUSTOMER_ELEMENTS)


def _meta(record: dict) -> dict[str, Any]:
    return {"CreateTime": record.get("TimeCreated"), "LastUpdatedTime": record.get("TimeModified")}


def _passthrough(record: dict, online: dict) -> dict:
    if record.get("_ab_cdc_deleted_at"):
        online["_ab_cdc_deleted_at"] = record["_ab_cdc_deleted_at"]
    return online


def online_customer(record: dict) -> dict[str, Any]:
    """A Desktop customer as an Online Customer (``Id`` = ListID, ``SyncToken`` = EditSequence)."""
    online: dict[str, Any] = {
        "Id": record.get("ListID"), "SyncToken": record.get("EditSequence"),
        "DisplayName": record.get("Name"), "FullyQualifiedName": record.get("FullName") or record.get("Name"),
        "Active": str(record.get("IsActive", "true")).lower() != "false", "MetaData": _meta(record),
    }
    for desktop_key, online_key in (("FirstName", "GivenName"), ("LastName", "FamilyName"),
                                    ("CompanyName", "CompanyName"), ("Notes", "Notes"), ("Balance", "Balance")):
        if record.get(desktop_key) not in (None, ""):
            online[online_key] = record[desktop_key]
    if record.get("Email"):
        online["PrimaryEmailAddr"] = {"Address": record["Email"]}
    if record.get("Phone"):
        online["PrimaryPhone"] = {"FreeFormNumber": record["Phone"]}
    address = online_address(record.get("BillAddress"))
    if address:
        online["BillAddr"] = address
    return _passthrough(record, online)


def _name_is(current: str | None, title: str | None, project_id: int | None) -> bool:
    if not current:
        return False
    if current == desktop_name(title, project_id):
        return True
    return project_id is not None and current == suffixed_desktop_name(title, project_id)


def customer_element_changes(current: dict, desired: dict, project_id: int | None = None) -> dict[str, Any]:
    """The ``CustomerMod`` elements (without ListID/EditSequence) that differ from a Desktop customer; {} = no write.

    ``desired`` holds Online fields; its ``DisplayName`` is the name the writer chose (plain or suffixed).
    A name stays unchanged while it is either form of this project's name.
    """
    wanted = dict(desired)
    name = wanted.pop("DisplayName", None)
    wanted.pop("CurrencyRef", None)
    in_desktop_space = online_customer(customer_elements(wanted))
    in_desktop_space.pop("Active", None)
    in_desktop_space.pop("MetaData", None)
    if "Notes" in wanted:
        in_desktop_space["Notes"] = wanted["Notes"]
    desired_online = {key: in_desktop_space[key] for key in in_desktop_space if key in wanted}
    changes = customer_changes(online_customer(current), desired_online)
    elements = customer_elements(changes)
    if name is not None and current.get("Name") != name and not _name_is(current.get("Name"), name, project_id):
        elements["Name"] = _cut(name, NAME_MAX)
    return elements


def _money(value: Any) -> str:
    return f"{cents(value):.2f}"


def _decimal(value: Any) -> Decimal | None:
    try:
        return Decimal(str(value)) if value not in (None, "") else None
    except InvalidOperation:
        return None


def _number(value: Decimal) -> int | float:
    return int(value) if value == value.to_integral_value() else float(value)


def line_elements(lines: list[dict] | None) -> list[dict[str, Any]]:
    """Online sales lines as ``InvoiceLineAdd`` elements: item by FullName, ``Rate`` for UnitPrice."""
    result = []
    for line in lines or []:
        if line.get("DetailType") != "SalesItemLineDetail":
            continue
        detail = line.get("SalesItemLineDetail") or {}
        element: dict[str, Any] = {}
        item = detail.get("ItemRef") or {}
        if item.get("name") or item.get("value"):
            element["ItemRef"] = {"FullName": str(item.get("name") or item.get("value"))}
        if line.get("Description"):
            element["Desc"] = _cut(line["Description"], DESC_MAX)
        if detail.get("Qty") is not None and detail.get("UnitPrice") is not None:
            element["Quantity"] = detail["Qty"]
            element["Rate"] = detail["UnitPrice"]
        element["Amount"] = _money(line.get("Amount"))
        result.append(element)
    return result


def invoice_elements(fields: dict) -> dict[str, Any]:
    """Online Invoice fields as ``InvoiceAdd`` elements.

    Desktop has no ``PrivateNote``: the invoice ``Memo`` (not printed on the invoice) takes the note with its
    ``Coperniq invoice #<id>`` marker, and the description before it (the writer maps with
    ``description_target="PrivateNote"``). ``CustomerRef`` is by ListID; ``DocNumber`` becomes ``RefNumber``
    (at most 11 characters).
    """
    elements = _elements(fields, INVOICE_ELEMENTS)
    if "Line" in fields:
        elements["InvoiceLineAdd"] = line_elements(fields["Line"])
    return elements


def _online_lines(lines: list[dict] | None) -> list[dict[str, Any]]:
    result = []
    for line in lines or []:
        if not isinstance(line, dict):
            continue
        item = (line.get("ItemRef") or {}).get("FullName")
        detail: dict[str, Any] = {"ItemRef": {"value": item, "name": item}}
        quantity, rate = _decimal(line.get("Quantity")), _decimal(line.get("Rate"))
        if quantity is not None and rate is not None:
            detail["Qty"] = _number(quantity)
            detail["UnitPrice"] = float(rate)
        entry: dict[str, Any] = {"DetailType": "SalesItemLineDetail", "Amount": float(cents(line.get("Amount")))}
        if line.get("Desc"):
            entry["Description"] = line["Desc"]
        if line.get("TxnLineID"):
            entry["Id"] = line["TxnLineID"]
        entry["SalesItemLineDetail"] = detail
        result.append(entry)
    return result


def online_invoice(record: dict) -> dict[str, Any]:
    """A Desktop invoice as an Online Invoice (``Id`` = TxnID, ``TotalAmt`` = Subtotal + SalesTaxTotal).

    The ``Memo`` is both the ``PrivateNote`` (where the link marker lives) and, without its markers, the
    ``CustomerMemo`` that becomes a Coperniq description: Desktop has one free-text memo.
    """
    customer = record.get("CustomerRef") or {}
    online: dict[str, Any] = {
        "Id": record.get("TxnID"), "SyncToken": record.get("EditSequence"),
        "CustomerRef": {"value": customer.get("ListID"), "name": customer.get("FullName")},
        "MetaData": _meta(record),
    }
    for desktop_key, online_key in (("RefNumber", "DocNumber"), ("TxnDate", "TxnDate"), ("DueDate", "DueDate"),
                                    ("Memo", "PrivateNote")):
        if record.get(desktop_key) not in (None, ""):
            online[online_key] = record[desktop_key]
    memo = strip_links(record.get("Memo"))
    if memo:
        online["CustomerMemo"] = {"value": memo}
    address = online_address(record.get("BillAddress"))
    if address:
        online["BillAddr"] = address
    lines = record.get("InvoiceLineRet", record.get("InvoiceLineAdd"))
    if lines is not None:
        online["Line"] = _online_lines(lines)
    if record.get("Subtotal") is not None:
        online["TotalAmt"] = float(cents(record.get("Subtotal")) + cents(record.get("SalesTaxTotal")))
        online["Balance"] = float(cents(record.get("BalanceRemaining", online["TotalAmt"])))
    return _passthrough(record, online)


def invoice_element_changes(current: dict, desired: dict) -> dict[str, Any]:
    """The ``InvoiceMod`` elements (without TxnID/EditSequence) that differ from a Desktop invoice; {} = no write.

    Lines are compared as Online compares them; when they differ, every line is sent again as
    ``InvoiceLineMod`` with ``TxnLineID`` -1 (qbXML: sending lines replaces all of them).
    """
    wanted = {key: value for key, value in desired.items() if key not in ("CurrencyRef", "BillAddr")}
    in_desktop_space = online_invoice(invoice_elements(wanted))
    desired_online = {key: in_desktop_space[key] for key in ("CustomerRef", "DocNumber", "DueDate", "TxnDate",
                                                               "PrivateNote", "Line") if key in wanted}
    changes = invoice_changes(online_invoice(current), desired_online)
    elements = invoice_elements(changes)
    lines = elements.pop("InvoiceLineAdd", None)
    if lines is not None:
        elements["InvoiceLineMod"] = [{"TxnLineID": "-1", **line} for line in lines]
    return elements


def online_record(stream: str, record: dict) -> dict:
    """destination-coperniq's one adapter: a Desktop record (it has ``ListID``/``TxnID``) in the Online shape;
    an Online record unchanged."""
    if stream == "customers" and "ListID" in record and "Id" not in record:
        return online_customer(record)
    if stream == "invoices" and "TxnID" in record and "Id" not in record:
        return online_invoice(record)
    return record


# Online field -> the Desktop element it becomes (what a *Mod's elements say about which fields it changes).
ELEMENT_OF = {online_key: desktop_key for online_key, desktop_key, _ in (*CUSTOMER_ELEMENTS, *INVOICE_ELEMENTS)}
ELEMENT_OF["Line"] = "InvoiceLineMod"


def desired_for(changes: dict, desired: dict) -> dict:
    """The desired Online fields a ``*Mod`` changes: what a re-read after 3200 recomputes, and nothing else
    (a field the bookkeeper edited meanwhile that this sync did not mean to change stays theirs)."""
    return {key: value for key, value in desired.items() if ELEMENT_OF.get(key) in changes
            or (key == "Line" and "InvoiceLineAdd" in changes)}
