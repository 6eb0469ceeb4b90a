"""Who owns which field: a change overwrites only the fields that changed at its origin since the last sync.

A Coperniq-born invoice is Coperniq's, but a bookkeeper may fix its due date or memo in QuickBooks. The
next time Coperniq sends the invoice (its status moved, say), comparing Coperniq's values with
QuickBooks' would undo that fix. So each write leaves a baseline: a short fingerprint of every field as
Coperniq last sent it, on the link line of the invoice's PrivateNote::

    Coperniq invoice #123 [sync c=3f1a2b d=9c0e41 l=77aa10 m=5b2c9d n=e0f1a2 r=0b1c2d t=44d0e1]

Each entry is the first 6 hex digits of a BLAKE2 hash of one field's value in QuickBooks' terms
(``c`` CustomerRef, ``n`` DocNumber, ``t`` TxnDate, ``d`` DueDate, ``r`` SalesTermRef, ``m`` the
description, ``l`` the lines). On the next write a field is sent only when its fingerprint moved, i.e.
Coperniq changed it since the last sync, and then only if QuickBooks' value differs. A field edited
only in QuickBooks keeps the bookkeeper's value. Without a baseline (an invoice linked before
fingerprints existed, or whose tag was deleted) every field but TxnDate counts as changed: Coperniq's
values win once, and the write stores the baseline; the invoice date stays (it may be in a closed
period). Loop-free: a fingerprint is rewritten only when Coperniq's values changed, and QuickBooks'
copy of a Coperniq-born invoice sends nothing back but payments.

Customers carry the same baseline on the link line of their Notes::

    Coperniq project #42 [sync b=... e=... f=... g=... n=... p=... s=...]

(``n`` DisplayName, ``o`` CompanyName, ``g`` GivenName, ``f`` FamilyName, ``e`` the email, ``p`` the
phone, ``b`` BillAddr, ``s`` ShipAddr), so a bookkeeper's fix of a phone, an address or a name stays
when Coperniq sends the project for an unrelated change. A customer linked before customer baselines
existed compares as before (the job-site rule of ``mapping.job_site`` included) and gets its baseline
with its next write. The baseline is refreshed only with a write that happens anyway: when a
QuickBooks edit came back to Coperniq (qbo:out:1), Coperniq's value moved but QuickBooks already holds
it, and writing the tag alone would cost a write in every round after an edit. The entries of fields
a record does not carry (a contact alone carries no title or address) are kept.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Mapping
from typing import Any

from mapping.coperniq_to_qbo import _line_key, _sales_lines, _text, customer_changes, date_part, invoice_changes
from mapping.links import (
    customer_notes_with_link,
    invoice_id_from_note,
    invoice_note_with_link,
    project_id_from_notes,
    strip_links,
    title_from_display_name,
)

# Fingerprint keys: short and stable (they are stored in QuickBooks); add new ones, never reuse one.
INVOICE_FIELD_CODES = {
    "CustomerRef": "c", "DocNumber": "n", "TxnDate": "t", "DueDate": "d", "SalesTermRef": "r",
    "CustomerMemo": "m", "Line": "l",
}
DESCRIPTION_CODE = "m"
CUSTOMER_FIELD_CODES = {
    "DisplayName": "n", "CompanyName": "o", "GivenName": "g", "FamilyName": "f", "PrimaryEmailAddr": "e",
    "PrimaryPhone": "p", "BillAddr": "b", "ShipAddr": "s",
}
HASH_HEX = 6
_TAG_RE = re.compile(r"\[sync((?:\s+[a-z]=[0-9a-f]+)*)\s*\]", re.I)
_ENTRY_RE = re.compile(r"([a-z])=([0-9a-f]+)", re.I)


def _digest(value: Any) -> str:
    text = json.dumps(value, sort_keys=True, default=str, ensure_ascii=False)
    return hashlib.blake2s(text.encode("utf-8"), digest_size=8).hexdigest()[:HASH_HEX]


def _ref(value: Any) -> str:
    return str(value.get("value") or "") if isinstance(value, Mapping) else _text(value)


def _description(desired: Mapping[str, Any], description_target: str) -> str | None:
    if description_target == "PrivateNote":
        return strip_links(desired.get("PrivateNote"))
    memo = desired.get("CustomerMemo")
    return memo.get("value") if isinstance(memo, Mapping) else None


def _canonical(key: str, value: Any) -> Any:
    """A field's value as the comparisons in ``coperniq_to_qbo`` see it (so equal there, equal here)."""
    if key in ("CustomerRef", "SalesTermRef"):
        return _ref(value)
    if key in ("TxnDate", "DueDate"):
        day = date_part(value)
        return day.isoformat() if day else None
    if key == "Line":
        return [[str(part) for part in _line_key(line, "Qty" in (line.get("SalesItemLineDetail") or {}))]
                for line in _sales_lines(value)]
    return _text(value)


def invoice_fingerprint(desired: Mapping[str, Any], description_target: str = "CustomerMemo") -> dict[str, str]:
    """Per-field fingerprints of the invoice fields Coperniq sends (absent fields have none)."""
    found: dict[str, str] = {}
    for key, code in INVOICE_FIELD_CODES.items():
        if code == DESCRIPTION_CODE:
            text = _description(desired, description_target)
            if text:
                found[code] = _digest(_text(text))
        elif desired.get(key) is not None:
            found[code] = _digest(_canonical(key, desired[key]))
    return found


