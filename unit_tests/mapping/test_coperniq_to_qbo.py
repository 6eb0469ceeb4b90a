"""qbo:in:1 and qbo:in:2: Coperniq project / contact / invoice -> QuickBooks Customer / Invoice."""

from decimal import Decimal

import pytest

from mapping.coperniq_to_qbo import (
    cents,
    customer_changes,
    customer_fields,
    date_part,
    invoice_changes,
    invoice_fields,
    primary_contact,
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
    "emails": ["not-an-email", " MJ@Watson.Example "],
    "phones": ["5125550123 ext 12", "(512) 555-0142"],
    "projects": [{"id": 42, "title": "Smith Residence"}],
}
ITEM = {"value": "1", "name": "Services"}


def test_customer_fields_full_mapping():
    assert customer_fields(PROJECT, CONTACT) == {
        "DisplayName": "Smith Residence - Solar + Storage",
        "BillAddr": {
            "Line1": "123 Main St",
            "Line2": "Apt 4",
            "City": "Austin",
            "CountrySubDivisionCode": "TX",
            "PostalCode": "78701",
            "Country": "US",
        },
        "ShipAddr": {
            "Line1": "123 Main St",
            "Line2": "Apt 4",
            "City": "Austin",
            "CountrySubDivisionCode": "TX",
            "PostalCode": "78701",
            "Country": "US",
        },
        "Notes": "Coperniq project #42",
        "GivenName": "Mary-Jane",
        "FamilyName": "Watson-Parker Jr.",
        "PrimaryEmailAddr": {"Address": "MJ@watson.example"},
        "PrimaryPhone": {"FreeFormNumber": "(512) 555-0123 x12"},
        "CurrencyRef": {"value": "USD"},
    }


@pytest.mark.parametrize(
    ("project", "contact", "key", "expected"),
    [
        pytest.param(
            PROJECT, CONTACT, "DisplayName", "Smith Residence - Solar + Storage", id="project-title-to-customer-name"
        ),
        pytest.param(
            {**PROJECT, "title": ""}, None, "DisplayName", "Coperniq project #42", id="empty-title-falls-back"
        ),
        pytest.param(
            {**PROJECT, "address": ["PO Box 9, Marfa, TX 79843"]},
            None,
            "BillAddr",
            {
                "Line1": "PO Box 9",
                "City": "Marfa",
                "CountrySubDivisionCode": "TX",
                "PostalCode": "79843",
                "Country": "US",
            },
            id="project-address-to-customer-address",
        ),
        pytest.param(
            {**PROJECT, "address": ["see gate code in notes"]},
            None,
            "BillAddr",
            {"Line1": "see gate code in notes"},
            id="unparseable-address-kept-in-line1",
        ),
        pytest.param(PROJECT, None, "CurrencyRef", {"value": "USD"}, id="currency-defaults-to-usd"),
        pytest.param(PROJECT, CONTACT, "GivenName", "Mary-Jane", id="contact-first-name"),
        pytest.param(PROJECT, CONTACT, "FamilyName", "Watson-Parker Jr.", id="contact-last-name"),
        pytest.param(PROJECT, CONTACT, "PrimaryEmailAddr", {"Address": "MJ@watson.example"}, id="contact-email"),
        pytest.param(
            PROJECT,
            {**CONTACT, "emails": []},
            "PrimaryEmailAddr",
            {"Address": "owner@smith.example"},
            id="contact-email-falls-back-to-project-primary-email",
        ),
        pytest.param(PROJECT, CONTACT, "PrimaryPhone", {"FreeFormNumber": "(512) 555-0123 x12"}, id="contact-phone"),
        pytest.param(
            PROJECT,
            {**CONTACT, "phones": ["", "  "]},
            "PrimaryPhone",
            {"FreeFormNumber": "(512) 555-0199"},
            id="contact-phone-falls-back-to-project-primary-phone",
        ),
        pytest.param(
            PROJECT,
            {**CONTACT, "phones": ["call office after 5pm on weekdays please"]},
            "PrimaryPhone",
            {"FreeFormNumber": "call office after 5pm on weekd"},
            id="phone-text-kept-within-30-chars",
        ),
    ],
)
def test_customer_field_rows(project, contact, key, expected):
    assert customer_fields(project, contact)[key] == expected


