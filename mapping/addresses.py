"""Addresses: Coperniq's one free-text string <-> a QuickBooks Online ``PhysicalAddress``.

US and Canadian addresses are structured (street lines, city, state or province code, postal code,
country); any other text is kept whole, with a trailing country recognised and moved to ``Country``.
The street part is tagged by ``usaddress`` (a CRF address tagger); a Canadian layer peels the
province, the postal code and the country off the end first and lets usaddress tag the rest.

``parse_address`` is built so that one round trip through ``format_address`` is a fixed point:
``parse_address(format_address(parse_address(t))) == parse_address(t)`` for any text ``t``.
It checks that property itself before answering (a structured result that would not survive
re-parsing its own formatting is replaced by the text-only fallback), so a two-way sync never
rewrites an address back and forth.
"""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache

import pycountry
import usaddress

# QuickBooks Online PhysicalAddress limits.
LINE_MAX = 500
CITY_MAX = 255
POSTAL_CODE_MAX = 30
# Longer text is not one postal address (it is notes pasted into the field): keep it as text.
PARSEABLE_MAX = 300

ADDRESS_KEYS = ("Line1", "Line2", "Line3", "Line4", "Line5", "City", "CountrySubDivisionCode", "PostalCode", "Country")

# What lands in BillAddr.Country: "US" (as before, and what US companies hold) and, for any other country,
# its English name, which Intuit's PhysicalAddress reference accepts and a bookkeeper reads as is.
US = "US"
CANADA = "Canada"

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
# usaddress label -> the BillAddr part it feeds; any other label (Recipient, LandmarkName...) would be lost.
_PART_OF_LABEL = {
    **{label: "line1" for label in _LINE1_LABELS},
    **{label: "line2" for label in _LINE2_LABELS},
    "PlaceName": "city",
    "StateName": "state",
    "ZipCode": "zip",
    "ZipPlus4": "zip",
    "CountryName": "country",
}
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
_STREET_MARKERS = frozenset({"AddressNumber", "USPSBoxID", "USPSBoxGroupID", "IntersectionSeparator"})

