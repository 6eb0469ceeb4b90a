"""Company names (issue 11 item 5): a business goes to QuickBooks CompanyName, a person to GivenName/FamilyName,
both ways, and a round trip changes nothing on the second round."""

import pytest

from mapping.coperniq_to_qbo import customer_changes, customer_fields
from mapping.people import business_title, contact_name, is_business_name, same_contact_name, split_contact_name
from mapping.qbo_to_coperniq import contact_changes

BUSINESSES = [
    "Sunrise Roofing LLC",
    "ACME Solar Inc.",
    "Smith & Sons Construction",
    "Lakeview HOA",
    "Bright Future Solar, LLC",
    "Smith & Sons Co.",
    "Northwind Trading Company",
    "Maple Leaf Renovations Ltd.",
    "Les Toitures Gagnon Ltée",
    "Blue Sky Roofing",
    "Bob's Plumbing",
    "Green Valley Farms",
    "Johnson Family Trust",
    "City of Austin",
    "First Baptist Church",
    "Oak Ridge Apartments",
    "Riverside Medical Center",
    "Lakeview Homeowners Association",
    "Pacific Energy Partners",
    "Harbor View Condominiums",
    "Austin ISD",
    "Joe's Pizza",
    "Miller Bros",
    "Keller Williams Realty",
]
PEOPLE = [
    "John Smith",
    "Charlotte Church",
    "Samantha Power",
    "Jon Co",
    "Jean-Luc Picard",
    "José García López",
    "Marie-Claire Dubois",
    "Mary-Jane Watson-Parker Jr.",
    "SMITH, JOHN",
    "John & Mary Smith",
    "Mr. and Mrs. John Smith",
    "Nguyễn Văn An",
    "Cher",
    "Jack Mason",
    "Hunter Wells",
    "Anna Baker",
]


@pytest.mark.parametrize("name", BUSINESSES)
def test_business_names(name):
    assert is_business_name(name)
    assert split_contact_name(name) == (name, None, None)


@pytest.mark.parametrize("name", PEOPLE)
def test_person_names(name):
    assert not is_business_name(name)
    company, given, family = split_contact_name(name)
    assert company is None and given is not None


@pytest.mark.parametrize(
    ("title", "company"),
    [
        pytest.param("Lakeview HOA", "Lakeview HOA", id="organisation"),
        pytest.param("Sunrise Roofing LLC", "Sunrise Roofing LLC", id="legal-form"),
        pytest.param("Smith Solar Install", None, id="trade-word-names-the-job"),
        pytest.param("Smith Residence", None, id="residence"),
        pytest.param("Oak & Ember Bakery", "Oak & Ember Bakery", id="place-of-business"),
        pytest.param("Lakeside Community Church", "Lakeside Community Church", id="church-three-words"),
        pytest.param("Johnson Roof Replacement", None, id="job-title"),
        pytest.param("Job: Acme Corp", "Job Acme Corp", id="colon-not-allowed"),
        pytest.param(None, None, id="none"),
    ],
)
def test_business_title(title, company):
    assert business_title(title) == company


@pytest.mark.parametrize(
    ("given", "family", "company", "current", "name"),
    [
        pytest.param(None, None, "Sunrise Roofing LLC", None, "Sunrise Roofing LLC", id="company-only"),
        pytest.param("Jane", "Doe", "Sunrise Roofing LLC", None, "Jane Doe", id="person-first-for-a-new-contact"),
        pytest.param("Jane", "Doe", "Sunrise Roofing LLC", "Sunrise Roofing LLC", "Sunrise Roofing LLC",
                     id="business-contact-keeps-its-company"),
        pytest.param("Jane", "Doe", None, "Sunrise Roofing LLC", "Jane Doe", id="no-company-person"),
        pytest.param(None, None, None, None, None, id="nothing"),
    ],
)  # fmt: skip
def test_contact_name(given, family, company, current, name):
    assert contact_name(given, family, company, current) == name


