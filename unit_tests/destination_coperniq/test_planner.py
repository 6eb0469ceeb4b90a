"""destination-coperniq's planner as tables: a QuickBooks record + what Coperniq holds -> the writes and findings.

No HTTP: ``Holdings`` is what Coperniq holds, as plain lists; each row states the plan expected.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import pytest

from destination_coperniq.planner import RecordPlan, WriteKind, WriteRules, plan_record
from mapping.coperniq_targets import CustomerFilter, contact_probes, first_matching_contact, projects_titled

Record = Mapping[str, Any]
ADDRESS = {"Line1": "12 Oak St", "City": "Austin", "CountrySubDivisionCode": "TX", "PostalCode": "78701"}
PROJECT = {"id": 7, "title": "Smith Residence", "address": ["12 Oak St, Austin, TX 78701"],
           "primaryEmail": "pat@home.example", "primaryPhone": None, "status": "ACTIVE"}
CONTACT = {"id": 9, "name": "Pat Smith", "emails": ["pat@home.example"], "phones": [], "projects": [{"id": 7}]}
CUSTOMER = {"Id": "3", "DisplayName": "Smith Residence", "Notes": "Coperniq project #7", "GivenName": "Pat",
            "FamilyName": "Smith", "PrimaryEmailAddr": {"Address": "pat@home.example"}, "BillAddr": ADDRESS,
            "Active": True}
COPY = {"id": 50, "description": "QuickBooks invoice #88", "amount": 100.0, "dueDate": "2027-03-01T00:00:00.000Z",
        "status": "SENT", "lineItems": [{"id": 1, "catalogItemId": 4}], "record": {"id": 7}}
INVOICE = {"Id": "88", "CustomerRef": {"value": "3", "name": "Smith Residence"}, "_coperniq_project_id": 7,
           "TotalAmt": 100.0, "Balance": 100.0, "DueDate": "2027-03-01"}
OURS = {"Id": "89", "PrivateNote": "Coperniq invoice #60", "TotalAmt": 100.0, "Balance": 100.0}


@dataclass
class Holdings:
    """What Coperniq holds, as tables: the planner's CoperniqView without HTTP."""

    projects: list[dict[str, Any]] = field(default_factory=lambda: [dict(PROJECT)])
    contacts: list[dict[str, Any]] = field(default_factory=lambda: [dict(CONTACT)])
    invoices: list[dict[str, Any]] = field(default_factory=list)
    links: dict[str, int] = field(default_factory=dict)

    def project(self, project_id: int) -> Record | None:
        return next((p for p in self.projects if p["id"] == project_id), None)

    def project_contact(self, project: Record, customer: Record) -> Record | None:
        linked = [c for c in self.contacts if any(p["id"] == project["id"] for p in c["projects"])]
        return first_matching_contact(linked, contact_probes(project, customer))

    def match_candidates(self, match_by: str, value: str) -> list[Record]:
        return [p for p in self.projects if value.casefold() in str(p.get(match_by) or "").casefold()]

    def title_candidates(self, display_name: str) -> list[Record]:
        return self.projects

    def invoices_of(self, project_id: int) -> list[Record]:
        return [i for i in self.invoices if i["record"]["id"] == project_id]

    def invoice(self, invoice_id: int) -> Record | None:
        return next((i for i in self.invoices if i["id"] == invoice_id), None)

    def catalog_item_id(self) -> int:
        return 4

    def customer_project(self, customer_id: str) -> int | None:
        return self.links.get(customer_id)


def writes(plan: RecordPlan) -> list[tuple[str, int | None, dict[str, Any]]]:
    return [(w.kind.name, w.coperniq_id, w.body) for w in plan.writes]


def findings(plan: RecordPlan) -> list[tuple[str, str]]:
    return [(f.kind, f.text) for f in plan.findings]


