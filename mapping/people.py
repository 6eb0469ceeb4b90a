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

# Whether a name is a business is decided by its words, not guessed: a statistical name tagger
# (probablepeople) calls "Jean-Luc Picard" and "José García López" corporations, and a person's name put
# in CompanyName would be worse than a business name split into two halves. Three kinds of words:
# - legal forms and "& Sons": a business wherever they appear ("Sunrise Roofing LLC", "Smith & Sons");
_LEGAL_RE = re.compile(
    r"\b(?:llc|l\.l\.c|inc|incorporated|corp|corporation|company|ltd|ltée|ltee|limited|llp|lllp|pllc|plc|gmbh|"
    r"ulc|sarl|s\.a\.r\.l|s\.a|s\.e\.n\.c|bros)\b\.?|\bco\.|[&+]\s*co\b|(?:&|\band)\s+(?:sons?|daughters?)\b",
    re.I,
)
# - organisations and places of business ("Lakeview HOA", "First Baptist Church", "Oak & Ember Bakery");
_ORGANISATION_WORDS = frozenset(
    {
        "association", "assn", "hoa", "poa", "coa", "homeowners", "condominium", "condominiums", "condo",
        "condos", "apartments", "trust", "foundation", "holdings", "group", "partners", "partnership",
        "associates", "enterprises", "properties", "ministries", "school", "schools", "academy", "university",
        "college", "district", "isd", "department", "county", "township", "municipality", "clinic", "hospital",
        "bank", "cooperative", "co-op", "club", "society", "council", "authority", "agency", "church",
        "parish", "diocese", "synagogue", "mosque", "temple", "hotel", "motel", "inn", "center", "centre",
        "restaurant", "bakery", "cafe", "café", "winery", "brewery", "brewing", "marina", "pharmacy",
        "pediatrics", "veterinary", "realty", "daycare", "preschool", "montessori",
    }
)  # fmt: skip
# - trades and shop words, which a person's name does not carry ("Blue Sky Roofing", "Bob's Plumbing").
_TRADE_WORDS = frozenset(
    {
        "services", "solutions", "management", "construction", "contractors", "contracting", "builders",
        "roofing", "solar", "electric", "electrical", "plumbing", "hvac", "heating", "energy", "renewables",
        "landscaping", "remodeling", "renovations", "restoration", "investments", "capital",
        "ventures", "industries", "technologies", "systems", "consulting", "medical", "dental", "farms",
        "ranch", "studio", "shop", "store", "market", "pizza", "supply",
        "logistics", "motors", "homes", "development", "developers", "design", "engineering",
    }
)  # fmt: skip
# Words that are also surnames ("Charlotte Church", "Samantha Power", "Anna Center") count only in a
# name of three words or more ("First Baptist Church").
_SURNAME_WORDS = frozenset({"church", "center", "inn", "temple", "power", "bank", "market", "ranch", "design"})
_PLACE_OF_RE = re.compile(r"^(?:city|town|village|county|township|district|state|province)\s+of\s+\S", re.I)
COMPANY_NAME_MAX = 100  # Customer.CompanyName
_EMAIL_RE = re.compile(
    r"[^@\s<>(),;:\"\[\]]+@[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}"
)


def _qbo_name_part(text: str) -> str | None:
    """QuickBooks rejects ':' (sub-customer separator), tabs and newlines in name fields; max 100 chars."""
    text = re.sub(r"\s+", " ", text.replace(":", " ")).strip()
    return text[:NAME_MAX].rstrip() or None


def is_business_name(full: str | None, trades: bool = True) -> bool:
    """True for the name of a business or organisation rather than a person.

    "Sunrise Roofing LLC", "ACME Solar Inc.", "Smith & Sons Construction", "Lakeview HOA", "City of Austin"
    are businesses; "Charlotte Church", "Jon Co", "John & Mary Smith" are people. ``trades=False`` leaves
    out trade words, for a project title, which names the job ("Smith Solar Install"), not its owner.
    """
    if not full or not full.strip():
        return False
    if _LEGAL_RE.search(full) or _PLACE_OF_RE.match(full.strip()):
        return True
    words = [word.strip(".,'’()").casefold() for word in full.split()]
    words = [word[:-2] if word.endswith(("'s", "’s")) else word for word in words if word]
    vocabulary = _ORGANISATION_WORDS | (_TRADE_WORDS if trades else frozenset())
    return any(word in vocabulary and (word not in _SURNAME_WORDS or len(words) >= 3) for word in words)


looks_like_company = is_business_name  # the earlier name of the same rule


def company_name(full: str | None) -> str | None:
    """A business name as QuickBooks' CompanyName holds it: no ':' tabs or newlines, at most 100 chars."""
    if full is None:
        return None
    text = re.sub(r"\s+", " ", full.replace(":", " ")).strip()
    return text[:COMPANY_NAME_MAX].rstrip() or None


def business_title(title: str | None) -> str | None:
    """A project title that names an organisation ("Lakeview HOA"), as a CompanyName; else None.

    Legal forms and organisation words only: a title names the job ("Smith Solar Install"), so trade
    words do not make it a business.
    """
    return company_name(title) if is_business_name(title, trades=False) else None


def split_contact_name(full: str | None) -> tuple[str | None, str | None, str | None]:
    """Coperniq's one contact ``name`` -> QuickBooks (CompanyName, GivenName, FamilyName).

    A business gives only its CompanyName ("Sunrise Roofing LLC", None, None); a person only the two
    name parts of ``split_name`` (None, "Mary Jane", "Smith").
    """
    if is_business_name(full):
        return company_name(full), None, None
    given, family = split_name(full)
    return None, given, family


def contact_name(given: str | None, family: str | None, company: str | None, current: str | None = None) -> str | None:
    """QuickBooks (GivenName, FamilyName, CompanyName) -> Coperniq's one contact ``name``.

    The person's name when the customer names one, else the company; when the contact is now named as a
    business (``current``), the company first, so a business contact is not renamed after its employee.
    """
    person = join_name(given, family)
    company = company_name(company)
    if is_business_name(current):
        return company or person
    return person or company


def same_contact_name(current: str | None, given: str | None, family: str | None, company: str | None) -> bool:
    """True when the contact's name already stands for these QuickBooks names (echo suppression)."""
    theirs_company, theirs_given, theirs_family = split_contact_name(current)
    if theirs_company is not None:
        return company is not None and theirs_company.casefold() == (company_name(company) or "").casefold()
    return (theirs_given, theirs_family) == (given, family) and (given is not None or family is not None)


def split_name(full: str | None) -> tuple[str | None, str | None]:
    """Coperniq's one ``name`` -> QuickBooks (GivenName, FamilyName).

    Decisions: GivenName is the first name plus any middle names written out (nothing is dropped, so
    ``join_name`` restores the name); FamilyName is the last name plus its suffix ("Watson-Parker Jr.");
    titles ("Dr.") and nicknames are dropped; "Last, First" is understood; a name typed all upper or all
    lower case is re-cased ("SMITH, JOHN" -> "John", "Smith"); a single name is a GivenName; a business
    name gives (None, None) (it is a CompanyName, see ``split_contact_name``). Name order is not guessed
    per culture: "Nguyễn Văn An" splits as written, into "Nguyễn Văn" and "An".
    """
    if full is None or not full.strip() or is_business_name(full):
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