def test_same_contact_name():
    assert same_contact_name("sunrise roofing llc", None, None, "Sunrise Roofing LLC")
    assert not same_contact_name("Sunrise Roofing LLC", None, None, "Sunrise Roofing Inc")
    assert same_contact_name("SMITH, JOHN", "John", "Smith", None)
    assert not same_contact_name("John Smith", None, None, "Smith Co.")


PROJECT = {"id": 7, "title": "Roof replacement", "address": [], "primaryEmail": None, "primaryPhone": None}


@pytest.mark.parametrize(
    ("project_title", "contact", "expected"),
    [
        pytest.param("Roof replacement", "Sunrise Roofing LLC", {"CompanyName": "Sunrise Roofing LLC"},
                     id="business-contact"),
        pytest.param("Roof replacement", "Mary Jane Smith", {"GivenName": "Mary Jane", "FamilyName": "Smith"},
                     id="person-contact"),
        pytest.param("Lakeview HOA", "Jane Doe", {"CompanyName": "Lakeview HOA", "GivenName": "Jane",
                                                  "FamilyName": "Doe"}, id="business-project-person-contact"),
        pytest.param("Lakeview HOA", "ACME Solar Inc.", {"CompanyName": "ACME Solar Inc."},
                     id="business-contact-wins-over-title"),
    ],
)  # fmt: skip
def test_customer_fields_company_name(project_title, contact, expected):
    fields = customer_fields({**PROJECT, "title": project_title}, {"name": contact})
    assert {key: fields[key] for key in ("CompanyName", "GivenName", "FamilyName") if key in fields} == expected


def test_company_name_change_is_a_change_and_echo_is_not():
    desired = customer_fields(PROJECT, {"name": "Sunrise Roofing LLC"})
    current = {**desired, "Id": "1", "SyncToken": "0"}
    assert customer_changes(current, desired) == {}
    assert customer_changes({**current, "CompanyName": "Sunrise Roofing Inc"}, desired) == {
        "CompanyName": "Sunrise Roofing LLC"
    }


@pytest.mark.parametrize(
    ("customer", "contact", "expected"),
    [
        pytest.param({"Id": "3", "CompanyName": "Sunrise Roofing LLC", "DisplayName": "Job 3"}, None,
                     {"name": "Sunrise Roofing LLC"}, id="new-contact-from-company"),
        pytest.param({"Id": "3", "CompanyName": "Sunrise Roofing LLC"}, {"name": "Sunrise Roofing LLC"}, {},
                     id="business-echo-unchanged"),
        pytest.param({"Id": "3", "CompanyName": "Sunrise Roofing Inc"}, {"name": "Sunrise Roofing LLC"},
                     {"name": "Sunrise Roofing Inc"}, id="company-renamed-in-quickbooks"),
        pytest.param({"Id": "3", "CompanyName": "Sunrise Roofing LLC", "GivenName": "Jane", "FamilyName": "Doe"},
                     {"name": "Sunrise Roofing LLC"}, {}, id="employee-added-business-contact-kept"),
        pytest.param({"Id": "3", "CompanyName": "Lakeview HOA", "GivenName": "Jane", "FamilyName": "Doe"},
                     {"name": "Jane Doe"}, {}, id="person-contact-of-a-business-unchanged"),
    ],
)  # fmt: skip
def test_contact_changes_company_name(customer, contact, expected):
    assert contact_changes(customer, contact) == expected


@pytest.mark.parametrize("contact", BUSINESSES + PEOPLE)
def test_round_trip_changes_nothing_on_the_second_round(contact):
    """Coperniq contact -> QuickBooks customer -> Coperniq contact: no rename; and back again: no customer change."""
    fields = customer_fields({**PROJECT, "title": "Lakeview HOA"}, {"name": contact})
    customer = {**fields, "Id": "9", "SyncToken": "0"}
    assert contact_changes(customer, {"name": contact}) == {}
    assert customer_changes(customer, customer_fields({**PROJECT, "title": "Lakeview HOA"}, {"name": contact})) == {}
