"""Project.address (one string) <-> Customer.BillAddr (QuickBooks PhysicalAddress)."""

from pathlib import Path

import pytest

from mapping import addresses
from mapping.addresses import (
    format_address,
    normalize_text,
    parse_address,
    parse_us_address,
    same_address,
    state_code,
)


def us(line1=None, line2=None, city=None, state=None, postal=None, country="US"):
    """A PhysicalAddress with only the given keys (Country only with a state, as parse_us_address decides)."""
    fields = {"Line1": line1, "Line2": line2, "City": city, "CountrySubDivisionCode": state, "PostalCode": postal}
    result = {key: value for key, value in fields.items() if value is not None}
    if state is not None and country:
        result["Country"] = country
    return result


# Addresses the ways people type them into a CRM, and the PhysicalAddress QuickBooks gets.
PARSED = [
    pytest.param(
        "123 Main St, Apt 4, Austin, TX 78701", us("123 Main St", "Apt 4", "Austin", "TX", "78701"), id="clean"
    ),
    pytest.param(
        "123 main st apt 4 austin texas 78701",
        us("123 Main St", "Apt 4", "Austin", "TX", "78701"),
        id="all-lower-case-no-commas-spelled-state",
    ),
    pytest.param(
        "  77  sunset   blvd #12  los angeles ca 90028 ",
        us("77 Sunset Blvd", "#12", "Los Angeles", "CA", "90028"),
        id="extra-spaces-hash-unit",
    ),
    pytest.param(
        "123 Main St #12, Austin, TX 78701", us("123 Main St", "#12", "Austin", "TX", "78701"), id="hash-unit"
    ),
    pytest.param(
        "4500 NE 5th Ave Suite 200 Portland OR 97211-1234",
        us("4500 NE 5th Ave", "Suite 200", "Portland", "OR", "97211-1234"),
        id="suite-zip-plus-4-directional-ordinal",
    ),
    pytest.param(
        "1234 5th avenue ne seattle wa 98105",
        us("1234 5th Avenue NE", None, "Seattle", "WA", "98105"),
        id="lower-case-keeps-ordinal-upper-cases-directional",
    ),
    pytest.param(
        "123 Main St, Austin TX 787011234",
        us("123 Main St", None, "Austin", "TX", "78701-1234"),
        id="zip-plus-4-without-dash",
    ),
    pytest.param(
        "123 Main St Austin TX 78701 1234",
        us("123 Main St", None, "Austin", "TX", "78701-1234"),
        id="zip-plus-4-with-space",
    ),
    pytest.param(
        "123 Main St., Apt. 4B, Austin, Texas 78701",
        us("123 Main St.", "Apt. 4B", "Austin", "TX", "78701"),
        id="dotted-abbreviations-kept",
    ),
    pytest.param(
        "100 W 5th St Unit B, Tulsa, Oklahoma 74103",
        us("100 W 5th St", "Unit B", "Tulsa", "OK", "74103"),
        id="unit-letter",
    ),
    pytest.param(
        "55 Water St Ste 200 new york new york 10041",
        us("55 Water St", "Ste 200", "New York", "NY", "10041"),
        id="two-word-city-and-state-lower-case",
    ),
    pytest.param(
        "1600 pennsylvania ave nw washington district of columbia 20500",
        us("1600 Pennsylvania Ave NW", None, "Washington", "DC", "20500"),
        id="district-of-columbia",
    ),
    pytest.param(
        "1600 Pennsylvania Avenue NW, Washington, DC 20500, USA",
        us("1600 Pennsylvania Avenue NW", None, "Washington", "DC", "20500"),
        id="country-usa",
    ),
    pytest.param(
        "123 Main St, Austin, TX 78701, United States",
        us("123 Main St", None, "Austin", "TX", "78701"),
        id="country-united-states",
    ),
    pytest.param(
        "123 Main St, Springfield, Ill. 62701",
        us("123 Main St", None, "Springfield", "IL", "62701"),
        id="ap-style-state",
    ),
    pytest.param(
        "123 Main St\nAustin, TX 78701", us("123 Main St", None, "Austin", "TX", "78701"), id="two-lines-pasted"
    ),
    pytest.param(
        "12 o'brien st, boston, ma 02101",
        us("12 O'Brien St", None, "Boston", "MA", "02101"),
        id="apostrophe-and-leading-zero-zip",
    ),
    pytest.param(
        "500 N. Capital of Texas Hwy, Bldg 3, Ste 100, Austin, TX 78746",
        us("500 N. Capital of Texas Hwy", "Bldg 3 Ste 100", "Austin", "TX", "78746"),
        id="building-and-suite",
    ),
    pytest.param(
        "Suite 200, 500 Main St, Dallas, TX", us("500 Main St", "Suite 200", "Dallas", "TX"), id="suite-first-no-zip"
    ),
    pytest.param(
        "123 MAIN ST APT 4 AUSTIN TX 78701",
        us("123 MAIN ST", "APT 4", "AUSTIN", "TX", "78701"),
        id="all-caps-kept-as-typed",
    ),
    pytest.param(
        "ste 5 200 congress ave austin tx 78701",
        us("200 Congress Ave", "Ste 5", "Austin", "TX", "78701"),
        id="unit-typed-before-street",
    ),
    pytest.param(
        "45 Oak Ln Unit 7, Miami Beach, Florida 33139-0001, U.S.A.",
        us("45 Oak Ln", "Unit 7", "Miami Beach", "FL", "33139-0001"),
        id="dotted-country",
    ),
    pytest.param("PO Box 123, Austin, TX 78701", us("PO Box 123", None, "Austin", "TX", "78701"), id="po-box"),
    pytest.param("p o box 42 austin tx", us("PO Box 42", None, "Austin", "TX"), id="po-box-lower-case-spaced"),
    pytest.param("P.O. Box 42, Austin, TX", us("P.O. Box 42", None, "Austin", "TX"), id="po-box-dotted"),
    pytest.param(
        "RR 2 Box 45, Smalltown, KS 66002", us("RR 2 Box 45", None, "Smalltown", "KS", "66002"), id="rural-route"
    ),
    pytest.param(
        "rr 2 box 45 smalltown ks 66002",
        us("RR 2 Box 45", None, "Smalltown", "KS", "66002"),
        id="rural-route-lower-case",
    ),
    pytest.param("HC 1 Box 5, Marfa, TX 79843", us("HC 1 Box 5", None, "Marfa", "TX", "79843"), id="highway-contract"),
    pytest.param(
        "N1234 County Road K, Appleton, WI 54914",
        us("N1234 County Road K", None, "Appleton", "WI", "54914"),
        id="wisconsin-grid-number",
    ),
    pytest.param(
        "W 5th St & Congress Ave, Austin, TX", us("W 5th St & Congress Ave", None, "Austin", "TX"), id="corner"
    ),
    pytest.param("742 Evergreen Terrace, Springfield", us("742 Evergreen Terrace", None, "Springfield"), id="no-state"),
    pytest.param(
        "123 us hwy 290 e, dripping springs, tx",
        us("123 US Hwy 290 E", None, "Dripping Springs", "TX"),
        id="highway-lower-case",
    ),
    pytest.param("123 Main St", {"Line1": "123 Main St"}, id="bare-street"),
    pytest.param("123 main st", {"Line1": "123 Main St"}, id="bare-street-lower-case"),
    pytest.param("123 Main St, USA", {"Line1": "123 Main St"}, id="bare-street-country-only"),
]

