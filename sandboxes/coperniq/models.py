"""The Coperniq sandbox backend: in-memory state and the API's rules, one method per operation.

Moto style: :class:`CoperniqBackend` knows nothing of HTTP. Its public methods take parsed
values (ints, datetimes, JSON-like dicts), enforce the rules of the reference, raise the typed
errors of :mod:`sandboxes.coperniq.errors` and return exactly the JSON the API answers.

State lives in plain dicts keyed by id (``projects``, ``contacts``, ``invoices``,
``catalog_items``, ``accounts``) of slotted dataclasses, guarded by one re-entrant lock. Time
comes from an injectable clock (a callable returning an aware UTC datetime) so tests can freeze
or advance it; every write stamps ``updatedAt`` with that clock truncated to milliseconds, the
precision the API prints, so a cursor read back from a response compares exactly.
"""

from __future__ import annotations

import csv
import json
import math
import re
import threading
import time
from collections import deque
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from sandboxes.coperniq.errors import NotFoundError, RateLimitError, ValidationError

Clock = Callable[[], datetime]
JSON = dict[str, Any]

COMPANY_ID = 1042  # the one company every API key of the sandbox belongs to
MAX_PAGE_SIZE = 100
DEFAULT_PAGE_SIZE = 20

PROJECT_STATUSES = ("ACTIVE", "ON_HOLD", "CANCELLED", "COMPLETED")
INVOICE_STATUSES = ("DRAFT", "SENT", "DECLINED", "PAID", "PARTIALLY_PAID", "OVERDUE")
INVOICE_CREATE_STATUSES = ("DRAFT", "SENT", "PARTIALLY_PAID", "PAID")
FINAL_CREATE_STATUSES = ("SENT", "PARTIALLY_PAID", "PAID")  # these need an issueDate
CALCULATION_METHODS = ("LINE_ITEMS", "PERCENTAGE")
MATCH_BY = ("title", "primaryEmail", "primaryPhone", "address")
MATCH_FOUND_STRATEGIES = ("skip", "replace", "enrich")
ORDER_BY = ("asc", "desc")
DEFAULT_TRADES = ("Solar",)  # ProjectCreate: "Array of trade types, defaults to 'Solar'"


# -- time ------------------------------------------------------------------------------------------


def utc_now() -> datetime:
    return datetime.now(UTC)


class ManualClock:
    """A clock tests can freeze and move: ``clock.advance(hours=25)``."""

    def __init__(self, start: datetime | None = None):
        self._now = (start or utc_now()).astimezone(UTC)
        self._lock = threading.Lock()

    def __call__(self) -> datetime:
        with self._lock:
            return self._now

    def set(self, when: datetime) -> None:
        with self._lock:
            self._now = when.astimezone(UTC)

    def advance(self, **delta: float) -> datetime:
        with self._lock:
            self._now += timedelta(**delta)
            return self._now


