"""Where the links between the two systems live, and DisplayName rules."""

import pytest

from mapping.links import (
    NOTES_MAX,
    PRIVATE_NOTE_MAX,
    clean_display_name,
    customer_notes_with_link,
    description_with_qbo_link,
    display_name_matches,
    invoice_id_from_note,
    invoice_note_with_link,
    own_display_name,
    project_id_from_display_name,
    project_id_from_notes,
    qbo_invoice_id_from_description,
    strip_links,
    suffixed_display_name,
    title_from_display_name,
)


@pytest.mark.parametrize(
    ("notes", "expected"),
    [
        pytest.param(None, "Coperniq project #42", id="new-customer"),
        pytest.param("", "Coperniq project #42", id="empty-notes"),
        pytest.param("Gate code 1234", "Gate code 1234\nCoperniq project #42", id="keeps-bookkeeper-text"),
        pytest.param("Gate code 1234\n\n", "Gate code 1234\nCoperniq project #42", id="trailing-blank-lines"),
        pytest.param("Coperniq project #42", "Coperniq project #42", id="already-linked"),
        pytest.param(
            "Coperniq project #42\nOn hold: unpaid invoice 1001",
            "On hold: unpaid invoice 1001\nCoperniq project #42",
            id="marker-moved-back-to-the-end",
        ),
        pytest.param(
            "coperniq PROJECT # 42\nnote\nCoperniq project #42",
            "note\nCoperniq project #42",
            id="duplicates-and-retyped-marker-collapse-to-one",
        ),
        pytest.param("Coperniq project #7", "Coperniq project #42", id="relinked-to-another-project"),
        pytest.param(
            "Called 3/2. Coperniq project #42 on hold",
            "Called 3/2. on hold\nCoperniq project #42",
            id="marker-inside-a-line",
        ),
    ],
)
def test_customer_notes_with_link(notes, expected):
    result = customer_notes_with_link(notes, 42)
    assert result == expected
    assert result.count("Coperniq project #") == 1
    assert project_id_from_notes(result) == 42
    assert customer_notes_with_link(result, 42) == result  # idempotent: no write on the next sync


def test_customer_notes_trim_bookkeeper_text_not_marker():
    result = customer_notes_with_link("x" * 5000, 123456)
    assert len(result) == NOTES_MAX <= 4000
    assert result.endswith("\nCoperniq project #123456")
    assert result.startswith("xxx")


@pytest.mark.parametrize(
    ("notes", "project_id"),
    [
        pytest.param("Coperniq project #42", 42, id="marker"),
        pytest.param("VIP\ncoperniq project#  42 ", 42, id="retyped-by-bookkeeper"),
        pytest.param("Coperniq project #7\nCoperniq project #42", 42, id="last-wins"),
        pytest.param("Coperniq project #", None, id="no-id"),
        pytest.param("Coperniq projects #42x", None, id="not-a-marker"),
        pytest.param(None, None, id="none"),
    ],
)
def test_project_id_from_notes(notes, project_id):
    assert project_id_from_notes(notes) == project_id


def test_invoice_private_note_link():
    assert invoice_note_with_link(None, 9001) == "Coperniq invoice #9001"
    note = invoice_note_with_link("Deposit received by check", 9001)
    assert note == "Deposit received by check\nCoperniq invoice #9001"
    assert invoice_id_from_note(note) == 9001
    assert invoice_id_from_note("paid in cash") is None
    long_note = invoice_note_with_link("y" * 5000, 9001)
    assert len(long_note) == PRIVATE_NOTE_MAX
    assert long_note.endswith("\nCoperniq invoice #9001")


