"""destination-quickbooks' planner as tables: records + what QuickBooks holds -> the writes, without HTTP."""

from __future__ import annotations

from typing import Any

import pytest

from destination_quickbooks.intake import FlushRecords, ProjectFacts
from destination_quickbooks.planner import (
    NEEDS_COMPANY,
    NEEDS_OTHER_NAMES,
    CustomerIndex,
    InvoiceSettings,
    PlannedWrite,
    QuickBooksView,
    plan_customers,
    plan_invoices,
    retry_after_fault,
    select_invoices,
)
from mapping.coperniq_to_qbo import customer_fields, invoice_fields
from mapping.ownership import customer_to_create, fingerprint_in, invoice_to_create
from mapping.write_rules import stage_names
from qbo.errors import FaultError, QuickBooksFault

PROJECT = {"id": 7, "title": "Okafor Residence", "address": ["1200 Barton Springs Rd, Austin, TX 78704"],
           "primaryEmail": "ada@example.com"}
CONTACT = {"id": 70, "name": "Ada Okafor", "emails": ["ada@example.com"], "phones": ["512-555-0142"],
           "projects": [{"id": 7, "title": "Okafor Residence"}]}
ITEM = {"value": "1", "name": "Services"}


def linked(project: dict[str, Any] = PROJECT, contact: dict[str, Any] | None = CONTACT, **edits: Any) -> dict:
    """A customer as this connector created it (with its baseline), then edited in QuickBooks with ``edits``."""
    created = customer_to_create({k: v for k, v in customer_fields(project, contact).items() if k != "CurrencyRef"},
                                 project["id"])
    return {"Id": "58", "SyncToken": "2", "Active": True, **created, **edits}


def view(*customers: dict[str, Any], others: tuple[str, ...] = (), **known: Any) -> QuickBooksView:
    index = CustomerIndex()
    for customer in customers:
        index.add(customer)
    for name in others:
        index.reserve(name)
    return QuickBooksView(customers=index, **{"other_names_known": True, "company_known": True, **known})


def customer_plan(qbo: QuickBooksView, projects: list[dict] = (), contacts: list[dict] = (),
                  facts: dict[int, ProjectFacts] | None = None):
    records = FlushRecords({p["id"]: p for p in projects}, {c["id"]: c for c in contacts}, {})
    return plan_customers(records, select_invoices([], {}, frozenset()), qbo, facts or {})


def summary(writes: list[PlannedWrite]) -> list[tuple[str, str, Any, list[str]]]:
    return [(w.entity, w.action, w.coperniq_id, sorted(k for k in w.body if k not in ("Id", "SyncToken", "sparse")))
            for w in writes]


RENAMED = {**PROJECT, "title": "Okafor Residence - Phase 2"}
OTHER = {**PROJECT, "id": 8, "primaryEmail": None}
PHONE_EDIT = {"PrimaryPhone": {"FreeFormNumber": "(512) 555-0199"}}
UNTAGGED = {"Notes": "Coperniq project #7"}