def truncate_ms(when: datetime) -> datetime:
    return when.replace(microsecond=when.microsecond // 1000 * 1000)


def format_timestamp(when: datetime) -> str:
    """``2024-03-05T14:22:10.123Z``: UTC, millisecond precision, ``Z`` suffix."""
    when = when.astimezone(UTC)
    return f"{when:%Y-%m-%dT%H:%M:%S}.{when.microsecond // 1000:03d}Z"


def parse_timestamp(value: Any, field_name: str) -> datetime:
    """An ISO 8601 date-time (or date) as an aware UTC datetime; naive input is taken as UTC."""
    if not isinstance(value, str) or not value.strip():
        raise ValidationError(f"{field_name} must be an ISO 8601 date-time string", field=field_name)
    text = value.strip()
    try:
        parsed = datetime.fromisoformat(text[:-1] + "+00:00" if text[-1:] in "zZ" else text)
    except ValueError:
        raise ValidationError(
            f"{field_name} must be an ISO 8601 date-time, e.g. 2024-01-31T00:00:00Z (got {value!r})",
            field=field_name,
        ) from None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    return parsed.astimezone(UTC)


# -- records ---------------------------------------------------------------------------------------


@dataclass(slots=True)
class User:
    id: int
    first_name: str
    last_name: str
    email: str

    def summary(self) -> JSON:
        return {"id": self.id, "firstName": self.first_name, "lastName": self.last_name,
                "email": self.email, "avatarUrl": None}


@dataclass(slots=True)
class Stage:
    """A stage of a Workflows 1.0 workflow."""

    id: int
    name: str
    type: str
    yellow_sla: int
    red_sla: int
    scope: str = "PROJECT"


@dataclass(slots=True)
class PhaseTemplate:
    """A phase of a Workflows 2.0 workflow."""

    id: int
    name: str
    type: str
    yellow_sla: int
    red_sla: int


@dataclass(slots=True)
class Workflow:
    id: int
    name: str
    version: int  # 1: stages (Workflows 1.0), 2: phases (Workflows 2.0)
    stages: list[Stage] = field(default_factory=list)
    phases: list[PhaseTemplate] = field(default_factory=list)


@dataclass(slots=True)
class PhaseInstance:
    id: int
    template: PhaseTemplate
    position: int
    status: str  # NOT_STARTED | IN_PROGRESS | COMPLETED
    started_at: datetime | None = None
    completed_at: datetime | None = None


@dataclass(slots=True)
class Account:
    """A client account. Not served (no /accounts routes) but projects, contacts and invoices point
    at accounts, and a project without a title shows its account's title."""

    id: int
    number: int
    title: str
    created_at: datetime
    updated_at: datetime


@dataclass(slots=True)
class ProjectRecord:
    id: int
    number: int
    title: str
    address: list[str]
    created_at: datetime
    updated_at: datetime
    description: str | None = None
    is_active: bool = True
    status: str = "ACTIVE"
    trades: list[str] = field(default_factory=lambda: list(DEFAULT_TRADES))
    value: float | None = None
    size: float | None = None
    workflow_id: int | None = None
    account_id: int | None = None
    custom: dict[str, Any] = field(default_factory=dict)
    created_by: int | None = None
    updated_by: int | None = None
    contact_ids: list[int] = field(default_factory=list)  # the first one is the primary contact
    stage_id: int | None = None  # Workflows 1.0
    stage_entered_at: datetime | None = None
    phase_instances: list[PhaseInstance] = field(default_factory=list)  # Workflows 2.0


@dataclass(slots=True)
class ContactRecord:
    id: int
    name: str
    created_at: datetime
    updated_at: datetime
    emails: list[str] = field(default_factory=list)
    phones: list[str] = field(default_factory=list)
    title: str | None = None
    created_by: int | None = None
    account_ids: list[int] = field(default_factory=list)
    project_ids: list[int] = field(default_factory=list)


@dataclass(slots=True)
class CatalogItemRecord:
    id: int
    name: str
    catalog: str | None  # TradeGroup
    type: str  # PRODUCT | SERVICE
    category: str
    cost: float | None
    price: float | None
    created_at: datetime
    updated_at: datetime
    manufacturer: str | None = None
    sku: str | None = None
    code: str | None = None
    description: str | None = None
    is_archived: bool = False
    created_by_id: int = 1


@dataclass(slots=True)
class LineItem:
    id: int
    catalog_item_id: int
    quantity: int
    unit_cost: float
    unit_price: float
    description: str | None = None
    section: str | None = None


@dataclass(slots=True)
class InvoiceRecord:
    id: int
    uid: int
    record_id: int  # a project or an account
    calculation_method: str
    status: str
    amount: float
    created_at: datetime
    updated_at: datetime
    amount_paid: float = 0.0
    description: str | None = None
    due_date: datetime | None = None
    issue_date: datetime | None = None
    percentage: float | None = None
    base_amount: float | None = None
    is_archived: bool = False
    shared_with_portal: bool = False
    line_items: list[LineItem] = field(default_factory=list)


# -- helpers ---------------------------------------------------------------------------------------

_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
_EXTENSION = re.compile(r"(?i)\s*(?:ext\.?|extension|x|#)\s*\d+\s*$")
_NON_WORD = re.compile(r"[^\w]+")


def normalize_phone(phone: str) -> str:
    """Digits of a US phone, without extension or country code, for matching."""
    digits = re.sub(r"\D", "", _EXTENSION.sub("", phone))
    return digits[1:] if len(digits) == 11 and digits.startswith("1") else digits


def normalize_text(text: str) -> str:
    """Case, punctuation and spacing folded, so '12 Oak St.,  Austin' == '12 oak st austin'."""
    return " ".join(_NON_WORD.sub(" ", text.casefold()).split())


def money(value: Decimal) -> float:
    return float(value.quantize(Decimal("0.01"), rounding=ROUND_HALF_UP))


def _is_empty(value: Any) -> bool:
    return value is None or value == "" or value == [] or value == {}


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _id_value(value: Any, field_name: str) -> int:
    """An id the reference types as string in some bodies (accountId, workflowId) and integer elsewhere."""
    if _is_int(value):
        return int(value)
    if isinstance(value, str) and value.strip().isdigit():
        return int(value.strip())
    raise ValidationError(f"{field_name} must be an integer id", field=field_name)


def _string(body: Mapping[str, Any], name: str, *, nullable: bool = False, non_empty: bool = False) -> Any:
    value = body[name]
    if value is None and nullable:
        return None
    if not isinstance(value, str):
        raise ValidationError(f"{name} must be a string", field=name)
    if non_empty and not value.strip():
        raise ValidationError(f"{name} must not be empty", field=name)
    return value


def _string_list(body: Mapping[str, Any], name: str) -> list[str]:
    value = body[name]
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise ValidationError(f"{name} must be an array of strings", field=name)
    return list(value)


def _int_list(body: Mapping[str, Any], name: str) -> list[int]:
    value = body[name]
    if not isinstance(value, list) or not all(_is_int(v) for v in value):
        raise ValidationError(f"{name} must be an array of integer ids", field=name)
    return list(dict.fromkeys(value))  # keep order, drop repeats


def _number(body: Mapping[str, Any], name: str, *, nullable: bool = False) -> float | None:
    value = body[name]
    if value is None and nullable:
        return None
    if not _is_number(value):
        raise ValidationError(f"{name} must be a number", field=name)
    return float(value)


def _enum(value: Any, allowed: Iterable[str], name: str) -> str:
    allowed = tuple(allowed)
    if value not in allowed:
        raise ValidationError(f"{name} must be one of {', '.join(allowed)}", field=name)
    return str(value)


def paginate(records: list[Any], page: int, page_size: int) -> tuple[list[Any], bool]:
    """One 1-based page and whether more records follow it."""
    if not _is_int(page) or page < 1:
        raise ValidationError("page must be an integer >= 1", field="page")
    if not _is_int(page_size) or not 1 <= page_size <= MAX_PAGE_SIZE:
        raise ValidationError(f"page_size must be an integer between 1 and {MAX_PAGE_SIZE}", field="page_size")
    start = (page - 1) * page_size
    return records[start:start + page_size], len(records) > start + page_size


def _window(records: Iterable[Any], updated_after: datetime | None, updated_before: datetime | None,
            order_by: str) -> list[Any]:
    """Filter by updatedAt (both bounds strict) and sort by id.

    The reference does not say what ``order_by`` sorts on; the sandbox sorts by ``id`` on
    purpose, so a client that assumes updatedAt order (and checkpoints on it) gets caught.
    """
    _enum(order_by, ORDER_BY, "order_by")
    selected = [
        r for r in records
        if (updated_after is None or r.updated_at > updated_after)
        and (updated_before is None or r.updated_at < updated_before)
    ]
    selected.sort(key=lambda r: r.id, reverse=order_by == "desc")
    return selected


# -- project search --------------------------------------------------------------------------------

SEARCH_OPERATORS = ("eq", "neq", "gt", "gte", "lt", "lte", "contains", "in", "nin", "between")
SEARCH_ALIASES = {"name": "title", "clientId": "accountId"}  # the reference's example and deprecated alias


def _search_list(raw: str) -> list[str]:
    """``in``/``nin`` values: plain CSV, quoted CSV or a JSON array (the reference's three forms)."""
    text = raw.strip()
    if text.startswith("["):
        try:
            values = json.loads(text)
        except ValueError:
            raise ValidationError("value is not a JSON array", field="value1") from None
        return [str(v) for v in values]
    return [v.strip() for v in next(csv.reader([text], skipinitialspace=True), [])]


def _search_scalar(value: Any) -> Any:
    """A comparable form: numbers as floats, timestamps as datetimes, text case-folded."""
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, int | float):
        return float(value)
    text = str(value).strip()
    try:
        return float(text)
    except ValueError:
        pass
    if re.match(r"^\d{4}-\d{2}-\d{2}", text):
        try:
            return parse_timestamp(text, "value")
        except ValidationError:
            pass
    return text.casefold()


def _search_test(prop: str, op: str, raw: str, n: str) -> tuple[str, Callable[[Any], bool]]:
    _enum(op, SEARCH_OPERATORS, f"op{n}")
    if not prop:
        raise ValidationError(f"prop{n} is required", field=f"prop{n}")

    def same_kind(a: Any, b: Any) -> bool:
        return type(a) is type(b)

    def compare(value: Any) -> bool:
        if value is None:
            return op in ("neq", "nin")
        if op == "contains":
            return raw.casefold() in str(value).casefold()
        mine = _search_scalar(value)
        if op in ("in", "nin"):
            hit = any(same_kind(mine, w) and mine == w for w in map(_search_scalar, _search_list(raw)))
            return hit if op == "in" else not hit
        if op == "between":
            bounds = [_search_scalar(v) for v in _search_list(raw)]
            if len(bounds) != 2:
                raise ValidationError(f"value{n} must be from,to for between", field=f"value{n}")
            return all(same_kind(mine, b) for b in bounds) and bounds[0] <= mine <= bounds[1]
        wanted = _search_scalar(raw)
        if op in ("eq", "neq"):
            equal = same_kind(mine, wanted) and mine == wanted
            return equal if op == "eq" else not equal
        if not same_kind(mine, wanted):
            return False
        return {"gt": mine > wanted, "gte": mine >= wanted, "lt": mine < wanted, "lte": mine <= wanted}[op]

    return SEARCH_ALIASES.get(prop, prop), compare


def _search_value(body: JSON, project: Any, prop: str) -> Any:
    """A standard field of the project's JSON, else its custom property of that key."""
    if prop in body and not isinstance(body[prop], dict | list):
        return body[prop]
    return project.custom.get(prop)


# -- rate limits -----------------------------------------------------------------------------------


