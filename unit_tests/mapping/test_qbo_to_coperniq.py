"""qbo:out:1 and qbo:out:2: QuickBooks Customer / Invoice -> Coperniq project / contact / invoice."""

import pytest

from mapping.coperniq_to_qbo import customer_fields
from mapping.qbo_to_coperniq import (
    contact_changes,
    coperniq_invoice_changes,
    coperniq_invoice_fields,
    invoice_status,
    names_nobody,
    project_changes,
)

PROJECT = {
    "id": 42,
    "title": "Smith Residence: Solar + Storage",
    "address": ["123 main st apt 4 austin texas 78701"],
    "primaryEmail": "owner@smith.example",
    "primaryPhone": "512.555.0199",
}
CONTACT = {
    "id": 7,
    "name": "Dr. Mary-Jane Watson-Parker Jr.",
    "emails": ["mj@watson.example", "mary@home.example"],
    "phones": ["5125550123 ext 12", "(512) 555-0142"],
    "projects": [{"id": 42}],
}


def echo(project=PROJECT, contact=CONTACT):
    """The customer QuickBooks holds after the connector wrote this project and contact."""
    fields = customer_fields(project, contact)
    fields.pop("CurrencyRef")
    return {"Id": "58", "SyncToken": "2", **fields, "CurrencyRef": {"value": "USD", "name": "United States Dollar"}}


def test_no_project_change_when_customer_is_our_own_echo():
    assert project_changes(echo(), PROJECT, 42) == {}


@pytest.mark.parametrize(
    ("customer_edit", "expected"),
    [
        pytest.param(
            {"DisplayName": "Smith Residence"}, {"title": "Smith Residence"}, id="customer-name-to-project-title"
        ),
        pytest.param(
            {"DisplayName": "Smith Residence - Solar + Storage (Coperniq #42)"}, {}, id="collision-suffix-is-no-change"
        ),
        pytest.param(
            {"DisplayName": "Jones Residence (Coperniq #42)"},
            {"title": "Jones Residence"},
            id="suffix-stripped-from-new-title",
        ),
        pytest.param({"DisplayName": ""}, {}, id="empty-display-name-never-blanks"),
        pytest.param(
            {
                "ShipAddr": {
                    "Line1": "500 Congress Ave",
                    "Line2": "Ste 100",
                    "City": "Austin",
                    "CountrySubDivisionCode": "TX",
                    "PostalCode": "78701",
                }
            },
            {"address": ["500 Congress Ave, Ste 100, Austin, TX 78701"]},
            id="customer-address-to-project-address",
        ),
        pytest.param(
            {
                "BillAddr": {
                    "Line1": "123 MAIN ST",
                    "Line2": "APT 4",
                    "City": "AUSTIN",
                    "CountrySubDivisionCode": "TX",
                    "PostalCode": "78701",
                }
            },
            {},
            id="address-equal-in-qbo-space-no-echo",
        ),
        pytest.param(
            {
                "BillAddr": {
                    "Line1": "123 Main St",
                    "Line2": "Apt 4",
                    "City": "Austin",
                    "CountrySubDivisionCode": "TX",
                    "PostalCode": "78701",
                    "Country": "USA",
                    "Id": "9",
                    "Lat": "30.2",
                    "Long": "-97.7",
                }
            },
            {},
            id="country-and-geocode-ignored",
        ),
        pytest.param(
            {
                "ShipAddr": {
                    "Line1": "123 Main St",
                    "Line2": "Apt 4",
                    "City": "Austin",
                    "CountrySubDivisionCode": "TX",
                    "PostalCode": "78701-2345",
                }
            },
            {"address": ["123 Main St, Apt 4, Austin, TX 78701-2345"]},
            id="zip-plus-4-added",
        ),
        pytest.param(
            {"BillAddr": {"Line1": "PO Box 77", "City": "Austin", "CountrySubDivisionCode": "TX",
                          "PostalCode": "78767"}},
            {},
            id="billing-address-alone-is-not-the-job-site",
        ),
        pytest.param(
            {"ShipAddr": None, "BillAddr": {"Line1": "500 Congress Ave", "City": "Austin",
                                            "CountrySubDivisionCode": "TX", "PostalCode": "78701"}},
            {"address": ["500 Congress Ave, Austin, TX 78701"]},
            id="no-ship-addr-bill-addr-is-the-job-site",
        ),
        pytest.param({"BillAddr": {}}, {}, id="empty-bill-addr-never-blanks"),
        pytest.param({"BillAddr": None}, {}, id="no-bill-addr"),
    ],
)
def test_project_changes(customer_edit, expected):
    assert project_changes({**echo(), **customer_edit}, PROJECT, 42) == expected