CUSTOMER_ROWS = [
    pytest.param(CUSTOMER, Holdings(), WriteRules(), [], [("count", "unchanged")], id="echo-writes-nothing"),
    pytest.param({**CUSTOMER, "DisplayName": "Okafor Residence"}, Holdings(), WriteRules(),
                 [("UPDATE_PROJECT", 7, {"title": "Okafor Residence"})], [], id="rename-updates-the-title"),
    pytest.param({**CUSTOMER, "PrimaryPhone": {"FreeFormNumber": "(512) 555-0142"}}, Holdings(), WriteRules(),
                 [("UPDATE_CONTACT", 9, {"phones": ["(512) 555-0142"]})], [], id="new-phone-goes-first-on-contact"),
    pytest.param(CUSTOMER, Holdings(contacts=[]), WriteRules(),
                 [("CREATE_CONTACT", 7, {"name": "Pat Smith", "emails": ["pat@home.example"], "projectIds": [7]})],
                 [], id="project-without-contact-gets-one"),
    pytest.param({**CUSTOMER, "GivenName": None, "FamilyName": None}, Holdings(contacts=[]), WriteRules(), [],
                 [("caveat", "names no person (no GivenName, FamilyName or CompanyName): its email and phone make "
                   "no Coperniq contact; add a name in QuickBooks or a contact in Coperniq"),
                  ("count", "unchanged")], id="nameless-customer-makes-no-contact"),
    pytest.param(CUSTOMER, Holdings(projects=[]), WriteRules(), [],
                 [("skip", "its linked Coperniq project 7 no longer exists")], id="deleted-project-is-reported"),
    pytest.param(CUSTOMER, Holdings(), WriteRules(customer_filter=CustomerFilter("Notes", "on hold", True)), [],
                 [("count", "filtered")], id="filter-leaves-others-alone"),
    pytest.param({**CUSTOMER, "Notes": "On hold: unpaid 1043\nCoperniq project #7"}, Holdings(),
                 WriteRules(customer_filter=CustomerFilter("Notes", "on hold", True), matched_status="ON_HOLD"),
                 [("UPDATE_PROJECT", 7, {"status": "ON_HOLD"})], [], id="filter-match-sets-the-status"),
    pytest.param({**CUSTOMER, "Active": False, "DisplayName": "Smith Residence (deleted)"}, Holdings(),
                 WriteRules(inactive_status="CANCELLED"), [("UPDATE_PROJECT", 7, {"status": "CANCELLED"})], [],
                 id="inactive-sets-the-status-not-the-suffix"),
    pytest.param({**CUSTOMER, "Active": False}, Holdings(), WriteRules(), [],
                 [("count", "inactive_reported"),
                  ("caveat", "customer 'Smith Residence' is inactive in QuickBooks; its project 7 is left as it is "
                   "(set inactive_customer_project_status to change its status when a customer is made inactive)"),
                  ("count", "unchanged")], id="inactive-without-status-is-reported"),
    pytest.param({**CUSTOMER, "Notes": None}, Holdings(), WriteRules(), [],
                 [("skip", "no linked Coperniq project (its Notes carry no 'Coperniq project #ID' line); set "
                   "unlinked_customers to upsert to match or create one")], id="unlinked-is-reported"),
]


@pytest.mark.parametrize(("customer", "holdings", "rules", "expected_writes", "expected_findings"), CUSTOMER_ROWS)
def test_customer_plans(customer: Record, holdings: Holdings, rules: WriteRules,
                        expected_writes: list[Any], expected_findings: list[Any]) -> None:
    plan = plan_record("customers", customer, holdings, rules)
    assert writes(plan) == expected_writes
    assert findings(plan) == expected_findings
    assert all(w.reason for w in plan.writes), "every write says why"


STRANGER = {"Id": "4", "DisplayName": "Brand New Homeowner", "GivenName": "Ada", "FamilyName": "Obi",
            "BillAddr": {"Line1": "12 Elm St", "City": "Austin", "CountrySubDivisionCode": "TX", "PostalCode": "78702"},
            "PrimaryEmailAddr": {"Address": "ada@obi.example"}}
NEW_PROJECT = {"title": "Brand New Homeowner", "address": ["12 Elm St, Austin, TX 78702"],
               "primaryEmail": "ada@obi.example"}


@pytest.mark.parametrize(("customer", "projects", "match_by", "expected_writes", "skip_starts"), [
    pytest.param(STRANGER, [], "title", [("UPSERT_PROJECT", None, NEW_PROJECT)], None, id="no-match-upserts"),
    pytest.param(STRANGER, [{"id": 3, "title": "Brand New Homeowner"}], "title", [],
                 "linked to no project, and its name matches the title of project(s) 3", id="title-alone-never-merges"),
    pytest.param(STRANGER, [{"id": 3, "primaryEmail": "ada@obi.example"}, {"id": 5, "primaryEmail": "ADA@obi.example"}],
                 "primaryEmail", [], "linked to no project, and its primaryEmail matches 2 projects (3, 5)",
                 id="ambiguous-email-never-merges"),
    pytest.param({**STRANGER, "BillAddr": None}, [], "title", [],
                 "no linked project, and no address to create one", id="no-address-no-project"),
    pytest.param({**STRANGER, "Active": False}, [], "title", [],
                 "inactive in QuickBooks and linked to no Coperniq project", id="inactive-makes-no-project"),
])
def test_unlinked_customer_plans(customer: Record, projects: list[dict[str, Any]], match_by: str,
                                 expected_writes: list[Any], skip_starts: str | None) -> None:
    plan = plan_record("customers", customer, Holdings(projects=projects), WriteRules(upsert_unlinked=True,
                                                                                     match_by=match_by))
    assert writes(plan) == expected_writes
    skips = [text for kind, text in findings(plan) if kind == "skip"]
    assert (skips[0].startswith(skip_starts) if skip_starts else skips == []), skips
    if expected_writes:
        assert plan.writes[0].query == {"match_by": match_by, "match_found_strategy": "enrich"}


OUR_COPY = {"id": 60, "status": "SENT", "record": {"id": 7}}


