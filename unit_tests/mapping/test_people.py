"""Contact name / phone / email <-> Customer GivenName, FamilyName, PrimaryPhone, PrimaryEmailAddr."""

import pytest

from mapping.people import (
    first_email,
    format_phone,
    join_name,
    looks_like_company,
    normalize_email,
    qbo_phone,
    same_email,
    same_phone,
    split_name,
)

NAMES = [
    pytest.param("José Núñez", ("José", "Núñez"), id="contact-first-last-accents"),
    pytest.param("Núñez, José", ("José", "Núñez"), id="last-comma-first"),
    pytest.param("Zoë O'Brien", ("Zoë", "O'Brien"), id="diaeresis-apostrophe"),
    pytest.param("Nguyễn Văn An", ("Nguyễn Văn", "An"), id="vietnamese-split-as-written"),
    pytest.param("Dr. Mary-Jane Watson-Parker Jr.", ("Mary-Jane", "Watson-Parker Jr."), id="title-dropped-suffix-kept"),
    pytest.param("Mary Jane Smith", ("Mary Jane", "Smith"), id="middle-name-kept-in-given"),
    pytest.param("Cher", ("Cher", None), id="single-name"),
    pytest.param("SMITH, JOHN", ("John", "Smith"), id="all-caps-last-first-recased"),
    pytest.param("john smith", ("John", "Smith"), id="all-lower-recased"),
    pytest.param("JUAN DE LA CRUZ", ("Juan", "de la Cruz"), id="all-caps-particles"),
    pytest.param("McKenzie van Dyke", ("McKenzie", "van Dyke"), id="mixed-case-kept"),
    pytest.param("John & Mary Smith", ("John & Mary", "Smith"), id="couple"),
    pytest.param("Mr. and Mrs. John Smith", ("John", "Smith"), id="couple-titles"),
    pytest.param("Robert (Bob) Smith", ("Robert", "Smith"), id="nickname-dropped"),
    pytest.param("Bob Smith III", ("Bob", "Smith III"), id="roman-suffix"),
    pytest.param("  Ann   Lee ", ("Ann", "Lee"), id="extra-spaces"),
    pytest.param("Ann:\tLee", ("Ann", "Lee"), id="colon-and-tab-not-allowed-in-qbo"),
    pytest.param("Sunrise Roofing LLC", (None, None), id="company-llc"),
    pytest.param("Acme Solar Inc.", (None, None), id="company-inc"),
    pytest.param("Oak Hills HOA", (None, None), id="company-hoa"),
    pytest.param("Jon Co", ("Jon", "Co"), id="surname-co-is-not-a-company"),
    pytest.param("Dr.", (None, None), id="title-only"),
    pytest.param("", (None, None), id="empty"),
    pytest.param("   ", (None, None), id="blank"),
    pytest.param(None, (None, None), id="none"),
]


@pytest.mark.parametrize(("full", "expected"), NAMES)
def test_contact_name_to_given_family(full, expected):
    assert split_name(full) == expected


@pytest.mark.parametrize(("full", "expected"), NAMES)
def test_name_split_is_a_fixed_point_after_one_round(full, expected):
    assert split_name(join_name(*expected)) == expected


def test_name_parts_at_most_100_chars():
    given, family = split_name("A" + "b" * 150 + " " + "C" + "d" * 150)
    assert len(given) == 100 and given.startswith("Abbb")
    assert len(family) == 100 and family.startswith("Cddd")


@pytest.mark.parametrize(
    ("given", "family", "full"),
    [
        pytest.param("José", "Núñez", "José Núñez", id="customer-first-last-to-contact-name"),
        pytest.param("Mary-Jane", "Watson-Parker Jr.", "Mary-Jane Watson-Parker Jr.", id="suffix"),
        pytest.param("Cher", None, "Cher", id="given-only"),
        pytest.param(None, "Smith", "Smith", id="family-only"),
        pytest.param("  Ann ", " Lee ", "Ann Lee", id="trimmed"),
        pytest.param("", "", None, id="empty"),
        pytest.param(None, None, None, id="none"),
    ],
)
def test_given_family_to_contact_name(given, family, full):
    assert join_name(given, family) == full