def test_project_changes_unparseable_address_round_trip():
    project = {**PROJECT, "address": ["Lot 14 Sunset Ridge Subdivision, Buda, TX"]}
    assert project_changes(echo(project), project, 42) == {}


def test_project_changes_bookkeeper_name_lines():
    # QuickBooks' own habit: the customer name in Line1, the street below it.
    customer = {
        **echo(),
        "ShipAddr": {
            "Line1": "Mary Watson",
            "Line2": "123 Main St",
            "City": "Austin",
            "CountrySubDivisionCode": "TX",
            "PostalCode": "78701",
        },
    }
    changes = project_changes(customer, PROJECT, 42)
    assert changes == {"address": ["Mary Watson, 123 Main St, Austin, TX 78701"]}
    project = {**PROJECT, **changes}
    assert project_changes(customer, project, 42) == {}  # and it stays put on the next sync


def test_project_changes_empty_project_fields():
    customer = {"DisplayName": "Coperniq project #42", "BillAddr": {"Line1": "1 Main St"}}
    assert project_changes(customer, {"id": 42, "title": "", "address": []}, 42) == {"address": ["1 Main St"]}


def test_no_contact_change_when_customer_is_our_own_echo():
    assert contact_changes(echo(), CONTACT) == {}


@pytest.mark.parametrize(
    ("customer_edit", "expected"),
    [
        pytest.param(
            {"GivenName": "Mary", "FamilyName": "Watson"}, {"name": "Mary Watson"}, id="first-last-name-to-contact-name"
        ),
        pytest.param({"GivenName": None, "FamilyName": None}, {}, id="names-removed-never-blank-the-contact"),
        pytest.param({"PrimaryEmailAddr": {"Address": "MARY@home.example"}}, {}, id="email-already-listed-any-case"),
        pytest.param(
            {"PrimaryEmailAddr": {"Address": "billing@watson.example"}},
            {"emails": ["billing@watson.example", "mj@watson.example", "mary@home.example"]},
            id="customer-email-to-contact-email-first",
        ),
        pytest.param({"PrimaryPhone": {"FreeFormNumber": "512-555-0142"}}, {}, id="phone-already-listed-other-format"),
        pytest.param(
            {"PrimaryPhone": {"FreeFormNumber": "(737) 555-0100"}},
            {"phones": ["(737) 555-0100", "5125550123 ext 12", "(512) 555-0142"]},
            id="customer-phone-to-contact-phone-first",
        ),
        pytest.param({"PrimaryEmailAddr": None, "PrimaryPhone": None}, {}, id="removed-in-qbo-never-deleted"),
    ],
)
def test_contact_changes(customer_edit, expected):
    assert contact_changes({**echo(), **customer_edit}, CONTACT) == expected


@pytest.mark.parametrize(
    "name",
    ["SMITH, JOHN", "Núñez, José", "Nguyễn Văn An", "Robert (Bob) Smith", "Cher", "Sunrise Roofing LLC"],
)
def test_contact_name_echo_suppressed(name):
    contact = {**CONTACT, "name": name}
    assert contact_changes(echo(contact=contact), contact) == {}


def test_contact_long_phone_text_echo_suppressed():
    contact = {**CONTACT, "phones": ["call office after 5pm on weekdays please"]}
    assert contact_changes(echo(contact=contact), contact) == {}