# usaddress labels any word before a number as a box type ("asdf qwer 123" -> PO Box): accept real ones only.
_BOX_TYPE_RE = re.compile(r"(?:p\.?\s*o\.?\s*)?(?:box|drawer|bin)|post\s+office\s+box|pob|caller|lock\s*box", re.I)
_BOX_GROUP_RE = re.compile(
    r"rr|r\.r\.|rural\s+route|route|rte|hc|highway\s+contract(?:\s+route)?|psc|cmr|unit|site|comp", re.I
)
_ZIP_RE = re.compile(r"(\d{5})(?:-?(\d{4}))?")
_ORDINAL_RE = re.compile(r"\d+(?:st|nd|rd|th|e|er|re|ème|eme)", re.I)
# Road-name prefixes written in capitals: US 290, FM 1431 (Texas farm-to-market), CR 45, SR 9, IH 35.
_UPPER_WORDS = frozenset({"us", "fm", "rm", "cr", "sr", "ih"})
# Words that stay in lower case when an all-lower-case address is re-cased: French street types, unit
# words and particles ("1234 rue Sainte-Catherine O", "chemin du Lac", "Saint-Charles-sur-Richelieu").
_FRENCH_LOWER = frozenset(
    {
        "rue", "boulevard", "boul", "bd", "chemin", "ch", "avenue", "av", "place", "rang", "montée", "route",
        "côte", "impasse", "allée", "croissant", "promenade", "terrasse", "carré", "rond-point", "sentier",
        "de", "du", "des", "la", "le", "les", "sur", "en", "aux", "et",
        "bureau", "app", "appartement", "local", "unité", "étage", "succursale", "succ", "case", "postale",
    }
)  # fmt: skip
_PARTICLES = frozenset({"de", "du", "des", "la", "le", "les", "sur", "en", "aux", "et", "of", "the", "upon"})
_DIRECTION_WORDS = frozenset(
    {"n", "s", "e", "w", "o", "ne", "nw", "se", "sw", "no", "so", "north", "south", "east", "west", "est",
     "ouest", "nord", "sud"}
)  # fmt: skip
# French unit and box words, read by usaddress as their English equivalents (one word for one word, so the
# tokens stay aligned): "bureau 300" is a suite, "6e étage" a floor, "C.P. 6128" a post-office box.
_FRENCH_WORDS = {
    "bureau": "Suite", "bur": "Suite", "local": "Suite", "app": "Apt", "appt": "Apt", "appartement": "Apt",
    "unite": "Unit", "porte": "Unit", "etage": "Floor", "piece": "Room", "salle": "Room",
    "cp": "POB", "case": "PO", "postale": "Box", "succursale": "Station", "succ": "Station",
}  # fmt: skip
# Canada Post's postal-station qualifiers after a box: "PO Box 7000, Station Main", "C.P. 6128, succursale X".
_STATION_WORDS = frozenset({"station", "stn", "succursale", "succ", "rpo", "csp"})
# Secondary unit designators of USPS Publication 28 (C2), written out and abbreviated, and French ones.
_UNIT_DESIGNATORS = frozenset(
    {
        "apartment", "apt", "basement", "bsmt", "building", "bldg", "department", "dept", "floor", "fl", "front",
        "frnt", "hangar", "hngr", "key", "lobby", "lbby", "lot", "lower", "lowr", "office", "ofc", "penthouse",
        "ph", "pier", "rear", "room", "rm", "side", "slip", "space", "spc", "stop", "suite", "ste", "trailer",
        "trlr", "unit", "upper", "uppr", "flr", "bureau", "app", "appartement", "local", "etage", "unite", "piece",
        "salle",
    }
)  # fmt: skip
# (Not "Upper", "Lower", "Front": Upper Saddle River, Lower Burrell and Front Royal are towns.)
_BARE_DESIGNATORS = frozenset({"bsmt", "basement", "frnt", "lbby", "lobby", "lowr", "rear", "uppr"})
_FLOOR_WORDS = frozenset({"floor", "fl", "flr", "etage"})
_UNIT_ID_RE = re.compile(r"#?\d+[A-Za-z]?|[A-Za-z]|\d+-?[A-Za-z]|[A-Za-z]-?\d+")
_NUMBER_WORDS = frozenset({"one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten"})
_FRENCH_ORDINAL_RE = re.compile(r"(\d+)(?:e|er|re|ème|eme)", re.I)

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

# Canadian provinces and territories: Canada Post's codes, English and French names, usual abbreviations.
# Keys are folded (lower case, no accents, dots and hyphens as spaces).
PROVINCE_CODES: dict[str, str] = {
    "alberta": "AB", "british columbia": "BC", "colombie britannique": "BC", "manitoba": "MB",
    "new brunswick": "NB", "nouveau brunswick": "NB", "newfoundland and labrador": "NL",
    "newfoundland & labrador": "NL", "terre neuve et labrador": "NL", "newfoundland": "NL", "labrador": "NL",
    "nova scotia": "NS", "nouvelle ecosse": "NS", "northwest territories": "NT",
    "territoires du nord ouest": "NT", "nunavut": "NU", "ontario": "ON", "prince edward island": "PE",
    "ile du prince edouard": "PE", "quebec": "QC", "saskatchewan": "SK", "yukon": "YT", "yukon territory": "YT",
}  # fmt: skip
# Abbreviations that are also ordinary words ("Man", "Que"): a province only before a postal code or "Canada".
_WEAK_PROVINCE_CODES = {
    "alta": "AB", "b c": "BC", "man": "MB", "n b": "NB", "nfld": "NL", "nf": "NL", "n s": "NS", "nwt": "NT",
    "n w t": "NT", "ont": "ON", "p e i": "PE", "pei": "PE", "i p e": "PE", "que": "QC", "pq": "QC", "p q": "QC",
    "sask": "SK", "yk": "YT", "yuk": "YT",
}  # fmt: skip
_CANADA_CODES = frozenset(PROVINCE_CODES.values())
# Canada Post: the first letter of a postal code is its province (X is NT or NU, told apart by the name).
_POSTAL_PROVINCE = {
    "A": "NL", "B": "NS", "C": "PE", "E": "NB", "G": "QC", "H": "QC", "J": "QC", "K": "ON", "L": "ON", "M": "ON",
    "N": "ON", "P": "ON", "R": "MB", "S": "SK", "T": "AB", "V": "BC", "Y": "YT",
}  # fmt: skip
# Letters D, F, I, O, Q, U are never used; W and Z never start a code. "H3G 1P1", "h3g1p1", "H3G-1P1".
_POSTAL_CODE = r"([ABCEGHJ-NPRSTVXY]\d[ABCEGHJ-NPRSTV-Z])[ -]?(\d[ABCEGHJ-NPRSTV-Z]\d)"
_POSTAL_TAIL_RE = re.compile(r"(?:^|[\s,(])" + _POSTAL_CODE + r"\)?$", re.I)