def test_looks_like_company():
    assert looks_like_company("Bright Future Solar, LLC")
    assert looks_like_company("Smith & Sons Co.")
    assert not looks_like_company("Charlotte Church")
    assert not looks_like_company(None)


PHONES = [
    pytest.param("(512) 555-0142", "(512) 555-0142", id="contact-phone-national"),
    pytest.param("512.555.0199", "(512) 555-0199", id="dots"),
    pytest.param("+1 512 555 0100", "(512) 555-0100", id="plus-one"),
    pytest.param("1-512-555-0100", "(512) 555-0100", id="leading-one"),
    pytest.param("5125550123 ext 12", "(512) 555-0123 x12", id="extension-ext"),
    pytest.param("512-555-0123 x12", "(512) 555-0123 x12", id="extension-x"),
    pytest.param("+44 20 7946 0958", "+44 20 7946 0958", id="uk-international"),
    pytest.param("+1 (416) 555-0199", "(416) 555-0199", id="canada-nanp-national"),
    pytest.param("1-800-FLOWERS", "(800) 356-9377", id="vanity-letters"),
    pytest.param("call office", "call office", id="words-kept"),
    pytest.param("  555-0142 ", "555-0142", id="no-area-code-kept-trimmed"),
    pytest.param("12345", "12345", id="too-short-kept"),
    pytest.param("   ", None, id="blank"),
    pytest.param(None, None, id="none"),
]


@pytest.mark.parametrize(("raw", "expected"), PHONES)
def test_contact_phone_to_primary_phone(raw, expected):
    assert format_phone(raw) == expected


@pytest.mark.parametrize(("raw", "expected"), PHONES)
def test_phone_format_is_a_fixed_point(raw, expected):
    assert format_phone(expected) == expected


def test_qbo_phone_at_most_30_chars():
    assert qbo_phone("call the office after 5pm on weekdays please") == "call the office after 5pm on w"
    assert qbo_phone("(512) 555-0142") == "(512) 555-0142"


@pytest.mark.parametrize(
    ("a", "b", "same"),
    [
        pytest.param("(512) 555-0142", "+1 512-555-0142", True, id="formats"),
        pytest.param("512.555.0142", "5125550142", True, id="digits"),
        pytest.param("(512) 555-0142", "(512) 555-0143", False, id="different-number"),
        pytest.param("5125550123 ext 12", "(512) 555-0123 x12", True, id="same-extension"),
        pytest.param("5125550123 ext 12", "(512) 555-0123", False, id="extension-differs"),
        pytest.param("+44 20 7946 0958", "020 7946 0958", False, id="uk-vs-us-region"),
        pytest.param("call office", "Call  Office", True, id="text-case-insensitive"),
        pytest.param("call office", "(512) 555-0142", False, id="text-vs-number"),
        pytest.param(None, "", True, id="both-empty"),
        pytest.param(None, "(512) 555-0142", False, id="one-empty"),
    ],
)
def test_same_phone(a, b, same):
    assert same_phone(a, b) is same
    assert same_phone(b, a) is same


@pytest.mark.parametrize(
    ("emails", "expected"),
    [
        pytest.param(["jane@example.com"], "jane@example.com", id="contact-email-to-primary-email"),
        pytest.param([" Jane.Doe@Example.COM "], "Jane.Doe@example.com", id="trimmed-domain-lower-cased"),
        pytest.param(["", "n/a", "jane at example dot com", "ok@site.io"], "ok@site.io", id="first-plausible"),
        pytest.param(["mailto:Bob@Mail.Example.org"], "Bob@mail.example.org", id="mailto"),
        pytest.param(["Jane Doe <jane@X.org>"], "jane@x.org", id="display-name"),
        pytest.param(["a@b"], None, id="no-dot-in-domain"),
        pytest.param(["two@@example.com"], None, id="double-at"),
        pytest.param(["x" * 95 + "@example.com"], None, id="over-100-chars"),
        pytest.param("solo@example.com", "solo@example.com", id="bare-string"),
        pytest.param([], None, id="empty-list"),
        pytest.param(None, None, id="none"),
    ],
)
def test_first_email(emails, expected):
    assert first_email(emails) == expected


def test_email_helpers():
    assert normalize_email(None) is None
    assert same_email("JANE@example.com ", "jane@EXAMPLE.com")
    assert not same_email("jane@example.com", "jane@example.org")
