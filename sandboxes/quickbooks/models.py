"""In-memory QuickBooks Online companies (one :class:`RealmBackend` per realm) and their rules.

Moto-style: one public method per API operation, state in plain dicts shaped exactly as QBO
answers (``backend.customers["58"]`` is what ``GET /customer/58`` returns), and every rule the
connectors depend on raising the fault QBO raises (:mod:`.errors`). Each backend has its own lock:
an operation runs whole under it, so concurrent requests see QBO's serial behaviour. Times come
from an injectable :class:`Clock` so tests can move time (token expiry, CDC windows, throttling).
"""

from __future__ import annotations

import copy
import threading
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from datetime import UTC, date, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Any
from zoneinfo import ZoneInfo

from . import query as qbo_query
from .errors import (
    AmountMismatch,
    BusinessValidation,
    DuplicateDocNumber,
    DuplicateName,
    InvalidReference,
    ObjectNotFound,
    RequiredParamMissing,
    StaleObject,
    StringLengthInvalid,
    ThrottleExceeded,
    UnsupportedOperation,
    UnsupportedProperty,
)

Record = dict[str, Any]

# --- time ---------------------------------------------------------------------------------------------


# QBO stamps MetaData in the company's zone; the sandbox's companies are in US Pacific time. The zone
# data comes from the system, or from the tzdata package where a slim image has none (pendulum installs it).
PACIFIC = ZoneInfo("America/Los_Angeles")


def qbo_timestamp(when: datetime) -> str:
    """MetaData style: one-second precision with the company's offset, e.g. ``2024-05-01T10:20:30-07:00``."""
    return when.astimezone(PACIFIC).replace(microsecond=0).isoformat()


def qbo_response_time(when: datetime) -> str:
    """The ``time`` of a response envelope, e.g. ``2024-05-01T10:20:30.123-07:00``."""
    return when.astimezone(PACIFIC).isoformat(timespec="milliseconds")


class Clock:
    """Wall clock; :class:`ManualClock` replaces it in tests."""

    def now(self) -> datetime:
        return datetime.now(UTC)


class ManualClock(Clock):
    """A clock that moves only when told to (thread-safe)."""

    def __init__(self, start: datetime | None = None) -> None:
        self._lock = threading.Lock()
        self._now = start or datetime(2025, 6, 2, 17, 0, 0, tzinfo=UTC)

    def now(self) -> datetime:
        with self._lock:
            return self._now

    def advance(self, seconds: float) -> datetime:
        with self._lock:
            self._now += timedelta(seconds=seconds)
            return self._now

    def set(self, when: datetime) -> None:
        with self._lock:
            self._now = when


# --- throttling ---------------------------------------------------------------------------------------


class Throttle:
    """Intuit's per-realm limits as sliding windows: requests a minute, a second, and batches a minute.

    ``time_scale`` shrinks (or stretches) the windows: 0.1 makes "a minute" six seconds, so a
    benchmark can hit the limits quickly and report its times divided by the same factor.
    Rejected requests are not counted, so a client that waits gets through.
    """

    def __init__(
        self,
        per_minute: int = 500,
        per_second: int = 10,
        batch_per_minute: int = 40,
        time_scale: float = 1.0,
        enabled: bool = True,
        clock: Clock | None = None,
    ) -> None:
        self.per_minute = per_minute
        self.per_second = per_second
        self.batch_per_minute = batch_per_minute
        self.time_scale = time_scale
        self.enabled = enabled
        self.clock = clock or Clock()
        self._lock = threading.Lock()
        self._all: dict[str, deque[float]] = {}
        self._batches: dict[str, deque[float]] = {}

    def check(self, realm_id: str, is_batch: bool = False) -> None:
        """Count one request for ``realm_id``, or raise :class:`ThrottleExceeded`."""
        if not self.enabled:
            return
        now = self.clock.now().timestamp()
        minute, second = 60.0 * self.time_scale, 1.0 * self.time_scale
        with self._lock:
            calls = self._all.setdefault(realm_id, deque())
            batches = self._batches.setdefault(realm_id, deque())
            while calls and calls[0] <= now - minute:
                calls.popleft()
            while batches and batches[0] <= now - minute:
                batches.popleft()
            if len(calls) >= self.per_minute:
                raise ThrottleExceeded()
            if sum(1 for t in calls if t > now - second) >= self.per_second:
                raise ThrottleExceeded()
            if is_batch and len(batches) >= self.batch_per_minute:
                raise ThrottleExceeded()
            calls.append(now)
            if is_batch:
                batches.append(now)

    def reset(self) -> None:
        with self._lock:
            self._all.clear()
            self._batches.clear()


# --- field rules ----------------------------------------------------------------------------------------

_ADDRESS_KEYS = {
    "Id", "Line1", "Line2", "Line3", "Line4", "Line5", "City", "Country", "CountryCode",
    "CountrySubDivisionCode", "PostalCode", "PostalCodeSuffix", "Lat", "Long", "Note",
}
_SUBOBJECT_KEYS = {
    "address": _ADDRESS_KEYS,
    "phone": {"FreeFormNumber", "DeviceType", "CountryCode", "AreaCode", "ExchangeCode", "Extension"},
    "email": {"Address"},
    "web": {"URI"},
    "ref": {"value", "name", "type"},
    "memo": {"value"},
}
_SUBOBJECT_LIMITS = {"phone": ("FreeFormNumber", 30), "email": ("Address", 100), "web": ("URI", 1000)}

# Customer: writable fields (kind, max length). A full update clears any of these it omits.
CUSTOMER_FIELDS: dict[str, tuple[str, int]] = {
    "Title": ("str", 16), "GivenName": ("str", 100), "MiddleName": ("str", 100), "FamilyName": ("str", 100),
    "Suffix": ("str", 16), "DisplayName": ("str", 500), "CompanyName": ("str", 100),
    "PrintOnCheckName": ("str", 110), "Notes": ("str", 4000), "ResaleNum": ("str", 16),
    "PreferredDeliveryMethod": ("str", 10), "PrimaryTaxIdentifier": ("str", 20),
    "Active": ("bool", 0), "Taxable": ("bool", 0), "BillWithParent": ("bool", 0), "Job": ("bool", 0),
    "BillAddr": ("address", 0), "ShipAddr": ("address", 0),
    "PrimaryPhone": ("phone", 0), "AlternatePhone": ("phone", 0), "Mobile": ("phone", 0), "Fax": ("phone", 0),
    "PrimaryEmailAddr": ("email", 0), "WebAddr": ("web", 0),
    "ParentRef": ("ref", 0), "SalesTermRef": ("ref", 0), "PaymentMethodRef": ("ref", 0),
    "DefaultTaxCodeRef": ("ref", 0), "ARAccountRef": ("ref", 0), "CustomerTypeRef": ("ref", 0),
    "CurrencyRef": ("ref", 0),
}
# Sent back by clients that re-save what they read (python-quickbooks sends all of these): accepted
# and ignored, because QBO computes them.
CUSTOMER_READ_ONLY = {
    "Id", "SyncToken", "sparse", "domain", "MetaData", "Balance", "BalanceWithJobs", "FullyQualifiedName",
    "Level", "IsProject", "OpenBalanceDate", "V4IDPseudonym", "TaxExemptionReasonId", "GSTRegistrationType",
    "ClientEntityId", "Source", "SecondaryTaxIdentifier", "BusinessNumber", "IsCISContractor",
}
NAME_PARTS = ("Title", "GivenName", "MiddleName", "FamilyName", "Suffix")

