"""Strict readers for the values a mapping cannot guess: money, numbers, dates, lists of text.

A record that fails one of them is *unmappable*: the destination skips it and reports the record's
id and the reason, instead of writing a wrong invoice (a missing amount is not $0, a day-first date
is not "no due date") or stopping the sync.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, datetime
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Any

CENT = Decimal("0.01")
# Ten billion dollars or more is a data error, not a contractor's invoice, and it is where a JSON
# float stops holding cents exactly (15 significant digits).
MAX_AMOUNT = Decimal("9999999999.99")


class UnmappableRecord(ValueError):
    """A record whose values cannot be mapped; the message names the field and says why."""


def decimal_number(value: Any, name: str) -> Decimal:
    """A finite number (a number or numeric text) as Decimal."""
    if value is None or (isinstance(value, str) and not value.strip()):
        raise UnmappableRecord(f"`{name}` is missing")
    if isinstance(value, bool) or not isinstance(value, int | float | Decimal | str):
        raise UnmappableRecord(f"`{name}` must be a number, got {_show(value)}")
    try:
        number = Decimal(str(value).strip())
    except InvalidOperation:
        raise UnmappableRecord(f"`{name}` must be a number, got {_show(value)}") from None
    if not number.is_finite():
        raise UnmappableRecord(f"`{name}` must be a finite number, got {_show(value)}")
    return number


def money_amount(value: Any, name: str, allow_negative: bool = False) -> Decimal:
    """A money amount rounded half-up to the cent; missing, non-numeric, absurd or (by default) negative is refused."""
    amount = decimal_number(value, name).quantize(CENT, rounding=ROUND_HALF_UP)
    if abs(amount) > MAX_AMOUNT:
        raise UnmappableRecord(f"`{name}` {_show(value)} is beyond {MAX_AMOUNT:,}: not a plausible invoice amount")
    if amount < 0 and not allow_negative:
        raise UnmappableRecord(f"`{name}` {_show(value)} is negative: an invoice cannot total less than zero "
                               "(a refund is a credit memo)")
    return amount


def optional_date(value: Any, name: str) -> date | None:
    """The calendar date of an ISO 8601 date or date-time as written (no time-zone shift); None when empty."""
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    text = str(value).strip()
    try:
        if len(text) > 10:
            return datetime.fromisoformat(text.replace("Z", "+00:00")).date()
        return date.fromisoformat(text)
    except ValueError:
        raise UnmappableRecord(f"`{name}` must be an ISO 8601 date (YYYY-MM-DD), got {_show(value)}") from None


def text_list(value: Any, name: str) -> list[str]:
    """A list of text (a bare string counts as a list of one; None as empty)."""
    if value is None:
        return []
    if isinstance(value, str):
        return [value]
    if not isinstance(value, list) or not all(isinstance(item, str) for item in value if item is not None):
        raise UnmappableRecord(f"`{name}` must be a list of text, got {_show(value)}")
    return [item for item in value if item is not None]


def optional_text(value: Any, name: str) -> str | None:
    if value is None or isinstance(value, str):
        return value
    if isinstance(value, int | float) and not isinstance(value, bool):
        return str(value)
    raise UnmappableRecord(f"`{name}` must be text, got {_show(value)}")


def optional_object(value: Any, name: str) -> Mapping[str, Any] | None:
    if value is None or isinstance(value, Mapping):
        return value
    raise UnmappableRecord(f"`{name}` must be an object, got {_show(value)}")


def _show(value: Any) -> str:
    """A short, safe rendering of a bad value for a log line."""
    text = repr(value)
    return text if len(text) <= 60 else f"{text[:57]}..."