US_COUNTRY_NAMES = frozenset(
    {"us", "usa", "u s", "u s a", "united states", "united states of america", "america", "etats unis"}
)
# Country names people type that ISO does not list as such.
_COUNTRY_ALIASES = {
    "uk": "GB", "u k": "GB", "great britain": "GB", "england": "GB", "scotland": "GB", "wales": "GB",
    "northern ireland": "GB", "deutschland": "DE", "holland": "NL", "the netherlands": "NL", "espana": "ES",
    "korea": "KR", "south korea": "KR", "mexique": "MX", "allemagne": "DE", "angleterre": "GB",
    "royaume uni": "GB", "suisse": "CH", "italia": "IT", "brasil": "BR",
}  # fmt: skip
# A country word typed without a comma before it ("... M5E 1E5 Canada", "... 78701 USA").
_COUNTRY_WORD_RE = re.compile(r"\s(canada|u\.?\s?s\.?(?:\s?a\.?)?|united states(?: of america)?)$", re.I)
# usaddress is given a city's context by a US state and ZIP after a Canadian street, then both are dropped.
_PLACEHOLDER_STATE_ZIP = ("NY", "10001")

# BillAddr part ("line1", "line2", "city", "state", "zip") -> its words as (text typed, usaddress label, token index).
_Words = dict[str, list[tuple[str, str, int]]]


def _key(text: str) -> str:
    """Lower-case, without dots, single spaces: the lookup key for states and countries."""
    return re.sub(r"\s+", " ", text.replace(".", " ")).strip().lower()


@lru_cache(maxsize=16384)
def _fold(text: str) -> str:
    """Like ``_key``, also without accents, commas, parentheses and hyphens: "(Québec)" -> "quebec"."""
    text = unicodedata.normalize("NFKD", text)
    text = "".join(ch for ch in text if not unicodedata.combining(ch))
    return _key(re.sub(r"[-,()]", " ", text))


def state_code(text: str | None) -> str | None:
    """The 2-letter USPS code for a state written as a code, a name or an AP abbreviation, else None."""
    if not text:
        return None
    key = _key(text)
    if key.replace(" ", "").upper() in _USPS_CODES and len(key.replace(" ", "")) == 2:
        return key.replace(" ", "").upper()
    return STATE_CODES.get(key)


def province_code(text: str | None, weak: bool = False) -> str | None:
    """The Canada Post code of a province written as a code or an English or French name, else None.

    ``weak`` also accepts abbreviations that are ordinary words ("Man.", "Que."), for text known to be Canadian.
    """
    if not text:
        return None
    key = _fold(text)
    if key.replace(" ", "").upper() in _CANADA_CODES and len(key.replace(" ", "")) == 2:
        return key.replace(" ", "").upper()
    return PROVINCE_CODES.get(key) or (_WEAK_PROVINCE_CODES.get(key) if weak else None)


def is_us_country(text: str | None) -> bool:
    """True for an empty country or any usual spelling of the United States."""
    return not text or not text.strip() or _fold(text) in US_COUNTRY_NAMES


