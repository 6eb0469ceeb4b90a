"""Where the link between a Coperniq record and a QuickBooks record lives: short text markers.

Neither API has a free "external id" field on every object, so each link is a plain, readable line
in a note field the other side's users rarely edit and that survives renames:

- QuickBooks ``Customer.Notes`` ends with ``Coperniq project #<project id>`` (and the sync baseline);
- QuickBooks ``Invoice.PrivateNote`` (internal memo, never printed) ends with ``Coperniq invoice #<invoice id>``
  (and the sync baseline);
- a Coperniq invoice born in QuickBooks ends its ``description`` with ``QuickBooks invoice #<Invoice.Id>``.

Markers are found case-insensitively and with any spacing around ``#``, anywhere in the text, so a
bookkeeper who re-types, moves or re-cases the line does not break the link. ``strip_links`` removes
them before a text is copied into a field the other system shows to people.
"""

from __future__ import annotations

import re

# Intuit's Customer reference gives Notes "maximum of 2000 chars" (older schemas said 1024; some
# summaries say 4000): 2000 is accepted under every reading.
NOTES_MAX = 2000
PRIVATE_NOTE_MAX = 4000  # Invoice.PrivateNote
DISPLAY_NAME_MAX = 500

PROJECT_MARKER = "Coperniq project #{}"
INVOICE_MARKER = "Coperniq invoice #{}"
QBO_INVOICE_MARKER = "QuickBooks invoice #{}"

# The project and invoice markers may carry the sync baseline (mapping/ownership.py): removed with the marker.
_SYNC_TAG = r"(?:[ \t]*\[sync[^\]\n]*\])?"
_PROJECT_RE = re.compile(r"\bCoperniq\s+project\s*#\s*(\d+)\b" + _SYNC_TAG, re.I)
_INVOICE_RE = re.compile(r"\bCoperniq\s+invoice\s*#\s*(\d+)\b" + _SYNC_TAG, re.I)
# Online Ids are numbers; Desktop TxnIDs are "<hex counter>-<unix time>" (e.g. 1A2-1446676743).
_QBO_INVOICE_RE = re.compile(r"\bQuickBooks\s+invoice\s*#\s*([0-9A-Fa-f]+-\d+|\d+)\b", re.I)
_DISPLAY_SUFFIX_RE = re.compile(r" \(Coperniq #(\d+)\)$")
_ALL_MARKERS = (_PROJECT_RE, _INVOICE_RE, _QBO_INVOICE_RE)


def _remove_markers(text: str | None, patterns: tuple[re.Pattern[str], ...]) -> str:
    """The text without the markers; a line that held only a marker disappears, other lines stay as typed."""
    if not text:
        return ""
    kept = []
    for line in text.splitlines():
        cleaned = line
        for pattern in patterns:
            cleaned = pattern.sub("", cleaned)
        if cleaned != line:
            cleaned = re.sub(r"[ \t]{2,}", " ", cleaned).strip()
            if not cleaned:
                continue
        kept.append(cleaned)
    return "\n".join(kept).strip()


def _with_marker(text: str | None, marker: str, pattern: re.Pattern[str], max_len: int | None) -> str:
    body = _remove_markers(text, (pattern,))
    if not body:
        return marker
    if max_len is not None:
        body = body[: max_len - len(marker) - 1].rstrip()  # trim the people's text, never the marker
    return f"{body}\n{marker}" if body else marker


def _last_id(text: str | None, pattern: re.Pattern[str]) -> str | None:
    matches = pattern.findall(text or "")
    return matches[-1] if matches else None


def _last_number(text: str | None, pattern: re.Pattern[str]) -> int | None:
    found = _last_id(text, pattern)
    return int(found) if found else None


def _tagged(marker: str, sync_tag: str | None) -> str:
    """A marker line, followed by the sync baseline when there is one."""
    return f"{marker} {sync_tag}" if sync_tag else marker


def customer_notes_with_link(notes: str | None, project_id: int, sync_tag: str | None = None) -> str:
    """Customer.Notes keeping the bookkeeper's text, ending with exactly one project marker line
    (followed, on that line, by the sync baseline ``sync_tag`` when given)."""
    return _with_marker(notes, _tagged(PROJECT_MARKER.format(project_id), sync_tag), _PROJECT_RE, NOTES_MAX)