@pytest.mark.parametrize(
    ("customer", "expected"),
    [
        pytest.param(
            {
                "Id": "58",
                "DisplayName": "Lee Residence",
                "GivenName": "Ann",
                "FamilyName": "Lee",
                "PrimaryEmailAddr": {"Address": "ann@lee.example"},
                "PrimaryPhone": {"FreeFormNumber": "(512) 555-0142"},
            },
            {"name": "Ann Lee", "emails": ["ann@lee.example"], "phones": ["(512) 555-0142"]},
            id="new-contact-full-body",
        ),
        pytest.param(
            {"Id": "58", "DisplayName": "Acme Solar Inc."},
            {"name": "Acme Solar Inc."},
            id="new-contact-name-falls-back-to-display-name",
        ),
        pytest.param({"Id": "58"}, {"name": "QuickBooks customer 58"}, id="new-contact-last-resort-name"),
    ],
)
def test_new_contact(customer, expected):
    assert contact_changes(customer, None) == expected


@pytest.mark.parametrize(
    ("total", "balance", "current", "expected"),
    [
        pytest.param(1000.0, 0.0, "SENT", "PAID", id="paid"),
        pytest.param(1000.0, 0.001, "SENT", "PAID", id="paid-below-a-cent"),
        pytest.param(1000.0, 400.0, "SENT", "PARTIALLY_PAID", id="partially-paid"),
        pytest.param(1000.0, 1000.0, "OVERDUE", "OVERDUE", id="unpaid-keeps-current"),
        pytest.param(1000.0, 1000.0, None, "SENT", id="unpaid-default-sent"),
        pytest.param(1000.0, 1000.0, "PAID", "SENT", id="payment-removed-back-to-sent"),
        pytest.param(0.0, 0.0, "DRAFT", "DRAFT", id="zero-total-keeps-current"),
        pytest.param(1000.0, 1000.0, "BOGUS", "SENT", id="unknown-status-becomes-sent"),
    ],
)
def test_invoice_status(total, balance, current, expected):
    assert invoice_status(total, balance, current) == expected


QBO_INVOICE = {
    "Id": "130",
    "SyncToken": "0",
    "DocNumber": "1037",
    "TxnDate": "2024-06-20",
    "DueDate": "2024-07-20",
    "CustomerRef": {"value": "58", "name": "Smith Residence"},
    "CustomerMemo": {"value": "Thank you for your business!"},
    "Line": [
        {
            "Id": "1",
            "Amount": 99.99,
            "DetailType": "SalesItemLineDetail",
            "SalesItemLineDetail": {"ItemRef": {"value": "1"}, "Qty": 3, "UnitPrice": 33.33},
        },
        {"Amount": 99.99, "DetailType": "SubTotalLineDetail", "SubTotalLineDetail": {}},
    ],
    "TotalAmt": 107.49,
    "Balance": 107.49,
}


def test_coperniq_invoice_fields_full_mapping():
    assert coperniq_invoice_fields(QBO_INVOICE, 5) == {
        "calculationMethod": "LINE_ITEMS",
        "lineItems": [
            {
                "catalogItemId": 5,
                "quantity": 1,
                "unitCost": 0.0,
                "unitPrice": 107.49,
                "description": "QuickBooks invoice 1037",
            }
        ],
        "description": "Thank you for your business!\nQuickBooks invoice #130",
        "status": "SENT",
        "dueDate": "2024-07-20T00:00:00.000Z",
        "issueDate": "2024-06-20T00:00:00.000Z",
    }


@pytest.mark.parametrize(
    ("edit", "key", "expected"),
    [
        pytest.param(
            {},
            "lineItems",
            [
                {
                    "catalogItemId": 5,
                    "quantity": 1,
                    "unitCost": 0.0,
                    "unitPrice": 107.49,
                    "description": "QuickBooks invoice 1037",
                }
            ],
            id="invoice-total-taxes-included",
        ),
        pytest.param(
            {"DocNumber": None},
            "lineItems",
            [
                {
                    "catalogItemId": 5,
                    "quantity": 1,
                    "unitCost": 0.0,
                    "unitPrice": 107.49,
                    "description": "QuickBooks invoice 130",
                }
            ],
            id="no-doc-number-uses-id",
        ),
        pytest.param(
            {"TotalAmt": 0.30000000000000004},
            "lineItems",
            [
                {
                    "catalogItemId": 5,
                    "quantity": 1,
                    "unitCost": 0.0,
                    "unitPrice": 0.3,
                    "description": "QuickBooks invoice 1037",
                }
            ],
            id="total-to-the-cent",
        ),
        pytest.param({}, "dueDate", "2024-07-20T00:00:00.000Z", id="invoice-due-date"),
        pytest.param(
            {},
            "description",
            "Thank you for your business!\nQuickBooks invoice #130",
            id="invoice-terms-to-description",
        ),
        pytest.param({"CustomerMemo": None}, "description", "QuickBooks invoice #130", id="no-memo-marker-only"),
        pytest.param({"Balance": 0}, "status", "PAID", id="paid-in-qbo"),
        pytest.param({"Balance": 7.49}, "status", "PARTIALLY_PAID", id="partially-paid-in-qbo"),
    ],
)
def test_coperniq_invoice_field_rows(edit, key, expected):
    assert coperniq_invoice_fields({**QBO_INVOICE, **edit}, 5)[key] == expected


