"""Invoice numbers: a Coperniq invoice's ``uid`` as QuickBooks' ``DocNumber``, and what to do when it is taken.

- The company's ``SalesFormsPrefs.CustomTxnNumbers`` preference decides: on, the connector sends the
  Coperniq number; off, QuickBooks numbers the invoice itself and nothing is sent (Intuit: sending a
  number then "can lead to unwanted duplicates"). The link (``Coperniq invoice #<id>`` in PrivateNote)
  finds the invoice again either way.
- A number already used in QuickBooks (fault 6140, when the company checks duplicates) is retried once
  as ``<uid>-C`` ("C" for Coperniq, within QuickBooks' 21 characters): the invoice is written, its number
  stays recognisable and unique, and the sync reports it. When that is taken too, the invoice is reported
  and not written, for a person to decide.
"""

from __future__ import annotations

from typing import Any

DOC_NUMBER_MAX = 21
DUPLICATE_SUFFIX = "-C"


def doc_number(uid: Any) -> str | None:
    """The DocNumber of a Coperniq invoice number, at most 21 characters; None without a number."""
    if uid is None or str(uid).strip() == "":
        return None
    return str(uid).strip()[:DOC_NUMBER_MAX]


def suffixed_doc_number(number: str) -> str:
    """``1042-C``: the number to use when ``number`` is taken; the number is shortened, never the suffix."""
    return number[: DOC_NUMBER_MAX - len(DUPLICATE_SUFFIX)] + DUPLICATE_SUFFIX


def doc_numbers_for_lookup(uid: Any) -> list[str]:
    """Every number an invoice of this uid may carry in QuickBooks: as sent, or suffixed after a duplicate."""
    number = doc_number(uid)
    return [number, suffixed_doc_number(number)] if number else []


def doc_number_matches(current: Any, desired: Any) -> bool:
    """True when QuickBooks' DocNumber is the desired number or its duplicate-suffixed form."""
    have, want = str(current or ""), str(desired or "")
    return have == want or (bool(want) and have == suffixed_doc_number(want))


def is_suffixed(number: Any) -> bool:
    return str(number or "").endswith(DUPLICATE_SUFFIX)