CUSTOMER_CASES = [
    # (id, QuickBooks holds, projects, contacts, expected writes, expected outcome kinds)
    ("create", (), [PROJECT], [CONTACT],
     [("Customer", "create", 7, ["BillAddr", "DisplayName", "FamilyName", "GivenName", "Notes", "PrimaryEmailAddr",
                                 "PrimaryPhone", "ShipAddr"])], []),
    ("unchanged-writes-nothing", (linked(),), [PROJECT], [CONTACT], [], ["unchanged"]),
    ("update-the-title", (linked(),), [RENAMED], [CONTACT], [("Customer", "update", 7, ["DisplayName", "Notes"])], []),
    ("adopt-a-same-named-customer", ({"Id": "31", "SyncToken": "0", "DisplayName": "Okafor Residence"},),
     [PROJECT], [CONTACT],
     [("Customer", "update", 7, ["BillAddr", "FamilyName", "GivenName", "Notes", "PrimaryEmailAddr", "PrimaryPhone",
                                 "ShipAddr"])], []),
    ("an-inactive-namesake-is-not-adopted",
     ({"Id": "31", "SyncToken": "0", "DisplayName": "Okafor Residence (deleted)", "Active": False},),
     [PROJECT], [], [("Customer", "create", 7, ["BillAddr", "DisplayName", "Notes", "PrimaryEmailAddr",
                                                  "ShipAddr"])], []),
    ("ownership-keeps-a-quickbooks-phone", (linked(**PHONE_EDIT),), [RENAMED], [CONTACT],
     [("Customer", "update", 7, ["DisplayName", "Notes"])], []),
    ("ownership-a-quickbooks-edit-alone-writes-nothing", (linked(**PHONE_EDIT),), [PROJECT], [CONTACT], [],
     ["unchanged"]),
    ("no-baseline-coperniq-wins-once", (linked(**PHONE_EDIT, **UNTAGGED),), [PROJECT], [CONTACT],
     [("Customer", "update", 7, ["Notes", "PrimaryPhone"])], []),
    ("a-contact-alone-updates-its-customer", (linked(),), [], [{**CONTACT, "phones": ["512-555-0100"]}],
     [("Customer", "update", 7, ["Notes", "PrimaryPhone"])], []),
    ("a-contact-of-an-unknown-project-without-title", (), [], [{**CONTACT, "projects": [{"id": 9}]}], [],
     ["skipped"]),
    ("a-contact-linked-to-no-project", (), [], [{**CONTACT, "projects": []}], [], ["skipped"]),
]


@pytest.mark.parametrize(("held", "projects", "contacts", "expected", "outcomes"),
                         [case[1:] for case in CUSTOMER_CASES], ids=[case[0] for case in CUSTOMER_CASES])
def test_customer_plans(held: tuple, projects: list, contacts: list, expected: list, outcomes: list) -> None:
    plan = customer_plan(view(*held), projects, contacts)
    assert not plan.needs
    assert summary(plan.writes) == expected
    assert [o.kind for o in plan.outcomes] == outcomes
    assert all(w.reason for w in plan.writes), "every write says why"


@pytest.mark.parametrize(("held", "others", "projects", "names"), [
    pytest.param((), (), [PROJECT, OTHER], ["Okafor Residence", "Okafor Residence (Coperniq #8)"],
                 id="ambiguous-title-in-one-flush"),
    pytest.param((), ("Okafor Residence",), [PROJECT], ["Okafor Residence (Coperniq #7)"], id="a-vendors-name"),
    pytest.param((linked(),), (), [OTHER], ["Okafor Residence (Coperniq #8)"], id="a-linked-customers-name"),
])
def test_a_taken_display_name_gets_the_project_suffix(held: tuple, others: tuple, projects: list,
                                                      names: list) -> None:
    plan = customer_plan(view(*held, others=others), projects)
    assert [w.body["DisplayName"] for w in plan.writes] == names


def test_the_adoption_is_noted_and_a_second_project_of_the_title_does_not_adopt_again() -> None:
    plan = customer_plan(view({"Id": "31", "SyncToken": "0", "DisplayName": "Okafor Residence"}), [PROJECT, OTHER])
    assert summary(plan.writes)[0][:3] == ("Customer", "update", 7)
    assert plan.writes[0].reason == "adopts the customer named 'Okafor Residence'"
    assert (plan.writes[1].action, plan.writes[1].body["DisplayName"]) == ("create", "Okafor Residence (Coperniq #8)")
    assert plan.adopted == {"31"}


def test_the_baseline_moves_only_for_what_coperniq_changed_and_keeps_the_other_entries() -> None:
    held = linked(**PHONE_EDIT)
    before = fingerprint_in(held["Notes"])
    plan = customer_plan(view(held), [], [{**CONTACT, "name": "Ada Okafor-Reyes"}])
    (write,) = plan.writes
    assert sorted(write.body) == ["FamilyName", "Id", "Notes", "SyncToken", "sparse"]
    after = fingerprint_in(write.body["Notes"])
    assert {code for code in after if after[code] != before.get(code)} == {"f"}
    assert set(after) == set(before), "a contact alone keeps the title's and the address's entries"