INVOICE_FIELDS: dict[str, tuple[str, int]] = {
    "DocNumber": ("str", 21), "TxnDate": ("date", 0), "DueDate": ("date", 0), "ShipDate": ("date", 0),
    "PrivateNote": ("str", 4000), "TrackingNum": ("str", 31), "CustomerMemo": ("memo", 1000),
    "BillAddr": ("address", 0), "ShipAddr": ("address", 0), "BillEmail": ("email", 0),
    "CustomerRef": ("ref", 0), "SalesTermRef": ("ref", 0), "ClassRef": ("ref", 0),
    "DepartmentRef": ("ref", 0), "ShipMethodRef": ("ref", 0), "CurrencyRef": ("ref", 0),
    "PrintStatus": ("str", 20), "EmailStatus": ("str", 20),
    "AllowOnlineCreditCardPayment": ("bool", 0), "AllowOnlineACHPayment": ("bool", 0),
    "AllowIPNPayment": ("bool", 0), "AllowOnlinePayment": ("bool", 0),
}
INVOICE_READ_ONLY = {
    "Id", "SyncToken", "sparse", "domain", "MetaData", "TotalAmt", "Balance", "HomeBalance", "HomeTotalAmt",
    "Deposit", "DepositToAccountRef", "LinkedTxn", "InvoiceLink", "TxnTaxDetail", "ExchangeRate",
    "GlobalTaxCalculation", "ApplyTaxAfterDiscount", "FreeFormAddress", "EInvoiceStatus", "DeliveryInfo",
    "RecurDataRef", "TaxExemptionRef", "BillEmailCc", "BillEmailBcc", "TxnSource", "ShipFromAddr",
    "TransactionLocationType", "ProjectRef", "status",
}
LINE_KEYS = {
    "Id", "LineNum", "Description", "Amount", "DetailType", "SalesItemLineDetail", "SubTotalLineDetail",
    "DescriptionLineDetail", "DiscountLineDetail", "GroupLineDetail", "LinkedTxn", "CustomField", "ProjectRef",
}
SALES_ITEM_DETAIL_KEYS = {
    "ItemRef", "ClassRef", "UnitPrice", "RatePercent", "PriceLevelRef", "MarkupInfo", "Qty", "UOMRef",
    "ItemAccountRef", "TaxCodeRef", "ServiceDate", "TaxInclusiveAmt", "DiscountRate", "DiscountAmt",
}
HOME_CURRENCY = {"value": "USD", "name": "United States Dollar"}
DEFAULT_CUSTOM_FIELDS = {"1": "Crew Lead", "2": "PO Number", "3": "Sales Rep"}
CDC_ENTITIES = ("Customer", "Invoice", "Item", "Vendor", "Employee", "Term")
CDC_MAX_OBJECTS = 1000  # Intuit: "a maximum of 1,000 objects" per response
CDC_LOOKBACK = timedelta(days=30)
SERVICES_ITEM_ID = "1"


def _cents(value: Any, element: str) -> Decimal:
    if isinstance(value, bool) or value is None or value == "":
        raise UnsupportedProperty(f"Property Name:{element} specified value is not supported", element)
    try:
        return Decimal(str(value)).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)
    except InvalidOperation:
        raise UnsupportedProperty(f"Property Name:{element} specified value is not supported", element) from None


def _number(value: Any, element: str) -> Decimal:
    if isinstance(value, bool):
        raise UnsupportedProperty(f"Property Name:{element} specified value is not supported", element)
    try:
        return Decimal(str(value))
    except InvalidOperation:
        raise UnsupportedProperty(f"Property Name:{element} specified value is not supported", element) from None


def _json_number(value: Decimal) -> float | int:
    return int(value) if value == value.to_integral_value() and abs(value) < 10**15 else float(value)


def _money(value: Decimal) -> float:
    return float(value.quantize(Decimal("0.01")))


def _clean_sub(kind: str, name: str, value: Any, max_len: int) -> dict[str, Any] | None:
    """Validate a nested object (address, phone, ref...) and drop its empty members, as QBO stores it."""
    if not isinstance(value, dict):
        raise UnsupportedProperty(f"Property Name:{name} specified value is not supported", name)
    allowed = _SUBOBJECT_KEYS[kind]
    out: dict[str, Any] = {}
    for key, member in value.items():
        if key not in allowed:
            raise UnsupportedProperty(
                f'Property Name:Unrecognized field "{key}" in {name} specified is unsupported or invalid', name
            )
        if member is None or member == "":
            continue
        if not isinstance(member, str | int | float) or isinstance(member, bool):
            raise UnsupportedProperty(f"Property Name:{name}.{key} specified value is not supported", name)
        out[key] = str(member)
    limit = _SUBOBJECT_LIMITS.get(kind)
    if limit and limit[0] in out and len(out[limit[0]]) > limit[1]:
        raise StringLengthInvalid.of(f"{name}.{limit[0]}", limit[1], len(out[limit[0]]))
    if kind == "memo" and len(out.get("value", "")) > max_len:
        raise StringLengthInvalid.of(name, max_len, len(out["value"]))
    if kind in ("ref", "memo") and not out.get("value"):
        return None
    return out or None


def _clean_fields(
    body: Record, fields: dict[str, tuple[str, int]], read_only: set[str], entity: str, nested: tuple[str, ...] = ()
) -> dict[str, Any]:
    """The writable fields of ``body``, validated; ``None`` marks a field sent empty (to clear it)."""
    out: dict[str, Any] = {}
    for name, value in body.items():
        if name in read_only or name in nested:
            continue  # read-only: QBO computes it; nested: validated by the entity's own rules
        if name not in fields:
            raise UnsupportedProperty.unrecognized(name, entity)
        kind, max_len = fields[name]
        if value is None or value == "":
            out[name] = None
        elif kind == "str":
            if not isinstance(value, str | int | float) or isinstance(value, bool):
                raise UnsupportedProperty(f"Property Name:{name} specified value is not supported", name)
            text = str(value)
            if len(text) > max_len:
                raise StringLengthInvalid.of(name, max_len, len(text))
            out[name] = text
        elif kind == "bool":
            if not isinstance(value, bool):
                raise UnsupportedProperty(f"Property Name:{name} specified value is not supported", name)
            out[name] = value
        elif kind == "date":
            try:
                out[name] = date.fromisoformat(str(value)[:10]).isoformat()
            except ValueError:
                raise UnsupportedProperty(
                    f"Property Name:Failed to parse date {value!r} for {name} specified value is not supported",
                    name,
                ) from None
        else:
            out[name] = _clean_sub(kind, name, value, max_len)
    return out