def test_customer_fields_omit_what_coperniq_lacks():
    fields = customer_fields(
        {"id": 5, "title": "Lee", "address": [], "primaryEmail": None, "primaryPhone": None},
        {"name": "Sunrise Roofing LLC", "emails": [], "phones": []},
        currency="CAD",
    )
    assert fields == {"DisplayName": "Lee", "Notes": "Coperniq project #5", "CompanyName": "Sunrise Roofing LLC",
                      "CurrencyRef": {"value": "CAD"}}  # a business contact: CompanyName, no person names


def test_customer_fields_contact_only():
    fields = customer_fields(None, {"name": "Cher", "emails": ["cher@example.com"], "phones": []})
    assert fields == {
        "GivenName": "Cher",
        "PrimaryEmailAddr": {"Address": "cher@example.com"},
        "CurrencyRef": {"value": "USD"},
    }


def contact(contact_id, emails=(), phones=(), projects=(42,)):
    return {
        "id": contact_id,
        "name": f"Contact {contact_id}",
        "emails": list(emails),
        "phones": list(phones),
        "projects": [{"id": project_id} for project_id in projects],
    }


PHONE_ONLY = {**PROJECT, "primaryEmail": None}
NO_PRIMARY = {**PROJECT, "primaryEmail": None, "primaryPhone": None}


@pytest.mark.parametrize(
    ("project", "contacts", "expected_id"),
    [
        pytest.param(PROJECT, [contact(3), contact(9, emails=["Owner@Smith.example"])], 9,
                     id="email-matches-primary-email"),
        pytest.param(PHONE_ONLY, [contact(3), contact(9, phones=["(512) 555-0199"])], 9,
                     id="phone-matches-primary-phone-when-no-primary-email"),
        pytest.param(
            PROJECT, [contact(3, phones=["(512) 555-0199"]), contact(9, emails=["owner@smith.example"])], 9,
            id="email-beats-phone",
        ),
        pytest.param(PROJECT, [contact(3, phones=["(512) 555-0199"])], None,
                     id="a-phone-sharer-never-stands-in-for-the-primary-email"),
        pytest.param(PROJECT, [contact(12), contact(3), contact(9)], None, id="primary-not-among-these"),
        pytest.param(NO_PRIMARY, [contact(12), contact(3), contact(9)], 3, id="lowest-id-when-no-primary"),
        pytest.param(
            PROJECT, [contact(1, emails=["owner@smith.example"], projects=(77,)), contact(5)], None,
            id="other-project-ignored"
        ),
        pytest.param(PROJECT, [contact(1, projects=())], None, id="no-linked-contact"),
        pytest.param(PROJECT, [], None, id="no-contacts"),
    ],
)
def test_primary_contact(project, contacts, expected_id):
    found = primary_contact(project, contacts)
    assert (found or {}).get("id") == expected_id


def test_a_contact_of_two_projects_speaks_only_for_the_one_it_is_primary_of_in_any_order():
    shared = contact(5, emails=["pat@home.example"], phones=["(512) 555-0199"], projects=(41, 42))
    own = contact(8, emails=["owner@smith.example"], projects=(42,))
    other = {**PROJECT, "id": 41, "primaryEmail": "pat@home.example"}
    for order in ([shared, own], [own, shared], [shared]):
        assert (primary_contact(PROJECT, order) or {}).get("id") == (8 if own in order else None)
        assert primary_contact(other, order)["id"] == 5


def test_primary_contact_without_project():
    assert primary_contact(None, [contact(1)]) is None


def invoice(amount, line_items=(), **extra):
    return {
        "id": 9001,
        "uid": 1042,
        "description": "Milestone 2: glass on roof",
        "dueDate": "2024-07-15T00:00:00.000Z",
        "amount": amount,
        "calculationMethod": "LINE_ITEMS",
        "lineItems": list(line_items),
        **extra,
    }


def line(quantity, unit_price, description=None, name="Solar panel"):
    return {
        "id": 1,
        "catalogItemId": 5,
        "quantity": quantity,
        "unitCost": 0,
        "unitPrice": unit_price,
        "description": description,
        "catalogItem": {"id": 5, "name": name},
    }


