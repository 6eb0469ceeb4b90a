"""People: names, phones and emails between a Coperniq contact and a QuickBooks Online customer."""

from __future__ import annotations

import copy
import re
from email.utils import parseaddr

import phonenumbers
from nameparser import HumanName

# QuickBooks Online limits (Customer entity reference).
NAME_MAX = 100  # GivenName, FamilyName
PHONE_MAX = 30  # PrimaryPhone.FreeFormNumber
EMAIL_MAX = 100  # PrimaryEmailAddr.Address

DEFAULT_REGION = "US"

# A contact named like an organisation has no given/family name; QuickBooks keeps those in CompanyName,
# which this connector does not own, so the split returns nothing rather than "ABC" / "Roofing LLC".
_COMPANY_RE = re.compile(
    r"\b(?:llc|l\.l\.c|inc|incorporated|corp|corporation|company|ltd|llp|lp|pllc|p\.c|plc|gmbh|trust|"
    r"holdings|group|partners|associates|enterprises|properties|services|solutions|construction|"
    r"management|association|hoa|foundation|university|school|district|department)\b|\bco\.",
    re.I,
)
_EMAIL_RE = re.compile(
    r"[^@\s<>(),;:\"\[\]]+@[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}"
)


def _qbo_name_part(text: str) -> str | None:
    """QuickBooks rejects ':' (sub-customer separator), tabs and newlines in name fields; max 100 chars."""
    text = re.sub(r"\s+", " ", text.replace(":", " ")).strip()
    return text[:NAME_MAX].rstrip() or None


def looks_like_company(full: str | None) -> bool:
    """True for names carrying a legal-entity or organisation word ("Sunrise Roofing LLC")."""
    return bool(full and _COMPANY_RE.search(full))


def split_name(full: str | None) -> tuple[str | None, str | None]:
    """Coperniq's one ``name`` -> QuickBooks (GivenName, FamilyName).

    Decisions: GivenName is the first name plus any middle names written out (nothing is dropped, so
    ``join_name`` restores the name); FamilyName is the last name plus its suffix ("Watson-Parker Jr.");
    titles ("Dr.") and nicknames are dropped; "Last, First" is understood; a name typed all upper or all
    lower case is re-cased ("SMITH, JOHN" -> "John", "Smith"); a single name is a GivenName; an
    organisation name gives (None, None). Name order is not guessed per culture: "Nguyễn Văn An" splits
    as written, into "Nguyễn Văn" and "An".
    """
    if full is None or not full.strip() or looks_like_company(full):
        return None, None
    name = HumanName(re.sub(r"\s+", " ", full).strip())
    name.capitalize(force=False)  # only acts on names typed entirely in one case
    given = " ".join(part for part in (name.first, name.middle) if part)
    family = " ".join(part for part in (name.last, name.suffix) if part)
    return _qbo_name_part(given), _qbo_name_part(family)


def join_name(given: str | None, family: str | None) -> str | None:
    """QuickBooks (GivenName, FamilyName) -> Coperniq's one ``name``."""
    parts = [part.strip() for part in (given, family) if part and part.strip()]
    return " ".join(parts) or None


def _parse_phone(raw: str | None) -> phonenumbers.PhoneNumber | None:
    if not raw or not raw.strip():
        return None
    try:
        number = phonenumbers.parse(raw.strip(), DEFAULT_REGION)
    except phonenumbers.NumberParseException:
        return None
    return number if phonenumbers.is_valid_number(number) else None


def format_phone(raw: str | None) -> str | None:
    """Format a phone as people read it: "(512) 555-0142", "+44 20 7946 0958", extension as " x12".

    North American numbers in national format, others in international format. Text that is not a
    valid number ("call office", a 7-digit local number) comes back trimmed, never dropped.
    """
    if raw is None or not raw.strip():
        return None
    number = _parse_phone(raw)
    if number is None:
        return raw.strip()
    extension = number.extension
    bare = copy.copy(number)
    bare.extension = None
    if number.country_code == 1:
        text = phonenumbers.format_number(bare, phonenumbers.PhoneNumberFormat.NATIONAL)
    else:
        text = phonenumbers.format_number(bare, phonenumbers.PhoneNumberFormat.INTERNATIONAL)
    return f"{text} x{extension}" if extension else text


def qbo_phone(raw: str | None) -> str | None:
    """The phone as QuickBooks stores it: formatted, at most 30 characters."""
    text = format_phone(raw)
    return text[:PHONE_MAX].rstrip() if text else None


def same_phone(a: str | None, b: str | None) -> bool:
    """True when both denote the same number (and extension); text that is not a number compares as text."""
    if not (a and a.strip()) or not (b and b.strip()):
        return not (a and a.strip()) and not (b and b.strip())
    number_a, number_b = _parse_phone(a), _parse_phone(b)
    if number_a is not None and number_b is not None:
        return (number_a.country_code, number_a.national_number, number_a.extension or "") == (
            number_b.country_code,
            number_b.national_number,
            number_b.extension or "",
        )
    if number_a is not None or number_b is not None:
        return False
    return " ".join(a.split()).casefold() == " ".join(b.split()).casefold()


def normalize_email(raw: str | None) -> str | None:
    """A plausible address, trimmed, ``mailto:`` and display name removed, domain lower-cased; else None."""
    if not raw or not isinstance(raw, str):
        return None
    text = raw.strip()
    if text.lower().startswith("mailto:"):
        text = text[len("mailto:") :]
    _, address = parseaddr(text)  # "Jane <jane@x.com>" -> "jane@x.com"
    address = (address or text).strip()
    if not _EMAIL_RE.fullmatch(address) or len(address) > EMAIL_MAX:
        return None
    local, domain = address.rsplit("@", 1)
    return f"{local}@{domain.lower()}"


def first_email(emails: list[str] | None) -> str | None:
    """The first syntactically plausible address of a list (a bare string is taken as a list of one)."""
    if isinstance(emails, str):
        emails = [emails]
    for raw in emails or []:
        email = normalize_email(raw)
        if email:
            return email
    return None


def same_email(a: str | None, b: str | None) -> bool:
    """Case-insensitive comparison of two addresses (trimmed)."""
    return (a or "").strip().casefold() == (b or "").strip().casefold()
