"""Issue 11 items 4 and 5 through both sandboxes and all four flows: a Canadian job-site address and a
business contact land structured in QuickBooks (BillAddr province, postal code, country; CompanyName),
come back unchanged, and the next round writes nothing."""

from __future__ import annotations

from typing import Any

from demo.flows import TwoWaySync


def test_canadian_address_and_business_contact_cross_and_stay_quiet(
    coperniq_sandbox_factory: Any, qbo_sandbox_factory: Any
) -> None:
    two_way = TwoWaySync(coperniq_sandbox_factory(projects=3, seed=5, daily_quota=None),
                         qbo_sandbox_factory(customers=2, invoices=0, seed=5, throttle=False,
                                             refresh_token_grace=86400))
    backend = two_way.coperniq.backend
    project, _ = backend.create_project({"title": "Lakeview HOA Clubhouse",
                                         "address": ["55 boulevard René-Lévesque Est, bureau 300, Québec (Québec) "
                                                     "G1R5J6"]}, match_by="title", match_found_strategy="skip")
    contact = backend.create_contact({"name": "Sunrise Roofing LLC", "emails": ["office@sunrise-roofing.example"],
                                      "projectIds": [project["id"]]})
    before_project, before_contact = backend.get_project(project["id"]), backend.get_contact(contact["id"])

    for _ in range(2):
        result = two_way.round()
        assert not result.errors, result.errors
    result = two_way.round()
    assert not result.errors, result.errors
    assert result.writes == (0, 0), "the round after the round trip must write nothing"

    customer = next(c for c in two_way.quickbooks.backend.customers.values()
                    if f"Coperniq project #{project['id']}" in (c.get("Notes") or ""))
    assert {key: customer["BillAddr"].get(key) for key in
            ("Line1", "Line2", "City", "CountrySubDivisionCode", "PostalCode", "Country")} == {
        "Line1": "55 boulevard René-Lévesque Est", "Line2": "bureau 300", "City": "Québec",
        "CountrySubDivisionCode": "QC", "PostalCode": "G1R 5J6", "Country": "Canada"}
    assert customer["CompanyName"] == "Sunrise Roofing LLC"
    assert not customer.get("GivenName") and not customer.get("FamilyName")
    after_project, after_contact = backend.get_project(project["id"]), backend.get_contact(contact["id"])
    assert after_project["address"] == before_project["address"]
    assert after_contact["name"] == before_contact["name"] == "Sunrise Roofing LLC"