@lru_cache(maxsize=4096)
def country_name(text: str | None, codes: bool = True) -> str | None:
    """The country a text names, as BillAddr.Country holds it: "US", "Canada", "United Kingdom"; else None.

    Names, ISO alpha-3 codes and usual aliases ("UK", "Deutschland") are recognised, alpha-2 codes ("CA")
    only with ``codes`` (a Country field; in free text "CA" is California). A US state or Canadian province
    name ("Georgia", "Québec") is never read as a country in free text.
    """
    if not text or not text.strip():
        return None
    key = _fold(text)
    if key in US_COUNTRY_NAMES:
        return US
    alpha2 = _COUNTRY_ALIASES.get(key)
    if alpha2 is None and not codes and (key in STATE_CODES or province_code(text) or len(key.replace(" ", "")) <= 2):
        return None
    try:
        country = pycountry.countries.get(alpha_2=alpha2) if alpha2 else pycountry.countries.lookup(text.strip())
    except LookupError:
        try:
            country = pycountry.countries.lookup(key)
        except LookupError:
            return None
    if country is None:
        return None
    if country.alpha_2 == "US":
        return US
    if country.alpha_2 == "CA":
        return CANADA
    name = getattr(country, "common_name", None) or country.name
    return None if "," in name else name  # "Virgin Islands, British" would not survive the one-line string


def normalize_text(text: str) -> str:
    """Collapse whitespace, turn line breaks into commas and tidy comma runs (idempotent)."""
    text = re.sub(r"[\r\n]+", ", ", text)
    text = re.sub(r"\s+", " ", text)
    text = re.sub(r"\s*,[\s,]*", ", ", text)
    return text.strip(" ,")


def _smart_title(word: str, french: bool) -> str:
    if word in _UPPER_WORDS and not french:
        return word.upper()
    if french and word.rstrip(".") in _FRENCH_LOWER:
        return word
    if _ORDINAL_RE.fullmatch(word):
        return word.lower()  # "5th", not "5Th"
    if any(ch.isdigit() for ch in word):
        return word.upper()  # unit ids like "4b" -> "4B"
    parts = []
    for index, part in enumerate(word.split("-")):
        if index and part in _PARTICLES:
            parts.append(part)  # Saint-Charles-sur-Richelieu
        elif re.match(r"[a-z]'[a-z]", part):  # o'brien -> O'Brien, d'arcy -> D'Arcy
            parts.append(part[0].upper() + "'" + part[2].upper() + part[3:])
        else:
            parts.append(part[:1].upper() + part[1:])
    return "-".join(parts)


def _case_fix(label: str, value: str, french: bool) -> str:
    """Proper case for one labelled word of an address typed all in lower case."""
    if label in _DIRECTIONAL_LABELS:
        return value.upper()  # ne -> NE, s. -> S.
    if label == "USPSBoxType" and re.fullmatch(r"p\.?\s*o\.?\s*box", value, re.I):
        return "PO Box"
    if label in ("USPSBoxType", "USPSBoxGroupType") and _key(value).replace(" ", "") in ("po", "cp", "rr", "hc"):
        return value.upper()  # rr -> RR, hc -> HC, po -> PO, c.p. -> C.P.
    if label in _IDENTIFIER_LABELS and not _ORDINAL_RE.fullmatch(value):
        return value.upper()  # unit ids: 4b -> 4B; ordinals stay 14th, 6e
    return " ".join(_smart_title(word, french) for word in value.split(" "))


@lru_cache(maxsize=16384)
def _translate(token: str) -> str:
    """The English word usaddress knows for a French unit or box word (same trailing punctuation)."""
    core = token.rstrip(".,;")
    tail = token[len(core) :].replace(".", "")
    word = _fold(core).replace(" ", "")
    if word in _FRENCH_WORDS:
        return _FRENCH_WORDS[word] + tail
    if _FRENCH_ORDINAL_RE.fullmatch(core):
        return _FRENCH_ORDINAL_RE.sub(r"\1th", core) + tail
    return token


def _labelled(text: str) -> list[tuple[str, str, str]] | None:
    """usaddress's label for every token of the text, as (token, token usaddress read, label)."""
    tokens = usaddress.tokenize(text)
    read = [_translate(token) for token in tokens]
    pairs = usaddress.parse(" ".join(read))
    if len(pairs) != len(tokens) or [token for token, _ in pairs] != read:
        return None
    return [(token, seen, label) for token, seen, (_, label) in zip(tokens, read, pairs, strict=True)]


