"""Payment terms both ways: a QuickBooks ``SalesTermRef`` from Coperniq dates, a readable terms line back.

Coperniq has no terms field: an invoice has an ``issueDate`` and a ``dueDate``. QuickBooks has a list
of terms (``Term``: Net 15, Net 30, Due on receipt...), each ``DueDays`` after the invoice date.

- Coperniq -> QuickBooks: when the due date follows the issue date by exactly a company term's days,
  the invoice gets that term (``term_for_dates``); the due date sent is always Coperniq's.
- QuickBooks -> Coperniq: the term's name becomes one line of the Coperniq invoice description,
  ``Terms: Net 30`` (``terms_line``), above the link marker; the due date goes to ``dueDate``.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date
from typing import Any

TERMS_PREFIX = "Terms: "
_TERMS_LINE_RE = re.compile(r"^\s*Terms:\s*(.+?)\s*$", re.I | re.M)


@dataclass(frozen=True)
class Term:
    """One standard QuickBooks term: due ``days`` after the invoice date."""

    id: str
    name: str
    days: int


def terms_from_rows(rows: Iterable[Mapping[str, Any]]) -> tuple[Term, ...]:
    """The company's active standard terms, fewest days first, then lowest Id (a deterministic choice).

    Date-driven terms (due on a day of the month) have no fixed number of days and are left out.
    """
    terms = []
    for row in rows:
        days = row.get("DueDays")
        if row.get("Active") is False or str(row.get("Type") or "STANDARD").upper() != "STANDARD":
            continue
        if isinstance(days, bool) or not isinstance(days, int | float) or days < 0 or days != int(days):
            continue
        terms.append(Term(str(row.get("Id")), str(row.get("Name") or "").strip(), int(days)))
    return tuple(sorted(terms, key=lambda t: (t.days, int(t.id) if t.id.isdigit() else 0, t.id)))


def term_for_dates(terms: Iterable[Term], issued: date | None, due: date | None) -> Term | None:
    """The term whose days are exactly ``due - issued``; None without both dates or when none fits."""
    if issued is None or due is None:
        return None
    days = (due - issued).days
    return next((term for term in terms if term.days == days), None)


def sales_term_ref(term: Term) -> dict[str, str]:
    return {"value": term.id, "name": term.name}


def terms_line(name: str | None, days: int | None = None) -> str | None:
    """``Terms: Net 30``; without a term name, the days it stands for (``Terms: due in 30 days``)."""
    text = " ".join(str(name or "").split())
    if text:
        return TERMS_PREFIX + text
    if days is None or days < 0:
        return None
    return TERMS_PREFIX + ("due on receipt" if days == 0 else f"due in {days} day{'s' if days != 1 else ''}")


def with_terms_line(text: str | None, line: str | None) -> str | None:
    """The text with its terms line replaced by ``line`` (added last); the text as it is without one."""
    if not line:
        return text or None
    body = _TERMS_LINE_RE.sub("", text or "")
    body = "\n".join(part for part in body.splitlines() if part.strip()).strip()
    parts = [part for part in (body, line) if part]
    return "\n".join(parts) or None


def terms_in(text: str | None) -> str | None:
    """The terms a description names on its ``Terms:`` line (the last one), else None."""
    found = _TERMS_LINE_RE.findall(text or "")
    return found[-1] if found else None


def qbo_invoice_terms(invoice: Mapping[str, Any], issued: date | None, due: date | None) -> str | None:
    """The terms line for a QuickBooks invoice: its SalesTermRef's name, else its dates' distance."""
    ref = invoice.get("SalesTermRef")
    if not isinstance(ref, Mapping) or not ref.get("value"):
        return None
    days = (due - issued).days if issued and due else None
    return terms_line(ref.get("name"), days)