# Text that is not confidently one US address: kept whole (trimmed) in Line1, nothing else.
FALLBACK = [
    pytest.param("garbage text here", "garbage text here", id="garbage"),
    pytest.param("TBD", "TBD", id="tbd"),
    pytest.param("see notes", "see notes", id="see-notes"),
    pytest.param("asdf qwer 123", "asdf qwer 123", id="words-then-number-not-a-po-box"),
    pytest.param("Austin, TX", "Austin, TX", id="city-state-only-ambiguous"),
    pytest.param("Washington, DC 20500", "Washington, DC 20500", id="city-state-zip-ambiguous"),
    pytest.param(
        "123 Main St Austin TX 78701 Austin TX", "123 Main St Austin TX 78701 Austin TX", id="pasted-twice-ambiguous"
    ),
    pytest.param(
        "John Smith 123 Main St Austin TX 78701", "John Smith 123 Main St Austin TX 78701", id="recipient-not-dropped"
    ),
    pytest.param("123 Main St, Austin, XX 78701", "123 Main St, Austin, XX 78701", id="unknown-state"),
    pytest.param("123 Main St, Austin, TX 7870", "123 Main St, Austin, TX 7870", id="four-digit-zip"),
    pytest.param(
        "Lot 14 Sunset Ridge Subdivision, Buda, TX",
        "Lot 14 Sunset Ridge Subdivision, Buda, TX",
        id="subdivision-lot-merged-city",
    ),
    pytest.param("  call\tthe   office  ", "call the office", id="whitespace-collapsed"),
    pytest.param("-", "-", id="dash-for-unknown-no-words"),
    pytest.param("( ? )", "( ? )", id="punctuation-only-no-words"),
    pytest.param("x" * 800, "x" * 500, id="too-long-truncated-to-qbo-line-limit"),
]