def test_invoice_fields_full_mapping():
    fields = invoice_fields(invoice(12000.0, [line(20, 600.0, "400W panel")]), "58", ITEM, {"Line1": "1 Main St"})
    assert fields == {
        "CustomerRef": {"value": "58"},
        "DocNumber": "1042",
        "DueDate": "2024-07-15",
        "BillAddr": {"Line1": "1 Main St"},
        "CustomerMemo": {"value": "Milestone 2: glass on roof"},
        "PrivateNote": "Coperniq invoice #9001",
        "Line": [
            {
                "DetailType": "SalesItemLineDetail",
                "Amount": 12000.0,
                "Description": "400W panel",
                "SalesItemLineDetail": {"ItemRef": ITEM, "Qty": 20, "UnitPrice": 600.0},
            }
        ],
    }


@pytest.mark.parametrize(
    ("source", "key", "expected"),
    [
        pytest.param(invoice(1), "DocNumber", "1042", id="invoice-title-to-doc-number"),
        pytest.param(
            invoice(1, uid=12345678901234567890123), "DocNumber", "123456789012345678901", id="doc-number-max-21"
        ),
        pytest.param(invoice(1), "DueDate", "2024-07-15", id="invoice-due-date"),
        pytest.param(
            invoice(1, dueDate="2024-07-15T23:30:00-05:00"), "DueDate", "2024-07-15", id="due-date-as-written"
        ),
        pytest.param(
            invoice(1), "CustomerMemo", {"value": "Milestone 2: glass on roof"}, id="invoice-description-to-memo"
        ),
        pytest.param(
            invoice(1, description="Thanks\nQuickBooks invoice #130"),
            "CustomerMemo",
            {"value": "Thanks"},
            id="description-marker-never-leaks",
        ),
        pytest.param(invoice(1, description="d" * 1500), "CustomerMemo", {"value": "d" * 1000}, id="memo-max-1000"),
        pytest.param(invoice(1), "PrivateNote", "Coperniq invoice #9001", id="link-in-private-note"),
    ],
)
def test_invoice_field_rows(source, key, expected):
    assert invoice_fields(source, "58", ITEM, None)[key] == expected


def test_invoice_bill_addr_without_customer_address_metadata():
    customer_addr = {"Id": "91", "Line1": "1 Main St", "City": "Austin", "Lat": "30.2", "Long": "-97.7", "Line2": ""}
    fields = invoice_fields(invoice(1), "58", ITEM, customer_addr)
    assert fields["BillAddr"] == {"Line1": "1 Main St", "City": "Austin"}
    assert "BillAddr" not in invoice_fields(invoice(1), "58", ITEM, {"Id": "91"})


def test_invoice_fields_omit_missing():
    fields = invoice_fields(invoice(10, description=None, dueDate=None), "58", ITEM, None)
    assert "CustomerMemo" not in fields and "DueDate" not in fields and "BillAddr" not in fields


def test_invoice_description_to_private_note_when_configured():
    fields = invoice_fields(invoice(1), "58", ITEM, None, description_target="PrivateNote")
    assert "CustomerMemo" not in fields
    assert fields["PrivateNote"] == "Milestone 2: glass on roof\nCoperniq invoice #9001"


def test_invoice_description_target_validated():
    with pytest.raises(ValueError, match="description_target"):
        invoice_fields(invoice(1), "58", ITEM, None, description_target="SalesTermRef")


def amounts(fields):
    return [Decimal(str(item["Amount"])) for item in fields["Line"]]


