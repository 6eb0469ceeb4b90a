"""US addresses: Coperniq's one free-text string <-> a QuickBooks Online ``PhysicalAddress``.

``parse_us_address`` is built so that one round trip through ``format_address`` is a fixed point:
``parse_us_address(format_address(parse_us_address(t))) == parse_us_address(t)`` for any text ``t``.
It checks that property itself before answering (a structured result that would not survive
re-parsing its own formatting is replaced by the text-only fallback), so a two-way sync never
rewrites an address back and forth.
"""

from __future__ import annotations

import re
from functools import lru_cache

import usaddress

# QuickBooks Online PhysicalAddress limits.
LINE_MAX = 500
CITY_MAX = 255
POSTAL_CODE_MAX = 30
# Longer text is not one postal address (it is notes pasted into the field): keep it as text.
PARSEABLE_MAX = 300

ADDRESS_KEYS = ("Line1", "Line2", "Line3", "Line4", "Line5", "City", "CountrySubDivisionCode", "PostalCode", "Country")

_LINE1_LABELS = (
    "AddressNumberPrefix",
    "AddressNumber",
    "AddressNumberSuffix",
    "StreetNamePreModifier",
    "StreetNamePreDirectional",
    "StreetNamePreType",
    "StreetName",
    "StreetNamePostType",
    "StreetNamePostDirectional",
    "StreetNamePostModifier",
    "IntersectionSeparator",
    "SecondStreetNamePreModifier",
    "SecondStreetNamePreDirectional",
    "SecondStreetNamePreType",
    "SecondStreetName",
    "SecondStreetNamePostType",
    "SecondStreetNamePostDirectional",
    "SecondStreetNamePostModifier",
    "USPSBoxGroupType",
    "USPSBoxGroupID",
    "USPSBoxType",
    "USPSBoxID",
)
_LINE2_LABELS = ("BuildingName", "SubaddressType", "SubaddressIdentifier", "OccupancyType", "OccupancyIdentifier")
_OTHER_LABELS = ("PlaceName", "StateName", "ZipCode", "ZipPlus4", "CountryName")
_KNOWN_LABELS = frozenset(_LINE1_LABELS + _LINE2_LABELS + _OTHER_LABELS)
_DIRECTIONAL_LABELS = frozenset(
    label for label in _LINE1_LABELS if label.endswith("PreDirectional") or label.endswith("PostDirectional")
)
_IDENTIFIER_LABELS = frozenset(
    {
        "AddressNumber",
        "AddressNumberSuffix",
        "USPSBoxID",
        "USPSBoxGroupID",
        "SubaddressIdentifier",
        "OccupancyIdentifier",
    }
)

# usaddress labels any word before a number as a box type ("asdf qwer 123" -> PO Box): accept real ones only.
_BOX_TYPE_RE = re.compile(r"(?:p\.?\s*o\.?\s*)?(?:box|drawer|bin)|post\s+office\s+box|pob|caller|lock\s*box", re.I)
_BOX_GROUP_RE = re.compile(r"rr|r\.r\.|rural\s+route|route|rte|hc|highway\s+contract(?:\s+route)?|psc|cmr|unit", re.I)
_ZIP_RE = re.compile(r"(\d{5})(?:-?(\d{4}))?")
_ORDINAL_RE = re.compile(r"\d+(?:st|nd|rd|th)", re.I)
# Road-name prefixes written in capitals: US 290, FM 1431 (Texas farm-to-market), CR 45, SR 9, IH 35.
_UPPER_WORDS = frozenset({"us", "fm", "rm", "cr", "sr", "ih"})

STATE_CODES: dict[str, str] = {
    "alabama": "AL", "alaska": "AK", "arizona": "AZ", "arkansas": "AR", "california": "CA", "colorado": "CO",
    "connecticut": "CT", "delaware": "DE", "florida": "FL", "georgia": "GA", "hawaii": "HI", "idaho": "ID",
    "illinois": "IL", "indiana": "IN", "iowa": "IA", "kansas": "KS", "kentucky": "KY", "louisiana": "LA",
    "maine": "ME", "maryland": "MD", "massachusetts": "MA", "michigan": "MI", "minnesota": "MN",
    "mississippi": "MS", "missouri": "MO", "montana": "MT", "nebraska": "NE", "nevada": "NV",
    "new hampshire": "NH", "new jersey": "NJ", "new mexico": "NM", "new york": "NY", "north carolina": "NC",
    "north dakota": "ND", "ohio": "OH", "oklahoma": "OK", "oregon": "OR", "pennsylvania": "PA",
    "rhode island": "RI", "south carolina": "SC", "south dakota": "SD", "tennessee": "TN", "texas": "TX",
    "utah": "UT", "vermont": "VT", "virginia": "VA", "washington": "WA", "west virginia": "WV",
    "wisconsin": "WI", "wyoming": "WY", "district of columbia": "DC", "washington dc": "DC",
    "puerto rico": "PR", "guam": "GU", "us virgin islands": "VI", "virgin islands": "VI",
    "american samoa": "AS", "northern mariana islands": "MP",
    # AP-style abbreviations people still type ("Calif.", "Tex.", "Ill.").
    "ala": "AL", "ariz": "AZ", "ark": "AR", "calif": "CA", "cal": "CA", "colo": "CO", "conn": "CT", "del": "DE",
    "fla": "FL", "ill": "IL", "ind": "IN", "kan": "KS", "kans": "KS", "mass": "MA", "mich": "MI", "minn": "MN",
    "miss": "MS", "mont": "MT", "neb": "NE", "nebr": "NE", "nev": "NV", "okla": "OK", "ore": "OR", "oreg": "OR",
    "penn": "PA", "tenn": "TN", "tex": "TX", "wash": "WA", "wva": "WV", "w va": "WV", "wis": "WI",
    "wisc": "WI", "wyo": "WY",
}  # fmt: skip
_USPS_CODES = frozenset(STATE_CODES.values()) | {"AA", "AE", "AP"}  # plus the military "states"