@pytest.mark.parametrize(("text", "expected"), PARSED)
def test_project_address_to_bill_addr(text, expected):
    assert parse_us_address(text) == expected


@pytest.mark.parametrize(("text", "line1"), FALLBACK)
def test_unparseable_address_kept_in_line1(text, line1):
    assert parse_us_address(text) == {"Line1": line1}


@pytest.mark.parametrize("text", [None, "", "   ", "\n", " , "], ids=["none", "empty", "spaces", "newline", "comma"])
def test_no_address(text):
    assert parse_us_address(text) is None


@pytest.mark.parametrize(
    ("addr", "text"),
    [
        pytest.param(
            us("123 Main St", "Apt 4", "Austin", "TX", "78701"), "123 Main St, Apt 4, Austin, TX 78701", id="full"
        ),
        pytest.param(
            {"Line1": "PO Box 9", "City": "Austin", "CountrySubDivisionCode": "TX"}, "PO Box 9, Austin, TX", id="no-zip"
        ),
        pytest.param({"City": "Austin", "PostalCode": "78701"}, "Austin, 78701", id="city-zip"),
        pytest.param({"CountrySubDivisionCode": "TX", "PostalCode": "78701"}, "TX 78701", id="state-zip"),
        pytest.param({"Line1": "garbage text here"}, "garbage text here", id="fallback-line1"),
        pytest.param(
            {
                "Line1": "Jane Doe",
                "Line2": "Acme Solar",
                "Line3": "12 Oak Rd",
                "City": "Reno",
                "CountrySubDivisionCode": "NV",
            },
            "Jane Doe, Acme Solar, 12 Oak Rd, Reno, NV",
            id="qbo-lines-1-to-3",
        ),
        pytest.param(
            {
                "Line1": "1 Yonge St",
                "City": "Toronto",
                "CountrySubDivisionCode": "ON",
                "PostalCode": "M5E 1E5",
                "Country": "Canada",
            },
            "1 Yonge St, Toronto, ON M5E 1E5, Canada",
            id="foreign-country-printed",
        ),
        pytest.param(
            {"Line1": " 1 Main St ", "City": "Austin", "Country": "USA"}, "1 Main St, Austin", id="us-not-printed"
        ),
        pytest.param({"Id": "7", "Lat": "30.2", "Long": "-97.7"}, None, id="only-qbo-metadata"),
        pytest.param({}, None, id="empty"),
        pytest.param(None, None, id="none"),
    ],
)
def test_bill_addr_to_project_address(addr, text):
    assert format_address(addr) == text