def _join(words: list[tuple[str, str]], french: bool) -> str:
    """The words of one BillAddr part in the order typed; re-cased only when typed all in lower case."""
    if " ".join(value for value, _ in words).islower():
        merged: list[tuple[str, str]] = []
        for value, label in words:  # "p o box" is one box type, re-cased as "PO Box"
            if merged and label == "USPSBoxType" == merged[-1][1]:
                merged[-1] = (f"{merged[-1][0]} {value}", label)
            else:
                merged.append((value, label))
        words = [(_case_fix(label, value, french), label) for value, label in merged]
    return re.sub(r"#\s+", "#", " ".join(value for value, _ in words))  # "# 12" -> "#12"


def _runs(labelled: list[tuple[str, str, str]], wanted: str) -> list[str]:
    """The words usaddress read for each contiguous run of one label ("Rural Route", "RR")."""
    runs: list[list[str]] = []
    previous = None
    for _, seen, label in labelled:
        if label == wanted:
            if previous != wanted:
                runs.append([])
            runs[-1].append(seen.rstrip(",;"))
        previous = label if not seen.endswith((",", ";")) else None
    return [" ".join(run) for run in runs]


def _run(indexes: list[int]) -> bool:
    """True when the token positions are one contiguous run."""
    return not indexes or indexes == list(range(indexes[0], indexes[0] + len(indexes)))


def _reassign(words: _Words, segment_of: list[int]) -> None:
    """Fix two readings usaddress gets wrong, using the commas people typed.

    "PO Box 7000, Station Main, Sudbury": a postal station (Canada Post's "STN", "SUCC") read as the start
    of the city belongs to the box line. "181 Bay St, Floor 21": a unit number read as a street word.
    """
    city = words["city"]
    while city and segment_of[city[0][2]] != segment_of[city[-1][2]] and words["line1"]:
        segment = segment_of[city[0][2]]
        first_words = [_fold(value) for value, _, index in city if segment_of[index] == segment]
        if first_words[0] in _STATION_WORDS:
            part, label = "line1", "StreetName"
        elif first_words[0].lstrip("#") in _UNIT_DESIGNATORS or first_words[-1] in _UNIT_DESIGNATORS or \
                first_words[0].startswith("#"):
            part, label = "line2", "OccupancyType"  # "Building C, Irving", "12th Floor, Chicago"
        else:
            break
        while city and segment_of[city[0][2]] == segment:
            value, _, index = city.pop(0)
            words[part].append((value, label, index))
    # "1 Beacon Street Fifteenth Floor Boston": a floor typed without commas read as the start of the city.
    if len(city) > 2 and segment_of[city[0][2]] == segment_of[city[1][2]] == segment_of[city[2][2]]:
        first, second = _fold(city[0][0]), _fold(city[1][0])
        ordinal = _ORDINAL_RE.fullmatch(first) or first.endswith(("first", "second", "third", "th"))
        if second in _FLOOR_WORDS and ordinal:
            words["line2"] += [(value, "OccupancyType", index) for value, _, index in (city.pop(0), city.pop(0))]
    # "12 Oak Ave Rear Tampa": Publication 28's designators that take no number (rear, basement, lobby).
    follows_street = bool(words["line1"] and city) and words["line1"][-1][2] == city[0][2] - 1
    if len(city) > 1 and follows_street and _fold(city[0][0]) in _BARE_DESIGNATORS \
            and segment_of[words["line1"][-1][2]] == segment_of[city[0][2]] == segment_of[city[1][2]]:
        value, _, index = city.pop(0)
        words["line2"].append((value, "OccupancyType", index))
    line1, line2 = words["line1"], words["line2"]
    unit_types = {index for _, label, index in line2 if label in ("OccupancyType", "SubaddressType")}
    for word in list(line1):
        value, _, index = word
        if index - 1 in unit_types and segment_of[index - 1] == segment_of[index] and _UNIT_ID_RE.fullmatch(value):
            line1.remove(word)
            line2.append((value, "OccupancyIdentifier", index))
    line2.sort(key=lambda word: word[2])


