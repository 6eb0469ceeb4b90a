"""A QuickBooks Desktop company file that answers qbXML 13.0 message sets (state and rules; no transport).

Modelled on Intuit's qbXML reference and the facts in the project's QuickBooks Desktop notes:
ListID/TxnID as ``<hex counter>-<unix time>``, ``EditSequence`` the Unix time of ``TimeModified`` (seconds:
two saves never share one, so the clock moves at least one second per save), ``TimeModified`` host-local
with its offset, name rules (41 characters, unique across customers, vendors, employees and other names,
case-insensitively, inactive ones too: the strict reading), 3200 on an old EditSequence, 3120 for an
unknown id, 3140 for an unknown reference, iterators (``Start``/``Continue``, ``iteratorRemainingCount``,
3391 for an unknown iteratorID), ``ActiveStatus`` (default ActiveOnly), inclusive ``FromModifiedDate``,
``onError`` (stopOnError stops at the first error), deletions kept for ``ListDeletedQuery``/``TxnDeletedQuery``.
"""

from __future__ import annotations

import threading
import uuid
from collections import Counter
from collections.abc import Callable
from datetime import datetime, timedelta, timezone
from decimal import Decimal
from typing import Any

from qbd import qbxml

HOST_OFFSET = timezone(timedelta(hours=-6))  # the bookkeeper's PC: QuickBooks writes local time with its offset
NAME_MAX = 41
REF_NUMBER_MAX = 11
LIMITS = {"Name": 41, "FirstName": 25, "LastName": 25, "CompanyName": 41, "Phone": 21, "Email": 1023,
          "Notes": 4095, "Memo": 4095, "RefNumber": 11}
ADDRESS_LIMITS = {"Addr1": 41, "Addr2": 41, "Addr3": 41, "Addr4": 41, "Addr5": 41, "City": 31, "State": 21,
                  "PostalCode": 13, "Country": 31}
NAME_LISTS = {"Customer": "customers", "Vendor": "vendors", "Employee": "employees", "OtherName": "other_names"}


class QbError(Exception):
    def __init__(self, code: int, message: str):
        super().__init__(message)
        self.code = code
        self.message = message


def _cents(value: Any) -> Decimal:
    return Decimal(str(value or 0)).quantize(Decimal("0.01"))