@pytest.mark.parametrize(
    ("source", "expected_lines"),
    [
        pytest.param(
            invoice(0.30000000000000004, [line(1, 0.1), line(1, 0.2)]),
            [(0.1, 1, 0.1), (0.2, 1, 0.2)],
            id="float-0.1-plus-0.2",
        ),
        pytest.param(invoice(100.0, [line(3, 33.333333)]), [(100.0, None, None)], id="thirds-qty-price-omitted"),
        pytest.param(
            invoice(100.0, [line(3, 33.33)]), [(99.99, 3, 33.33), (0.01, None, None)], id="thirds-balanced-to-total"
        ),
        pytest.param(
            invoice(9500.0, [line(1, 10000.0), line(1, -500.0, "Discount")]),
            [(10000.0, 1, 10000.0), (-500.0, 1, -500.0)],
            id="negative-discount-line",
        ),
        pytest.param(
            invoice(0, [line(1, 250.0), line(1, -250.0)]), [(250.0, 1, 250.0), (-250.0, 1, -250.0)], id="zero-total"
        ),
        pytest.param(invoice(20.01, [line(2, 10.005)]), [(20.01, 2, 10.005)], id="sub-cent-price-exact-product"),
        pytest.param(invoice(10.01, [line(1, 10.005)]), [(10.01, None, None)], id="half-cent-rounds-up"),
        pytest.param(
            invoice(3000.0, percentage=25, baseAmount=12000.0, calculationMethod="PERCENTAGE"),
            [(3000.0, None, None)],
            id="percentage-invoice-without-lines",
        ),
        pytest.param(
            invoice(3000.0, [line(1, 12000.0)], percentage=25),
            [(12000.0, 1, 12000.0), (-9000.0, None, None)],
            id="lines-do-not-sum-to-amount",
        ),
        pytest.param(invoice(0), [(0.0, None, None)], id="no-lines-zero"),
    ],
)
def test_invoice_total_lines_sum_to_the_cent(source, expected_lines):
    fields = invoice_fields(source, "58", ITEM, None)
    assert sum(amounts(fields)) == cents(source["amount"])
    got = [
        (item["Amount"], item["SalesItemLineDetail"].get("Qty"), item["SalesItemLineDetail"].get("UnitPrice"))
        for item in fields["Line"]
    ]
    assert got == expected_lines
    for item in fields["Line"]:
        assert item["DetailType"] == "SalesItemLineDetail"
        assert item["SalesItemLineDetail"]["ItemRef"] == ITEM
        detail = item["SalesItemLineDetail"]
        if "Qty" in detail:  # fault 6070 never happens
            assert Decimal(str(detail["Qty"])) * Decimal(str(detail["UnitPrice"])) == Decimal(str(item["Amount"]))
        assert round(item["Amount"], 2) == item["Amount"]


def test_invoice_line_descriptions():
    fields = invoice_fields(
        invoice(2.0, [line(1, 1.0, "Custom"), line(1, 1.0, None, name="Inverter")]), "58", ITEM, None
    )
    assert [item["Description"] for item in fields["Line"]] == ["Custom", "Inverter"]
    single = invoice_fields(invoice(5.0, description=None), "58", ITEM, None)
    assert single["Line"][0]["Description"] == "Coperniq invoice 1042"
    adjusted = invoice_fields(invoice(5.0, [line(1, 4.0)]), "58", ITEM, None)
    assert adjusted["Line"][-1]["Description"] == "Adjustment to Coperniq total"


def test_money_helpers():
    assert cents(0.1 + 0.2) == Decimal("0.30")
    assert cents("2.675") == Decimal("2.68")
    assert cents(None) == Decimal("0.00")
    assert date_part("2024-07-15T00:00:00.000Z").isoformat() == "2024-07-15"
    assert date_part("not a date") is None
    with pytest.raises(ValueError):
        cents("abc")


QBO_CUSTOMER = {
    "Id": "58",
    "SyncToken": "3",
    "DisplayName": "Smith Residence - Solar + Storage",
    "GivenName": "Mary-Jane",
    "FamilyName": "Watson-Parker Jr.",
    "PrimaryEmailAddr": {"Address": "mj@watson.example"},
    "PrimaryPhone": {"FreeFormNumber": "512-555-0123 x12"},
    "BillAddr": {
        "Id": "91",
        "Line1": "123 Main St",
        "Line2": "Apt 4",
        "City": "Austin",
        "CountrySubDivisionCode": "TX",
        "PostalCode": "78701",
        "Lat": "30.26",
        "Long": "-97.74",
    },
    # The job site (mapping/job_site.py): written with BillAddr since the job-site rule.
    "ShipAddr": {"Id": "92", "Line1": "123 Main St", "Line2": "Apt 4", "City": "Austin",
                 "CountrySubDivisionCode": "TX", "PostalCode": "78701"},
    "Notes": "Prefers email\nCoperniq project #42",
    "CurrencyRef": {"value": "USD", "name": "United States Dollar"},
}


