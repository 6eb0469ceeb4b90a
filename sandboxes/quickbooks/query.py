"""The subset of QBO's query language the sandbox understands: a parser and an evaluator.

``SELECT * | COUNT(*) | field, ... FROM Entity [WHERE cond AND cond ...]
[ORDERBY|ORDER BY field [ASC|DESC], ...] [STARTPOSITION n] [MAXRESULTS n]``

Conditions are ``field op literal`` with ``=``, ``<``, ``>``, ``<=``, ``>=``, ``IN (...)`` and
``LIKE`` (``%`` wildcard). Like QBO there is no ``OR``, ``NOT``, ``!=``, join or sub-select; those
are syntax errors (fault 4000). A well-formed query that asks for something QBO refuses (an
unknown or unfilterable field, ``Id > ...``, ``MAXRESULTS 1001``) is fault 4001. Keywords,
entity and field names are case-insensitive, and so are string comparisons (as QBO's are).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime, tzinfo
from decimal import Decimal, InvalidOperation
from typing import Any

from .errors import QueryParserError, QueryValidationError

Literal = str | Decimal | bool

DEFAULT_MAX_RESULTS = 100
MAX_RESULTS_LIMIT = 1000

# --- lexer ------------------------------------------------------------------------------------------

_KEYWORDS = {
    "select", "from", "where", "and", "in", "like", "order", "orderby", "by", "asc", "desc",
    "startposition", "maxresults", "count", "true", "false",
}
# Words QBO's grammar rejects (or that SQL users reach for): a clear 4000 rather than a silent miss.
_UNSUPPORTED = {"or", "not", "join", "group", "having", "limit", "offset", "between", "is", "null", "union"}


@dataclass(frozen=True)
class Token:
    kind: str  # "kw", "ident", "string", "number", "op", "punct", "eof"
    value: str
    column: int


_IDENT = re.compile(r"[A-Za-z_][A-Za-z0-9_.]*")
_NUMBER = re.compile(r"-?\d+(?:\.\d+)?")


def tokenize(text: str) -> list[Token]:
    tokens: list[Token] = []
    i, n = 0, len(text)
    while i < n:
        ch = text[i]
        col = i + 1
        if ch.isspace():
            i += 1
        elif ch == "'":
            value, i = _read_string(text, i)
            tokens.append(Token("string", value, col))
        elif ch in "(),*":
            tokens.append(Token("punct", ch, col))
            i += 1
        elif ch in "<>=!":
            two = text[i : i + 2]
            if two in ("<=", ">="):
                tokens.append(Token("op", two, col))
                i += 2
            elif two in ("<>", "!="):
                raise QueryParserError(
                    f'Encountered " "{two}" "{two} "" at line 1, column {col}. Operator {two} is not supported.'
                )
            elif ch == "!":
                raise _lexical(ch, col)
            else:
                tokens.append(Token("op", ch, col))
                i += 1
        elif m := _NUMBER.match(text, i):
            tokens.append(Token("number", m.group(), col))
            i = m.end()
        elif m := _IDENT.match(text, i):
            word = m.group()
            low = word.lower()
            tokens.append(Token("kw" if low in _KEYWORDS or low in _UNSUPPORTED else "ident", word, col))
            i = m.end()
        else:
            raise _lexical(ch, col)
    tokens.append(Token("eof", "<EOF>", n + 1))
    return tokens


def _lexical(ch: str, col: int) -> QueryParserError:
    return QueryParserError(
        f'Invalid content. Lexical error at line 1, column {col}.  Encountered: "{ch}" ({ord(ch)}), after : ""'
    )


def _read_string(text: str, start: int) -> tuple[str, int]:
    """A single-quoted literal; a backslash escapes the next character (``\\'`` and ``\\\\``)."""
    out: list[str] = []
    i = start + 1
    while i < len(text):
        ch = text[i]
        if ch == "\\" and i + 1 < len(text):
            out.append(text[i + 1])
            i += 2
        elif ch == "'":
            return "".join(out), i + 1
        else:
            out.append(ch)
            i += 1
    raise QueryParserError(
        f"Invalid content. Lexical error at line 1, column {len(text) + 1}.  Encountered: <EOF> after : "
        f"\"{text[start:]}\""
    )


# --- parser -----------------------------------------------------------------------------------------


_EXPECT_OPERATOR = '"=" ...\n    "<" ...\n    ">" ...\n    "<=" ...\n    ">=" ...\n    "in" ...\n    "like" ...'


@dataclass(frozen=True)
class Condition:
    field: str
    op: str  # "=", "<", ">", "<=", ">=", "IN", "LIKE"
    values: tuple[Literal, ...]


@dataclass(frozen=True)
class Query:
    entity: str
    count: bool = False
    fields: tuple[str, ...] | None = None  # None: every field (``*``)
    where: tuple[Condition, ...] = ()
    order_by: tuple[tuple[str, bool], ...] = ()  # (field, descending)
    start_position: int | None = None
    max_results: int | None = None


class _Parser:
    def __init__(self, text: str) -> None:
        if not text.strip():
            raise QueryParserError("The query provided was empty")
        self.tokens = tokenize(text)
        self.pos = 0

    @property
    def tok(self) -> Token:
        return self.tokens[self.pos]

    def advance(self) -> Token:
        tok = self.tok
        self.pos += 1
        return tok

    def is_kw(self, *words: str) -> bool:
        return self.tok.kind == "kw" and self.tok.value.lower() in words

    def fail(self, expecting: str) -> QueryParserError:
        tok = self.tok
        if tok.kind == "kw" and tok.value.lower() in _UNSUPPORTED:
            return QueryParserError(
                f'Encountered " <{tok.value.upper()}> "{tok.value} "" at line 1, column {tok.column}. '
                f"{tok.value.upper()} is not supported by the QuickBooks query language."
            )
        shown = "<EOF>" if tok.kind == "eof" else f'"{tok.value}"'
        return QueryParserError(
            f"Encountered {shown} at line 1, column {tok.column}.\nWas expecting one of:\n    {expecting}"
        )

    def expect_kw(self, word: str) -> None:
        if not self.is_kw(word):
            raise self.fail(f'"{word}" ...')
        self.advance()

    def expect_punct(self, ch: str) -> None:
        if not (self.tok.kind == "punct" and self.tok.value == ch):
            raise self.fail(f'"{ch}" ...')
        self.advance()

    def ident(self) -> str:
        if self.tok.kind != "ident":
            raise self.fail("<IDENTIFIER> ...")
        return self.advance().value

    def integer(self, what: str) -> int:
        if self.tok.kind != "number" or not self.tok.value.lstrip("-").isdigit():
            raise self.fail(f"<INTEGER> (after {what}) ...")
        return int(self.advance().value)

    def parse(self) -> Query:
        self.expect_kw("select")
        count, fields = self.projection()
        self.expect_kw("from")
        entity = self.ident()
        where: list[Condition] = []
        if self.is_kw("where"):
            self.advance()
            where.append(self.condition())
            while self.is_kw("and"):
                self.advance()
                where.append(self.condition())
        order: list[tuple[str, bool]] = []
        if self.is_kw("orderby", "order"):
            if self.advance().value.lower() == "order":
                self.expect_kw("by")
            order.append(self.order_item())
            while self.tok.kind == "punct" and self.tok.value == ",":
                self.advance()
                order.append(self.order_item())
        start = maximum = None
        # QBO's grammar takes the two paging clauses in either order, each at most once.
        for _ in range(2):
            if self.is_kw("startposition") and start is None:
                self.advance()
                start = self.integer("STARTPOSITION")
            elif self.is_kw("maxresults") and maximum is None:
                self.advance()
                maximum = self.integer("MAXRESULTS")
        if self.tok.kind != "eof":
            raise self.fail('<EOF> \n    <AND> ...\n    "maxresults" ...\n    "orderby" ...\n    "startposition" ...')
        return Query(entity, count, fields, tuple(where), tuple(order), start, maximum)

    def projection(self) -> tuple[bool, tuple[str, ...] | None]:
        if self.is_kw("count"):
            self.advance()
            self.expect_punct("(")
            self.expect_punct("*")
            self.expect_punct(")")
            return True, None
        fields: list[str] = []
        star = False
        while True:
            if self.tok.kind == "punct" and self.tok.value == "*":
                self.advance()
                star = True
            else:
                fields.append(self.ident())
            if not (self.tok.kind == "punct" and self.tok.value == ","):
                break
            self.advance()
        # ``SELECT *, Sku FROM Item`` (python-quickbooks sends it) means every field.
        return False, None if star else tuple(fields)

    def order_item(self) -> tuple[str, bool]:
        name = self.ident()
        desc = False
        if self.is_kw("asc", "desc"):
            desc = self.advance().value.lower() == "desc"
        return name, desc

    def condition(self) -> Condition:
        name = self.ident()
        if self.is_kw("in"):
            self.advance()
            self.expect_punct("(")
            values = [self.literal()]
            while self.tok.kind == "punct" and self.tok.value == ",":
                self.advance()
                values.append(self.literal())
            self.expect_punct(")")
            return Condition(name, "IN", tuple(values))
        if self.is_kw("like"):
            self.advance()
            if self.tok.kind != "string":
                raise self.fail("<STRING> ...")
            return Condition(name, "LIKE", (self.advance().value,))
        if self.tok.kind != "op":
            raise self.fail(_EXPECT_OPERATOR)
        op = self.advance().value
        return Condition(name, op, (self.literal(),))

    def literal(self) -> Literal:
        tok = self.tok
        if tok.kind == "string":
            self.advance()
            return tok.value
        if tok.kind == "number":
            self.advance()
            return Decimal(tok.value)
        if self.is_kw("true", "false"):
            self.advance()
            return tok.value.lower() == "true"
        raise self.fail("<STRING> ...\n    <NUMBER> ...\n    \"true\" ...\n    \"false\" ...")


def parse(text: str) -> Query:
    """Parse a query; syntax errors raise :class:`QueryParserError` (fault 4000)."""
    return _Parser(text).parse()


def escape_literal(value: str) -> str:
    """Quote a value for a QBO query: backslash first, then the quote."""
    return "'" + value.replace("\\", "\\\\").replace("'", "\\'") + "'"


# --- entities and their queryable fields ------------------------------------------------------------


@dataclass(frozen=True)
class FieldSpec:
    name: str
    path: tuple[str, ...]
    kind: str  # "id", "string", "number", "bool", "datetime", "date", "ref"


def _fields(*specs: tuple[str, str]) -> dict[str, FieldSpec]:
    out: dict[str, FieldSpec] = {}
    for name, kind in specs:
        path = tuple(name.split("."))
        if kind == "ref":
            path = (*path, "value")
        elif name in ("PrimaryEmailAddr",):
            path = (*path, "Address")
        elif name in ("PrimaryPhone",):
            path = (*path, "FreeFormNumber")
        out[name.lower()] = FieldSpec(name, path, kind)
    return out


_META = (("MetaData.CreateTime", "datetime"), ("MetaData.LastUpdatedTime", "datetime"))
_PERSON = (
    ("Id", "id"), ("DisplayName", "string"), ("GivenName", "string"), ("MiddleName", "string"),
    ("FamilyName", "string"), ("CompanyName", "string"), ("PrintOnCheckName", "string"),
    ("PrimaryEmailAddr", "string"), ("PrimaryPhone", "string"), ("Active", "bool"), ("Balance", "number"),
    *_META,
)

ENTITY_FIELDS: dict[str, dict[str, FieldSpec]] = {
    "Customer": _fields(*_PERSON, ("FullyQualifiedName", "string"), ("Job", "bool"), ("ParentRef", "ref")),
    "Vendor": _fields(*_PERSON),
    "Employee": _fields(*_PERSON),
    "Invoice": _fields(
        ("Id", "id"), ("DocNumber", "string"), ("TxnDate", "date"), ("DueDate", "date"),
        ("CustomerRef", "ref"), ("SalesTermRef", "ref"), ("TotalAmt", "number"), ("Balance", "number"),
        ("PrivateNote", "string"), *_META,
    ),
    "Item": _fields(
        ("Id", "id"), ("Name", "string"), ("FullyQualifiedName", "string"), ("Type", "string"),
        ("Sku", "string"), ("Active", "bool"), ("UnitPrice", "number"), *_META,
    ),
    "Term": _fields(("Id", "id"), ("Name", "string"), ("Active", "bool"), ("DueDays", "number"), *_META),
    "CompanyInfo": _fields(("Id", "id"), ("CompanyName", "string"), *_META),
    "CompanyCurrency": _fields(("Id", "id"), ("Code", "string"), ("Name", "string"), ("Active", "bool"), *_META),
}
# Name lists answer only active rows unless the WHERE clause names Active.
INACTIVE_HIDDEN = {"Customer", "Vendor", "Employee", "Item", "Term"}
# Entities QBO has but the sandbox does not model: say so instead of pretending they are empty.
NOT_MODELLED = {
    "account", "bill", "billpayment", "class", "creditmemo", "department", "deposit", "estimate", "payment",
    "paymentmethod", "purchase", "purchaseorder", "refundreceipt", "salesreceipt", "taxcode", "taxrate",
    "timeactivity", "transfer", "vendorcredit", "journalentry", "attachable", "preferences",
}


def canonical_entity(name: str) -> str:
    for entity in ENTITY_FIELDS:
        if entity.lower() == name.lower():
            return entity
    if name.lower() in NOT_MODELLED:
        raise QueryValidationError(f"Entity {name} exists in QuickBooks but is not modelled by the sandbox")
    raise QueryParserError(f'Invalid entity name "{name}"')


# --- evaluation -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Result:
    entity: str
    count: int | None  # COUNT(*) answer, else None
    rows: list[dict[str, Any]]
    start_position: int
    max_results: int


def execute(query: Query, records: Iterable[dict[str, Any]], local_tz: tzinfo) -> Result:
    """Filter, sort and page ``records`` (QBO-shaped dicts) as QBO would answer ``query``."""
    entity = canonical_entity(query.entity)
    specs = ENTITY_FIELDS[entity]
    conditions = [_checked(c, specs, entity, local_tz) for c in query.where]
    if entity in INACTIVE_HIDDEN and "active" in specs and not any(c[0].name == "Active" for c in conditions):
        conditions.append((specs["active"], "=", (True,)))
    start = 1 if query.start_position is None else query.start_position
    maximum = DEFAULT_MAX_RESULTS if query.max_results is None else query.max_results
    if start < 1:
        raise QueryValidationError(f"STARTPOSITION must be 1 or greater; got {start}")
    if maximum < 1 or maximum > MAX_RESULTS_LIMIT:
        raise QueryValidationError(f"MAXRESULTS must be between 1 and {MAX_RESULTS_LIMIT}; got {maximum}")
    order = []
    for name, desc in query.order_by:
        spec = specs.get(name.lower())
        if spec is None:
            raise QueryValidationError(f"property '{name}' is not queryable")
        order.append((spec, desc))
    projection = _projection(query.fields, specs) if query.fields else None

    matched = [r for r in records if all(_matches(r, spec, op, vals, local_tz) for spec, op, vals in conditions)]
    if query.count:
        return Result(entity, len(matched), [], start, maximum)
    matched.sort(key=lambda r: _id_key(r.get("Id")))
    for spec, desc in reversed(order):  # stable sorts, last key first
        present = [r for r in matched if _value(r, spec) is not None]
        missing = [r for r in matched if _value(r, spec) is None]
        present.sort(key=lambda r, s=spec: _sort_key(_value(r, s), s, local_tz), reverse=desc)
        matched = present + missing if desc else missing + present
    page = matched[start - 1 : start - 1 + maximum]
    if projection is not None:
        page = [_project(r, projection) for r in page]
    return Result(entity, None, page, start, maximum)


def _checked(
    cond: Condition, specs: dict[str, FieldSpec], entity: str, local_tz: tzinfo
) -> tuple[FieldSpec, str, tuple[Any, ...]]:
    spec = specs.get(cond.field.lower())
    if spec is None:
        raise QueryValidationError(f"property '{cond.field}' is not queryable")
    if spec.kind in ("id", "bool", "ref") and cond.op not in ("=", "IN"):
        raise QueryValidationError(f"operator '{cond.op}' is not supported for property '{spec.name}'")
    if cond.op == "LIKE" and spec.kind != "string":
        raise QueryValidationError(f"operator 'LIKE' is not supported for property '{spec.name}'")
    values = tuple(_coerce(v, spec, local_tz) for v in cond.values)
    if cond.op == "LIKE":
        pattern = "".join(".*" if part == "%" else re.escape(part) for part in re.split(r"(%)", str(values[0])))
        values = (re.compile(pattern, re.IGNORECASE | re.DOTALL),)
    return spec, cond.op, values


def _coerce(value: Literal, spec: FieldSpec, local_tz: tzinfo) -> Any:
    kind = spec.kind
    bad = QueryValidationError(f"value {value!r} is not valid for property '{spec.name}'")
    if kind == "bool":
        if isinstance(value, bool):
            return value
        if isinstance(value, str) and value.lower() in ("true", "false"):
            return value.lower() == "true"
        raise bad
    if isinstance(value, bool):
        raise bad
    if kind in ("id", "ref"):
        return str(value)
    if kind == "number":
        try:
            return Decimal(str(value))
        except InvalidOperation:
            raise bad from None
    if kind == "datetime":
        if not isinstance(value, str):
            raise bad
        parsed = parse_instant(value, local_tz)
        if parsed is None:
            raise bad
        return parsed
    if kind == "date":
        if not isinstance(value, str):
            raise bad
        try:
            return date.fromisoformat(value[:10])
        except ValueError:
            raise bad from None
    return str(value).casefold()


def parse_instant(value: str, local_tz: tzinfo) -> datetime | None:
    """An ISO date or date-time; without an offset it is the company's local time."""
    try:
        parsed = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=local_tz)