@pytest.mark.parametrize(("known", "needs"), [
    pytest.param({"other_names_known": False}, {NEEDS_OTHER_NAMES}, id="a-new-name-needs-vendors-and-employees"),
    pytest.param({"company_known": False}, {NEEDS_COMPANY}, id="a-create-needs-the-currency-preferences"),
])
def test_a_plan_says_what_it_must_read_first(known: dict, needs: set) -> None:
    plan = customer_plan(view(**known), [PROJECT])
    assert plan.needs == needs and plan.writes == []


def test_an_update_of_a_known_name_needs_nothing_more() -> None:
    plan = customer_plan(view(linked(), other_names_known=False, company_known=False), [PROJECT], [CONTACT])
    assert not plan.needs and plan.writes == []


def test_currency_is_sent_on_create_only_when_the_company_gives_one() -> None:
    with_ref = customer_plan(view(currency_ref={"value": "CAD"}), [PROJECT]).writes[0].body
    assert with_ref["CurrencyRef"] == {"value": "CAD"}
    assert "CurrencyRef" not in customer_plan(view(), [PROJECT]).writes[0].body


# -- invoices ------------------------------------------------------------------------------------


def invoice(invoice_id: int = 1, stage: Any = "absent", **extra: Any) -> dict[str, Any]:
    record = {"id": invoice_id, "uid": 1000 + invoice_id, "amount": 100.0, "status": "SENT",
              "createdAt": "2024-06-01T10:00:00Z", "dueDate": "2024-07-01T00:00:00Z",
              "record": {"id": 7, "title": "Okafor Residence"}, **extra}
    if stage != "absent":
        record["_project_stage"] = stage
    return record


def linked_invoice(source: dict[str, Any], **edits: Any) -> dict[str, Any]:
    created = invoice_to_create(invoice_fields(source, "58", ITEM, None))
    return {"Id": "900", "SyncToken": "0", **created, **edits}


def invoice_plan(invoices: list[dict], stages: tuple[str, ...] = (), customer: dict | None = None,
                 held: dict[int, dict] | None = None, facts: dict[int, ProjectFacts] | None = None):
    selection = select_invoices(invoices, facts or {}, stage_names(stages))
    qbo = view(*([customer] if customer is not None else [linked()]))
    qbo.invoices = held or {}
    return selection, plan_invoices(selection, qbo, InvoiceSettings(ITEM))


INVOICE_CASES = [
    # (id, invoices, stages, QuickBooks invoices, project facts, expected writes, outcome kinds)
    ("create", [invoice()], (), {}, None, [("Invoice", "create", 1)], []),
    ("unchanged-writes-nothing", [invoice()], (), {1: linked_invoice(invoice())}, None, [], ["unchanged"]),
    ("update-the-due-date", [invoice(dueDate="2024-08-01")], (), {1: linked_invoice(invoice())}, None,
     [("Invoice", "update", 1)], []),
    ("a-quickbooks-due-date-stays", [invoice(status="PAID")], (), {1: linked_invoice(invoice(), DueDate="2031-01-31")},
     None, [], ["unchanged"]),
    ("stage-reached", [invoice(stage="GLASS ON ROOF")], ("glass on roof",), {}, None, [("Invoice", "create", 1)], []),
    ("stage-not-reached", [invoice(stage="Permitting")], ("glass on roof",), {}, None, [], ["filtered"]),
    ("stage-unknown", [invoice()], ("glass on roof",), {}, None, [], ["filtered"]),
    ("stage-left-but-billed-follows-coperniq", [invoice(stage="Closed", dueDate="2024-08-01")], ("glass on roof",),
     {1: linked_invoice(invoice())}, None, [("Invoice", "update", 1)], []),
    ("the-project-record-wins", [invoice(stage="GLASS ON ROOF")], ("glass on roof",), {},
     {7: ProjectFacts(stage="Inspection")}, [], ["filtered"]),
]


@pytest.mark.parametrize(("invoices", "stages", "held", "facts", "expected", "outcomes"),
                         [case[1:] for case in INVOICE_CASES], ids=[case[0] for case in INVOICE_CASES])