ROUND_TRIP = [param.values[0] for param in PARSED + FALLBACK] + [
    "1 Infinite Loop Cupertino CA 95014",
    "123 Main St Bldg 5 Apt 2 Austin TX",
    "3rd St & Main, Austin TX",
    "1 Main",
    "po box 9 austin tx 78701",
    "Rural Route 3 Box 12 Hays KS 67601",
    "123 E. Main St., Mesa, AZ 85201",
    "8 Elm st. , , austin ,tx",
    "9 Pine Rd Apt. 3-B, Boise, idaho 83702",
    "45 Oak Ln Unit 7, Miami Beach, Florida 33139-0001, U.S.A.",
    "2100 Avenue of the Americas, new york, ny",
    "ste 5 200 congress ave austin tx 78701",
    "Main St, Austin, TX",
    "12345",
    "Apt 4, Austin, TX 78701",
    "1 Main St Apt",
]


@pytest.mark.parametrize("text", ROUND_TRIP, ids=[f"round-trip-{i}" for i in range(len(ROUND_TRIP))])
def test_one_round_trip_is_a_fixed_point(text):
    once = parse_us_address(text)
    assert parse_us_address(format_address(once)) == once
    assert format_address(parse_us_address(format_address(once))) == format_address(once)


def test_structured_result_that_would_not_survive_a_round_trip_falls_back(monkeypatch):
    real_parse = addresses.usaddress.parse

    def unstable_parse(text):
        if text == "1 Main Austin":  # pretend usaddress reads our own formatting differently
            return [(token, "Recipient") for token in text.split()]
        return real_parse(text)

    monkeypatch.setattr(addresses.usaddress, "parse", unstable_parse)
    assert parse_us_address("1 main austin") == {"Line1": "1 main austin"}
    assert parse_us_address(format_address(parse_us_address("1 main austin"))) == {"Line1": "1 main austin"}


def test_line_lengths_within_qbo_limits():
    addr = parse_us_address("123 " + "Very" * 200 + " St, Austin, TX 78701")
    assert all(len(value) <= 500 for value in addr.values())


@pytest.mark.parametrize(
    ("text", "code"),
    [
        ("texas", "TX"),
        ("TX", "TX"),
        ("tx", "TX"),
        ("New York", "NY"),
        ("Calif.", "CA"),
        ("D.C.", "DC"),
        ("W. Va.", "WV"),
        ("Puerto Rico", "PR"),
        ("AE", "AE"),
        ("Ontario", None),
        ("", None),
        (None, None),
    ],
)
def test_state_code(text, code):
    assert state_code(text) == code


def test_normalize_text_is_idempotent():
    text = normalize_text("  12 Oak  Rd\r\n\nApt 3 ,, Reno ,NV  ")
    assert text == "12 Oak Rd, Apt 3, Reno, NV"
    assert normalize_text(text) == text


@pytest.mark.parametrize(
    ("a", "b", "same"),
    [
        pytest.param(
            us("1 Main St", None, "Austin", "TX"),
            {"Line1": "1 main st", "City": "AUSTIN ", "CountrySubDivisionCode": "tx"},
            True,
            id="case-and-spacing",
        ),
        pytest.param(
            us("1 Main St", None, "Austin", "TX"),
            {"Line1": "1 Main St", "City": "Austin", "CountrySubDivisionCode": "TX", "Country": "United States"},
            True,
            id="us-spellings",
        ),
        pytest.param(
            {"Line1": "1 Main St", "Country": "USA", "Id": "3", "Lat": "1"},
            {"Line1": "1 Main St", "Line2": ""},
            True,
            id="absent-equals-empty-ignores-metadata",
        ),
        pytest.param(
            {"Line1": "1 Main St, Austin, TX"},
            us("1 Main St", None, "Austin", "TX"),
            True,
            id="one-line-equals-structured",
        ),
        pytest.param(
            us("1 Main St", None, "Austin", "TX", "78701"),
            us("1 Main St", None, "Austin", "TX", "78702"),
            False,
            id="zip-differs",
        ),
        pytest.param(
            us("1 Main St", "Apt 4", "Austin", "TX"), us("1 Main St", None, "Austin", "TX"), False, id="unit-removed"
        ),
        pytest.param(None, {}, True, id="none-and-empty"),
        pytest.param(None, {"Line1": "1 Main St"}, False, id="none-and-address"),
    ],
)
def test_same_address(a, b, same):
    assert same_address(a, b) is same
    assert same_address(b, a) is same