def _value(record: dict[str, Any], spec: FieldSpec) -> Any:
    node: Any = record
    for key in spec.path:
        if not isinstance(node, dict):
            return None
        node = node.get(key)
    return node


def _normalised(raw: Any, spec: FieldSpec, local_tz: tzinfo) -> Any:
    if raw is None:
        return None
    kind = spec.kind
    if kind == "bool":
        return bool(raw)
    if kind in ("id", "ref"):
        return str(raw)
    if kind == "number":
        return Decimal(str(raw))
    if kind == "datetime":
        return parse_instant(str(raw), local_tz)
    if kind == "date":
        return date.fromisoformat(str(raw)[:10])
    return str(raw).casefold()


def _matches(record: dict[str, Any], spec: FieldSpec, op: str, values: tuple[Any, ...], local_tz: tzinfo) -> bool:
    actual = _normalised(_value(record, spec), spec, local_tz)
    if spec.name == "Active" and actual is None:
        actual = True
    if actual is None:
        return False
    if op == "=":
        return actual == values[0]
    if op == "IN":
        return actual in values
    if op == "LIKE":
        return bool(values[0].fullmatch(actual))
    if op == "<":
        return actual < values[0]
    if op == ">":
        return actual > values[0]
    if op == "<=":
        return actual <= values[0]
    return actual >= values[0]


def _id_key(raw: Any) -> tuple[int, str]:
    text = str(raw)
    return (int(text), "") if text.isdigit() else (1 << 62, text)


def _sort_key(raw: Any, spec: FieldSpec, local_tz: tzinfo) -> Any:
    if spec.kind in ("id", "ref"):
        return _id_key(raw)
    return _normalised(raw, spec, local_tz)


def _projection(fields: tuple[str, ...], specs: dict[str, FieldSpec]) -> list[tuple[str, ...]]:
    paths: list[tuple[str, ...]] = [("Id",)]
    for name in fields:
        spec = specs.get(name.lower())
        # A projection may name any top-level property, not only the filterable ones.
        paths.append(tuple(spec.name.split(".")) if spec else tuple(name.split(".")))
    return paths


def _project(record: dict[str, Any], paths: list[tuple[str, ...]]) -> dict[str, Any]:
    out: dict[str, Any] = {"domain": record.get("domain", "QBO"), "sparse": True}
    for path in paths:
        src: Any = record
        for key in path:
            src = src.get(key) if isinstance(src, dict) else None
        if src is None:
            continue
        dst = out
        for key in path[:-1]:
            dst = dst.setdefault(key, {})
        dst[path[-1]] = src
    return out
