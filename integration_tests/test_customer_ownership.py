"""Who owns a customer field, in scheduler rounds (#11 item 6): a bookkeeper's edit of a customer survives
an unrelated Coperniq change, Coperniq's own changes still land, and quiet rounds write nothing. Each
round runs Coperniq -> QuickBooks, then QuickBooks -> Coperniq, with state carried (demo/flows.py), in
processes forked from a preloaded launcher (a round is four connector runs).
"""

from __future__ import annotations

from typing import Any

from connector_core.launcher import PreloadedLauncher
from demo.flows import TwoWaySync
from mapping.links import project_id_from_notes
from mapping.ownership import fingerprint_in

EDITED_PHONE = "(512) 555-0199"


def _round(two_way: TwoWaySync) -> tuple[int, int]:
    result = two_way.round()
    assert not result.errors, result.errors
    return result.writes


def _customer_of(two_way: TwoWaySync, project_id: int) -> dict[str, Any]:
    (customer,) = [c for c in two_way.quickbooks.backend.customers.values()
                   if project_id_from_notes(c.get("Notes")) == project_id]
    return customer


def test_a_quickbooks_phone_edit_survives_an_unrelated_title_change(coperniq_sandbox_factory: Any,
                                                                     qbo_sandbox_factory: Any) -> None:
    coperniq = coperniq_sandbox_factory(projects=6, seed=31, daily_quota=None)
    quickbooks = qbo_sandbox_factory(customers=2, invoices=2, seed=31, throttle=False, refresh_token_grace=86400)
    two_way = TwoWaySync(coperniq, quickbooks, launcher=PreloadedLauncher())
    _round(two_way)  # the initial load
    customer = next(c for c in quickbooks.backend.customers.values()
                    if project_id_from_notes(c.get("Notes")) and (c.get("PrimaryPhone") or {}).get("FreeFormNumber"))
    project_id = project_id_from_notes(customer["Notes"])
    assert fingerprint_in(customer["Notes"]), "a new customer carries its baseline"
    title = coperniq.backend.get_project(project_id)["title"]

    # The bookkeeper fixes the phone in QuickBooks; in Coperniq, the project is renamed.
    quickbooks.backend.edit_customer(customer["Id"], PrimaryPhone={"FreeFormNumber": EDITED_PHONE})
    coperniq.backend.update_project(project_id, {"title": title + " (phase 2)"})
    qbo_writes, _ = _round(two_way)
    after = _customer_of(two_way, project_id)
    assert qbo_writes == 1 and after["DisplayName"] == title + " (phase 2)", "the title is updated"
    assert after["PrimaryPhone"]["FreeFormNumber"] == EDITED_PHONE, "the bookkeeper's phone is kept"
    contacts = [c for c in coperniq.backend.contacts.values() if project_id in c.project_ids]
    assert any(EDITED_PHONE in c.phones for c in contacts), "qbo:out:1 took the phone to the contact"

    # The phone came back from Coperniq (its contact changed), which QuickBooks already holds: nothing to write.
    assert _round(two_way) == (0, 0)

    # Coperniq's own change of the phone still lands.
    contact = next(c for c in contacts if EDITED_PHONE in c.phones)
    coperniq.backend.update_contact(contact.id, {"phones": ["512-555-0123"]})
    qbo_writes, _ = _round(two_way)
    assert qbo_writes == 1 and _customer_of(two_way, project_id)["PrimaryPhone"]["FreeFormNumber"] == "(512) 555-0123"