def test_coperniq_invoice_fields_without_dates():
    fields = coperniq_invoice_fields({**QBO_INVOICE, "DueDate": None, "TxnDate": None}, 5)
    assert "dueDate" not in fields and "issueDate" not in fields


def coperniq_echo(desired, **extra):
    """What Coperniq answers after creating ``desired``: computed amount, ids, its own spacing."""
    return {
        "id": 9001,
        "uid": 17,
        "status": desired["status"],
        "amount": desired["lineItems"][0]["unitPrice"],
        "amountPaid": 0,
        "calculationMethod": "LINE_ITEMS",
        "description": desired["description"].replace("\n", "\n\n") + "  ",
        "dueDate": desired["dueDate"].replace(".000Z", "Z"),
        "lineItems": [{**desired["lineItems"][0], "id": 555}],
        **extra,
    }


def test_coperniq_invoice_changes_none_after_echo():
    desired = coperniq_invoice_fields(QBO_INVOICE, 5)
    assert coperniq_invoice_changes(coperniq_echo(desired), desired) == {}


@pytest.mark.parametrize(
    ("qbo_edit", "current_extra", "expected_keys"),
    [
        pytest.param({"TotalAmt": 120.0, "Balance": 120.0}, {}, {"lineItems"}, id="invoice-total-changed"),
        pytest.param({}, {"amount": 107.490000001}, set(), id="amount-equal-to-the-cent"),
        pytest.param({"DueDate": "2024-08-01"}, {}, {"dueDate"}, id="invoice-due-date-changed"),
        pytest.param({"CustomerMemo": {"value": "Net 30"}}, {}, {"description"}, id="invoice-terms-changed"),
        pytest.param({"Balance": 0}, {}, {"status"}, id="paid-in-qbo"),
        pytest.param({}, {"status": "OVERDUE"}, set(), id="coperniq-overdue-kept"),
        pytest.param({}, {"status": "PAID"}, {"status"}, id="payment-undone-in-qbo"),
    ],
)
def test_coperniq_invoice_changes(qbo_edit, current_extra, expected_keys):
    current = coperniq_echo(coperniq_invoice_fields(QBO_INVOICE, 5), **current_extra)
    desired = coperniq_invoice_fields({**QBO_INVOICE, **qbo_edit}, 5)
    assert set(coperniq_invoice_changes(current, desired)) == expected_keys


def test_coperniq_invoice_changes_reuse_line_id():
    current = coperniq_echo(coperniq_invoice_fields(QBO_INVOICE, 5))
    desired = coperniq_invoice_fields({**QBO_INVOICE, "TotalAmt": 120.0, "Balance": 120.0}, 5)
    changes = coperniq_invoice_changes(current, desired)
    assert changes["lineItems"] == [{**desired["lineItems"][0], "id": 555}]
    assert "id" not in desired["lineItems"][0]  # the desired record is not mutated


@pytest.mark.parametrize(("customer", "expected"), [
    pytest.param({"DisplayName": "11667 Sycamore St Unit 210"}, True, id="display-name-only"),
    pytest.param({"DisplayName": "X", "GivenName": " ", "FamilyName": ""}, True, id="blank-names"),
    pytest.param({"DisplayName": "X", "GivenName": "Ana"}, False, id="given-name"),
    pytest.param({"DisplayName": "X", "FamilyName": "Lindqvist"}, False, id="family-name"),
    pytest.param({"DisplayName": "X", "CompanyName": "Sunrise Roofing LLC"}, False, id="company"),
])
def test_names_nobody(customer: dict, expected: bool) -> None:
    assert names_nobody(customer) is expected