def _sorted_words(labelled: list[tuple[str, str, str]]) -> tuple[_Words, dict[str, list[str]], list[int]] | None:
    """Step 1: every word under its BillAddr part, the words usaddress read by label, and the comma-separated
    segment of each token; None on a label that is no part (a recipient, a landmark: it would be lost) or a
    country inside the text, not at its end (not one address)."""
    words: _Words = {part: [] for part in ("line1", "line2", "city", "state", "zip")}
    read_as: dict[str, list[str]] = {}
    segment_of: list[int] = []
    segment = 0
    for index, (token, seen, label) in enumerate(labelled):
        part = _PART_OF_LABEL.get(label)
        if part is None or part == "country":
            return None
        segment_of.append(segment)
        value = token.rstrip(",;")
        if token != value:
            segment += 1
        if value:
            words[part].append((value, label, index))
            read_as.setdefault(label, []).append(seen.rstrip(",;"))
    return words, read_as, segment_of


def _one_reading(words: _Words, read_as: dict[str, list[str]], segment_of: list[int],
                 labelled: list[tuple[str, str, str]]) -> bool:
    """Step 3: False when a part is split in two places (pasted twice), a city spans a comma (usaddress merged
    two parts of the text) or a box type is no box."""
    for part in ("line2", "city", "state", "zip"):
        if not _run([index for _, _, index in words[part]]):
            return False
    if len({segment_of[index] for _, _, index in words["city"]}) > 1:
        return False
    box_type = " ".join(read_as.get("USPSBoxType", []))
    if box_type and not _BOX_TYPE_RE.fullmatch(box_type):
        return False
    return all(_BOX_GROUP_RE.fullmatch(group_type) for group_type in _runs(labelled, "USPSBoxGroupType"))


def _keep_directional_on_street(words: _Words, segment_of: list[int]) -> None:
    """Step 4: "100 King St W Toronto": a directional typed after the street is read as the start of the city."""
    city, line1 = words["city"], words["line1"]
    follows_street = bool(line1 and city) and line1[-1][2] == city[0][2] - 1
    if (len(city) > 1 and follows_street and segment_of[line1[-1][2]] == segment_of[city[0][2]]
            and _fold(city[0][0]) in _DIRECTION_WORDS):
        line1.append(city.pop(0))


def _has_street(words: _Words, labelled: list[tuple[str, str, str]], segment_of: list[int]) -> bool:
    """Step 5: whether line 1 has a street or box number; "1 Ferry Bldg, Suite 255", "One Market Street, Spear
    Tower": a numbered building is the street line, and is moved there."""
    if any(label in _STREET_MARKERS for _, label, _ in words["line1"]):
        return True
    first = labelled[0][0]
    if not (words["line2"] and labelled[0][2] == "BuildingName" and (
            first[:1].isdigit() or _fold(first) in _NUMBER_WORDS)):
        return False
    street = [word for word in words["line2"] if word[1] == "BuildingName" and segment_of[word[2]] == 0]
    words["line1"] = sorted(words["line1"] + street, key=lambda word: word[2])
    words["line2"] = [word for word in words["line2"] if word not in street]
    return True


def _joined_parts(words: _Words, segment_of: list[int], french: bool) -> dict[str, str | None]:
    """Step 6: the parts as text; line 1 keeps the commas typed between its segments."""
    line1_segments: dict[int, list[tuple[str, str]]] = {}
    for value, label, index in words["line1"]:
        line1_segments.setdefault(segment_of[index], []).append((value, label))

    def joined(part: str) -> str | None:
        return _join([(value, label) for value, label, _ in words[part]], french) if words[part] else None

    return {
        "line1": ", ".join(_join(chunk, french) for chunk in line1_segments.values()) or None,
        "line2": joined("line2"),
        "city": joined("city"),
        "state": " ".join(value for value, _, _ in words["state"]) or None,
        "zip": "".join(value for value, _, _ in words["zip"]) or None,
    }