@pytest.mark.parametrize(("invoice", "holdings", "expected_writes", "expected_findings"), [
    pytest.param({**INVOICE, "Balance": 40.0}, Holdings(invoices=[COPY]),
                 [("UPDATE_INVOICE", 50, {"status": "PARTIALLY_PAID"})], [], id="payment-follows"),
    pytest.param({**INVOICE, "TotalAmt": 120.0, "Balance": 120.0}, Holdings(invoices=[COPY]),
                 [("UPDATE_INVOICE", 50, {"lineItems": [{"catalogItemId": 4, "quantity": 1, "unitCost": 0.0,
                                                         "unitPrice": 120.0, "description": "QuickBooks invoice 88",
                                                         "id": 1}]})], [], id="new-total-resends-the-line"),
    pytest.param({**INVOICE, "Balance": 100.0, "TxnDate": "2027-01-15"}, Holdings(invoices=[COPY]), [],
                 [("count", "unchanged")], id="update-never-sends-issue-date"),
    pytest.param({**OURS, "Balance": 0.0}, Holdings(invoices=[OUR_COPY]),
                 [("UPDATE_INVOICE", 60, {"status": "PAID"})], [], id="paid-in-quickbooks-comes-back"),
    pytest.param({**OURS, "Balance": 40.0}, Holdings(invoices=[{**OUR_COPY, "status": "PAID"}]), [],
                 [("count", "unchanged")], id="never-downgraded"),
    pytest.param(OURS, Holdings(invoices=[]), [], [("count", "unchanged")], id="no-payment-no-read"),
    pytest.param({**OURS, "Balance": 0.0}, Holdings(invoices=[]), [],
                 [("skip", "its Coperniq invoice 60 no longer exists")], id="our-invoice-gone"),
    pytest.param({**INVOICE, "status": "Deleted"}, Holdings(invoices=[COPY]), [],
                 [("skip", "deleted in QuickBooks; its Coperniq copy (if any) is kept")], id="deleted-kept"),
])
def test_invoice_plans(invoice: Record, holdings: Holdings, expected_writes: list[Any],
                       expected_findings: list[Any]) -> None:
    plan = plan_record("invoices", invoice, holdings, WriteRules())
    assert writes(plan) == expected_writes
    assert findings(plan) == expected_findings


def test_a_new_quickbooks_invoice_is_created_once_on_its_customers_project() -> None:
    plan = plan_record("invoices", INVOICE, Holdings(), WriteRules())
    [write] = plan.writes
    assert (write.kind, write.coperniq_id, write.body["recordId"]) == (WriteKind.CREATE_INVOICE, 7, 7)
    assert write.body["description"].endswith("QuickBooks invoice #88") and plan.link == ("3", 7)
    assert write.describe() == ("recordId=7, calculationMethod='LINE_ITEMS', lineItems=[1 line], status='SENT', "
                                "description='QuickBooks invoice #88', dueDate='2027-03-01T00:00:00.000Z'; "
                                "no invoice of project 7 is a copy of QuickBooks invoice 88"), "the dry run's line"
    again = plan_record("invoices", INVOICE, Holdings(invoices=[{**COPY, "amount": 100.0}]), WriteRules())
    assert again.writes == []


@pytest.mark.parametrize(("invoice", "holdings", "project_id", "skip_has"), [
    pytest.param({**INVOICE, "_coperniq_project_id": None}, Holdings(links={"3": 7}), 7, None,
                 id="customer-of-this-run"),
    pytest.param({**INVOICE, "_coperniq_project_id": None,
                  "CustomerRef": {"value": "5", "name": "Smith Residence (Coperniq #7)"}}, Holdings(), 7, None,
                 id="display-name-suffix"),
    pytest.param({k: v for k, v in INVOICE.items() if k != "_coperniq_project_id"}, Holdings(), 7, None,
                 id="older-source-one-title"),
    pytest.param({k: v for k, v in INVOICE.items() if k != "_coperniq_project_id"},
                 Holdings(projects=[PROJECT, {**PROJECT, "id": 8}]), None, "projects 7, 8 share its title",
                 id="shared-title-picks-none"),
    pytest.param({**INVOICE, "_coperniq_project_id": None}, Holdings(), None,
                 "is linked to no Coperniq project: add the line 'Coperniq project #<project id>'",
                 id="null-link-never-by-title"),
])
def test_which_project_an_invoice_lands_on(invoice: Record, holdings: Holdings, project_id: int | None,
                                           skip_has: str | None) -> None:
    plan = plan_record("invoices", invoice, holdings, WriteRules())
    assert [w.coperniq_id for w in plan.writes] == ([project_id] if project_id else [])
    skips = [text for kind, text in findings(plan) if kind == "skip"]
    assert (skip_has in skips[0]) if skip_has else skips == []


def test_title_candidates_match_only_the_title_a_display_name_stands_for() -> None:
    assert projects_titled("Smith Residence", [PROJECT, {"id": 8, "title": "Smith Residence 2"}]) == [7]