def project_id_from_notes(notes: str | None) -> int | None:
    """The Coperniq project id a Customer.Notes links to (the last marker wins), else None."""
    return _last_number(notes, _PROJECT_RE)


def invoice_note_with_link(note: str | None, invoice_id: int, sync_tag: str | None = None) -> str:
    """Invoice.PrivateNote keeping its text, ending with exactly one Coperniq invoice marker line
    (followed, on that line, by the sync baseline ``sync_tag`` when given)."""
    return _with_marker(note, _tagged(INVOICE_MARKER.format(invoice_id), sync_tag), _INVOICE_RE, PRIVATE_NOTE_MAX)


def invoice_id_from_note(note: str | None) -> int | None:
    """The Coperniq invoice id an Invoice.PrivateNote links to, else None."""
    return _last_number(note, _INVOICE_RE)


def description_with_qbo_link(description: str | None, qbo_id: str | int) -> str:
    """A Coperniq invoice description ending with exactly one ``QuickBooks invoice #<Id>`` line."""
    return _with_marker(description, QBO_INVOICE_MARKER.format(qbo_id), _QBO_INVOICE_RE, None)


def qbo_invoice_id_from_description(description: str | None) -> str | None:
    """The QuickBooks Invoice.Id a Coperniq invoice description links to (a string, as QBO Ids are), else None."""
    return _last_id(description, _QBO_INVOICE_RE)


def strip_links(text: str | None) -> str | None:
    """The text without any link marker, or None if nothing else is left."""
    return _remove_markers(text, _ALL_MARKERS) or None


def _display_suffix(project_id: int) -> str:
    return f" (Coperniq #{project_id})"


def clean_display_name(title: str | None, project_id: int | None) -> str:
    """A valid QuickBooks DisplayName from a project title.

    QuickBooks refuses ':' (its sub-customer separator), tabs and newlines, and more than 500 chars;
    an inner colon becomes " - ", whitespace runs become one space, and an empty title falls back to
    ``Coperniq project #<id>``.
    """
    text = re.sub(r"^[\s:]+|[\s:]+$", "", title or "")
    text = re.sub(r"\s*:+\s*", " - ", text)
    text = re.sub(r"\s+", " ", text)
    text = text[:DISPLAY_NAME_MAX].rstrip()
    return text or PROJECT_MARKER.format(project_id)


def suffixed_display_name(title: str | None, project_id: int) -> str:
    """``Title (Coperniq #ID)`` for a DisplayName already taken; the title is shortened, never the suffix."""
    suffix = _display_suffix(project_id)
    base = clean_display_name(title, project_id)[: DISPLAY_NAME_MAX - len(suffix)].rstrip()
    return base + suffix


def project_id_from_display_name(display_name: str | None) -> int | None:
    """The project id of a ``Title (Coperniq #ID)`` DisplayName, else None."""
    match = _DISPLAY_SUFFIX_RE.search(display_name or "")
    return int(match.group(1)) if match else None


def display_name_matches(display_name: str | None, title: str | None, project_id: int | None) -> bool:
    """True when a DisplayName is what this project's title becomes in QuickBooks, suffixed or not."""
    if display_name is None:
        return False
    if display_name == clean_display_name(title, project_id):
        return True
    return project_id is not None and display_name == suffixed_display_name(title, project_id)


def title_from_display_name(display_name: str | None, project_id: int) -> str:
    """The project title a DisplayName stands for: the name without exactly this project's suffix."""
    text = (display_name or "").strip()
    suffix = _display_suffix(project_id)
    if text.endswith(suffix):
        return text[: -len(suffix)].rstrip()
    return text


# QuickBooks shows an inactive customer's DisplayName with this appended; its own name is the rest.
INACTIVE_SUFFIX = " (deleted)"


def is_inactive(customer: dict) -> bool:
    return customer.get("Active") is False


def own_display_name(customer: dict) -> str | None:
    """A customer's own DisplayName: without the `` (deleted)`` QuickBooks shows while it is inactive.

    The suffix is QuickBooks' way of showing the state, not part of the name: it must never become a
    project title, nor be written back as a name. A customer of unknown state (no ``Active`` key) whose
    name ends with the suffix is read as inactive too: a name never legitimately ends that way here.
    """
    name = customer.get("DisplayName")
    if not isinstance(name, str):
        return name
    if customer.get("Active") is not True and name.endswith(INACTIVE_SUFFIX):
        return name[: -len(INACTIVE_SUFFIX)].rstrip()
    return name