# Corpora of addresses as people type them (commas or not, any case, spelled-out states and provinces,
# French street types, floors and other USPS Publication 28 unit designators, PO boxes, rural routes),
# one per line: text | Line1 | Line2 | City | state or province | PostalCode.
CORPORA = Path(__file__).parent


def _corpus(name: str, country: str) -> list[tuple[str, dict]]:
    rows = []
    for line in (CORPORA / name).read_text(encoding="utf-8").splitlines():
        if not line.strip() or line.startswith("#"):
            continue
        text, line1, line2, city, region, postal = (cell.strip() for cell in line.split("|"))
        cells = {"Line1": line1, "Line2": line2, "City": city, "CountrySubDivisionCode": region, "PostalCode": postal}
        expected = {key: value for key, value in cells.items() if value}
        if country != "US" or region:
            expected["Country"] = country
        rows.append((text, expected))
    return rows


US_CORPUS = _corpus("addresses_us.psv", "US")
CA_CORPUS = _corpus("addresses_ca.psv", "Canada")


@pytest.mark.parametrize(
    ("corpus", "target"),
    [(US_CORPUS, 0.98), (CA_CORPUS, 0.95)],
    ids=["us-at-least-98-percent", "ca-at-least-95-percent"],
)
def test_corpus_parse_rate(corpus, target):
    wrong = [(text, parse_address(text), expected) for text, expected in corpus if parse_address(text) != expected]
    rate = 1 - len(wrong) / len(corpus)
    assert len(corpus) >= 100
    assert rate >= target, f"{rate:.1%} parsed right; wrong: {wrong}"


@pytest.mark.parametrize("corpus", [US_CORPUS, CA_CORPUS], ids=["us", "ca"])
def test_corpus_round_trip_is_a_fixed_point(corpus):
    for text, _ in corpus:
        once = parse_address(text)
        assert parse_address(format_address(once)) == once, text