def test_description_with_qbo_link():
    assert description_with_qbo_link(None, "130") == "QuickBooks invoice #130"
    text = description_with_qbo_link("Thank you for your business!", "130")
    assert text == "Thank you for your business!\nQuickBooks invoice #130"
    assert description_with_qbo_link(text, "130") == text
    assert qbo_invoice_id_from_description(text) == "130"
    assert qbo_invoice_id_from_description("QuickBooks invoice 1037") is None  # a line description, not a marker
    assert qbo_invoice_id_from_description(None) is None


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        pytest.param("Thanks!\nQuickBooks invoice #130", "Thanks!", id="qbo-marker"),
        pytest.param("Internal\nCoperniq invoice #9001", "Internal", id="invoice-marker"),
        pytest.param("VIP\nCoperniq project #42", "VIP", id="project-marker"),
        pytest.param("Coperniq invoice #1\nQuickBooks invoice #2", None, id="only-markers"),
        pytest.param("Roof phase 2 of 3", "Roof phase 2 of 3", id="no-marker"),
        pytest.param("QuickBooks invoice 1037", "QuickBooks invoice 1037", id="line-text-is-not-a-marker"),
        pytest.param(None, None, id="none"),
    ],
)
def test_strip_links(text, expected):
    assert strip_links(text) == expected


@pytest.mark.parametrize(
    ("title", "expected"),
    [
        pytest.param("Smith Residence", "Smith Residence", id="project-title-to-display-name"),
        pytest.param("Smith: Roof replacement", "Smith - Roof replacement", id="colon-is-sub-customer-separator"),
        pytest.param("Smith:Roof::Phase 2", "Smith - Roof - Phase 2", id="several-colons"),
        pytest.param(":Smith:", "Smith", id="colons-at-the-ends"),
        pytest.param("Smith\tResidence\n2024", "Smith Residence 2024", id="tabs-and-newlines"),
        pytest.param("  Smith  Residence ", "Smith Residence", id="spaces"),
        pytest.param("", "Coperniq project #42", id="empty-falls-back"),
        pytest.param(" : ", "Coperniq project #42", id="only-colon-falls-back"),
        pytest.param(None, "Coperniq project #42", id="none-falls-back"),
    ],
)
def test_clean_display_name(title, expected):
    assert clean_display_name(title, 42) == expected


def test_clean_display_name_at_most_500_chars():
    assert clean_display_name("T" * 700, 42) == "T" * 500


def test_suffixed_display_name_for_collisions():
    assert suffixed_display_name("Smith Residence", 42) == "Smith Residence (Coperniq #42)"
    assert suffixed_display_name("Smith: Roof", 42) == "Smith - Roof (Coperniq #42)"
    long_name = suffixed_display_name("T" * 700, 123456)
    assert len(long_name) == 500
    assert long_name.endswith("T (Coperniq #123456)")


@pytest.mark.parametrize(
    ("display_name", "title"),
    [
        pytest.param("Smith Residence (Coperniq #42)", "Smith Residence", id="display-name-to-project-title"),
        pytest.param("Smith Residence", "Smith Residence", id="no-suffix"),
        pytest.param("Smith Residence (Coperniq #7)", "Smith Residence (Coperniq #7)", id="other-project-suffix-kept"),
        pytest.param(" Smith Residence (Coperniq #42) ", "Smith Residence", id="trimmed"),
        pytest.param(None, "", id="none"),
    ],
)
def test_title_from_display_name(display_name, title):
    assert title_from_display_name(display_name, 42) == title


def test_display_name_matches_and_suffix_id():
    assert display_name_matches("Smith - Roof", "Smith: Roof", 42)
    assert display_name_matches("Smith - Roof (Coperniq #42)", "Smith: Roof", 42)
    assert not display_name_matches("Smith - Roof (Coperniq #7)", "Smith: Roof", 42)
    assert not display_name_matches("Jones", "Smith", 42)
    assert not display_name_matches(None, "Smith", 42)
    assert project_id_from_display_name("Smith (Coperniq #42)") == 42
    assert project_id_from_display_name("Smith") is None


@pytest.mark.parametrize(("customer", "name"), [
    ({"DisplayName": "Smith Residence (deleted)", "Active": False}, "Smith Residence"),
    ({"DisplayName": "Smith Residence (deleted)"}, "Smith Residence"),  # state unknown: the suffix is QBO's
    ({"DisplayName": "Smith Residence (deleted)", "Active": True}, "Smith Residence (deleted)"),
    ({"DisplayName": "Smith Residence", "Active": False}, "Smith Residence"),
    ({}, None),
])
def test_an_inactive_customers_own_name_has_no_deleted_suffix(customer: dict, name: str | None) -> None:
    assert own_display_name(customer) == name