def test_invoice_plans(invoices: list, stages: tuple, held: dict, facts: dict | None, expected: list,
                       outcomes: list) -> None:
    _, plan = invoice_plan(invoices, stages, held=held, facts=facts)
    assert [(w.entity, w.action, w.coperniq_id) for w in plan.writes] == expected
    assert [o.kind for o in plan.outcomes] == outcomes


def test_an_inactive_customer_takes_no_invoice() -> None:
    _, plan = invoice_plan([invoice()], customer=linked(Active=False, DisplayName="Okafor Residence (deleted)"))
    (outcome,) = plan.outcomes
    assert plan.writes == [] and outcome.kind == "skipped"
    assert "'Okafor Residence' (Id 58) is inactive" in outcome.reason


def test_invoices_born_in_quickbooks_or_of_no_project_are_not_selected() -> None:
    selection, _ = invoice_plan([invoice(1, description="QuickBooks invoice #130"), invoice(2, record=None)])
    assert selection.invoices == []
    assert [(o.record_id, o.kind) for o in selection.outcomes] == [(1, "owned_by_quickbooks"), (2, "skipped")]


def test_an_update_never_sends_the_addresses_an_issued_invoice_keeps() -> None:
    customer = linked()
    _, plan = invoice_plan([invoice(amount=250.0)], customer=customer, held={1: linked_invoice(invoice())})
    (write,) = plan.writes
    assert "Line" in write.body and not {"BillAddr", "ShipAddr"} & set(write.body)


# -- faults ----------------------------------------------------------------------------------------


def fault(code: str) -> QuickBooksFault:
    return QuickBooksFault("ValidationFault", [FaultError(code, "refused")])


CUSTOMER_CREATE = PlannedWrite("Customer", "create", {"DisplayName": "Okafor Residence"}, "projects", 7, 7)
INVOICE_CREATE = PlannedWrite("Invoice", "create", {"DocNumber": "1001"}, "invoices", 1, 1)
CUSTOMER_UPDATE = PlannedWrite("Customer", "update", {"Id": "58", "SyncToken": "2", "sparse": True,
                                                      "DisplayName": "Okafor Residence - Phase 2"}, "projects", 7, 7)


@pytest.mark.parametrize(("write", "code", "fresh", "body", "caveat"), [
    pytest.param(CUSTOMER_CREATE, "6240", None, {"DisplayName": "Okafor Residence (Coperniq #7)"}, None,
                 id="duplicate-name"),
    pytest.param(INVOICE_CREATE, "6140", None, {"DocNumber": "1001-C"}, "sent as 1001-C", id="duplicate-number"),
    pytest.param(CUSTOMER_UPDATE, "5010", {"Id": "58", "SyncToken": "3", "DisplayName": "Okafor Residence"},
                 {"Id": "58", "SyncToken": "3", "sparse": True, "DisplayName": "Okafor Residence - Phase 2"}, None,
                 id="stale-token-over-the-fresh-copy"),
    pytest.param(CUSTOMER_UPDATE, "5010", {"Id": "58", "SyncToken": "3", "DisplayName": "Okafor Residence - Phase 2"},
                 None, None, id="stale-token-nothing-left"),
])
def test_the_one_retry_a_fault_deserves(write: PlannedWrite, code: str, fresh: dict | None, body: dict | None,
                                        caveat: str | None) -> None:
    retry = retry_after_fault(write, fault(code), fresh)
    assert retry is not None
    assert (retry.write.body if retry.write else None) == body
    assert (caveat is None and retry.caveat is None) or caveat in (retry.caveat or "")


@pytest.mark.parametrize("write", [CUSTOMER_CREATE, INVOICE_CREATE, CUSTOMER_UPDATE])
def test_other_faults_are_reported_not_retried(write: PlannedWrite) -> None:
    assert retry_after_fault(write, fault("6000")) is None
    assert retry_after_fault(PlannedWrite("Customer", "create", {"DisplayName": "X (Coperniq #7)"}, "projects", 7, 7),
                             fault("6240")) is None