def _street_parts(text: str, french: bool) -> dict | None:
    """usaddress's tags in the order typed -> line1, line2, city, state, zip (raw text), or None.

    None when the text is not confidently one address: an unknown label (recipient, landmark), a part
    split in two places (pasted twice), a city spanning a comma, a box type that is no box, no street
    or box number nor city.
    """
    labelled = _labelled(text)
    sorted_words = _sorted_words(labelled) if labelled else None
    if not labelled or sorted_words is None:
        return None  # no words at all ("-", "|": punctuation only) is no address either
    words, read_as, segment_of = sorted_words
    _reassign(words, segment_of)  # step 2: the commas people typed correct usaddress
    if not _one_reading(words, read_as, segment_of, labelled):
        return None
    _keep_directional_on_street(words, segment_of)
    has_street = _has_street(words, labelled, segment_of)
    if not has_street and not words["city"]:
        return None
    if not has_street and words["line1"]:
        return None  # a street name without a number or box: too unsure to split
    parts = _joined_parts(words, segment_of, french)
    if parts["city"] and is_us_country(parts["city"]):
        return None
    return parts


def _address(parts: dict) -> dict[str, str]:
    result: dict[str, str] = {}
    for part, key in (("line1", "Line1"), ("line2", "Line2"), ("city", "City")):
        if parts.get(part):
            result[key] = parts[part]
    return result


def _split_country(text: str) -> tuple[str, str | None]:
    """The text without a trailing country, and that country ("US", "Canada", "Mexico"...) or None."""
    head, _, last = text.rpartition(", ")
    if head:
        country = country_name(last, codes=False)
        if country:
            return head, country
    match = _COUNTRY_WORD_RE.search(text)
    if match and match.start() > 0:
        return text[: match.start()].rstrip(" ,"), country_name(match.group(1), codes=False)
    return text, None


def _split_canadian_tail(text: str, canada: bool) -> tuple[str, str | None, str | None] | None:
    """(head, province code, postal code) when the text ends like a Canadian address, else None."""
    rest, postal = text, None
    match = _POSTAL_TAIL_RE.search(rest)
    if match:
        postal = f"{match.group(1).upper()} {match.group(2).upper()}"
        rest = rest[: match.start(1)].rstrip(" ,(")
        rest, country = _split_country(rest)  # "Toronto, Ontario, Canada M5K 0A1"
        if country not in (None, CANADA):
            return None
        canada = canada or country == CANADA
    province = None
    words = rest.split(" ")
    for count in (4, 3, 2, 1):
        if len(words) <= count:
            continue
        code = province_code(" ".join(words[-count:]), weak=bool(postal or canada))
        if code:
            province, rest = code, " ".join(words[:-count]).rstrip(" ,(")
            break
    if province is None and postal is None and not canada:
        return None
    if province is None and postal:
        province = _POSTAL_PROVINCE.get(postal[0])
    return rest, province, postal


def _canadian(text: str, canada: bool) -> dict | None:
    tail = _split_canadian_tail(text, canada)
    if tail is None:
        return None
    head, province, postal = tail
    # French style puts a comma after the civic number: "1000, rue De La Gauchetière Ouest".
    head = re.sub(r"^(\d+[A-Za-z]?), (?=\D)", r"\1 ", head)
    if not head:
        return None
    parts = _street_parts(f"{head}, {' '.join(_PLACEHOLDER_STATE_ZIP)}", french=True)
    if parts is None or (parts["state"], parts["zip"]) != _PLACEHOLDER_STATE_ZIP:
        return None
    result = _address(parts)
    if province:
        result["CountrySubDivisionCode"] = province
    if postal:
        result["PostalCode"] = postal
    result["Country"] = CANADA
    return result


def _us(text: str) -> dict | None:
    parts = _street_parts(text, french=False)
    if parts is None:
        return None
    result = _address(parts)
    if parts["state"]:
        code = state_code(parts["state"])
        if code is None:
            return None
        result["CountrySubDivisionCode"] = code
    if parts["zip"]:
        match = _ZIP_RE.fullmatch(parts["zip"])
        if match is None:
            return None
        result["PostalCode"] = match.group(1) + (f"-{match.group(2)}" if match.group(2) else "")
    if "CountrySubDivisionCode" in result:
        # Decision: Country is set only when a US state was recognised; a country word alone adds nothing
        # a US QuickBooks company needs, and keeping it would need it printed back into the string.
        result["Country"] = US
    return result