def sync_tag(fingerprint: Mapping[str, str]) -> str:
    """``[sync c=... d=...]``, entries in key order."""
    return "[sync" + "".join(f" {code}={value}" for code, value in sorted(fingerprint.items())) + "]"


def fingerprint_in(note: str | None) -> dict[str, str] | None:
    """The baseline stored in a PrivateNote (the last ``[sync ...]`` tag), else None."""
    tags = _TAG_RE.findall(note or "")
    if not tags:
        return None
    return {code.lower(): value.lower() for code, value in _ENTRY_RE.findall(tags[-1])}


def changed_since(baseline: Mapping[str, str] | None, fingerprint: Mapping[str, str]) -> set[str]:
    """Codes of the fields whose value changed at the origin since the baseline (all of them without one)."""
    if baseline is None:
        return set(fingerprint)
    return {code for code, value in fingerprint.items() if baseline.get(code) != value}


def note_with_fingerprint(note_text: str | None, invoice_id: int, fingerprint: Mapping[str, str]) -> str:
    """A PrivateNote: the text, then the link line carrying the baseline."""
    return invoice_note_with_link(note_text, invoice_id, sync_tag(fingerprint))


def invoice_to_create(desired: dict[str, Any], description_target: str = "CustomerMemo") -> dict[str, Any]:
    """The create body: the desired fields, with the baseline on the PrivateNote's link line."""
    invoice_id = invoice_id_from_note(desired.get("PrivateNote"))
    if invoice_id is None:
        return desired
    fingerprint = invoice_fingerprint(desired, description_target)
    return {**desired, "PrivateNote": note_with_fingerprint(strip_links(desired.get("PrivateNote")), invoice_id,
                                                            fingerprint)}


def invoice_update(current: Mapping[str, Any], desired: Mapping[str, Any],
                   description_target: str = "CustomerMemo") -> dict[str, Any]:
    """The sparse-update fields for a linked invoice: only what Coperniq changed since the last sync and
    QuickBooks does not already hold, plus the refreshed baseline; {} means no write."""
    invoice_id = invoice_id_from_note(desired.get("PrivateNote"))
    fingerprint = invoice_fingerprint(desired, description_target)
    baseline = fingerprint_in(current.get("PrivateNote"))
    moved = changed_since(baseline, fingerprint)
    if baseline is None:
        # Linked by an older version, which left TxnDate to QuickBooks: an issued invoice keeps its date
        # (it may lie in a closed period).
        moved.discard(INVOICE_FIELD_CODES["TxnDate"])
    owned = {key: value for key, value in desired.items()
             if key != "PrivateNote" and INVOICE_FIELD_CODES.get(key, "") in moved | {""}}
    changes = invoice_changes(dict(current), owned)
    if invoice_id is None:
        return changes
    description_moved = description_target == "PrivateNote" and DESCRIPTION_CODE in moved
    text = strip_links(desired.get("PrivateNote")) if description_moved else strip_links(current.get("PrivateNote"))
    note = note_with_fingerprint(text, invoice_id, fingerprint)
    if _text(note) != _text(current.get("PrivateNote")):
        changes["PrivateNote"] = note
    return changes


def customer_fingerprint(desired: Mapping[str, Any], project_id: int) -> dict[str, str]:
    """Per-field fingerprints of the customer fields Coperniq sends (absent fields have none).

    The DisplayName counts without this project's collision suffix (``Title (Coperniq #ID)``): which
    name is free is QuickBooks' business, not a change at the origin.
    """
    found: dict[str, str] = {}
    for key, code in CUSTOMER_FIELD_CODES.items():
        value = desired.get(key)
        if value is None:
            continue
        if key == "DisplayName":
            value = title_from_display_name(str(value), project_id)
        found[code] = _digest(value)
    return found


def customer_to_create(desired: Mapping[str, Any], project_id: int) -> dict[str, Any]:
    """The create body: the desired fields, with the link and the baseline as the Notes."""
    tag = sync_tag(customer_fingerprint(desired, project_id))
    return {**desired, "Notes": customer_notes_with_link(None, project_id, tag)}


def customer_update(current: Mapping[str, Any], desired: Mapping[str, Any], project_id: int) -> dict[str, Any]:
    """The sparse-update fields for a linked (or adopted) customer; {} means no write.

    Only what Coperniq changed since the baseline and QuickBooks does not already hold (all the desired
    fields for a customer without a baseline); a missing or foreign link is written back. A write carries
    the refreshed baseline on the link line, keeping the bookkeeper's text of the Notes.
    """
    fingerprint = customer_fingerprint(desired, project_id)
    baseline = fingerprint_in(current.get("Notes"))
    moved = changed_since(baseline, fingerprint)
    owned = {key: value for key, value in desired.items() if CUSTOMER_FIELD_CODES.get(key, "") in moved | {""}}
    changes = customer_changes(dict(current), owned)
    if project_id_from_notes(current.get("Notes")) != project_id:
        changes["Notes"] = customer_notes_with_link(current.get("Notes"), project_id)
    if not changes:
        return {}
    notes = customer_notes_with_link(changes.get("Notes", current.get("Notes")), project_id,
                                     sync_tag({**(baseline or {}), **fingerprint}))
    if _text(notes) != _text(current.get("Notes")):
        changes["Notes"] = notes
    return changes


def customer_notes_rebased(fresh_notes: str | None, written_notes: str, project_id: int) -> str:
    """Notes written over a customer someone edited meanwhile: the fresh text, with the written baseline."""
    baseline = fingerprint_in(written_notes)
    return customer_notes_with_link(fresh_notes, project_id, sync_tag(baseline) if baseline is not None else None)
