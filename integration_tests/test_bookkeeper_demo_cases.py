"""The demo's bookkeeper cases (issue 11's last sentence) through both sandboxes: a Canadian home, a business
contact and invoices with terms land right, the demo's checks say so, a quiet round writes nothing, and the
same checks catch each case landing wrong."""

from __future__ import annotations

import copy
from typing import Any

from connector_core.launcher import PreloadedLauncher
from demo.bookkeeper_cases import add_bookkeeper_cases, check_bookkeeper_cases
from demo.flows import TwoWaySync
from demo.steady_state import INVOICE_STAGE, Snapshot, disagreements
from mapping.links import invoice_id_from_note, project_id_from_notes


def test_demo_cases_land_right_and_the_checks_catch_each_one_landing_wrong(
    coperniq_sandbox_factory: Any, qbo_sandbox_factory: Any
) -> None:
    two_way = TwoWaySync(coperniq_sandbox_factory(projects=3, seed=5, daily_quota=None),
                         qbo_sandbox_factory(customers=2, invoices=0, seed=5, throttle=False,
                                             refresh_token_grace=86400),
                         invoice_stages=[INVOICE_STAGE], launcher=PreloadedLauncher())  # forks: fast
    cases = add_bookkeeper_cases(two_way.coperniq)
    assert sorted(cases.invoice_terms.values(), key=str) == ["Due on receipt", "Net 15", "Net 30", None]

    first = two_way.round()
    assert not first.errors, first.errors
    quiet = two_way.round()
    assert quiet.writes == (0, 0), "the round after the cases crossed must write nothing"

    snapshot = Snapshot.of(two_way)
    seen = check_bookkeeper_cases(cases, snapshot)
    assert len(seen) == 2 + len(cases.invoice_terms)
    assert all(right for right, _ in seen), seen
    assert disagreements(snapshot, only={cases.canadian_project, cases.business_project}) == []

    wrong = copy.deepcopy(snapshot)
    customers = {project_id_from_notes(c.get("Notes")): c for c in wrong.customers.values()}
    customers[cases.canadian_project]["BillAddr"] = {"Line1": "4521 rue Saint-Denis app. 3 Montréal QC h2j2l4"}
    customers[cases.business_project]["GivenName"] = "Sunrise"
    invoices = {invoice_id_from_note(row.get("PrivateNote")): row for row in wrong.qbo_invoices.values()}
    for invoice_id, term in cases.invoice_terms.items():
        if term is None:  # no term fits 45 days: a term named there is wrong
            invoices[invoice_id]["SalesTermRef"] = {"value": wrong.term_rows[0]["Id"]}
        else:
            invoices[invoice_id].pop("SalesTermRef")
    assert [right for right, _ in check_bookkeeper_cases(cases, wrong)] == [False] * len(seen)
    # The field-by-field agreement check sees the dropped terms too (a missing SalesTermRef the mapping wants).
    assert any("SalesTermRef" in line for line in disagreements(wrong, only={cases.business_project}))