class RateLimiter:
    """Coperniq's limits per API key: 100 requests a second and 5,000 a day (rolling 24 hours).

    The daily window runs on the backend's clock (tests can advance it a day); the per-second
    window on the real monotonic clock. Only requests that are let through count. ``None``
    switches a limit off.
    """

    DAY = timedelta(hours=24)

    def __init__(self, clock: Clock, daily_quota: int | None = 5000, per_second: int | None = 100,
                 monotonic: Callable[[], float] = time.monotonic):
        self.clock = clock
        self.daily_quota = daily_quota
        self.per_second = per_second
        self._monotonic = monotonic
        self._lock = threading.Lock()
        self._day: dict[str, deque[datetime]] = {}
        self._second: dict[str, deque[float]] = {}

    def reset(self) -> None:
        with self._lock:
            self._day.clear()
            self._second.clear()

    def used_today(self, key: str) -> int:
        with self._lock:
            return len(self._expire_day(key, self.clock()))

    def _expire_day(self, key: str, now: datetime) -> deque[datetime]:
        window = self._day.setdefault(key, deque())
        while window and window[0] <= now - self.DAY:
            window.popleft()
        return window

    def _headers(self, window: deque[datetime], now: datetime) -> dict[str, str]:
        if self.daily_quota is None:
            return {}
        reset = math.ceil((window[0] + self.DAY - now).total_seconds()) if window else 0
        return {
            "X-RateLimit-Limit": str(self.daily_quota),
            "X-RateLimit-Remaining": str(max(self.daily_quota - len(window), 0)),
            "X-RateLimit-Reset": str(max(reset, 0)),
        }

    def hit(self, key: str) -> dict[str, str]:
        """Count one request of ``key``; the rate-limit headers, or :class:`RateLimitError`."""
        with self._lock:
            now = self.clock()
            tick = self._monotonic()
            day = self._expire_day(key, now)
            second = self._second.setdefault(key, deque())
            while second and second[0] <= tick - 1.0:
                second.popleft()
            if self.daily_quota is not None and len(day) >= self.daily_quota:
                wait = max(math.ceil((day[0] + self.DAY - now).total_seconds()), 1)
                error = RateLimitError(
                    f"Daily limit of {self.daily_quota} requests for this API key exceeded; "
                    f"retry in {wait} seconds", retry_after=wait)
                error.headers.update(self._headers(day, now))
                raise error
            if self.per_second is not None and len(second) >= self.per_second:
                wait = max(math.ceil(second[0] + 1.0 - tick), 1)
                error = RateLimitError(
                    f"Limit of {self.per_second} requests per second for this API key exceeded", retry_after=wait)
                error.headers.update(self._headers(day, now))
                raise error
            day.append(now)
            second.append(tick)
            return self._headers(day, now)


# -- the backend -----------------------------------------------------------------------------------