def test_customer_changes_none_when_qbo_already_matches():
    assert customer_changes(QBO_CUSTOMER, customer_fields(PROJECT, CONTACT)) == {}


@pytest.mark.parametrize(
    ("edit", "expected"),
    [
        pytest.param({"title": "Smith Residence"}, {"DisplayName": "Smith Residence"}, id="project-title-changed"),
        pytest.param(
            {"address": ["500 Congress Ave, Austin, TX 78701"]},
            {
                key: {
                    "Line1": "500 Congress Ave",
                    "City": "Austin",
                    "CountrySubDivisionCode": "TX",
                    "PostalCode": "78701",
                    "Country": "US",
                }
                for key in ("BillAddr", "ShipAddr")
            },
            id="project-address-changed",
        ),
        pytest.param({"address": ["123 MAIN ST, APT 4, AUSTIN, TX 78701"]}, {}, id="address-case-only-no-write"),
        pytest.param({"name": "Mary Watson"}, {"GivenName": "Mary", "FamilyName": "Watson"}, id="contact-name-changed"),
        pytest.param({"emails": ["MJ@WATSON.EXAMPLE"]}, {}, id="email-case-only-no-write"),
        pytest.param(
            {"emails": ["new@watson.example"]},
            {"PrimaryEmailAddr": {"Address": "new@watson.example"}},
            id="contact-email-changed",
        ),
        pytest.param({"phones": ["+1 (512) 555-0123 ext. 12"]}, {}, id="phone-format-only-no-write"),
        pytest.param(
            {"phones": ["512 555 0000"]},
            {"PrimaryPhone": {"FreeFormNumber": "(512) 555-0000"}},
            id="contact-phone-changed",
        ),
    ],
)
def test_customer_changes(edit, expected):
    project = {**PROJECT, **{key: value for key, value in edit.items() if key in ("title", "address")}}
    person = {**CONTACT, **{key: value for key, value in edit.items() if key in ("name", "emails", "phones")}}
    assert customer_changes(QBO_CUSTOMER, customer_fields(project, person)) == expected


def test_customer_changes_never_currency_and_keeps_bookkeeper_notes():
    current = {**QBO_CUSTOMER, "CurrencyRef": {"value": "EUR"}, "Notes": "On hold: unpaid invoice 1001"}
    changes = customer_changes(current, customer_fields(PROJECT, CONTACT))
    assert changes == {"Notes": "On hold: unpaid invoice 1001\nCoperniq project #42"}


def test_customer_changes_accept_suffixed_display_name():
    current = {**QBO_CUSTOMER, "DisplayName": "Smith Residence - Solar + Storage (Coperniq #42)"}
    assert customer_changes(current, customer_fields(PROJECT, CONTACT)) == {}
    other = {**QBO_CUSTOMER, "DisplayName": "Smith Residence - Solar + Storage (Coperniq #7)"}
    assert customer_changes(other, customer_fields(PROJECT, CONTACT)) == {
        "DisplayName": "Smith Residence - Solar + Storage"
    }


def test_customer_changes_fill_blank_qbo_fields():
    current = {"Id": "58", "DisplayName": "Smith Residence - Solar + Storage", "Notes": "Coperniq project #42"}
    changes = customer_changes(current, customer_fields(PROJECT, CONTACT))
    assert set(changes) == {"BillAddr", "ShipAddr", "GivenName", "FamilyName", "PrimaryEmailAddr", "PrimaryPhone"}