US_COUNTRY_NAMES = frozenset({"us", "usa", "u s", "u s a", "united states", "united states of america", "america"})


def _key(text: str) -> str:
    """Lower-case, without dots, single spaces: the lookup key for states and countries."""
    return re.sub(r"\s+", " ", text.replace(".", " ")).strip().lower()


def state_code(text: str | None) -> str | None:
    """The 2-letter USPS code for a state written as a code, a name or an AP abbreviation, else None."""
    if not text:
        return None
    key = _key(text)
    if key.replace(" ", "").upper() in _USPS_CODES and len(key.replace(" ", "")) == 2:
        return key.replace(" ", "").upper()
    return STATE_CODES.get(key)


def is_us_country(text: str | None) -> bool:
    """True for an empty country or any usual spelling of the United States."""
    return not text or not text.strip() or _key(text) in US_COUNTRY_NAMES


def normalize_text(text: str) -> str:
    """Collapse whitespace, turn line breaks into commas and tidy comma runs (idempotent)."""
    text = re.sub(r"[\r\n]+", ", ", text)
    text = re.sub(r"\s+", " ", text)
    text = re.sub(r"\s*,[\s,]*", ", ", text)
    return text.strip(" ,")


def _smart_title(word: str) -> str:
    if word in _UPPER_WORDS:
        return word.upper()
    if _ORDINAL_RE.fullmatch(word):
        return word.lower()  # "5th", not "5Th"
    if any(ch.isdigit() for ch in word):
        return word.upper()  # unit ids like "4b" -> "4B"
    parts = []
    for part in word.split("-"):
        if re.match(r"[a-z]'[a-z]", part):  # o'brien -> O'Brien, d'arcy -> D'Arcy
            parts.append(part[0].upper() + "'" + part[2].upper() + part[3:])
        else:
            parts.append(part[:1].upper() + part[1:])
    return "-".join(parts)


def _case_fix(label: str, value: str) -> str:
    """Proper case for one labelled piece of an address typed all in lower case."""
    if label in _DIRECTIONAL_LABELS:
        return value.upper()  # ne -> NE, s. -> S.
    if label == "USPSBoxType" and re.fullmatch(r"p\.?\s*o\.?\s*box", value, re.I):
        return "PO Box"
    if label == "USPSBoxGroupType" and len(_key(value).replace(" ", "")) <= 3:
        return value.upper()  # rr -> RR, hc -> HC
    if label in _IDENTIFIER_LABELS:
        return value.upper()
    return " ".join(_smart_title(word) for word in value.split(" "))


def _join_unit(parts: list[str]) -> str:
    return re.sub(r"#\s+", "#", " ".join(parts))  # "# 12" -> "#12"


def _component(tagged: dict[str, str], labels: tuple[str, ...]) -> str | None:
    pieces = [(label, tagged[label].strip()) for label in labels if tagged.get(label, "").strip()]
    if not pieces:
        return None
    raw = " ".join(value for _, value in pieces)
    if raw.islower():  # only text typed all in lower case is re-cased; mixed or upper case is the user's choice
        pieces = [(label, _case_fix(label, value)) for label, value in pieces]
    return _join_unit([value for _, value in pieces])


def _fallback(text: str) -> dict:
    return {"Line1": text[:LINE_MAX].rstrip()}