class CompanyFile:
    """One company file: lists, invoices, iterators and the clock QuickBooks stamps them with."""

    def __init__(self, now: Callable[[], float] | None = None, start: float = 1_760_000_000.0):
        self._lock = threading.RLock()
        self._now = now
        self._time = start
        self.customers: dict[str, dict[str, Any]] = {}
        self.vendors: dict[str, dict[str, Any]] = {}
        self.employees: dict[str, dict[str, Any]] = {}
        self.other_names: dict[str, dict[str, Any]] = {}
        self.items: dict[str, dict[str, Any]] = {}
        self.terms: dict[str, dict[str, Any]] = {}  # StandardTerms by casefolded Name
        self.invoices: dict[str, dict[str, Any]] = {}
        self.deleted: list[dict[str, Any]] = []
        self.iterators: dict[str, list[dict[str, Any]]] = {}
        self.counter = 0x80000000
        self.txn_counter = 0x100
        self.lock_faults: list[tuple[str, int]] = []  # (request kind, status code): the next such request fails
        self.requests_processed = 0
        self.processed: Counter[str] = Counter()  # qbXML requests answered, by kind (CustomerAdd, InvoiceQuery...)

    def writes(self) -> int:
        """Add and Mod requests answered so far (refused ones included)."""
        return sum(n for kind, n in self.processed.items() if kind.endswith(("Add", "Mod")))

    # -- clock and ids -----------------------------------------------------------------------

    def tick(self) -> float:
        """The time of a save: real time if given, and at least one second after the previous save."""
        now = self._now() if self._now else self._time
        self._time = max(float(int(now)), self._time + 1)
        return self._time

    @staticmethod
    def stamp(seconds: float) -> str:
        return datetime.fromtimestamp(seconds, HOST_OFFSET).isoformat(timespec="seconds")

    @staticmethod
    def parse_time(text: str) -> float:
        moment = datetime.fromisoformat(text)
        if moment.tzinfo is None:
            moment = moment.replace(tzinfo=HOST_OFFSET)  # QuickBooks reads a time without offset as host-local
        return moment.timestamp()

    def _list_id(self, seconds: float) -> str:
        self.counter += 1
        return f"{self.counter:X}-{int(seconds)}"

    def _txn_id(self, seconds: float) -> str:
        self.txn_counter += 1
        return f"{self.txn_counter:X}-{int(seconds)}"

    # -- the bookkeeper's side (what people do in QuickBooks) ---------------------------------

    def _taken(self, name: str, except_id: str | None = None) -> str | None:
        """Which list holds this name (case-insensitively, inactive ones too), else None."""
        folded = name.casefold()
        for kind, attribute in NAME_LISTS.items():
            for list_id, record in getattr(self, attribute).items():
                if list_id != except_id and str(record.get("Name", "")).casefold() == folded:
                    return kind
        return None

    def add_name(self, kind: str, name: str, active: bool = True) -> dict[str, Any]:
        """A vendor, employee or other name (``kind``: Vendor / Employee / OtherName)."""
        with self._lock:
            if self._taken(name):
                raise QbError(qbxml.NAME_IN_USE, f'The name "{name}" of the list element is already in use.')
            seconds = self.tick()
            record = {"ListID": self._list_id(seconds), "TimeCreated": self.stamp(seconds),
                      "TimeModified": self.stamp(seconds), "EditSequence": str(int(seconds)), "Name": name,
                      "IsActive": "true" if active else "false"}
            getattr(self, NAME_LISTS[kind])[record["ListID"]] = record
            return record

    def add_item(self, name: str, price: str = "0.00") -> dict[str, Any]:
        with self._lock:
            seconds = self.tick()
            item = {"ListID": self._list_id(seconds), "Name": name, "FullName": name, "IsActive": "true",
                    "SalesOrPurchase": {"Price": price}}
            self.items[name.casefold()] = item
            return item

    def add_terms(self, name: str, due_days: int) -> dict[str, Any]:
        with self._lock:
            seconds = self.tick()
            terms = {"ListID": self._list_id(seconds), "Name": name, "IsActive": "true", "StdDueDays": str(due_days)}
            self.terms[name.casefold()] = terms
            return terms

    def add_customer(self, fields: dict[str, Any]) -> dict[str, Any]:
        with self._lock:
            return self._customer_add(fields)

    def edit_customer(self, list_id: str, **fields: Any) -> dict[str, Any]:
        with self._lock:
            current = self.customers[list_id]
            return self._customer_mod({"ListID": list_id, "EditSequence": current["EditSequence"], **fields})

    def add_invoice(self, fields: dict[str, Any]) -> dict[str, Any]:
        with self._lock:
            return self._invoice_add(fields)

    def edit_invoice(self, txn_id: str, **fields: Any) -> dict[str, Any]:
        with self._lock:
            current = self.invoices[txn_id]
            return self._invoice_mod({"TxnID": txn_id, "EditSequence": current["EditSequence"], **fields})

    def receive_payment(self, txn_id: str, amount: str) -> dict[str, Any]:
        with self._lock:
            invoice = self.invoices[txn_id]
            paid = _cents(invoice.get("AppliedAmount")) - _cents(amount)  # AppliedAmount is negative in QuickBooks
            balance = _cents(invoice["Subtotal"]) + paid
            self._touch(invoice, AppliedAmount=f"{paid:.2f}", BalanceRemaining=f"{balance:.2f}",
                        IsPaid="true" if balance <= 0 else "false")
            return invoice

    def delete_customer(self, list_id: str) -> None:
        with self._lock:
            record = self.customers.pop(list_id)
            self.deleted.append({"ListDelType": "Customer", "ListID": list_id, "TimeCreated": record["TimeCreated"],
                                 "TimeDeleted": self.stamp(self.tick()), "FullName": record["FullName"]})

    def delete_invoice(self, txn_id: str) -> None:
        with self._lock:
            record = self.invoices.pop(txn_id)
            self.deleted.append({"TxnDelType": "Invoice", "TxnID": txn_id, "TimeCreated": record["TimeCreated"],
                                 "TimeDeleted": self.stamp(self.tick()), "RefNumber": record.get("RefNumber", "")})

    def find_customer(self, predicate: Callable[[dict[str, Any]], bool]) -> dict[str, Any] | None:
        return next((c for c in self.customers.values() if predicate(c)), None)

    # -- rules -------------------------------------------------------------------------------

    def _touch(self, record: dict[str, Any], **changes: Any) -> None:
        seconds = self.tick()
        record.update(changes)
        record["TimeModified"] = self.stamp(seconds)
        record["EditSequence"] = str(int(seconds))

    @staticmethod
    def _check_lengths(fields: dict[str, Any]) -> None:
        for key, limit in LIMITS.items():
            value = fields.get(key)
            if isinstance(value, str) and len(value) > limit:
                raise QbError(3070, f'The string "{value}" in the field "{key}" is too long.')
        for aggregate in ("BillAddress", "ShipAddress"):
            for key, limit in ADDRESS_LIMITS.items():
                value = (fields.get(aggregate) or {}).get(key)
                if isinstance(value, str) and len(value) > limit:
                    raise QbError(3070, f'The string "{value}" in the field "{key}" is too long.')

    def _customer_add(self, fields: dict[str, Any]) -> dict[str, Any]:
        name = str(fields.get("Name") or "").strip()
        if not name:
            raise QbError(3000, "The name of the list element cannot be blank.")
        self._check_lengths(fields)
        if self._taken(name):
            raise QbError(qbxml.NAME_IN_USE, f'The name "{name}" of the list element is already in use.')
        seconds = self.tick()
        record: dict[str, Any] = {"ListID": self._list_id(seconds), "TimeCreated": self.stamp(seconds),
                                  "TimeModified": self.stamp(seconds), "EditSequence": str(int(seconds)),
                                  "Name": name, "FullName": name, "IsActive": "true", "Sublevel": "0"}
        for key, value in fields.items():
            if key not in ("Name", "ListID", "EditSequence"):
                record[key] = value
        record["IsActive"] = str(fields.get("IsActive", "true")).lower()
        record.setdefault("Balance", "0.00")
        record["TotalBalance"] = record["Balance"]
        self.customers[record["ListID"]] = record
        return record

    def _customer_mod(self, fields: dict[str, Any]) -> dict[str, Any]:
        record = self.customers.get(str(fields.get("ListID")))
        if record is None:
            raise QbError(qbxml.NOT_FOUND, f'Object "{fields.get("ListID")}" specified in the request cannot be found.')
        if str(fields.get("EditSequence")) != record["EditSequence"]:
            raise QbError(qbxml.STALE_EDIT_SEQUENCE,
                          f'The provided edit sequence "{fields.get("EditSequence")}" is out-of-date.')
        self._check_lengths(fields)
        changes = {k: v for k, v in fields.items() if k not in ("ListID", "EditSequence")}
        if "Name" in changes:
            name = str(changes["Name"]).strip()
            if self._taken(name, except_id=record["ListID"]):
                raise QbError(qbxml.NAME_IN_USE, f'The name "{name}" of the list element is already in use.')
            changes["FullName"] = name
        self._touch(record, **changes)
        return record

    def _customer_ref(self, ref: dict[str, Any] | None) -> dict[str, Any]:
        ref = ref or {}
        if ref.get("ListID"):
            customer = self.customers.get(str(ref["ListID"]))
        else:
            name = str(ref.get("FullName") or "").casefold()
            customer = next((c for c in self.customers.values() if c["FullName"].casefold() == name), None)
        if customer is None:
            raise QbError(qbxml.INVALID_REFERENCE, f'There is an invalid reference to QuickBooks Customer '
                                                   f'"{ref.get("ListID") or ref.get("FullName")}".')
        return customer

    def _lines(self, lines: list[dict[str, Any]], seconds: float, old: list[dict[str, Any]] | None = None
               ) -> list[dict[str, Any]]:
        old_by_id = {line["TxnLineID"]: line for line in old or []}
        result = []
        for n, line in enumerate(lines):
            item_name = str((line.get("ItemRef") or {}).get("FullName") or "")
            item = self.items.get(item_name.casefold())
            if item is None:
                raise QbError(qbxml.INVALID_REFERENCE,
                              f'There is an invalid reference to QuickBooks Item "{item_name}" in the Invoice line.')
            base = old_by_id.get(str(line.get("TxnLineID")), {}) if line.get("TxnLineID") not in (None, "-1") else {}
            amount = line.get("Amount")
            if amount is None and line.get("Quantity") is not None and line.get("Rate") is not None:
                amount = Decimal(str(line["Quantity"])) * Decimal(str(line["Rate"]))
            entry = {**base, "TxnLineID": base.get("TxnLineID") or f"{self.txn_counter + 1:X}-{int(seconds)}-{n}",
                     "ItemRef": {"ListID": item["ListID"], "FullName": item["FullName"]},
                     "Amount": f"{_cents(amount):.2f}"}
            for key in ("Desc", "Quantity", "Rate"):
                if line.get(key) is not None:
                    entry[key] = str(line[key])
            result.append(entry)
        return result

    def _totals(self, record: dict[str, Any]) -> None:
        subtotal = sum((_cents(line["Amount"]) for line in record["InvoiceLineRet"]), Decimal("0.00"))
        applied = _cents(record.get("AppliedAmount"))
        record.update(Subtotal=f"{subtotal:.2f}", SalesTaxTotal="0.00", AppliedAmount=f"{applied:.2f}",
                      BalanceRemaining=f"{subtotal + applied:.2f}",
                      IsPaid="true" if subtotal + applied <= 0 and subtotal > 0 else "false")

    def _invoice_add(self, fields: dict[str, Any]) -> dict[str, Any]:
        customer = self._customer_ref(fields.get("CustomerRef"))
        self._check_lengths(fields)
        seconds = self.tick()
        record: dict[str, Any] = {"TxnID": self._txn_id(seconds), "TimeCreated": self.stamp(seconds),
                                  "TimeModified": self.stamp(seconds), "EditSequence": str(int(seconds)),
                                  "TxnNumber": str(self.txn_counter),
                                  "CustomerRef": {"ListID": customer["ListID"], "FullName": customer["FullName"]},
                                  "TxnDate": fields.get("TxnDate") or self.stamp(seconds)[:10]}
        for key in ("RefNumber", "BillAddress", "DueDate", "Memo", "PONumber"):
            if fields.get(key) is not None:
                record[key] = fields[key]
        if fields.get("TermsRef"):
            name = str(fields["TermsRef"].get("FullName") or "")
            terms = self.terms.get(name.casefold())
            if terms is None:
                raise QbError(qbxml.INVALID_REFERENCE, f'There is an invalid reference to QuickBooks Terms "{name}".')
            record["TermsRef"] = {"ListID": terms["ListID"], "FullName": terms["Name"]}
        record["InvoiceLineRet"] = self._lines(fields.get("InvoiceLineAdd") or [], seconds)
        self._totals(record)
        self.invoices[record["TxnID"]] = record
        return record

    def _invoice_mod(self, fields: dict[str, Any]) -> dict[str, Any]:
        record = self.invoices.get(str(fields.get("TxnID")))
        if record is None:
            raise QbError(qbxml.NOT_FOUND, f'Object "{fields.get("TxnID")}" specified in the request cannot be found.')
        if str(fields.get("EditSequence")) != record["EditSequence"]:
            raise QbError(qbxml.STALE_EDIT_SEQUENCE,
                          f'The provided edit sequence "{fields.get("EditSequence")}" is out-of-date.')
        self._check_lengths(fields)
        changes = {k: v for k, v in fields.items() if k not in ("TxnID", "EditSequence", "InvoiceLineMod",
                                                                  "CustomerRef")}
        if fields.get("CustomerRef"):
            customer = self._customer_ref(fields["CustomerRef"])
            changes["CustomerRef"] = {"ListID": customer["ListID"], "FullName": customer["FullName"]}
        if "InvoiceLineMod" in fields:
            # Sending lines replaces them all: lines left out are deleted; TxnLineID -1 adds one.
            changes["InvoiceLineRet"] = self._lines(fields["InvoiceLineMod"], self.tick(), record["InvoiceLineRet"])
        self._touch(record, **changes)
        self._totals(record)
        return record

    # -- queries -----------------------------------------------------------------------------

    def _select(self, records: list[dict[str, Any]], body: dict[str, Any], time_key: str = "FromModifiedDate",
                date_filter: dict[str, Any] | None = None) -> list[dict[str, Any]]:
        status = body.get("ActiveStatus", "ActiveOnly")
        if status == "ActiveOnly":
            records = [r for r in records if r.get("IsActive", "true") == "true"]
        elif status == "InactiveOnly":
            records = [r for r in records if r.get("IsActive") == "false"]
        source = date_filter if date_filter is not None else body
        if source.get(time_key):
            since = self.parse_time(source[time_key])  # inclusive, seconds precision
            records = [r for r in records if self.parse_time(r["TimeModified"]) >= since]
        return sorted(records, key=lambda r: (self.parse_time(r["TimeModified"]), r.get("ListID") or r.get("TxnID")))

    def _page(self, rq: qbxml.Request, kind: str, records_by_id: dict[str, dict[str, Any]], id_key: str,
              select: Callable[[], list[dict[str, Any]]], shape: Callable[[dict[str, Any]], dict[str, Any]]
              ) -> dict[str, Any]:
        answer: dict[str, Any] = {"kind": kind, "request_id": rq.request_id, "ret": kind.replace("Query", "Ret")}
        ids = rq.body.get(id_key)
        iterator = rq.attributes.get("iterator")
        if ids:
            found = [records_by_id[i] for i in ids if i in records_by_id]
            if not found:
                return {**answer, "code": qbxml.NO_MATCH, "severity": "Info",
                        "message": "A query request did not find a matching object in QuickBooks", "records": []}
            code = 500 if len(found) < len(ids) else 0
            return {**answer, "code": code, "severity": "Warning" if code else "Info",
                    "message": "Status OK" if not code else "The query request has not been fully completed.",
                    "records": [shape(r) for r in found], "retCount": len(found)}
        limit = int(rq.body.get("MaxReturned") or 10_000_000)
        if iterator == "Continue":
            pending = self.iterators.get(rq.attributes.get("iteratorID", ""))
            if pending is None:
                return {**answer, "code": qbxml.INVALID_ITERATOR, "severity": "Error",
                        "message": f'The iteratorID "{rq.attributes.get("iteratorID")}" is not valid.'}
            iterator_id = rq.attributes["iteratorID"]
        else:
            pending = select()
            iterator_id = "{" + str(uuid.uuid4()) + "}" if iterator == "Start" else None
        page, rest = pending[:limit], pending[limit:]
        if iterator_id:
            if rest:
                self.iterators[iterator_id] = rest
            else:
                self.iterators.pop(iterator_id, None)
        if not page:
            return {**answer, "code": qbxml.NO_MATCH, "severity": "Info", "records": [],
                    "message": "A query request did not find a matching object in QuickBooks",
                    "iteratorID": iterator_id, "iteratorRemainingCount": 0 if iterator_id else None}
        return {**answer, "code": 0, "severity": "Info", "message": "Status OK", "records": [shape(r) for r in page],
                "retCount": len(page), "iteratorID": iterator_id,
                "iteratorRemainingCount": len(rest) if iterator_id else None}

    @staticmethod
    def _only(body: dict[str, Any]) -> Callable[[dict[str, Any]], dict[str, Any]]:
        wanted = body.get("IncludeRetElement")
        if not wanted:
            return lambda r: r
        wanted = set(wanted if isinstance(wanted, list) else [wanted])
        return lambda r: {k: v for k, v in r.items() if k in wanted}

    # -- the message set ---------------------------------------------------------------------

    def process(self, request_xml: str) -> str:
        """QuickBooks' answer to one qbXML message set, request by request, in order."""
        with self._lock:
            on_error, requests = qbxml.parse_request(request_xml)
            answers = []
            for rq in requests:
                self.requests_processed += 1
                self.processed[rq.kind] += 1
                answer = self._answer(rq)
                answers.append(answer)
                if answer.get("severity") == "Error" and on_error == "stopOnError":
                    break  # the rest are not processed and get no answer
            return qbxml.response_document(answers)

    def _answer(self, rq: qbxml.Request) -> dict[str, Any]:
        kind = rq.kind
        for n, (fault_kind, code) in enumerate(self.lock_faults):
            if fault_kind in (kind, "*"):
                del self.lock_faults[n]
                return {"kind": kind, "request_id": rq.request_id, "code": code, "severity": "Error",
                        "message": "The transaction could not be locked. It is in use by another user."}
        try:
            if kind in ("CustomerQuery", "VendorQuery", "EmployeeQuery", "OtherNameQuery"):
                attribute = NAME_LISTS[kind.removesuffix("Query")]
                records = getattr(self, attribute)
                return self._page(rq, kind, records, "ListID", lambda: self._select(list(records.values()), rq.body),
                                  self._only(rq.body))
            if kind == "InvoiceQuery":
                with_lines = str(rq.body.get("IncludeLineItems", "false")).lower() == "true"

                def shape(record: dict[str, Any]) -> dict[str, Any]:
                    return record if with_lines else {k: v for k, v in record.items() if k != "InvoiceLineRet"}
                return self._page(rq, kind, self.invoices, "TxnID",
                                  lambda: self._select(list(self.invoices.values()), {"ActiveStatus": "All"},
                                                       date_filter=rq.body.get("ModifiedDateRangeFilter") or {}),
                                  shape)
            if kind in ("ListDeletedQuery", "TxnDeletedQuery"):
                return self._deleted(rq)
            handlers = {"CustomerAdd": self._customer_add, "CustomerMod": self._customer_mod,
                        "InvoiceAdd": self._invoice_add, "InvoiceMod": self._invoice_mod}
            if kind not in handlers:
                return {"kind": kind, "request_id": rq.request_id, "code": 2000, "severity": "Error",
                        "message": f"The request {kind} is not supported by this sandbox."}
            record = handlers[kind](dict(rq.body))
            ret = "CustomerRet" if kind.startswith("Customer") else "InvoiceRet"
            return {"kind": kind, "request_id": rq.request_id, "code": 0, "severity": "Info", "message": "Status OK",
                    "ret": ret, "records": [record]}
        except QbError as error:
            return {"kind": kind, "request_id": rq.request_id, "code": error.code, "severity": "Error",
                    "message": error.message}

    def _deleted(self, rq: qbxml.Request) -> dict[str, Any]:
        type_key = "ListDelType" if rq.kind == "ListDeletedQuery" else "TxnDelType"
        wanted = rq.body.get(type_key)
        since = (rq.body.get("DeletedDateRangeFilter") or {}).get("FromDeletedDate")
        found = [d for d in self.deleted if d.get(type_key) == wanted
                 and (not since or self.parse_time(d["TimeDeleted"]) >= self.parse_time(since))]
        ret = rq.kind.replace("Query", "Ret")
        if not found:
            return {"kind": rq.kind, "request_id": rq.request_id, "code": qbxml.NO_MATCH, "severity": "Info",
                    "message": "A query request did not find a matching object in QuickBooks", "ret": ret,
                    "records": []}
        return {"kind": rq.kind, "request_id": rq.request_id, "code": 0, "severity": "Info", "message": "Status OK",
                "ret": ret, "records": found}