def qbo_invoice_from(fields, **extra):
    """What QuickBooks answers after creating ``fields``: Ids, names, a subtotal line, floats."""
    lines = [
        {
            **item,
            "Id": str(number),
            "LineNum": number,
            "SalesItemLineDetail": {
                **item["SalesItemLineDetail"],
                "ItemRef": {"value": item["SalesItemLineDetail"]["ItemRef"]["value"], "name": "Services"},
                "TaxCodeRef": {"value": "NON"},
            },
        }
        for number, item in enumerate(fields["Line"], start=1)
    ]
    total = sum(Decimal(str(item["Amount"])) for item in fields["Line"])
    lines.append({"Amount": float(total), "DetailType": "SubTotalLineDetail", "SubTotalLineDetail": {}})
    return {
        **fields,
        "Id": "130",
        "SyncToken": "0",
        "Line": lines,
        "TotalAmt": float(total),
        "CustomerRef": {"value": "58", "name": "Smith Residence"},
        "DueDate": fields.get("DueDate"),
        **extra,
    }


def test_invoice_changes_none_after_qbo_echo():
    desired = invoice_fields(invoice(100.0, [line(3, 33.33)]), "58", ITEM, {"Line1": "1 Main St"})
    assert invoice_changes(qbo_invoice_from(desired), desired) == {}


@pytest.mark.parametrize(
    ("current_extra", "source", "expected_keys"),
    [
        pytest.param({}, invoice(200.0, [line(2, 100.0)]), {"Line"}, id="invoice-total-changed"),
        pytest.param(
            {},
            invoice(100.0, [line(3, 33.33)], dueDate="2024-08-01T00:00:00Z"),
            {"DueDate"},
            id="invoice-due-date-changed",
        ),
        pytest.param(
            {"DueDate": "2024-07-15"},
            invoice(100.0, [line(3, 33.33)], dueDate="2024-07-15T00:00:00Z"),
            set(),
            id="due-date-same-day",
        ),
        pytest.param(
            {},
            invoice(100.0, [line(3, 33.33)], description="New memo"),
            {"CustomerMemo"},
            id="invoice-description-changed",
        ),
        pytest.param(
            {"CustomerMemo": {"value": "Milestone 2:  glass on roof "}},
            invoice(100.0, [line(3, 33.33)]),
            set(),
            id="memo-whitespace-only",
        ),
        pytest.param({}, invoice(100.0, [line(3, 33.33)], uid=1043), {"DocNumber"}, id="invoice-title-changed"),
        pytest.param(
            {"PrivateNote": "Paid by check 5521\nCoperniq invoice #9001"},
            invoice(100.0, [line(3, 33.33)]),
            set(),
            id="bookkeeper-private-note-kept",
        ),
        pytest.param(
            {"BillAddr": {"Line1": "1 MAIN ST"}},
            invoice(100.0, [line(3, 33.33)]),
            set(),
            id="invoice-billing-address-case-only",
        ),
    ],
)
def test_invoice_changes(current_extra, source, expected_keys):
    base = invoice_fields(invoice(100.0, [line(3, 33.33)]), "58", ITEM, {"Line1": "1 Main St"})
    current = qbo_invoice_from(base, **current_extra)
    desired = invoice_fields(source, "58", ITEM, {"Line1": "1 Main St"})
    assert set(invoice_changes(current, desired)) == expected_keys


def test_invoice_changes_restore_lost_marker_keeping_memo():
    desired = invoice_fields(invoice(5.0), "58", ITEM, None)
    current = qbo_invoice_from(desired, PrivateNote="Paid by check 5521")
    assert invoice_changes(current, desired) == {"PrivateNote": "Paid by check 5521\nCoperniq invoice #9001"}


def test_invoice_changes_private_note_target_compares_text():
    desired = invoice_fields(invoice(5.0), "58", ITEM, None, description_target="PrivateNote")
    same = qbo_invoice_from(desired)
    assert invoice_changes(same, desired) == {}
    edited = invoice_fields(invoice(5.0, description="Final"), "58", ITEM, None, description_target="PrivateNote")
    assert invoice_changes(same, edited) == {"PrivateNote": "Final\nCoperniq invoice #9001", "Line": edited["Line"]}


def test_invoice_changes_ignore_qty_qbo_adds_when_we_sent_none():
    desired = invoice_fields(invoice(100.0, [line(3, 33.333333)]), "58", ITEM, None)
    current = qbo_invoice_from(desired)
    current["Line"][0]["SalesItemLineDetail"].update({"Qty": 1, "UnitPrice": 100})
    assert invoice_changes(current, desired) == {}
