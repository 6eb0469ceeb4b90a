"""All four flows on a schedule: a change reaches the other side once, and then the syncs go quiet.

Each round runs Coperniq -> QuickBooks (source-coperniq | destination-quickbooks, qbo:in:1/2) and
then QuickBooks -> Coperniq (source-quickbooks | destination-coperniq, qbo:out:1/2), as a scheduler
would. Write requests are counted by the sandboxes.
"""

from __future__ import annotations

from typing import Any

import pytest

from demo.flows import TwoWaySync


@pytest.fixture
def two_way(coperniq_sandbox_factory: Any, qbo_sandbox_factory: Any) -> TwoWaySync:
    # Intuit may keep answering a superseded refresh token for up to a day; the two QuickBooks
    # connectors here share one app authorization, so the sandbox is given that grace.
    return TwoWaySync(coperniq_sandbox_factory(projects=50, seed=17, daily_quota=None),
                      qbo_sandbox_factory(customers=20, invoices=25, seed=17, throttle=False,
                                          refresh_token_grace=86400))


def _round(two_way: TwoWaySync) -> tuple[int, int]:
    """One round of both directions; (QuickBooks writes, Coperniq writes)."""
    result = two_way.round()
    assert not result.errors, result.errors
    return result.writes


def test_changes_cross_once_and_the_next_rounds_write_nothing(two_way: TwoWaySync) -> None:
    _round(two_way)  # the initial load
    assert _round(two_way) == (0, 0), "a quiet round must write nothing on either side"

    project_id = sorted(two_way.coperniq.backend.projects)[3]
    two_way.coperniq.backend.update_project(project_id, {"title": "Okonkwo Residence"})
    qbo_writes, coperniq_writes = _round(two_way)
    assert qbo_writes == 1 and coperniq_writes == 0  # one batch for the rename; its echo writes nothing
    assert _round(two_way) == (0, 0)

    customer = next(c for c in two_way.quickbooks.backend.customers.values()
                    if f"Coperniq project #{project_id}" in (c.get("Notes") or ""))
    moved = {"Line1": "901 W Riverside Dr", "City": "Austin", "CountrySubDivisionCode": "TX", "PostalCode": "78704",
             "Country": "US"}
    # Both addresses, as QuickBooks' "Same as billing address" box does: the ship-to one is the job site.
    two_way.quickbooks.backend.edit_customer(customer["Id"], PrimaryPhone={"FreeFormNumber": "(737) 555-0199"},
                                             BillAddr=moved, ShipAddr=dict(moved))
    qbo_writes, coperniq_writes = _round(two_way)
    assert coperniq_writes >= 1 and qbo_writes == 0
    project = two_way.coperniq.backend.get_project(project_id, include_archived=True)
    assert project["address"] == ["901 W Riverside Dr, Austin, TX 78704"]
    assert _round(two_way) == (0, 0)

    two_way.reset()
    assert _round(two_way) == (0, 0), "a sync from scratch must write nothing when both sides agree"


def test_a_project_that_goes_to_quickbooks_and_back_keeps_title_address_and_contact(two_way: TwoWaySync) -> None:
    backend = two_way.coperniq.backend
    project, _ = backend.create_project({"title": "Zoë Núñez – Solar + Battery",
                                         "address": ["1208 e 7th st apt 3b austin texas 78702"]}, match_by="title",
                                        match_found_strategy="skip")
    contact = backend.create_contact({"name": "Zoë Núñez", "emails": ["Zoe.Nunez@Example.com", "zn@work.example"],
                                      "phones": ["512.555.0142 ext 7", "(512) 555-0100"],
                                      "projectIds": [project["id"]]})
    before_project = backend.get_project(project["id"])
    before_contact = backend.get_contact(contact["id"])
    for _ in range(3):
        _round(two_way)
    after_project = backend.get_project(project["id"])
    after_contact = backend.get_contact(contact["id"])
    for key in ("title", "address", "primaryEmail", "primaryPhone"):
        assert after_project[key] == before_project[key], key
    for key in ("name", "emails", "phones"):
        assert after_contact[key] == before_contact[key], key
    customer = next(c for c in two_way.quickbooks.backend.customers.values()
                    if f"Coperniq project #{project['id']}" in (c.get("Notes") or ""))
    assert customer["GivenName"] == "Zoë" and customer["FamilyName"] == "Núñez"
    assert customer["BillAddr"]["PostalCode"] == "78702" and customer["BillAddr"]["CountrySubDivisionCode"] == "TX"
