"""Who owns a customer field (mapping/ownership.py): the [sync ...] baseline on the Notes link line, as a table."""

from __future__ import annotations

from typing import Any

import pytest

from mapping.links import customer_notes_with_link, project_id_from_notes, strip_links
from mapping.ownership import customer_fingerprint, customer_to_create, customer_update, fingerprint_in

DESIRED = {"DisplayName": "Okafor Residence", "GivenName": "Ada", "FamilyName": "Okafor",
           "PrimaryPhone": {"FreeFormNumber": "(512) 555-0142"},
           "BillAddr": {"Line1": "1200 Barton Springs Rd", "City": "Austin", "CountrySubDivisionCode": "TX"},
           "ShipAddr": {"Line1": "1200 Barton Springs Rd", "City": "Austin", "CountrySubDivisionCode": "TX"},
           "Notes": "Coperniq project #42"}


def held(**edits: Any) -> dict[str, Any]:
    """The customer as created from DESIRED, then edited in QuickBooks."""
    return {"Id": "58", "SyncToken": "1", **customer_to_create(DESIRED, 42), **edits}


OFFICE = {"Line1": "PO Box 4410", "City": "Austin", "CountrySubDivisionCode": "TX"}
MOVED = {"Line1": "4801 Burnet Rd", "City": "Austin", "CountrySubDivisionCode": "TX"}


@pytest.mark.parametrize(("current", "desired", "written"), [
    pytest.param(held(), DESIRED, [], id="nothing-changed"),
    pytest.param(held(PrimaryPhone={"FreeFormNumber": "(512) 555-0199"}), DESIRED, [], id="quickbooks-edit-stays"),
    pytest.param(held(PrimaryPhone={"FreeFormNumber": "(512) 555-0199"}), {**DESIRED, "DisplayName": "Okafor Home"},
                 ["DisplayName", "Notes"], id="unrelated-change-keeps-the-edit"),
    pytest.param(held(BillAddr=OFFICE), {**DESIRED, "BillAddr": MOVED, "ShipAddr": MOVED},
                 ["BillAddr", "Notes", "ShipAddr"], id="the-job-site-moved-both-follow"),
    pytest.param(held(PrimaryPhone={"FreeFormNumber": "(512) 555-0199"}),
                 {**DESIRED, "PrimaryPhone": {"FreeFormNumber": "(512) 555-0199"}}, [],
                 id="the-edit-came-back-from-coperniq-no-tag-only-write"),
    pytest.param(held(PrimaryPhone={"FreeFormNumber": "(512) 555-0199"}, Notes="Coperniq project #42"), DESIRED,
                 ["Notes", "PrimaryPhone"], id="no-baseline-coperniq-wins-once"),
    pytest.param(held(Notes="Met at the home show"), DESIRED, ["Notes"], id="adopted-gets-link-and-baseline"),
])
def test_customer_update(current: dict, desired: dict, written: list) -> None:
    changes = customer_update(current, desired, 42)
    assert sorted(changes) == written
    if "Notes" in changes:
        assert project_id_from_notes(changes["Notes"]) == 42
        assert fingerprint_in(changes["Notes"]) == customer_fingerprint(desired, 42)


def test_the_bookkeepers_notes_stay_around_the_link_line_and_the_tag_never_leaks() -> None:
    typed = "Gate code 4411\nCoperniq project #42 [sync n=abcdef]\nOn hold"
    notes = customer_notes_with_link(typed, 42, "[sync n=123456]")
    assert notes == "Gate code 4411\nOn hold\nCoperniq project #42 [sync n=123456]"
    assert strip_links(notes) == "Gate code 4411\nOn hold"
    assert fingerprint_in(notes) == {"n": "123456"}


def test_a_collision_suffix_is_not_a_change_of_the_title() -> None:
    suffixed = {**DESIRED, "DisplayName": "Okafor Residence (Coperniq #42)"}
    assert customer_fingerprint(suffixed, 42) == customer_fingerprint(DESIRED, 42)


def test_a_contact_alone_keeps_the_projects_entries_of_the_baseline() -> None:
    contact_only = {"GivenName": "Ada", "FamilyName": "Okafor-Reyes"}
    changes = customer_update(held(), contact_only, 42)
    assert sorted(changes) == ["FamilyName", "Notes"]
    assert set(fingerprint_in(changes["Notes"])) == set(customer_fingerprint(DESIRED, 42))