def _name_key(name: str) -> str:
    return " ".join(name.split()).casefold()


# --- the backend ------------------------------------------------------------------------------------------


class RealmBackend:
    """One QuickBooks company: its lists, invoices, tombstones and rules.

    Public dicts (``customers``, ``invoices``, ``items``, ``vendors``, ``employees``, ``terms``) map
    Id to the record as QBO returns it. Read them freely in tests; change data through the helper
    methods (``add_customer``, ``edit_customer``, ``record_payment``...) so SyncToken and MetaData
    move as they would when a person edits the company in QuickBooks.
    """

    def __init__(
        self,
        realm_id: str,
        clock: Clock | None = None,
        company_name: str = "Sunrise Solar & HVAC",
        custom_fields: dict[str, str] | None = None,
        inactive_name_suffix: str = " (deleted)",
        auto_doc_number: bool = True,
        check_duplicate_doc_number: bool = False,
        home_currency: str = "USD",
        multicurrency: bool = False,
        currencies: Iterable[str] = (),
        custom_txn_numbers: bool = True,
    ) -> None:
        self.realm_id = realm_id
        self.clock = clock or Clock()
        self.company_name = company_name
        self.custom_field_definitions = dict(DEFAULT_CUSTOM_FIELDS if custom_fields is None else custom_fields)
        self.inactive_name_suffix = inactive_name_suffix
        self.auto_doc_number = auto_doc_number
        self.check_duplicate_doc_number = check_duplicate_doc_number
        # Preferences.CurrencyPrefs: the home currency, and whether other currencies may be used at all.
        self.home_currency = home_currency
        self.multicurrency = multicurrency
        # Preferences.SalesFormsPrefs.CustomTxnNumbers: off, QBO numbers every new sale itself.
        self.custom_txn_numbers = custom_txn_numbers
        self.lock = threading.RLock()
        self.customers: dict[str, Record] = {}
        self.invoices: dict[str, Record] = {}
        self.items: dict[str, Record] = {}
        self.vendors: dict[str, Record] = {}
        self.employees: dict[str, Record] = {}
        self.terms: dict[str, Record] = {}
        self.company_currencies: dict[str, Record] = {}
        self.tombstones: dict[str, dict[str, Record]] = {"Invoice": {}}
        self.stats: dict[str, int] = {"reads": 0, "writes": 0}
        self._next_ids: dict[str, int] = {}
        self._next_payment = 1
        # Indexes that keep 10,000-record companies fast: name -> owner, customer -> invoices.
        self._names: dict[str, tuple[str, str]] = {}
        self._customer_invoices: dict[str, set[str]] = {}
        self._doc_seq = 1000
        self._batch_local = threading.local()
        # Late commits: with ``visibility_delay`` (seconds) > 0, a customer or invoice written from
        # then on reaches queries and CDC only that long after its LastUpdatedTime; until then they
        # answer the version before it (nothing, for a new one). (entity, Id) -> (visible at, before).
        self.visibility_delay = 0.0
        self._late: dict[tuple[str, str], tuple[datetime, Record | None]] = {}
        for code in currencies:
            self.add_currency(code)
        now = self.clock.now()
        self.company_info: Record = {
            "Id": "1", "SyncToken": "0", "domain": "QBO", "sparse": False,
            "CompanyName": company_name, "LegalName": company_name + " LLC",
            "CompanyAddr": {"Id": "1", "Line1": "2150 Harbor Blvd", "City": "Costa Mesa",
                            "CountrySubDivisionCode": "CA", "PostalCode": "92627", "Country": "US"},
            "Country": "US", "Email": {"Address": "office@sunrise-solar.example"},
            "PrimaryPhone": {"FreeFormNumber": "(714) 555-0142"},
            "FiscalYearStartMonth": "January", "SupportedLanguages": "en",
            "CompanyStartDate": (now - timedelta(days=6 * 365)).date().isoformat(),
            "MetaData": {"CreateTime": qbo_timestamp(now - timedelta(days=6 * 365)),
                         "LastUpdatedTime": qbo_timestamp(now - timedelta(days=30))},
        }

    # -- plumbing -------------------------------------------------------------------------------------

    def table(self, entity: str) -> dict[str, Record]:
        return {
            "Customer": self.customers, "Invoice": self.invoices, "Item": self.items,
            "Vendor": self.vendors, "Employee": self.employees, "Term": self.terms,
            "CompanyCurrency": self.company_currencies,
        }[entity]

    def next_id(self, entity: str) -> str:
        """QBO numbers each entity on its own sequence and never reuses an Id (deleted ones included)."""
        if entity not in self._next_ids:
            table = self.table(entity) if entity in CDC_ENTITIES else {}
            self._next_ids[entity] = max((int(k) for k in table if k.isdigit()), default=0) + 1
        value = self._next_ids[entity]
        self._next_ids[entity] = value + 1
        return str(value)

    def _stamp(self, record: Record, created: bool = False, when: datetime | None = None,
               entity: str | None = None) -> None:
        if self.visibility_delay > 0 and entity is not None:
            self._hold_back(entity, record["Id"], when or self.clock.now())
        stamp = qbo_timestamp(when or self.clock.now())
        meta = record.setdefault("MetaData", {})
        if created:
            meta["CreateTime"] = stamp
        meta["LastUpdatedTime"] = stamp

    def _bump(self, record: Record, entity: str | None = None) -> None:
        record["SyncToken"] = str(int(record.get("SyncToken", "0")) + 1)
        self._stamp(record, entity=entity)

    def _hold_back(self, entity: str, record_id: str, stamped: datetime) -> None:
        """Keep the version list reads answer until ``stamped + visibility_delay`` (a commit that lands late)."""
        key = (entity, str(record_id))
        now = self.clock.now()
        pending = self._late.get(key)
        if pending is not None and pending[0] > now:
            before = pending[1]  # still not visible: the readers keep seeing the older version
        else:
            current = self.table(entity).get(str(record_id))
            before = copy.deepcopy(current) if current is not None else None
        self._late[key] = (stamped + timedelta(seconds=self.visibility_delay), before)

    def _as_listed(self, entity: str, records: list[Record]) -> list[Record]:
        """What a list read (query, CDC) sees now: versions whose commit is not visible yet are replaced."""
        if not self._late:
            return records
        now = self.clock.now()
        for key in [k for k, (at, _) in self._late.items() if at <= now]:
            del self._late[key]
        listed = []
        for record in records:
            pending = self._late.get((entity, str(record.get("Id"))))
            if pending is None:
                listed.append(record)
            elif pending[1] is not None:
                listed.append(pending[1])
        return listed

    @contextmanager
    def batch_scope(self) -> Iterator[None]:
        """Inside a batch, items see only what existed when the batch began (QBO's batch isolation)."""
        self._batch_local.snapshot = {e: set(self.table(e)) for e in CDC_ENTITIES}
        try:
            yield
        finally:
            self._batch_local.snapshot = None

    def _visible(self, entity: str, record_id: str) -> Record | None:
        record = self.table(entity).get(record_id)
        snapshot = getattr(self._batch_local, "snapshot", None)
        if record is not None and snapshot is not None and record_id not in snapshot[entity]:
            return None
        return record

    def counts(self) -> dict[str, int]:
        with self.lock:
            return {**self.stats, "customers": len(self.customers), "invoices": len(self.invoices)}

    # -- reads ----------------------------------------------------------------------------------------

    def get(self, entity: str, record_id: str) -> Record:
        with self.lock:
            self.stats["reads"] += 1
            record = self.table(entity).get(str(record_id))
            if record is None:
                raise ObjectNotFound(entity.lower() + "s")
            return copy.deepcopy(record)

    def get_company_info(self, company_id: str) -> Record:
        with self.lock:
            self.stats["reads"] += 1
            if str(company_id) != self.realm_id:
                raise ObjectNotFound("companies")
            return copy.deepcopy(self.company_info)

    def preferences(self) -> Record:
        """The slice of Preferences a connector needs: custom field names and currency settings."""
        with self.lock:
            self.stats["reads"] += 1
            custom: list[Record] = []
            for number in ("1", "2", "3"):
                name = self.custom_field_definitions.get(number)
                custom.append({"Name": f"SalesFormsPrefs.UseSalesCustom{number}", "Type": "BooleanType",
                               "BooleanValue": name is not None})
                if name is not None:
                    custom.append({"Name": f"SalesFormsPrefs.SalesCustomName{number}", "Type": "StringType",
                                   "StringValue": name})
            return {
                "Id": "1", "SyncToken": "0", "domain": "QBO", "sparse": False,
                "SalesFormsPrefs": {"CustomField": [{"CustomField": custom}],
                                    "CustomTxnNumbers": self.custom_txn_numbers,
                                    "AllowDeposit": False, "AllowDiscount": False},
                "CurrencyPrefs": {"MultiCurrencyEnabled": self.multicurrency,
                                  "HomeCurrency": {"value": self.home_currency}},
                "MetaData": copy.deepcopy(self.company_info["MetaData"]),
            }

    def query(self, text: str) -> qbo_query.Result:
        parsed = qbo_query.parse(text)
        entity = qbo_query.canonical_entity(parsed.entity)
        with self.lock:
            self.stats["reads"] += 1
            records = ([self.company_info] if entity == "CompanyInfo"
                       else self._as_listed(entity, list(self.table(entity).values())))
            result = qbo_query.execute(parsed, records, PACIFIC)
            return qbo_query.Result(
                result.entity, result.count, copy.deepcopy(result.rows), result.start_position, result.max_results
            )

    def cdc(self, entities: list[str], changed_since: str) -> list[Record]:
        """Objects of ``entities`` changed at or after ``changed_since`` (deleted invoices as tombstones)."""
        wanted: list[str] = []
        for name in entities:
            match = next((e for e in CDC_ENTITIES if e.lower() == name.strip().lower()), None)
            if match is None:
                raise BusinessValidation(f"Entity {name.strip()} is not supported by change data capture")
            if match not in wanted:
                wanted.append(match)
        if not wanted:
            raise RequiredParamMissing.of("entities")
        if not changed_since:
            raise RequiredParamMissing.of("changedSince")
        since = qbo_query.parse_instant(changed_since, PACIFIC)
        if since is None:
            raise UnsupportedProperty(
                f"Property Name:changedSince {changed_since!r} is not a valid date", "changedSince"
            )
        with self.lock:
            self.stats["reads"] += 1
            now = self.clock.now()
            if since < now - CDC_LOOKBACK:
                raise BusinessValidation(
                    "The changedSince date must be within the last 30 days; use a query to read older changes",
                    "changedSince",
                )
            answer: list[Record] = []
            room = CDC_MAX_OBJECTS  # per answer, all entities together
            for entity in wanted:
                changed = [
                    (self._updated(r), r) for r in self._as_listed(entity, list(self.table(entity).values()))
                    if self._updated(r) >= since
                ]
                changed += [
                    (self._updated(t), t) for t in self.tombstones.get(entity, {}).values() if self._updated(t) >= since
                ]
                if not changed:
                    continue
                changed.sort(key=lambda pair: (pair[0], qbo_query._id_key(pair[1]["Id"])))
                rows = [copy.deepcopy(r) for _, r in changed[:room]]
                if not rows:
                    break
                room -= len(rows)
                answer.append({entity: rows, "startPosition": 1, "maxResults": len(rows)})
            return answer or [{}]

    @staticmethod
    def _updated(record: Record) -> datetime:
        stamp = qbo_query.parse_instant(record["MetaData"]["LastUpdatedTime"], PACIFIC)
        assert stamp is not None
        return stamp

    # -- writes: dispatch -------------------------------------------------------------------------------

    def write(self, entity: str, operation: str | None, body: Any) -> Record:
        """POST ``/{entity}[?operation=...]``: create, update (when the body has an Id), delete or void."""
        if not isinstance(body, dict):
            raise UnsupportedProperty("Property Name:request body must be a JSON object", entity)
        op = (operation or ("update" if body.get("Id") not in (None, "") else "create")).lower()
        handlers: dict[tuple[str, str], Callable[[Record], Record]] = {
            ("Customer", "create"): self.create_customer,
            ("Customer", "update"): self.update_customer,
            ("Invoice", "create"): self.create_invoice,
            ("Invoice", "update"): self.update_invoice,
            ("Invoice", "delete"): self.delete_invoice,
            ("Invoice", "void"): self.void_invoice,
        }
        handler = handlers.get((entity, op))
        if handler is None:
            raise UnsupportedOperation(f"{op.capitalize()} {entity}")
        return handler(body)

    def _existing(self, entity: str, body: Record) -> Record:
        if body.get("Id") in (None, ""):
            raise RequiredParamMissing.of("Id")
        record = self._visible(entity, str(body["Id"]))
        if record is None:
            raise ObjectNotFound(entity.lower() + "s")
        if body.get("SyncToken") in (None, ""):
            raise RequiredParamMissing.of("SyncToken")
        if str(body["SyncToken"]) != record["SyncToken"]:
            raise StaleObject()
        return record

    # -- customers --------------------------------------------------------------------------------------

    def create_customer(self, body: Record) -> Record:
        with self.lock:
            self.stats["writes"] += 1
            fields = _clean_fields(body, CUSTOMER_FIELDS, CUSTOMER_READ_ONLY, "Customer")
            self._check_currency(fields.get("CurrencyRef"))
            record: Record = {"Id": self.next_id("Customer"), "SyncToken": "0", "domain": "QBO", "sparse": False}
            base = self._apply_customer(record, {k: v for k, v in fields.items() if v is not None}, None)
            self._stamp(record, created=True, entity="Customer")
            self.customers[record["Id"]] = record
            self._index_name("Customer", record["Id"], None, base)
            return copy.deepcopy(record)

    def update_customer(self, body: Record) -> Record:
        with self.lock:
            self.stats["writes"] += 1
            existing = self._existing("Customer", body)
            fields = _clean_fields(body, CUSTOMER_FIELDS, CUSTOMER_READ_ONLY, "Customer")
            currency = fields.get("CurrencyRef")
            if currency and currency["value"] != existing["CurrencyRef"]["value"]:
                raise BusinessValidation("You can't change the currency of an existing customer", "CurrencyRef")
            fields.pop("CurrencyRef", None)  # settable only on create
            if body.get("sparse") is True:
                merged = {
                    k: copy.deepcopy(v) for k, v in existing.items() if k in CUSTOMER_FIELDS and k != "CurrencyRef"
                }
                merged.update(fields)
                # A sparse rename of an inactive customer keeps it inactive (and suffixed).
                if "DisplayName" not in fields and merged.get("DisplayName"):
                    merged["DisplayName"] = self._base_name(existing)
            else:
                merged = dict(fields)  # full update: what is not sent is cleared
            record = {
                k: copy.deepcopy(v) for k, v in existing.items()
                if k in ("Id", "SyncToken", "domain", "sparse", "MetaData", "CurrencyRef")
            }
            base = self._apply_customer(record, {k: v for k, v in merged.items() if v is not None}, existing["Id"])
            self._bump(record, entity="Customer")
            self.customers[record["Id"]] = record
            self._index_name("Customer", record["Id"], self._base_name(existing), base)
            self._refresh_customer_balance(record["Id"])
            return copy.deepcopy(record)

    def _apply_customer(self, record: Record, fields: Record, self_id: str | None) -> str:
        """Shared create/update rules: names, references, uniqueness, computed fields.

        Returns the DisplayName without the inactive suffix (the name uniqueness is about).
        """
        display = fields.get("DisplayName")
        active = fields.get("Active", True)
        if display and self.inactive_name_suffix and display.endswith(self.inactive_name_suffix):
            display = display[: -len(self.inactive_name_suffix)]  # a client re-sending what it read
        if not display:
            if not any(fields.get(part) for part in NAME_PARTS):
                raise RequiredParamMissing(
                    "Required parameter DisplayName (or at least one of Title, GivenName, MiddleName, FamilyName,"
                    " Suffix) is missing in the request",
                    element="DisplayName",
                )
            display = " ".join(fields[p] for p in NAME_PARTS if fields.get(p))
            if len(display) > 500:
                raise StringLengthInvalid.of("DisplayName", 500, len(display))
        self._check_name_unique(display, ("Customer", self_id))
        for ref_name, entity in (("SalesTermRef", "Term"), ("ParentRef", "Customer")):
            ref = fields.get(ref_name)
            if ref:
                target = self._visible(entity, ref["value"])
                if target is None or (entity == "Customer" and ref["value"] == self_id):  # no self-parenting
                    raise InvalidReference.missing(entity, ref["value"], ref_name)
                ref["name"] = target.get("DisplayName") or target.get("Name", "")
        parent = fields.get("ParentRef")
        for key in list(record):
            if key in CUSTOMER_FIELDS and key != "CurrencyRef":
                del record[key]
        record.update(copy.deepcopy(fields))
        record["Active"] = active
        record["Job"] = bool(parent) or fields.get("Job", False)
        record["BillWithParent"] = fields.get("BillWithParent", False)
        record["DisplayName"] = display + (self.inactive_name_suffix if not active else "")
        record.setdefault("PrintOnCheckName", display)
        parent_record = self.customers[parent["value"]] if parent else None
        if parent_record is not None:
            record["FullyQualifiedName"] = f"{self._base_name(parent_record)}:{record['DisplayName']}"
            record["Level"] = int(parent_record.get("Level", 0)) + 1
        else:
            record["FullyQualifiedName"] = record["DisplayName"]
            record["Level"] = 0
        record.setdefault("CurrencyRef", self._home_ref())
        record.setdefault("PreferredDeliveryMethod", "Print")
        record["IsProject"] = False
        record.setdefault("Balance", 0)
        record.setdefault("BalanceWithJobs", 0)
        for address in ("BillAddr", "ShipAddr"):
            if address in record:
                record[address].setdefault("Id", self.next_id("Address"))
        return display

    def _base_name(self, record: Record) -> str:
        name = record.get("DisplayName", "")
        suffix = self.inactive_name_suffix
        if suffix and record.get("Active") is False and name.endswith(suffix):
            return name[: -len(suffix)]
        return name

    def _check_name_unique(self, display: str, me: tuple[str, str | None]) -> None:
        """DisplayName is unique across customers, vendors and employees, inactive ones included."""
        owner = self._names.get(_name_key(display))
        if owner is not None and owner != me:
            raise DuplicateName(owner[1])

    def _index_name(self, entity: str, record_id: str, old: str | None, new: str) -> None:
        if old is not None and self._names.get(_name_key(old)) == (entity, record_id):
            del self._names[_name_key(old)]
        self._names[_name_key(new)] = (entity, record_id)

    def _refresh_customer_balance(self, customer_id: str) -> None:
        # QBO keeps Customer.Balance equal to the open balance of its invoices; this does not
        # bump the customer's SyncToken (only an edit of the customer does).
        customer = self.customers.get(customer_id)
        if customer is None:
            return
        ids = self._customer_invoices.get(customer_id, set())
        total = sum((Decimal(str(self.invoices[i]["Balance"])) for i in ids), Decimal("0"))
        customer["Balance"] = customer["BalanceWithJobs"] = _money(total)

    # -- invoices ---------------------------------------------------------------------------------------

    def create_invoice(self, body: Record) -> Record:
        with self.lock:
            self.stats["writes"] += 1
            fields = _clean_fields(body, INVOICE_FIELDS, INVOICE_READ_ONLY, "Invoice", ("Line", "CustomField"))
            record: Record = {"Id": self.next_id("Invoice"), "SyncToken": "0", "domain": "QBO", "sparse": False}
            self._apply_invoice(record, {k: v for k, v in fields.items() if v is not None}, body, None)
            self._stamp(record, created=True, entity="Invoice")
            self.invoices[record["Id"]] = record
            self._customer_invoices.setdefault(record["CustomerRef"]["value"], set()).add(record["Id"])
            self._refresh_customer_balance(record["CustomerRef"]["value"])
            return copy.deepcopy(record)

    def update_invoice(self, body: Record) -> Record:
        with self.lock:
            self.stats["writes"] += 1
            existing = self._existing("Invoice", body)
            fields = _clean_fields(body, INVOICE_FIELDS, INVOICE_READ_ONLY, "Invoice", ("Line", "CustomField"))
            if body.get("sparse") is True:
                merged = {k: copy.deepcopy(v) for k, v in existing.items() if k in INVOICE_FIELDS}
                merged.update(fields)
                source = {**({"Line": existing["Line"]} if "Line" in existing else {}), **body}
                # Sparse: custom fields not sent keep their values (they are matched by DefinitionId).
                kept = {f["DefinitionId"]: f["StringValue"] for f in existing.get("CustomField", [])
                        if "StringValue" in f}
            else:
                merged, source, kept = dict(fields), body, {}
            record = {k: copy.deepcopy(v) for k, v in existing.items()
                      if k in ("Id", "SyncToken", "domain", "sparse", "MetaData", "LinkedTxn")}
            paid = Decimal(str(existing["TotalAmt"])) - Decimal(str(existing["Balance"]))
            self._apply_invoice(
                record, {k: v for k, v in merged.items() if v is not None}, source, existing, paid, kept
            )
            self._bump(record, entity="Invoice")
            self.invoices[record["Id"]] = record
            old_customer, new_customer = existing["CustomerRef"]["value"], record["CustomerRef"]["value"]
            self._customer_invoices.setdefault(old_customer, set()).discard(record["Id"])
            self._customer_invoices.setdefault(new_customer, set()).add(record["Id"])
            self._refresh_customer_balance(new_customer)
            if old_customer != new_customer:
                self._refresh_customer_balance(old_customer)
            return copy.deepcopy(record)

    def delete_invoice(self, body: Record) -> Record:
        with self.lock:
            self.stats["writes"] += 1
            existing = self._existing("Invoice", body)
            del self.invoices[existing["Id"]]
            tombstone: Record = {"Id": existing["Id"], "status": "Deleted", "domain": "QBO",
                                 "MetaData": {"LastUpdatedTime": qbo_timestamp(self.clock.now())}}
            self.tombstones["Invoice"][existing["Id"]] = tombstone
            self._customer_invoices.get(existing["CustomerRef"]["value"], set()).discard(existing["Id"])
            self._refresh_customer_balance(existing["CustomerRef"]["value"])
            return {"Id": existing["Id"], "status": "Deleted", "domain": "QBO"}

    def void_invoice(self, body: Record) -> Record:
        with self.lock:
            self.stats["writes"] += 1
            existing = self._existing("Invoice", body)
            for line in existing["Line"]:
                if "Amount" in line:
                    line["Amount"] = 0
                detail = line.get("SalesItemLineDetail")
                if detail and "Qty" in detail:
                    detail["Qty"] = 0
            existing["TotalAmt"] = existing["Balance"] = 0
            existing["PrivateNote"] = "Voided"
            self._bump(existing)
            self._refresh_customer_balance(existing["CustomerRef"]["value"])
            return copy.deepcopy(existing)

    def _apply_invoice(
        self,
        record: Record,
        fields: Record,
        body: Record,
        existing: Record | None,
        paid: Decimal = Decimal(0),
        kept_custom: dict[str, str] | None = None,
    ) -> None:
        customer_ref = fields.get("CustomerRef")
        if not customer_ref:
            raise RequiredParamMissing.of("CustomerRef")
        customer = self._visible("Customer", customer_ref["value"])
        if customer is None:
            raise InvalidReference.missing("Customer", customer_ref["value"], "CustomerRef")
        if customer.get("Active") is False:
            raise InvalidReference.inactive("CustomerRef")
        customer_ref["name"] = customer["DisplayName"]
        # A new invoice takes the customer's default terms when it names none.
        term_ref = fields.get("SalesTermRef")
        if term_ref is None and existing is None:
            term_ref = copy.deepcopy(customer.get("SalesTermRef"))
        term = None
        if term_ref:
            term = self._visible("Term", term_ref["value"])
            if term is None:
                raise InvalidReference.missing("Term", term_ref["value"], "SalesTermRef")
            term_ref["name"] = term["Name"]
            fields["SalesTermRef"] = term_ref
        if fields.get("CurrencyRef") and fields["CurrencyRef"]["value"] != customer["CurrencyRef"]["value"]:
            raise BusinessValidation("The currency of a transaction must be the currency of its customer",
                                     "CurrencyRef")
        lines, total = self._invoice_lines(body.get("Line"), existing)
        custom = self._custom_fields(body.get("CustomField"), kept_custom or {})
        txn_date = fields.get("TxnDate") or self.clock.now().astimezone(PACIFIC).date().isoformat()
        if "DueDate" not in fields:
            days = int(term.get("DueDays", 0)) if term else 0
            fields["DueDate"] = (date.fromisoformat(txn_date) + timedelta(days=days)).isoformat()
        doc = fields.get("DocNumber")
        # Custom transaction numbers off: QBO numbers a new sale itself. A number sent anyway is used as
        # sent, unchecked (Intuit: "do not send a value as it can lead to unwanted duplicates").
        if existing is None and doc is None and (self.auto_doc_number or not self.custom_txn_numbers):
            doc = self._next_doc_number()
        if doc is not None:
            fields["DocNumber"] = doc
            if doc.isdigit():
                self._doc_seq = max(self._doc_seq, int(doc))
            if self.check_duplicate_doc_number and self.custom_txn_numbers:
                clash = next((i for i in self.invoices.values()
                              if i.get("DocNumber") == doc and i["Id"] != record["Id"]), None)
                if clash is not None:
                    raise DuplicateDocNumber(doc, clash["Id"])
        if existing is None:
            # QBO copies the customer's billing address and email onto a new invoice.
            if "BillAddr" not in fields and customer.get("BillAddr"):
                fields["BillAddr"] = {k: v for k, v in customer["BillAddr"].items() if k != "Id"}
            if "BillEmail" not in fields and customer.get("PrimaryEmailAddr"):
                fields["BillEmail"] = dict(customer["PrimaryEmailAddr"])
        for address in ("BillAddr", "ShipAddr"):
            if address in fields:
                fields[address].setdefault("Id", self.next_id("Address"))
        if total < paid:
            raise BusinessValidation(
                f"The invoice total {total} is less than the {paid} already paid on it", "Line"
            )
        record.update(fields)
        record["TxnDate"] = txn_date
        record["CustomField"] = custom
        record["Line"] = lines
        record["TotalAmt"] = _money(total)
        record["Balance"] = _money(total - paid)
        record.setdefault("LinkedTxn", [])
        record.setdefault("CurrencyRef", self._home_ref())
        record.setdefault("PrintStatus", "NotSet")
        record.setdefault("EmailStatus", "NotSet")
        record["TxnTaxDetail"] = {"TotalTax": 0}
        record["ApplyTaxAfterDiscount"] = False

    def _home_ref(self) -> Record:
        names = {"USD": "United States Dollar", "CAD": "Canadian Dollar", "EUR": "Euro",
                 "GBP": "British Pound Sterling"}
        return {"value": self.home_currency, "name": names.get(self.home_currency, self.home_currency)}

    def _check_currency(self, ref: Record | None) -> None:
        """A customer's currency: the home one, or (multicurrency on) one of the company's active currencies."""
        if not ref or ref.get("value") == self.home_currency:
            return
        if not self.multicurrency:
            raise BusinessValidation("Multicurrency is not enabled for this company", "CurrencyRef")
        if not any(c["Code"] == ref.get("value") and c.get("Active", True) for c in self.company_currencies.values()):
            raise InvalidReference.missing("Currency", str(ref.get("value")), "CurrencyRef")

    def add_currency(self, code: str, name: str | None = None) -> Record:
        """Add a currency to the company's currency list (Settings > Currencies; multicurrency on)."""
        with self.lock:
            record: Record = {"Id": self.next_id("CompanyCurrency"), "SyncToken": "0", "domain": "QBO",
                              "sparse": False, "Code": code, "Name": name or code, "Active": True}
            self._stamp(record, created=True)
            self.company_currencies[record["Id"]] = record
            return copy.deepcopy(record)

    def _next_doc_number(self) -> str:
        return str(self._doc_seq + 1)

    def _invoice_lines(self, raw: Any, existing: Record | None) -> tuple[list[Record], Decimal]:
        if raw in (None, []):
            raise RequiredParamMissing.of("Line")
        if not isinstance(raw, list):
            raise UnsupportedProperty("Property Name:Line specified value is not supported", "Line")
        known_ids = {line["Id"] for line in (existing or {}).get("Line", []) if "Id" in line}
        next_line = max((int(i) for i in known_ids if i.isdigit()), default=0) + 1
        lines: list[Record] = []
        total = Decimal("0")
        for line in raw:
            if not isinstance(line, dict):
                raise UnsupportedProperty("Property Name:Line specified value is not supported", "Line")
            unknown = set(line) - LINE_KEYS
            if unknown:
                raise UnsupportedProperty.unrecognized(sorted(unknown)[0], "Line")
            detail_type = line.get("DetailType")
            if not detail_type:
                raise RequiredParamMissing.of("Line.DetailType")
            if detail_type == "SubTotalLineDetail":
                continue  # QBO recomputes the subtotal line
            if detail_type in ("DiscountLineDetail", "GroupLineDetail"):
                raise BusinessValidation(f"{detail_type} lines are not modelled by the sandbox", "Line.DetailType")
            if detail_type == "DescriptionOnly":
                out: Record = {"DetailType": "DescriptionOnly", "DescriptionLineDetail": {}}
                if line.get("Description"):
                    out["Description"] = str(line["Description"])[:4000]
            elif detail_type == "SalesItemLineDetail":
                out, amount = self._sales_line(line)
                total += amount
            else:
                raise UnsupportedProperty(
                    f"Property Name:DetailType {detail_type} specified value is not supported", "Line.DetailType"
                )
            line_id = str(line.get("Id") or "")
            if line_id not in known_ids:
                line_id = str(next_line)
                next_line += 1
            known_ids.add(line_id)
            lines.append({"Id": line_id, "LineNum": len(lines) + 1, **out})
        if not any(line["DetailType"] == "SalesItemLineDetail" for line in lines):
            raise RequiredParamMissing.of("Line")
        lines.append({"Amount": _money(total), "DetailType": "SubTotalLineDetail", "SubTotalLineDetail": {}})
        return lines, total

    def _sales_line(self, line: Record) -> tuple[Record, Decimal]:
        if line.get("Amount") is None:
            raise RequiredParamMissing.of("Line.Amount")
        amount = _cents(line["Amount"], "Line.Amount")
        detail = line.get("SalesItemLineDetail")
        if not isinstance(detail, dict):
            raise RequiredParamMissing.of("SalesItemLineDetail")
        unknown = set(detail) - SALES_ITEM_DETAIL_KEYS
        if unknown:
            raise UnsupportedProperty.unrecognized(sorted(unknown)[0], "SalesItemLineDetail")
        item_ref = _clean_sub("ref", "ItemRef", detail.get("ItemRef") or {}, 0) or {"value": SERVICES_ITEM_ID}
        item = self._visible("Item", item_ref["value"])
        if item is None:
            raise InvalidReference.missing("Item", item_ref["value"], "ItemRef")
        if item.get("Active") is False:
            raise InvalidReference.inactive("ItemRef")
        out_detail: Record = {"ItemRef": {"value": item["Id"], "name": item["Name"]}}
        if item.get("IncomeAccountRef"):
            out_detail["ItemAccountRef"] = dict(item["IncomeAccountRef"])
        qty = _number(detail["Qty"], "Qty") if detail.get("Qty") not in (None, "") else None
        price = _number(detail["UnitPrice"], "UnitPrice") if detail.get("UnitPrice") not in (None, "") else None
        # Checked only when both are given and non-zero: clients such as python-quickbooks send
        # Qty 0 and UnitPrice 0 as defaults with an explicit Amount, which QBO accepts.
        if qty and price:
            expected = (qty * price).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)
            if expected != amount:
                raise AmountMismatch(str(amount), str(price), str(qty))
        if qty:
            out_detail["Qty"] = _json_number(qty)
        if price:
            out_detail["UnitPrice"] = _json_number(price)
        if detail.get("ServiceDate"):
            try:
                out_detail["ServiceDate"] = date.fromisoformat(str(detail["ServiceDate"])[:10]).isoformat()
            except ValueError:
                raise UnsupportedProperty("Property Name:ServiceDate specified value is not supported",
                                          "ServiceDate") from None
        out_detail["TaxCodeRef"] = _clean_sub("ref", "TaxCodeRef", detail.get("TaxCodeRef") or {}, 0) or {
            "value": "NON"}
        out: Record = {"Amount": _money(amount), "DetailType": "SalesItemLineDetail",
                       "SalesItemLineDetail": out_detail}
        if line.get("Description"):
            out["Description"] = str(line["Description"])[:4000]
        return out, amount

    def _custom_fields(self, raw: Any, kept: dict[str, str]) -> list[Record]:
        """Up to three string custom fields, by DefinitionId of the ones the company defined."""
        values = dict(kept)
        if raw not in (None, ""):
            if not isinstance(raw, list):
                raise UnsupportedProperty("Property Name:CustomField specified value is not supported", "CustomField")
            for field in raw:
                if not isinstance(field, dict) or set(field) - {"DefinitionId", "Name", "Type", "StringValue"}:
                    raise UnsupportedProperty("Property Name:CustomField specified value is not supported",
                                              "CustomField")
                definition = str(field.get("DefinitionId") or "")
                if definition not in self.custom_field_definitions:
                    raise BusinessValidation(
                        f"Custom field DefinitionId {definition or '(none)'} is not defined for this company",
                        "CustomField",
                    )
                if field.get("Type") not in (None, "", "StringType"):
                    raise UnsupportedProperty(
                        f"Property Name:CustomField.Type {field['Type']} specified value is not supported",
                        "CustomField",
                    )
                value = field.get("StringValue")
                if value not in (None, ""):
                    values[definition] = str(value)
                else:
                    values.pop(definition, None)
        out: list[Record] = []
        for definition, name in sorted(self.custom_field_definitions.items()):
            entry: Record = {"DefinitionId": definition, "Name": name, "Type": "StringType"}
            if definition in values:
                entry["StringValue"] = values[definition]
            out.append(entry)
        return out

    # -- helpers for tests and seeding: what a person does in QuickBooks' own screens ---------------------

    def add_customer(self, **fields: Any) -> Record:
        """Create a customer as a user would (same rules as the API)."""
        return self.create_customer(fields)

    def edit_customer(self, customer_id: str, **changes: Any) -> Record:
        """Change a customer as a user would in the UI: SyncToken and LastUpdatedTime move."""
        with self.lock:
            current = self.customers[str(customer_id)]
            return self.update_customer({"Id": current["Id"], "SyncToken": current["SyncToken"], "sparse": True,
                                         **changes})

    def deactivate_customer(self, customer_id: str) -> Record:
        return self.edit_customer(customer_id, Active=False)

    def add_invoice(self, customer_id: str, lines: list[tuple[str, float, float]], **fields: Any) -> Record:
        """Create an invoice from ``(item_id, qty, unit_price)`` lines."""
        body: Record = {
            "CustomerRef": {"value": str(customer_id)},
            "Line": [
                {"DetailType": "SalesItemLineDetail", "Amount": float(Decimal(str(q)) * Decimal(str(p))),
                 "SalesItemLineDetail": {"ItemRef": {"value": str(item)}, "Qty": q, "UnitPrice": p}}
                for item, q, p in lines
            ],
            **fields,
        }
        return self.create_invoice(body)

    def edit_invoice(self, invoice_id: str, **changes: Any) -> Record:
        with self.lock:
            current = self.invoices[str(invoice_id)]
            return self.update_invoice({"Id": current["Id"], "SyncToken": current["SyncToken"], "sparse": True,
                                        **changes})

    def delete_invoice_as_user(self, invoice_id: str) -> None:
        with self.lock:
            current = self.invoices[str(invoice_id)]
            self.delete_invoice({"Id": current["Id"], "SyncToken": current["SyncToken"]})

    def record_payment(self, invoice_id: str, amount: float | str | Decimal) -> Record:
        """Apply a payment to an invoice: Balance drops, a Payment LinkedTxn appears, the invoice changes."""
        with self.lock:
            invoice = self.invoices[str(invoice_id)]
            value = Decimal(str(amount)).quantize(Decimal("0.01"))
            balance = Decimal(str(invoice["Balance"]))
            if value <= 0 or value > balance:
                raise ValueError(f"payment {value} must be positive and at most the balance {balance}")
            invoice["Balance"] = _money(balance - value)
            invoice.setdefault("LinkedTxn", []).append({"TxnId": f"P{self._next_payment}", "TxnType": "Payment"})
            self._next_payment += 1
            self._bump(invoice)
            self._refresh_customer_balance(invoice["CustomerRef"]["value"])
            return copy.deepcopy(invoice)

    def add_vendor(self, display_name: str, **fields: Any) -> Record:
        return self._add_person("Vendor", display_name, fields)

    def add_employee(self, given_name: str, family_name: str, **fields: Any) -> Record:
        display = fields.pop("DisplayName", f"{given_name} {family_name}")
        return self._add_person("Employee", display, {"GivenName": given_name, "FamilyName": family_name, **fields})

    def _add_person(self, entity: str, display_name: str, fields: Record) -> Record:
        with self.lock:
            self.stats["writes"] += 1
            self._check_name_unique(display_name, (entity, None))
            active = fields.pop("Active", True)
            when = fields.pop("_when", None)
            record: Record = {
                "Id": self.next_id(entity), "SyncToken": "0", "domain": "QBO", "sparse": False,
                **fields, "DisplayName": display_name + ("" if active else self.inactive_name_suffix),
                "PrintOnCheckName": display_name, "Active": active,
            }
            if entity == "Vendor":
                record.setdefault("Balance", 0)
                record.setdefault("CurrencyRef", self._home_ref())
            self._stamp(record, created=True, when=when)
            self.table(entity)[record["Id"]] = record
            self._index_name(entity, record["Id"], None, display_name)
            return copy.deepcopy(record)

    def add_item(self, name: str, unit_price: float, item_type: str = "Service", active: bool = True,
                 description: str = "") -> Record:
        with self.lock:
            record: Record = {
                "Id": self.next_id("Item"), "SyncToken": "0", "domain": "QBO", "sparse": False,
                "Name": name, "FullyQualifiedName": name, "Active": active, "Type": item_type,
                "UnitPrice": unit_price, "Taxable": False, "TrackQtyOnHand": False,
                "IncomeAccountRef": {"value": "79", "name": "Sales of Product Income"},
            }
            if description:
                record["Description"] = description
            self._stamp(record, created=True)
            self.items[record["Id"]] = record
            return copy.deepcopy(record)

    def add_term(self, name: str, due_days: int) -> Record:
        with self.lock:
            record: Record = {"Id": self.next_id("Term"), "SyncToken": "0", "domain": "QBO", "sparse": False,
                              "Name": name, "Active": True, "Type": "STANDARD", "DueDays": due_days}
            self._stamp(record, created=True)
            self.terms[record["Id"]] = record
            return copy.deepcopy(record)

    def define_custom_field(self, definition_id: str, name: str | None) -> None:
        """Name (or, with ``None``, remove) one of the company's three sales-form custom fields."""
        if str(definition_id) not in ("1", "2", "3"):
            raise ValueError("QuickBooks has three sales-form custom fields: DefinitionId 1, 2 or 3")
        with self.lock:
            if name is None:
                self.custom_field_definitions.pop(str(definition_id), None)
            else:
                self.custom_field_definitions[str(definition_id)] = name

    def backdate(self, entity: str, record_id: str, when: datetime, created: bool = False) -> None:
        """Set a record's LastUpdatedTime (and CreateTime) as if it was last touched at ``when``."""
        with self.lock:
            self._stamp(self.table(entity)[str(record_id)], created=created, when=when)