class CoperniqBackend:
    """All the state of one Coperniq company and the rules of the API operations the sandbox serves."""

    def __init__(self, clock: Clock | None = None):
        self.clock: Clock = clock or utc_now
        self.lock = threading.RLock()
        self.users: dict[int, User] = {}
        self.api_user_id: int | None = None  # the user the API key acts as (writes are theirs)
        self.workflows: dict[int, Workflow] = {}
        self.accounts: dict[int, Account] = {}
        self.projects: dict[int, ProjectRecord] = {}
        self.contacts: dict[int, ContactRecord] = {}
        self.invoices: dict[int, InvoiceRecord] = {}
        self.catalog_items: dict[int, CatalogItemRecord] = {}
        # Projects and accounts are both "records" in Coperniq and share one id sequence
        # (an invoice's recordId may be either).
        # Each sequence starts somewhere else, so a client that mixes up a project id, a project
        # number, a contact id and an invoice id gets a 404 instead of the wrong record.
        self._next_record_id = 2001
        self._next_contact_id = 5001
        self._next_invoice_id = 8001
        self._next_line_item_id = 1
        self._next_phase_instance_id = 1
        self._next_project_number = 1001
        self._next_invoice_uid = 1001
        # Late commits: changes stamped at or after `_delay_since` reach list calls only
        # `visibility_delay` after their updatedAt (or once `reveal_late_changes()` is called).
        self.visibility_delay = timedelta(0)
        self._delay_since: datetime | None = None
        self._revealed_up_to: datetime | None = None

    # -- id sequences (also used by the seed) -----------------------------------------------------

    def next_record_id(self) -> int:
        self._next_record_id += 1
        return self._next_record_id - 1

    def next_contact_id(self) -> int:
        self._next_contact_id += 1
        return self._next_contact_id - 1

    def next_invoice_id(self) -> int:
        self._next_invoice_id += 1
        return self._next_invoice_id - 1

    def next_line_item_id(self) -> int:
        self._next_line_item_id += 1
        return self._next_line_item_id - 1

    def next_phase_instance_id(self) -> int:
        self._next_phase_instance_id += 1
        return self._next_phase_instance_id - 1

    def next_project_number(self) -> int:
        self._next_project_number += 1
        return self._next_project_number - 1

    def next_invoice_uid(self) -> int:
        self._next_invoice_uid += 1
        return self._next_invoice_uid - 1

    def sync_sequences(self) -> None:
        """Move every sequence past the ids present (after the seed or a test inserted records)."""
        self._next_record_id = max([self._next_record_id, *(i + 1 for i in self.projects),
                                    *(i + 1 for i in self.accounts)])
        self._next_contact_id = max([self._next_contact_id, *(i + 1 for i in self.contacts)])
        self._next_invoice_id = max([self._next_invoice_id, *(i + 1 for i in self.invoices)])
        self._next_project_number = max([self._next_project_number, *(p.number + 1 for p in self.projects.values()),
                                         *(a.number + 1 for a in self.accounts.values())])
        self._next_invoice_uid = max([self._next_invoice_uid, *(i.uid + 1 for i in self.invoices.values())])
        lines = [li.id for inv in self.invoices.values() for li in inv.line_items]
        self._next_line_item_id = max([self._next_line_item_id, *(i + 1 for i in lines)])
        instances = [pi.id for p in self.projects.values() for pi in p.phase_instances]
        self._next_phase_instance_id = max([self._next_phase_instance_id, *(i + 1 for i in instances)])

    def now(self) -> datetime:
        """The clock's time at the API's precision (milliseconds)."""
        return truncate_ms(self.clock().astimezone(UTC))

    # -- late commits -----------------------------------------------------------------------------

    def delay_visibility(self, seconds: float) -> None:
        """From now on every change reaches list calls ``seconds`` after the ``updatedAt`` it is stamped
        with, as a transaction that commits late would (0 switches it off). Reads by id are not delayed."""
        with self.lock:
            self.visibility_delay = timedelta(seconds=seconds)
            self._delay_since = self.now() if seconds > 0 else None
            self._revealed_up_to = None

    def reveal_late_changes(self) -> None:
        """The late changes made so far commit now: list calls show them from here on."""
        with self.lock:
            self._revealed_up_to = self.now()

    def pending_changes(self) -> int:
        """How many records list calls hide right now (a late change not visible yet)."""
        with self.lock:
            records = [*self.projects.values(), *self.contacts.values(), *self.invoices.values()]
            return len(records) - len(self._visible(records))

    def _visible(self, records: Iterable[Any]) -> list[Any]:
        if self._delay_since is None:
            return list(records)
        now = self.now()
        return [r for r in records if r.updated_at < self._delay_since
                or (self._revealed_up_to is not None and r.updated_at <= self._revealed_up_to)
                or now >= r.updated_at + self.visibility_delay]

    # -- lookups ----------------------------------------------------------------------------------

    def _project(self, project_id: int, include_archived: bool = True) -> ProjectRecord:
        project = self.projects.get(project_id)
        if project is None or (not include_archived and not project.is_active):
            raise NotFoundError.record("Project", project_id)
        return project

    def _contact(self, contact_id: int) -> ContactRecord:
        contact = self.contacts.get(contact_id)
        if contact is None:
            raise NotFoundError.record("Contact", contact_id)
        return contact

    def _invoice(self, invoice_id: int) -> InvoiceRecord:
        invoice = self.invoices.get(invoice_id)
        if invoice is None:
            raise NotFoundError.record("Invoice", invoice_id)
        return invoice

    def _stage(self, project: ProjectRecord) -> Stage | None:
        workflow = self.workflows.get(project.workflow_id) if project.workflow_id is not None else None
        if workflow is None or workflow.version != 1:
            return None
        return next((s for s in workflow.stages if s.id == project.stage_id), None)

    def effective_title(self, project: ProjectRecord) -> str:
        """The reference's read-time fallback: an empty title shows the parent account's title."""
        if not project.title.strip() and project.account_id in self.accounts:
            return self.accounts[project.account_id].title
        return project.title

    def primary_contact(self, project: ProjectRecord) -> ContactRecord | None:
        return self.contacts.get(project.contact_ids[0]) if project.contact_ids else None

    # -- serializers ------------------------------------------------------------------------------

    def _user(self, user_id: int | None) -> JSON | None:
        user = self.users.get(user_id) if user_id is not None else None
        return user.summary() if user else None

    def _sla(self, days: int, yellow: int, red: int) -> str:
        return "VIOLATED" if days > red else "NON_VIOLATED"

    def project_json(self, project: ProjectRecord, with_phase_instances: bool = False) -> JSON:
        primary = self.primary_contact(project)
        body: JSON = {
            "id": project.id,
            "createdAt": format_timestamp(project.created_at),
            "updatedAt": format_timestamp(project.updated_at),
            "title": self.effective_title(project),
            "description": project.description,
            "address": list(project.address),
            "isActive": project.is_active,
            "primaryEmail": primary.emails[0] if primary and primary.emails else None,
            "primaryPhone": primary.phones[0] if primary and primary.phones else None,
            "number": project.number,
            "createdBy": self._user(project.created_by),
            "updatedBy": self._user(project.updated_by),
            "custom": dict(project.custom),
            "trades": list(project.trades),
            "value": project.value,
            "size": project.size,
            "workflowId": project.workflow_id,
            "accountId": project.account_id,
            "status": project.status,
        }
        workflow = self.workflows.get(project.workflow_id) if project.workflow_id is not None else None
        if workflow is not None:
            body["workflowName"] = workflow.name
        now = self.clock()
        stage = self._stage(project)
        if stage is not None:
            days = max((now - (project.stage_entered_at or project.created_at)).days, 0)
            body["stageId"] = stage.id  # the reference names it among the Workflows 1.0 fields
            body["stage"] = {
                "id": stage.id, "name": stage.name, "type": stage.type, "scope": stage.scope,
                "redSla": stage.red_sla, "yellowSla": stage.yellow_sla, "timeInStageDays": days,
                "slaStatus": self._sla(days, stage.yellow_sla, stage.red_sla),
            }
        current = self._current_phase(project)
        if current is not None:
            days = max((now - (current.started_at or project.created_at)).days, 0)
            template = current.template
            body["phase"] = {
                "instanceId": current.id, "templateId": template.id, "name": template.name,
                "status": current.status, "type": template.type, "redSla": template.red_sla,
                "yellowSla": template.yellow_sla, "timeInStageDays": days,
                "slaStatus": self._sla(days, template.yellow_sla, template.red_sla),
            }
        if with_phase_instances:
            body["phaseInstances"] = [
                {
                    "id": pi.id, "name": pi.template.name, "status": pi.status, "position": pi.position,
                    "type": pi.template.type, "phaseTemplateId": pi.template.id,
                    "phaseTemplate": {"id": pi.template.id, "name": pi.template.name, "type": pi.template.type,
                                      "redSla": pi.template.red_sla, "yellowSla": pi.template.yellow_sla},
                    "startedAt": format_timestamp(pi.started_at) if pi.started_at else None,
                    "completedAt": format_timestamp(pi.completed_at) if pi.completed_at else None,
                }
                for pi in project.phase_instances
            ]
        return body

    @staticmethod
    def _current_phase(project: ProjectRecord) -> PhaseInstance | None:
        if not project.phase_instances:
            return None
        for instance in project.phase_instances:
            if instance.status == "IN_PROGRESS":
                return instance
        # every phase completed (or none started): the last completed one, else the first
        done = [pi for pi in project.phase_instances if pi.status == "COMPLETED"]
        return done[-1] if done else project.phase_instances[0]

    def contact_json(self, contact: ContactRecord) -> JSON:
        body: JSON = {
            "id": contact.id,
            "companyId": COMPANY_ID,
            "name": contact.name,
            "emails": list(contact.emails),
            "phones": list(contact.phones),
        }
        if contact.title is not None:
            body["title"] = contact.title
        if contact.created_by is not None:
            body["createdByUser"] = {"id": contact.created_by}
        body["accounts"] = [{"id": a, "title": self.accounts[a].title} for a in contact.account_ids
                            if a in self.accounts]
        body["projects"] = [{"id": p, "title": self.effective_title(self.projects[p])}
                            for p in contact.project_ids if p in self.projects]
        body["createdAt"] = format_timestamp(contact.created_at)
        body["updatedAt"] = format_timestamp(contact.updated_at)
        return body

    def catalog_item_summary(self, item: CatalogItemRecord) -> JSON:
        return {"id": item.id, "name": item.name, "manufacturer": item.manufacturer, "sku": item.sku,
                "type": item.type}

    def catalog_item_json(self, item: CatalogItemRecord) -> JSON:
        return {
            "id": item.id, "name": item.name, "catalog": item.catalog, "type": item.type,
            "category": item.category, "manufacturer": item.manufacturer, "sku": item.sku, "code": item.code,
            "cost": item.cost, "price": item.price, "description": item.description, "image": None,
            "isArchived": item.is_archived, "createdById": item.created_by_id,
            "createdAt": format_timestamp(item.created_at), "updatedAt": format_timestamp(item.updated_at),
            "preferredVendorId": None,
        }

    def invoice_json(self, invoice: InvoiceRecord) -> JSON:
        record: JSON | None = None
        account: JSON | None = None
        project = self.projects.get(invoice.record_id)
        if project is not None:
            record = {"id": project.id, "uid": project.number, "title": self.effective_title(project)}
            parent = self.accounts.get(project.account_id) if project.account_id is not None else None
            account = {"id": parent.id, "title": parent.title} if parent else None
        elif invoice.record_id in self.accounts:
            parent = self.accounts[invoice.record_id]
            record = {"id": parent.id, "uid": parent.number, "title": parent.title}
            account = {"id": parent.id, "title": parent.title}
        body: JSON = {
            "id": invoice.id, "uid": invoice.uid, "description": invoice.description, "type": "INVOICE",
            "status": invoice.status, "basedOnId": None, "basedOnUid": None,
        }
        if invoice.due_date is not None:  # typed a non-null string: left out when there is none
            body["dueDate"] = format_timestamp(invoice.due_date)
        body.update({
            "amount": invoice.amount, "amountPaid": invoice.amount_paid, "isArchived": invoice.is_archived,
            "sharedWithPortal": invoice.shared_with_portal, "calculationMethod": invoice.calculation_method,
            "percentage": invoice.percentage, "baseAmount": invoice.base_amount,
            "createdAt": format_timestamp(invoice.created_at), "updatedAt": format_timestamp(invoice.updated_at),
            "account": account, "record": record,
            "lineItems": [self._line_item_json(li) for li in invoice.line_items],
        })
        return body

    def _line_item_json(self, line: LineItem) -> JSON:
        item = self.catalog_items.get(line.catalog_item_id)
        return {
            "id": line.id, "catalogItemId": line.catalog_item_id, "quantity": line.quantity,
            "unitCost": line.unit_cost, "unitPrice": line.unit_price, "description": line.description,
            "catalogItem": self.catalog_item_summary(item) if item else None,
        }

    # -- links between projects and contacts ------------------------------------------------------

    def _link(self, project: ProjectRecord, contact: ContactRecord, primary: bool = False) -> None:
        if contact.id in project.contact_ids:
            if primary:
                project.contact_ids.remove(contact.id)
                project.contact_ids.insert(0, contact.id)
        elif primary:
            project.contact_ids.insert(0, contact.id)
        else:
            project.contact_ids.append(contact.id)
        if project.id not in contact.project_ids:
            contact.project_ids.append(project.id)

    def _unlink(self, project: ProjectRecord, contact: ContactRecord) -> None:
        if contact.id in project.contact_ids:
            project.contact_ids.remove(contact.id)
        if project.id in contact.project_ids:
            contact.project_ids.remove(project.id)

    # -- projects ---------------------------------------------------------------------------------

    def list_projects(
        self,
        page: int = 1,
        page_size: int = DEFAULT_PAGE_SIZE,
        updated_after: datetime | None = None,
        updated_before: datetime | None = None,
        order_by: str = "asc",
        include_archived: bool = False,
        q: str | None = None,
        title: str | None = None,
        address: str | None = None,
        primary_name: str | None = None,
        primary_phone: str | None = None,
        primary_email: str | None = None,
    ) -> list[JSON]:
        with self.lock:
            candidates: Iterable[ProjectRecord] = self.projects.values()
            if not include_archived:
                candidates = (p for p in candidates if p.is_active)
            searches = [(self._matches_q, q), (self._matches_title, title), (self._matches_address, address),
                        (self._matches_primary_name, primary_name), (self._matches_primary_phone, primary_phone),
                        (self._matches_primary_email, primary_email)]
            for test, term in searches:
                if term:
                    candidates = [p for p in candidates if test(p, term)]
            selected = _window(self._visible(candidates), updated_after, updated_before, order_by)
            rows, _ = paginate(selected, page, page_size)
            return [self.project_json(p) for p in rows]

    def search_projects(self, prop1: str, op1: str, value1: str, logic: str = "and", prop2: str | None = None,
                        op2: str | None = None, value2: str | None = None, page: int = 1,
                        page_size: int = DEFAULT_PAGE_SIZE, order_by: str = "asc",
                        include_archived: bool = False) -> list[JSON]:
        """``GET /projects/search``: up to two filters combined with ``logic``; sorted by id like the lists."""
        with self.lock:
            _enum(logic, ("and", "or"), "logic")
            tests = [_search_test(prop1, op1, value1, "1")]
            if prop2 or op2 or value2 is not None:
                if not (prop2 and op2 and value2 is not None):
                    raise ValidationError("prop2, op2 and value2 go together", field="prop2")
                tests.append(_search_test(prop2, op2, value2, "2"))
            candidates = [p for p in self._visible(self.projects.values()) if include_archived or p.is_active]
            combine = all if logic == "and" else any
            selected = [p for p in candidates
                        if combine(test(_search_value(self.project_json(p), p, prop)) for prop, test in tests)]
            rows, _ = paginate(_window(selected, None, None, order_by), page, page_size)
            return [self.project_json(p) for p in rows]

    def _matches_title(self, project: ProjectRecord, term: str) -> bool:
        # the fallback applies to search too: an untitled project matches on its account's title
        return term.casefold() in self.effective_title(project).casefold()

    def _matches_address(self, project: ProjectRecord, term: str) -> bool:
        return any(term.casefold() in a.casefold() for a in project.address)

    def _matches_primary_name(self, project: ProjectRecord, term: str) -> bool:
        primary = self.primary_contact(project)
        return primary is not None and term.casefold() in primary.name.casefold()

    def _matches_primary_email(self, project: ProjectRecord, term: str) -> bool:
        primary = self.primary_contact(project)
        return primary is not None and bool(primary.emails) and term.casefold() in primary.emails[0].casefold()

    def _matches_primary_phone(self, project: ProjectRecord, term: str) -> bool:
        primary = self.primary_contact(project)
        digits = normalize_phone(term)
        return (primary is not None and bool(primary.phones) and bool(digits)
                and digits in normalize_phone(primary.phones[0]))

    def _matches_q(self, project: ProjectRecord, term: str) -> bool:
        if (self._matches_title(project, term) or self._matches_address(project, term)
                or term.casefold() in (project.description or "").casefold() or term == str(project.number)):
            return True
        for contact_id in project.contact_ids:
            contact = self.contacts.get(contact_id)
            if contact is not None and _contact_matches(contact, term):
                return True
        return False

    def get_project(self, project_id: int, include_archived: bool = False) -> JSON:
        with self.lock:
            return self.project_json(self._project(project_id, include_archived), with_phase_instances=True)

    def create_project(self, body: Mapping[str, Any], match_by: str = "title",
                       match_found_strategy: str = "skip") -> tuple[JSON, bool]:
        """``(project, created)``. The reference's defaults apply: ``match_by=title`` and
        ``match_found_strategy=skip``, so posting a title that already exists returns that project."""
        with self.lock:
            _enum(match_by, MATCH_BY, "match_by")
            _enum(match_found_strategy, MATCH_FOUND_STRATEGIES, "match_found_strategy")
            if not isinstance(body, Mapping):
                raise ValidationError("Request body must be a JSON object")
            for required in ("title", "address"):
                if required not in body or body[required] is None:
                    raise ValidationError(f"{required} is required", field=required)
            changes = self._project_changes(body, creating=True)
            existing = self._find_match(match_by, body)
            if existing is not None:
                if match_found_strategy == "replace":
                    self._apply_project(existing, changes)
                elif match_found_strategy == "enrich":
                    self._apply_project(existing, self._only_empty(existing, changes))
                return self.project_json(existing), False
            now = self.now()
            project = ProjectRecord(  # trades default to ["Solar"] (the reference's default)
                id=self.next_record_id(), number=self.next_project_number(), title="", address=[],
                created_at=now, updated_at=now, created_by=self.api_user_id, updated_by=None,
            )
            self._apply_project(project, changes, stamp=False)
            self.projects[project.id] = project
            return self.project_json(project), True

    def _find_match(self, match_by: str, body: Mapping[str, Any]) -> ProjectRecord | None:
        """The lowest-id active project equal on ``match_by``; text compared case- and space-insensitively,
        phones on their digits, addresses with punctuation ignored."""
        wanted = body.get(match_by)
        if match_by == "address":
            wanted = wanted[0] if isinstance(wanted, list) and wanted else None
        if not isinstance(wanted, str) or not wanted.strip():
            return None
        if match_by == "primaryPhone":
            key = normalize_phone(wanted)

            def value(p: ProjectRecord) -> str | None:
                c = self.primary_contact(p)
                return normalize_phone(c.phones[0]) if c and c.phones else None
        elif match_by == "primaryEmail":
            key = wanted.strip().casefold()

            def value(p: ProjectRecord) -> str | None:
                c = self.primary_contact(p)
                return c.emails[0].strip().casefold() if c and c.emails else None
        elif match_by == "address":
            key = normalize_text(wanted)

            def value(p: ProjectRecord) -> str | None:
                return normalize_text(p.address[0]) if p.address else None
        else:
            key = " ".join(wanted.casefold().split())

            def value(p: ProjectRecord) -> str | None:
                return " ".join(self.effective_title(p).casefold().split())
        for project in sorted(self.projects.values(), key=lambda p: p.id):
            if project.is_active and value(project) == key:
                return project
        return None

    def _project_changes(self, body: Mapping[str, Any], creating: bool = False,
                         project: ProjectRecord | None = None) -> JSON:
        """Validate a ProjectCreate/ProjectUpdate body completely (updates are atomic) into changes."""
        changes: JSON = {}
        if "title" in body:
            changes["title"] = _string(body, "title", non_empty=True)
        if "address" in body:
            address = body["address"]
            if (not isinstance(address, list) or len(address) != 1 or not isinstance(address[0], str)
                    or not address[0].strip()):
                raise ValidationError("address must be an array containing a single non-empty string",
                                      field="address")
            changes["address"] = [address[0]]
        if "description" in body:
            changes["description"] = _string(body, "description", nullable=True)
        if "trades" in body:
            changes["trades"] = _string_list(body, "trades")
        for name in ("value", "size"):
            if name in body:
                changes[name] = _number(body, name, nullable=not creating)
        if "status" in body:
            changes["status"] = _enum(body["status"], PROJECT_STATUSES, "status")
        if "accountId" in body and body["accountId"] is not None:
            account_id = _id_value(body["accountId"], "accountId")
            if not creating and project is not None and account_id != project.account_id:
                raise ValidationError("Changing account association is not supported via update; delete the "
                                      "project and re-create it under the new account", field="accountId")
            if account_id not in self.accounts:
                raise ValidationError(f"Account {account_id} does not exist", field="accountId")
            changes["account_id"] = account_id
        if "workflowId" in body and body["workflowId"] is not None:
            workflow_id = _id_value(body["workflowId"], "workflowId")
            if workflow_id not in self.workflows:
                raise ValidationError(f"Workflow {workflow_id} does not exist", field="workflowId")
            changes["workflow_id"] = workflow_id
        for name in ("phaseId", "stageId"):
            if name in body and body[name] is not None:
                changes[name] = self._check_step(body, name, changes, project)
        if "primaryEmail" in body and body["primaryEmail"] is not None:
            email = _string(body, "primaryEmail").strip()
            if not _EMAIL.match(email):
                raise ValidationError("primaryEmail must be an email address", field="primaryEmail")
            changes["primaryEmail"] = email
        if "primaryPhone" in body and body["primaryPhone"] is not None:
            phone = _string(body, "primaryPhone").strip()
            if len(normalize_phone(phone)) < 7:
                raise ValidationError("primaryPhone must be a phone number", field="primaryPhone")
            changes["primaryPhone"] = phone
        if "contacts" in body:
            ids = _int_list(body, "contacts")
            missing = [i for i in ids if i not in self.contacts]
            if missing:
                raise ValidationError(f"Contacts {missing} do not exist; create them first via POST /contacts",
                                      field="contacts")
            changes["contacts"] = ids
        if "custom" in body:
            if not isinstance(body["custom"], dict):
                raise ValidationError("custom must be an object", field="custom")
            changes["custom"] = dict(body["custom"])
        return changes

    def _check_step(self, body: Mapping[str, Any], name: str, changes: JSON, project: ProjectRecord | None) -> int:
        step = _id_value(body[name], name)
        workflow_id = changes.get("workflow_id", project.workflow_id if project else None)
        workflow = self.workflows.get(workflow_id) if workflow_id is not None else None
        steps = [] if workflow is None else [s.id for s in (workflow.phases if name == "phaseId" else workflow.stages)]
        if step not in steps:
            raise ValidationError(f"{name} {step} is not a {'phase' if name == 'phaseId' else 'stage'} "
                                  "of the project's workflow", field=name)
        return step

    def _only_empty(self, project: ProjectRecord, changes: JSON) -> JSON:
        """``enrich``: keep only the changes to fields the existing project has empty.

        Status is never empty, so enrich leaves it; custom fields are enriched key by key; contacts
        are added to the existing ones; a primary email/phone only when the primary contact has none.
        """
        kept: JSON = {}
        current = {
            "title": project.title.strip(), "address": project.address, "description": project.description,
            "trades": project.trades, "value": project.value, "size": project.size,
            "account_id": project.account_id, "workflow_id": project.workflow_id,
        }
        for name, value in changes.items():
            if name in current:
                if _is_empty(current[name]):
                    kept[name] = value
            elif name in ("phaseId", "stageId"):
                if project.workflow_id is None:
                    kept[name] = value
            elif name == "custom":
                extra = {k: v for k, v in value.items() if _is_empty(project.custom.get(k))}
                if extra:
                    kept["custom"] = {**project.custom, **extra}
            elif name == "contacts":
                new = [c for c in value if c not in project.contact_ids]
                if new:
                    kept["contacts"] = [*project.contact_ids, *new]
            elif name in ("primaryEmail", "primaryPhone") and not self._primary_has(
                    "emails" if name == "primaryEmail" else "phones", project):
                kept[name] = value
        return kept

    def _primary_has(self, what: str, project: ProjectRecord) -> bool:
        primary = self.primary_contact(project)
        return primary is not None and bool(getattr(primary, what))

    def _apply_project(self, project: ProjectRecord, changes: JSON, stamp: bool = True) -> None:
        now = self.now()
        simple = ("title", "address", "description", "trades", "value", "size", "status", "custom", "account_id")
        for name in simple:
            if name in changes:
                setattr(project, name, changes[name])
        if "workflow_id" in changes and changes["workflow_id"] != project.workflow_id:
            self._enter_workflow(project, changes["workflow_id"], now)
        if "stageId" in changes:
            project.stage_id, project.stage_entered_at = changes["stageId"], now
        if "phaseId" in changes:
            self._move_to_phase(project, changes["phaseId"], now)
        if "contacts" in changes:
            for contact_id in list(project.contact_ids):
                if contact_id not in changes["contacts"]:
                    self._unlink(project, self.contacts[contact_id])
            for contact_id in changes["contacts"]:
                self._link(project, self.contacts[contact_id])
            project.contact_ids.sort(key=changes["contacts"].index)
        if "primaryEmail" in changes or "primaryPhone" in changes:
            self._set_primary(project, changes.get("primaryEmail"), changes.get("primaryPhone"), now)
        if stamp:
            project.updated_at = now
            project.updated_by = self.api_user_id

    def _enter_workflow(self, project: ProjectRecord, workflow_id: int, now: datetime) -> None:
        workflow = self.workflows[workflow_id]
        project.workflow_id = workflow_id
        project.stage_id = project.stage_entered_at = None
        project.phase_instances = []
        if workflow.version == 1 and workflow.stages:
            project.stage_id, project.stage_entered_at = workflow.stages[0].id, now
        elif workflow.version == 2:
            project.phase_instances = [
                PhaseInstance(self.next_phase_instance_id(), template, position, "NOT_STARTED")
                for position, template in enumerate(workflow.phases, start=1)
            ]
            if project.phase_instances:
                project.phase_instances[0].status, project.phase_instances[0].started_at = "IN_PROGRESS", now

    def _move_to_phase(self, project: ProjectRecord, template_id: int, now: datetime) -> None:
        reached = False
        for instance in project.phase_instances:
            if instance.template.id == template_id:
                reached = True
                if instance.status != "IN_PROGRESS":
                    instance.status, instance.started_at, instance.completed_at = "IN_PROGRESS", now, None
            elif not reached:
                if instance.status != "COMPLETED":
                    instance.status, instance.completed_at = "COMPLETED", now
                    instance.started_at = instance.started_at or now
            else:
                instance.status, instance.started_at, instance.completed_at = "NOT_STARTED", None, None

    def _set_primary(self, project: ProjectRecord, email: str | None, phone: str | None, now: datetime) -> None:
        """The reference: "If primaryEmail or primaryPhone is provided, a contact will be automatically
        created or matched." The matched/created contact becomes the project's primary contact."""
        contact = None
        if email:
            contact = next((c for c in self.contacts.values()
                            if any(e.strip().casefold() == email.casefold() for e in c.emails)), None)
        if contact is None and phone:
            digits = normalize_phone(phone)
            contact = next((c for c in self.contacts.values()
                            if any(normalize_phone(p) == digits for p in c.phones)), None)
        if contact is None:
            contact = ContactRecord(
                id=self.next_contact_id(), name=self.effective_title(project) or email or phone or "",
                created_at=now, updated_at=now, created_by=self.api_user_id,
                account_ids=[project.account_id] if project.account_id is not None else [],
            )
            self.contacts[contact.id] = contact
        changed = False
        # what was given becomes the first email/phone, so the project's primaryEmail/Phone show it
        if email and not (contact.emails and contact.emails[0].casefold() == email.casefold()):
            contact.emails = [email, *(e for e in contact.emails if e.casefold() != email.casefold())]
            changed = True
        if phone and not (contact.phones and normalize_phone(contact.phones[0]) == normalize_phone(phone)):
            contact.phones = [phone, *(p for p in contact.phones if normalize_phone(p) != normalize_phone(phone))]
            changed = True
        if changed and contact.created_at != now:
            contact.updated_at = now
        self._link(project, contact, primary=True)

    def update_project(self, project_id: int, body: Mapping[str, Any]) -> JSON:
        """PATCH: partial and atomic (the whole body is validated before anything changes)."""
        with self.lock:
            project = self._project(project_id)
            if not isinstance(body, Mapping):
                raise ValidationError("Request body must be a JSON object")
            for required in ("title", "address"):
                if required in body and body[required] is None:
                    raise ValidationError(f"{required} cannot be null", field=required)
            changes = self._project_changes(body, project=project)
            self._apply_project(project, changes)
            return self.project_json(project)

    def delete_project(self, project_id: int) -> None:
        """Removes the project; its contacts stay (unlinked), its invoices stay with ``record: null``."""
        with self.lock:
            project = self._project(project_id)
            for contact_id in list(project.contact_ids):
                if contact_id in self.contacts:
                    self._unlink(project, self.contacts[contact_id])
            del self.projects[project_id]

    def archive_project(self, project_id: int, archived: bool = True) -> JSON:
        """Archive (``isActive: false``) or restore a project, as a user does in the app."""
        with self.lock:
            project = self._project(project_id)
            project.is_active = not archived
            project.updated_at = self.now()
            return self.project_json(project)

    # -- contacts ---------------------------------------------------------------------------------

    def list_contacts(
        self,
        page: int = 1,
        page_size: int = DEFAULT_PAGE_SIZE,
        updated_after: datetime | None = None,
        updated_before: datetime | None = None,
        order_by: str = "asc",
        q: str | None = None,
    ) -> list[JSON]:
        with self.lock:
            candidates: Iterable[ContactRecord] = self.contacts.values()
            if q:
                candidates = [c for c in candidates if _contact_matches(c, q)]
            selected = _window(self._visible(candidates), updated_after, updated_before, order_by)
            rows, _ = paginate(selected, page, page_size)
            return [self.contact_json(c) for c in rows]

    def get_contact(self, contact_id: int) -> JSON:
        with self.lock:
            return self.contact_json(self._contact(contact_id))

    def _contact_changes(self, body: Mapping[str, Any]) -> JSON:
        if not isinstance(body, Mapping):
            raise ValidationError("Request body must be a JSON object")
        changes: JSON = {}
        if "name" in body:
            changes["name"] = _string(body, "name", non_empty=True)
        for name in ("emails", "phones"):
            if name in body:
                changes[name] = [v for v in _string_list(body, name) if v.strip()]
        if "title" in body:
            changes["title"] = _string(body, "title", nullable=True)
        if "accountIds" in body:
            ids = _int_list(body, "accountIds")
            missing = [i for i in ids if i not in self.accounts]
            if missing:
                raise ValidationError(f"Accounts {missing} do not exist", field="accountIds")
            changes["account_ids"] = ids
        if "projectIds" in body:
            ids = _int_list(body, "projectIds")
            missing = [i for i in ids if i not in self.projects]
            if missing:
                raise ValidationError(f"Projects {missing} do not exist", field="projectIds")
            changes["project_ids"] = ids
        return changes

    def _apply_contact(self, contact: ContactRecord, changes: JSON) -> None:
        for name in ("name", "emails", "phones", "title", "account_ids"):
            if name in changes:
                setattr(contact, name, changes[name])
        if "project_ids" in changes:
            wanted = changes["project_ids"]
            for project_id in list(contact.project_ids):
                if project_id not in wanted and project_id in self.projects:
                    self._unlink(self.projects[project_id], contact)
            for project_id in wanted:
                self._link(self.projects[project_id], contact)
            contact.project_ids = [p for p in wanted if p in contact.project_ids]

    def create_contact(self, body: Mapping[str, Any]) -> JSON:
        with self.lock:
            if not isinstance(body, Mapping) or body.get("name") is None:
                raise ValidationError("name is required", field="name")
            changes = self._contact_changes(body)
            now = self.now()
            contact = ContactRecord(id=self.next_contact_id(), name="", created_at=now, updated_at=now,
                                    created_by=self.api_user_id)
            self.contacts[contact.id] = contact
            self._apply_contact(contact, changes)
            return self.contact_json(contact)

    def update_contact(self, contact_id: int, body: Mapping[str, Any]) -> JSON:
        with self.lock:
            contact = self._contact(contact_id)
            if isinstance(body, Mapping) and "name" in body and body["name"] is None:
                raise ValidationError("name cannot be null", field="name")
            changes = self._contact_changes(body)
            self._apply_contact(contact, changes)
            contact.updated_at = self.now()
            return self.contact_json(contact)

    def delete_contact(self, contact_id: int) -> None:
        with self.lock:
            contact = self._contact(contact_id)
            for project_id in list(contact.project_ids):
                if project_id in self.projects:
                    self._unlink(self.projects[project_id], contact)
            del self.contacts[contact_id]

    # -- catalog items ----------------------------------------------------------------------------

    def list_catalog_items(self) -> list[JSON]:
        """Every item not archived, by id (the reference documents no paging for this list)."""
        with self.lock:
            return [self.catalog_item_json(i) for i in sorted(self.catalog_items.values(), key=lambda i: i.id)
                    if not i.is_archived]

    def get_catalog_item(self, catalog_item_id: int) -> JSON:
        """Archived items are gone from lookups too (the reference's DELETE note)."""
        with self.lock:
            item = self.catalog_items.get(catalog_item_id)
            if item is None or item.is_archived:
                raise NotFoundError.record("Catalog item", catalog_item_id)
            return self.catalog_item_json(item)

    # -- invoices ---------------------------------------------------------------------------------

    def list_invoices(
        self,
        page: int = 1,
        page_size: int = DEFAULT_PAGE_SIZE,
        updated_after: datetime | None = None,
        updated_before: datetime | None = None,
        order_by: str = "asc",
        record_id: int | None = None,
    ) -> JSON:
        """``GET /invoices``, or ``GET /projects/{projectId}/invoices`` with ``record_id``."""
        with self.lock:
            candidates = [i for i in self.invoices.values() if record_id is None or i.record_id == record_id]
            selected = _window(self._visible(candidates), updated_after, updated_before, order_by)
            rows, has_more = paginate(selected, page, page_size)
            return {"items": [self.invoice_json(i) for i in rows], "page": page, "page_size": page_size,
                    "has_more": has_more}

    def get_invoice(self, invoice_id: int) -> JSON:
        with self.lock:
            return self.invoice_json(self._invoice(invoice_id))

    def _lines(self, body: Mapping[str, Any], existing: list[LineItem]) -> list[LineItem]:
        """The flattened ``lineItems`` + ``sections`` of a body, checked against the catalog."""
        flat: list[tuple[str, Any, str | None]] = []
        if "lineItems" in body and body["lineItems"] is not None:
            if not isinstance(body["lineItems"], list):
                raise ValidationError("lineItems must be an array", field="lineItems")
            flat += [(f"lineItems[{i}]", li, None) for i, li in enumerate(body["lineItems"])]
        if "sections" in body and body["sections"] is not None:
            sections = body["sections"]
            if not isinstance(sections, list):
                raise ValidationError("sections must be an array", field="sections")
            for s, section in enumerate(sections):
                if not isinstance(section, dict) or not isinstance(section.get("lineItems"), list) \
                        or not section["lineItems"]:
                    raise ValidationError("each section needs at least one line item",
                                          field=f"sections[{s}].lineItems")
                name = section.get("name")
                if name is not None and (not isinstance(name, str) or not 1 <= len(name) <= 500):
                    raise ValidationError("section name must be 1-500 characters", field=f"sections[{s}].name")
                flat += [(f"sections[{s}].lineItems[{i}]", li, name) for i, li in enumerate(section["lineItems"])]
        if not flat:
            raise ValidationError("lineItems (or sections) with at least one item are required for LINE_ITEMS",
                                  field="lineItems")
        known = {li.id: li for li in existing}
        seen: set[int] = set()
        lines: list[LineItem] = []
        for where, raw, section in flat:
            if not isinstance(raw, dict):
                raise ValidationError("a line item must be an object", field=where)
            for required in ("catalogItemId", "quantity", "unitCost", "unitPrice"):
                if required not in raw or raw[required] is None:
                    raise ValidationError(f"{required} is required", field=f"{where}.{required}")
            catalog_id = raw["catalogItemId"]
            if not _is_int(catalog_id):
                raise ValidationError("catalogItemId must be an integer", field=f"{where}.catalogItemId")
            item = self.catalog_items.get(catalog_id)
            if item is None or item.is_archived:
                raise ValidationError(f"Catalog item {catalog_id} does not exist", field=f"{where}.catalogItemId")
            if catalog_id in seen:
                raise ValidationError(f"catalogItemId {catalog_id} appears more than once; a catalog item may "
                                      "appear at most once per invoice", field=f"{where}.catalogItemId")
            seen.add(catalog_id)
            if not _is_int(raw["quantity"]) or raw["quantity"] < 1:
                raise ValidationError("quantity must be a positive integer", field=f"{where}.quantity")
            for money_field in ("unitCost", "unitPrice"):
                if not _is_number(raw[money_field]):
                    raise ValidationError(f"{money_field} must be a number", field=f"{where}.{money_field}")
            description = raw.get("description")
            if description is not None and not isinstance(description, str):
                raise ValidationError("description must be a string or null", field=f"{where}.description")
            line_id = raw.get("id") or 0
            if not _is_int(line_id):
                raise ValidationError("id must be an integer", field=f"{where}.id")
            lines.append(LineItem(
                id=line_id if line_id in known else self.next_line_item_id(), catalog_item_id=catalog_id,
                quantity=raw["quantity"], unit_cost=float(raw["unitCost"]), unit_price=float(raw["unitPrice"]),
                description=description, section=section,
            ))
        return lines

    @staticmethod
    def line_items_amount(lines: Iterable[LineItem]) -> float:
        """Sum of quantity x unit price, exact in decimal, rounded half-up to cents."""
        return money(sum((Decimal(li.quantity) * Decimal(str(li.unit_price)) for li in lines), Decimal(0)))

    def _percentage_amount(self, record_id: int, percentage: Any) -> tuple[float, float, float]:
        if not _is_number(percentage) or not 0 < percentage <= 100:
            raise ValidationError("percentage must be a number greater than 0 and at most 100", field="percentage")
        project = self.projects.get(record_id)
        if project is None or project.value is None:
            raise ValidationError("a PERCENTAGE invoice needs a project with a value", field="percentage")
        base = project.value
        return float(percentage), money(Decimal(str(base)) * Decimal(str(percentage)) / 100), base

    def create_invoice(self, body: Mapping[str, Any]) -> JSON:
        with self.lock:
            if not isinstance(body, Mapping):
                raise ValidationError("Request body must be a JSON object")
            for required in ("recordId", "calculationMethod"):
                if body.get(required) is None:
                    raise ValidationError(f"{required} is required", field=required)
            record_id = body["recordId"]
            if not _is_int(record_id):
                raise ValidationError("recordId must be an integer", field="recordId")
            if record_id not in self.projects and record_id not in self.accounts:
                raise ValidationError(f"Record {record_id} does not exist; create the project or account first",
                                      field="recordId")
            method = _enum(body["calculationMethod"], CALCULATION_METHODS, "calculationMethod")
            status = _enum(body.get("status", "DRAFT"), INVOICE_CREATE_STATUSES, "status")
            issue_date = parse_timestamp(body["issueDate"], "issueDate") if body.get("issueDate") else None
            if status in FINAL_CREATE_STATUSES and issue_date is None:
                raise ValidationError(f"issueDate is required when status is {status}", field="issueDate")
            if status == "DRAFT":
                issue_date = None  # the reference: ignored for DRAFT invoices
            due_date = parse_timestamp(body["dueDate"], "dueDate") if body.get("dueDate") is not None else None
            description = _string(body, "description", nullable=True) if "description" in body else None
            lines: list[LineItem] = []
            percentage = base_amount = None
            if method == "LINE_ITEMS":
                if body.get("percentage") is not None:
                    raise ValidationError("percentage is only for PERCENTAGE invoices", field="percentage")
                lines = self._lines(body, [])
                amount = self.line_items_amount(lines)
            else:
                if body.get("lineItems") is not None or body.get("sections") is not None:
                    raise ValidationError("lineItems and sections must be omitted for PERCENTAGE invoices",
                                          field="lineItems")
                if body.get("percentage") is None:
                    raise ValidationError("percentage is required when calculationMethod is PERCENTAGE",
                                          field="percentage")
                percentage, amount, base_amount = self._percentage_amount(record_id, body["percentage"])
            now = self.now()
            invoice = InvoiceRecord(
                id=self.next_invoice_id(), uid=self.next_invoice_uid(), record_id=record_id,
                calculation_method=method, status=status, amount=amount, created_at=now, updated_at=now,
                amount_paid=amount if status == "PAID" else 0.0, description=description, due_date=due_date,
                issue_date=issue_date, percentage=percentage, base_amount=base_amount, line_items=lines,
            )
            self.invoices[invoice.id] = invoice
            return self.invoice_json(invoice)

    def update_invoice(self, invoice_id: int, body: Mapping[str, Any]) -> JSON:
        with self.lock:
            invoice = self._invoice(invoice_id)
            if not isinstance(body, Mapping):
                raise ValidationError("Request body must be a JSON object")
            if "calculationMethod" in body:
                raise ValidationError("calculationMethod cannot be changed after creation",
                                      field="calculationMethod")
            changes: JSON = {}
            if "status" in body:
                changes["status"] = _enum(body["status"], INVOICE_STATUSES, "status")
            if "dueDate" in body:
                changes["due_date"] = parse_timestamp(body["dueDate"], "dueDate") if body["dueDate"] else None
            if "description" in body:
                changes["description"] = _string(body, "description", nullable=True)
            has_lines = body.get("lineItems") is not None or body.get("sections") is not None
            if has_lines:
                if invoice.calculation_method != "LINE_ITEMS":
                    raise ValidationError("lineItems and sections are only for LINE_ITEMS invoices",
                                          field="lineItems")
                changes["line_items"] = self._lines(body, invoice.line_items)
                changes["amount"] = self.line_items_amount(changes["line_items"])
            if body.get("percentage") is not None:
                if invoice.calculation_method != "PERCENTAGE":
                    raise ValidationError("percentage is only for PERCENTAGE invoices", field="percentage")
                changes["percentage"], changes["amount"], changes["base_amount"] = self._percentage_amount(
                    invoice.record_id, body["percentage"])
            for name, value in changes.items():
                setattr(invoice, name, value)
            if invoice.status == "PAID":
                invoice.amount_paid = invoice.amount
            invoice.updated_at = self.now()
            return self.invoice_json(invoice)

    def delete_invoice(self, invoice_id: int) -> None:
        with self.lock:
            self._invoice(invoice_id)
            del self.invoices[invoice_id]

    # -- summary ----------------------------------------------------------------------------------

    def counts(self) -> dict[str, int]:
        with self.lock:
            return {"projects": len(self.projects), "contacts": len(self.contacts), "invoices": len(self.invoices),
                    "catalog_items": len(self.catalog_items), "accounts": len(self.accounts)}


def _contact_matches(contact: ContactRecord, term: str) -> bool:
    folded = term.casefold()
    if folded in contact.name.casefold() or any(folded in e.casefold() for e in contact.emails):
        return True
    digits = re.sub(r"\D", "", term)
    return len(digits) >= 3 and any(digits in re.sub(r"\D", "", p) for p in contact.phones)
