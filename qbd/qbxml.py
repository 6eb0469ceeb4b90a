"""qbXML 13.0 requests and responses (Intuit's qbXML reference; schemas qbxmlops130.xsd / qbxmltypes130.xsd).

Records travel as plain dicts keyed by qbXML element names (``Name``, ``BillAddress`` -> ``Addr1``...).
Builders emit child elements in the order of the XSD sequence, because QuickBooks refuses a request
whose elements are out of order. Parsers turn any ``*Ret`` into a dict: repeated children
(``InvoiceLineRet``, ``DataExtRet``) become lists.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from lxml import etree

QBXML_VERSION = "13.0"
MAX_REQUEST_ID = 50  # Intuit: a requestID longer than 50 characters fails with 1060

# Status codes (Intuit's "status codes in response messages"; 3000+ as QuickBooks words them).
OK = 0
NO_MATCH = 1  # a query found nothing: an empty answer, not an error
NAME_IN_USE = 3100
NOT_FOUND = 3120
INVALID_REFERENCE = 3140
LIST_MODIFIED = 3170
LOCKED = 3175
SAVE_ERROR = 3180
STALE_EDIT_SEQUENCE = 3200
INVALID_ITERATOR = 3391
RETRYABLE = frozenset({LIST_MODIFIED, LOCKED, 3176, SAVE_ERROR})  # another user holds the record: try later

ADDRESS_ORDER = ("Addr1", "Addr2", "Addr3", "Addr4", "Addr5", "City", "State", "PostalCode", "Country", "Note")
# qbxmlops130.xsd: CustomerAdd / CustomerMod sequences (the fields this project writes, in order).
CUSTOMER_ORDER = ("Name", "IsActive", "CompanyName", "Salutation", "FirstName", "MiddleName", "LastName",
                  "JobTitle", "BillAddress", "ShipAddress", "Phone", "AltPhone", "Fax", "Email", "Cc", "Contact",
                  "AltContact", "TermsRef", "AccountNumber", "Notes")
INVOICE_ORDER = ("CustomerRef", "ClassRef", "ARAccountRef", "TemplateRef", "TxnDate", "RefNumber", "BillAddress",
                 "ShipAddress", "IsPending", "PONumber", "TermsRef", "DueDate", "SalesRepRef", "FOB", "ShipDate",
                 "ShipMethodRef", "ItemSalesTaxRef", "Memo", "CustomerMsgRef", "IsToBePrinted", "IsToBeEmailed",
                 "Other", "ExternalGUID")
LINE_ORDER = ("TxnLineID", "ItemRef", "Desc", "Quantity", "UnitOfMeasure", "Rate", "RatePercent", "ClassRef",
              "Amount", "ServiceDate", "SalesTaxCodeRef")
REF_ORDER = ("ListID", "FullName")
REPEATED = frozenset({"InvoiceLineRet", "InvoiceLineGroupRet", "DataExtRet", "LinkedTxn", "InvoiceLineAdd",
                      "InvoiceLineMod"})
QUERY_ID_KEYS = ("ListID", "TxnID", "FullName", "RefNumber", "IncludeRetElement")  # repeatable in a *Query

ORDERS: dict[str, tuple[str, ...]] = {
    "CustomerAdd": CUSTOMER_ORDER, "CustomerMod": ("ListID", "EditSequence", *CUSTOMER_ORDER),
    "InvoiceAdd": (*INVOICE_ORDER, "InvoiceLineAdd"), "InvoiceMod": ("TxnID", "EditSequence", *INVOICE_ORDER,
                                                                     "InvoiceLineMod"),
    "BillAddress": ADDRESS_ORDER, "ShipAddress": ADDRESS_ORDER,
    "InvoiceLineAdd": LINE_ORDER[1:], "InvoiceLineMod": LINE_ORDER,
    "CustomerRef": REF_ORDER, "TermsRef": REF_ORDER, "ItemRef": REF_ORDER, "ClassRef": REF_ORDER,
}


def later_time(a: str | None, b: str | None) -> str | None:
    """The later of two qbXML datetimes (``2015-11-04T14:39:03-08:00``), kept as QuickBooks wrote it."""
    if not a:
        return b
    if not b:
        return a
    try:
        return a if datetime.fromisoformat(a) >= datetime.fromisoformat(b) else b
    except ValueError:
        return max(a, b)


class QbXmlError(ValueError):
    """A qbXML document that cannot be read."""


def _text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _append(parent: etree._Element, name: str, value: Any) -> None:
    if value is None:
        return
    if isinstance(value, list):
        for item in value:
            _append(parent, name, item)
        return
    child = etree.SubElement(parent, name)
    if isinstance(value, Mapping):
        _fill(child, name, value)
    else:
        child.text = _text(value)


def _fill(element: etree._Element, kind: str, fields: Mapping[str, Any]) -> None:
    """Children in the XSD order of ``kind``; keys it does not know keep their given order, after the known ones."""
    order = ORDERS.get(kind, ())
    known = [key for key in order if key in fields]
    for key in known + [key for key in fields if key not in order]:
        _append(element, key, fields[key])


@dataclass
class Request:
    """One ``*Rq`` of a message set."""

    kind: str  # e.g. CustomerAdd, CustomerQuery
    request_id: str
    body: Mapping[str, Any] = field(default_factory=dict)
    attributes: Mapping[str, str] = field(default_factory=dict)  # iterator, iteratorID

    def element(self) -> etree._Element:
        if len(self.request_id) > MAX_REQUEST_ID:
            raise ValueError(f"requestID longer than {MAX_REQUEST_ID} characters: {self.request_id!r}")
        rq = etree.Element(f"{self.kind}Rq", requestID=self.request_id, **dict(self.attributes))
        if self.kind.endswith(("Add", "Mod")):
            # CustomerAdd / InvoiceMod ... wrap their fields in an element of the operation's name.
            _fill(etree.SubElement(rq, self.kind), self.kind, self.body)
        else:
            _fill(rq, self.kind, self.body)
        return rq


def request_document(requests: Iterable[Request], on_error: str = "continueOnError") -> str:
    """A complete qbXML 13.0 request message set; ``continueOnError``: one refused request does not stop the rest."""
    root = etree.Element("QBXML")
    message_set = etree.SubElement(root, "QBXMLMsgsRq", onError=on_error)
    for request in requests:
        message_set.append(request.element())
    body = etree.tostring(root, encoding="unicode")
    return f'<?xml version="1.0" encoding="utf-8"?><?qbxml version="{QBXML_VERSION}"?>{body}'


def element_to_value(element: etree._Element) -> Any:
    """An element as a string (leaf) or a dict (children; ``REPEATED`` names always as lists)."""
    children = [child for child in element if isinstance(child.tag, str)]
    if not children:
        return element.text or ""
    result: dict[str, Any] = {}
    for child in children:
        value = element_to_value(child)
        if child.tag in REPEATED:
            result.setdefault(child.tag, []).append(value)
        elif child.tag in result:  # an unexpected repetition: keep every value
            previous = result[child.tag]
            result[child.tag] = (previous if isinstance(previous, list) else [previous]) + [value]
        else:
            result[child.tag] = value
    return result


@dataclass
class Response:
    """One ``*Rs``: its status, the records it returned, and the iterator state of a query."""

    kind: str
    request_id: str
    status_code: int
    severity: str
    message: str
    records: list[dict[str, Any]] = field(default_factory=list)
    iterator_id: str | None = None
    remaining: int = 0

    @property
    def ok(self) -> bool:
        """Info and warnings are success (a 500 partial answer, a 1 "no match" too); only errors fail."""
        return self.severity.lower() != "error"


def read_message_set(xml: str | bytes, suffix: str, document: str) -> tuple[Any, list[Any]]:
    """The ``QBXMLMsgs{suffix}`` element of a qbXML ``document`` and its ``*{suffix}`` messages, in order.
    Parsed without entities or network access: the XML comes from outside."""
    try:
        root = etree.fromstring(xml.encode() if isinstance(xml, str) else xml,
                                parser=etree.XMLParser(resolve_entities=False, no_network=True))
    except etree.XMLSyntaxError as error:
        raise QbXmlError(f"not well-formed qbXML: {error}") from error
    messages = root.find(f"QBXMLMsgs{suffix}")
    if messages is None:
        raise QbXmlError(f"no QBXMLMsgs{suffix} in the {document}")
    return messages, [m for m in messages if isinstance(m.tag, str) and m.tag.endswith(suffix)]


def parse_response(xml: str) -> list[Response]:
    """Every ``*Rs`` of a response message set, in order."""
    responses = []
    for rs in read_message_set(xml, "Rs", "response")[1]:
        records = [element_to_value(child) for child in rs if isinstance(child.tag, str) and child.tag.endswith("Ret")]
        responses.append(Response(
            kind=rs.tag[:-2], request_id=rs.get("requestID", ""), status_code=int(rs.get("statusCode", "0")),
            severity=rs.get("statusSeverity", "Info"), message=rs.get("statusMessage", ""),
            records=[r if isinstance(r, dict) else {} for r in records],
            iterator_id=rs.get("iteratorID"), remaining=int(rs.get("iteratorRemainingCount", "0") or 0)))
    return responses


def parse_request(xml: str) -> tuple[str, list[Request]]:
    """A request message set as (onError, requests): what QuickBooks (the sandbox) reads."""
    messages, rqs = read_message_set(xml, "Rq", "request")
    requests = []
    for rq in rqs:
        kind = rq.tag[:-2]
        body = element_to_value(rq)
        body = body if isinstance(body, dict) else {}
        if kind.endswith(("Add", "Mod")) and isinstance(body.get(kind), dict):
            body = body[kind]
        elif kind.endswith("Query"):
            body = {k: (v if isinstance(v, list) or k not in QUERY_ID_KEYS else [v]) for k, v in body.items()}
        attributes = {key: value for key, value in rq.attrib.items() if key != "requestID"}
        requests.append(Request(kind, rq.get("requestID", ""), body, attributes))
    return messages.get("onError", "stopOnError"), requests


def response_document(responses: Iterable[Mapping[str, Any]]) -> str:
    """A response message set from dicts {kind, request_id, code, severity, message, records, ret, iterator...}."""
    root = etree.Element("QBXML")
    message_set = etree.SubElement(root, "QBXMLMsgsRs")
    for answer in responses:
        attributes = {"requestID": answer["request_id"], "statusCode": str(answer.get("code", 0)),
                      "statusSeverity": answer.get("severity", "Info"),
                      "statusMessage": answer.get("message", "Status OK")}
        for key in ("retCount", "iteratorRemainingCount", "iteratorID"):
            if answer.get(key) is not None:
                attributes[key] = str(answer[key])
        rs = etree.SubElement(message_set, f"{answer['kind']}Rs", **attributes)
        for record in answer.get("records", []):
            _append(rs, answer["ret"], record)
    body = etree.tostring(root, encoding="unicode")
    return f'<?xml version="1.0" encoding="utf-8"?><?qbxml version="{QBXML_VERSION}"?>{body}'


# -- requests this project sends -------------------------------------------------------------------

def list_query(kind: str, request_id: str, *, iterator: str | None = None, iterator_id: str | None = None,
               max_returned: int = 100, from_modified: str | None = None, list_ids: Iterable[str] = (),
               extra: Mapping[str, Any] | None = None) -> Request:
    """CustomerQuery / VendorQuery / EmployeeQuery / OtherNameQuery: inactive ones too (``ActiveStatus All``).

    By ``ListID`` a query takes no filter; otherwise ``MaxReturned``, ``ActiveStatus``, ``FromModifiedDate``
    (inclusive) in the XSD's order, and an iterator to page.
    """
    attributes = _iterator_attributes(iterator, iterator_id)
    ids = list(list_ids)
    if ids:
        return Request(kind, request_id, {"ListID": ids, **(extra or {})})
    body: dict[str, Any] = {"MaxReturned": max_returned, "ActiveStatus": "All"}
    if from_modified:
        body["FromModifiedDate"] = from_modified
    return Request(kind, request_id, {**body, **(extra or {})}, attributes)


def invoice_query(request_id: str, *, iterator: str | None = None, iterator_id: str | None = None,
                  max_returned: int = 100, from_modified: str | None = None, txn_ids: Iterable[str] = ()) -> Request:
    """InvoiceQuery with its lines; by ``TxnID`` or by ``ModifiedDateRangeFilter`` (inclusive)."""
    ids = list(txn_ids)
    if ids:
        return Request("InvoiceQuery", request_id, {"TxnID": ids, "IncludeLineItems": True})
    body: dict[str, Any] = {"MaxReturned": max_returned}
    if from_modified:
        body["ModifiedDateRangeFilter"] = {"FromModifiedDate": from_modified}
    body["IncludeLineItems"] = True
    return Request("InvoiceQuery", request_id, body, _iterator_attributes(iterator, iterator_id))


def deleted_query(kind: str, request_id: str, del_type: str, from_deleted: str | None) -> Request:
    """ListDeletedQuery / TxnDeletedQuery (no iterator; QuickBooks keeps about 90 days of deletions)."""
    type_key = "ListDelType" if kind == "ListDeletedQuery" else "TxnDelType"
    body: dict[str, Any] = {type_key: del_type}
    if from_deleted:
        body["DeletedDateRangeFilter"] = {"FromDeletedDate": from_deleted}
    return Request(kind, request_id, body)


def _iterator_attributes(iterator: str | None, iterator_id: str | None) -> dict[str, str]:
    if iterator is None:
        return {}
    attributes = {"iterator": iterator}
    if iterator_id:
        attributes["iteratorID"] = iterator_id
    return attributes