def _parse_structured(text: str) -> dict | None:
    """usaddress -> PhysicalAddress, or None when the text is not confidently one US address."""
    if len(text) > PARSEABLE_MAX:
        return None
    try:
        tagged, address_type = usaddress.tag(text)
    except usaddress.RepeatedLabelError:  # e.g. two cities or two street numbers: ambiguous
        return None
    if address_type == "Ambiguous" or not set(tagged) <= _KNOWN_LABELS:
        return None  # a Recipient, landmark or unlabelled words would be lost
    if any("," in value for value in tagged.values()):
        return None  # one label spanning a comma means usaddress merged two parts of the text
    if tagged.get("USPSBoxType") and not _BOX_TYPE_RE.fullmatch(tagged["USPSBoxType"].strip()):
        return None
    if tagged.get("USPSBoxGroupType") and not _BOX_GROUP_RE.fullmatch(tagged["USPSBoxGroupType"].strip()):
        return None
    has_street = any(tagged.get(label) for label in ("AddressNumber", "USPSBoxID", "USPSBoxGroupID"))
    has_street = has_street or address_type == "Intersection"
    city = tagged.get("PlaceName", "").strip() or None
    if city and is_us_country(city):
        city = None  # "123 Main St, USA": usaddress calls the country a city
    if not has_street and not city:
        return None

    result: dict[str, str] = {}
    line1 = _component(tagged, _LINE1_LABELS)
    line2 = _component(tagged, _LINE2_LABELS)
    if line1:
        result["Line1"] = line1
    if line2:
        result["Line2"] = line2
    if city:
        result["City"] = _component({"PlaceName": city}, ("PlaceName",)) or city
    if tagged.get("StateName"):
        code = state_code(tagged["StateName"])
        if code is None:
            return None
        result["CountrySubDivisionCode"] = code
    if tagged.get("ZipCode"):
        match = _ZIP_RE.fullmatch(tagged["ZipCode"].strip() + tagged.get("ZipPlus4", "").strip())
        if match is None:
            return None
        result["PostalCode"] = match.group(1) + (f"-{match.group(2)}" if match.group(2) else "")
    elif tagged.get("ZipPlus4"):
        return None
    if tagged.get("CountryName") and not is_us_country(tagged["CountryName"]):
        return None  # not a US address: keep the text as typed
    if "CountrySubDivisionCode" in result:
        # Decision: Country is set only when a US state was recognised; a country word alone adds nothing
        # a US QuickBooks company needs, and keeping it would need it printed back into the string.
        result["Country"] = "US"
    if "Line1" not in result and "Line2" in result:
        return None  # a unit with no street ("Apt 4, Austin, TX") reads better as the text itself
    if len(result.get("Line1", "")) > LINE_MAX or len(result.get("Line2", "")) > LINE_MAX:
        return None
    if len(result.get("City", "")) > CITY_MAX:
        return None
    return result


def parse_us_address(text: str | None) -> dict | None:
    """Parse a free-text US address into a QBO PhysicalAddress dict; None for empty input.

    When the text is not confidently one US address (usaddress finds a repeated label, calls it
    ambiguous, finds neither a street number nor a city, an unknown state, a foreign country, a
    recipient name...), the trimmed text is kept whole in ``Line1`` and every other key is absent.
    """
    parsed = _parse_normalized(normalize_text(text)) if text is not None else None
    return dict(parsed) if parsed is not None else None  # a copy: the cached answer must not change


# usaddress costs about a tenth of a millisecond a call, and a destination parses the same text more than
# once (the record check when it arrives, the mapping at the flush, the echo comparison).
@lru_cache(maxsize=8192)
def _parse_normalized(normalized: str) -> dict | None:
    if not normalized:
        return None
    structured = _parse_structured(normalized)
    if structured is None:
        return _fallback(normalized)
    # Loop safety: answer structured only if formatting it and parsing again gives the same fields.
    if _parse_structured(format_address(structured) or "") != structured:
        return _fallback(normalized)
    return structured


def format_address(addr: dict | None) -> str | None:
    """One line for Coperniq: "Line1, Line2, City, ST 12345" (the country only when not the US)."""
    if not addr:
        return None

    def value(key: str) -> str:
        raw = addr.get(key)
        return normalize_text(str(raw)) if raw is not None else ""

    parts = [value(key) for key in ("Line1", "Line2", "Line3", "Line4", "Line5")]
    state_zip = " ".join(part for part in (value("CountrySubDivisionCode"), value("PostalCode")) if part)
    city = value("City")
    parts.append(f"{city}, {state_zip}" if city and state_zip else city or state_zip)
    country = value("Country")
    if not is_us_country(country):
        parts.append(country)
    text = ", ".join(part for part in parts if part)
    return text or None


def _canonical(addr: dict | None) -> dict[str, str]:
    """The nine address fields, trimmed and case-folded, absent == empty, any US spelling == no country."""
    addr = addr or {}
    canon = {}
    for key in ADDRESS_KEYS:
        raw = addr.get(key)
        canon[key] = normalize_text(str(raw)).casefold() if raw is not None else ""
    if is_us_country(canon["Country"]):
        canon["Country"] = ""
    return canon


def same_address(a: dict | None, b: dict | None) -> bool:
    """True when two PhysicalAddresses denote the same address in QuickBooks terms.

    Fields are compared one by one ignoring case, spacing, absent-vs-empty and the spelling of the
    US; failing that, both are compared as Coperniq would see them (formatted, then parsed again),
    so a structured address equals its own one-line fallback.
    """
    if _canonical(a) == _canonical(b):
        return True
    text_a, text_b = format_address(a), format_address(b)
    if text_a is None or text_b is None:
        return text_a == text_b
    if text_a.casefold() == text_b.casefold():
        return True
    return _canonical(parse_us_address(text_a)) == _canonical(parse_us_address(text_b))