def _parse_structured(text: str) -> dict | None:
    """One US or Canadian address -> PhysicalAddress, or None when the text is not confidently one."""
    if len(text) > PARSEABLE_MAX:
        return None
    body, country = _split_country(text)
    if country not in (None, US, CANADA):
        return None
    result = None
    if country != US:
        result = _canadian(body, canada=country == CANADA)
    if result is None and country != CANADA and not _POSTAL_TAIL_RE.search(body):
        result = _us(body)
    if result is None or not result.get("Line1"):
        return None  # a city alone ("Austin, TX") or a unit alone reads better as the text itself
    if len(result.get("Line1", "")) > LINE_MAX or len(result.get("Line2", "")) > LINE_MAX:
        return None
    if len(result.get("City", "")) > CITY_MAX:
        return None
    return result


def _fallback(text: str) -> dict:
    """The text kept whole in Line1; a trailing foreign country goes to Country (printed back at the end)."""
    body, country = _split_country(text)
    if country and country != US and body:
        return {"Line1": body[:LINE_MAX].rstrip(), "Country": country}
    return {"Line1": text[:LINE_MAX].rstrip()}


def parse_address(text: str | None) -> dict | None:
    """Parse a free-text address into a QBO PhysicalAddress dict; None for empty input.

    US and Canadian addresses get street lines, city, state or province code, postal code and country.
    Any other text (another country, or not confidently one address: a repeated part, a recipient name,
    an unknown state...) is kept whole in ``Line1``; a foreign country it ends with goes to ``Country``.
    """
    parsed = _parse_normalized(normalize_text(text)) if text is not None else None
    return dict(parsed) if parsed is not None else None  # a copy: the cached answer must not change


# The name the connectors have always called; every address is parsed the same way.
parse_us_address = parse_address


# usaddress costs about a tenth of a millisecond a call, and a destination parses the same text more than
# once (the record check when it arrives, the mapping at the flush, the echo comparison).
@lru_cache(maxsize=8192)
def _parse_normalized(normalized: str) -> dict | None:
    if not normalized:
        return None
    structured = _parse_structured(normalized)
    # Loop safety: answer structured only if formatting it and parsing again gives the same fields.
    if structured is not None and _parse_structured(format_address(structured) or "") == structured:
        return structured
    fallback = _fallback(normalized)
    again = format_address(fallback) or ""
    if "Country" in fallback and (_parse_structured(again) is not None or _fallback(again) != fallback):
        return {"Line1": normalized[:LINE_MAX].rstrip()}
    return fallback


def format_address(addr: dict | None) -> str | None:
    """One line for Coperniq: "Line1, Line2, City, ST 12345"; the country only when not the US.

    Canada: "1234 rue Sainte-Catherine O, Montréal, QC H3G 1P1, Canada". A country held as a code
    ("CA", "CAN") is written as its name, so the line reads back as the same country.
    """
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
        parts.append(country_name(country) or country)
    text = ", ".join(part for part in parts if part)
    return text or None


def _canonical(addr: dict | None) -> dict[str, str]:
    """The nine address fields, trimmed and case-folded, absent == empty, any US spelling == no country."""
    addr = addr or {}
    canon = {}
    for key in ADDRESS_KEYS:
        raw = addr.get(key)
        canon[key] = normalize_text(str(raw)).casefold() if raw is not None else ""
    country = country_name(canon["Country"])
    canon["Country"] = "" if country == US else (country or canon["Country"]).casefold()
    canon["PostalCode"] = re.sub(r"[\s-]", "", canon["PostalCode"])  # "M5V2T6" is "M5V 2T6"
    return canon


def same_address(a: dict | None, b: dict | None) -> bool:
    """True when two PhysicalAddresses denote the same address in QuickBooks terms.

    Fields are compared one by one ignoring case, spacing, absent-vs-empty, the spelling of the
    country ("CA", "Canada"; "USA", none) and the spacing of postal codes; failing that, both are
    compared as Coperniq would see them (formatted, then parsed again), so a structured address equals
    its own one-line fallback.
    """
    if _canonical(a) == _canonical(b):
        return True
    text_a, text_b = format_address(a), format_address(b)
    if text_a is None or text_b is None:
        return text_a == text_b
    if text_a.casefold() == text_b.casefold():
        return True
    return _canonical(parse_address(text_a)) == _canonical(parse_address(text_b))