def ca(line1=None, line2=None, city=None, province=None, postal=None):
    fields = {"Line1": line1, "Line2": line2, "City": city, "CountrySubDivisionCode": province, "PostalCode": postal}
    return {**{key: value for key, value in fields.items() if value is not None}, "Country": "Canada"}


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        pytest.param(
            "1234 rue Sainte-Catherine O, Montréal, QC H3G 1P1",
            ca("1234 rue Sainte-Catherine O", None, "Montréal", "QC", "H3G 1P1"),
            id="french-street-type",
        ),
        pytest.param(
            "100 King St W, Suite 5600, Toronto ON M5X1C9",
            ca("100 King St W", "Suite 5600", "Toronto", "ON", "M5X 1C9"),
            id="postal-code-without-space",
        ),
        pytest.param(
            "55 boulevard René-Lévesque Est, bureau 300, Québec (Québec) G1R 5J6",
            ca("55 boulevard René-Lévesque Est", "bureau 300", "Québec", "QC", "G1R 5J6"),
            id="french-unit-province-in-parentheses",
        ),
        pytest.param(
            "200 Burrard Street, Vancouver, British Columbia V6C 3L6",
            ca("200 Burrard Street", None, "Vancouver", "BC", "V6C 3L6"),
            id="spelled-out-province",
        ),
        pytest.param(
            "1 yonge st toronto m5e 1e5 canada",
            ca("1 Yonge St", None, "Toronto", "ON", "M5E 1E5"),
            id="province-from-postal-code",
        ),
        pytest.param(
            "1000, rue De La Gauchetière Ouest, Montréal (Québec) H3B 4W5",
            ca("1000 rue De La Gauchetière Ouest", None, "Montréal", "QC", "H3B 4W5"),
            id="comma-after-civic-number",
        ),
        pytest.param("1 Yonge St, Toronto, ON", ca("1 Yonge St", None, "Toronto", "ON"), id="no-postal-code"),
        pytest.param(
            "PO Box 7000, Station Main, Sudbury ON P3E 4N8",
            ca("PO Box 7000, Station Main", None, "Sudbury", "ON", "P3E 4N8"),
            id="postal-station",
        ),
        pytest.param(
            "123 Main St, Ontario, CA 91761",
            us("123 Main St", None, "Ontario", "CA", "91761"),
            id="ontario-california-is-us",
        ),
        pytest.param(
            "350 Fifth Avenue 15th Floor New York NY 10118",
            us("350 Fifth Avenue", "15th Floor", "New York", "NY", "10118"),
            id="us-floor-no-commas",
        ),
    ],
)
def test_canadian_and_floor_addresses(text, expected):
    assert parse_address(text) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        pytest.param(
            "10 Downing St, London SW1A 2AA, UK",
            {"Line1": "10 Downing St, London SW1A 2AA", "Country": "United Kingdom"},
            id="uk",
        ),
        pytest.param(
            "Friedrichstraße 43, 10117 Berlin, Deutschland",
            {"Line1": "Friedrichstraße 43, 10117 Berlin", "Country": "Germany"},
            id="germany-by-its-own-name",
        ),
        pytest.param(
            "Av. Reforma 222, Juárez, 06600 Ciudad de México, CDMX, México",
            {"Line1": "Av. Reforma 222, Juárez, 06600 Ciudad de México, CDMX", "Country": "Mexico"},
            id="mexico-accented",
        ),
        pytest.param("PO Box 5, Canada", {"Line1": "PO Box 5", "Country": "Canada"}, id="canada-not-structured"),
        pytest.param("Rue 5, Somewhere, Atlantis", {"Line1": "Rue 5, Somewhere, Atlantis"}, id="unknown-country"),
    ],
)
def test_other_countries_keep_every_part(text, expected):
    parsed = parse_address(text)
    assert parsed == expected
    assert parse_address(format_address(parsed)) == parsed


@pytest.mark.parametrize(
    ("addr", "text"),
    [
        pytest.param(
            ca("1234 rue Sainte-Catherine O", None, "Montréal", "QC", "H3G 1P1"),
            "1234 rue Sainte-Catherine O, Montréal, QC H3G 1P1, Canada",
            id="canada",
        ),
        pytest.param(
            {"Line1": "1 Yonge St", "City": "Toronto", "CountrySubDivisionCode": "ON", "Country": "CA"},
            "1 Yonge St, Toronto, ON, Canada",
            id="country-code-written-as-name",
        ),
        pytest.param({"Line1": "Friedrichstraße 43", "Country": "DEU"}, "Friedrichstraße 43, Germany", id="alpha-3"),
    ],
)
def test_format_names_the_country(addr, text):
    assert format_address(addr) == text


def test_same_address_country_spellings_and_postal_spacing():
    ours = ca("1 Yonge St", None, "Toronto", "ON", "M5E 1E5")
    theirs = {**ours, "Country": "CA", "PostalCode": "M5E1E5"}
    assert same_address(ours, theirs)
    assert not same_address(ours, {**ours, "PostalCode": "M5E 1E6"})


@pytest.mark.parametrize(
    ("text", "code"),
    [("Québec", "QC"), ("quebec", "QC"), ("(Québec)", "QC"), ("QC", "QC"), ("Colombie-Britannique", "BC"),
     ("Newfoundland and Labrador", "NL"), ("P.E.I.", None), ("Texas", None), (None, None)],
)  # fmt: skip
def test_province_code(text, code):
    assert addresses.province_code(text) == code


def test_weak_province_abbreviations_only_where_canadian():
    assert addresses.province_code("P.E.I.", weak=True) == "PE"
    assert addresses.province_code("Man.", weak=True) == "MB"
