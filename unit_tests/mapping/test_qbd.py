"""Online fields <-> Desktop (qbXML) elements: lengths, shapes, and diffs in Desktop's space."""

from __future__ import annotations

import pytest

from mapping.coperniq_to_qbo import customer_fields, invoice_fields
from mapping.qbd import (
    customer_element_changes,
    customer_elements,
    desired_for,
    desktop_name,
    invoice_element_changes,
    invoice_elements,
    online_customer,
    online_invoice,
    online_record,
    suffixed_desktop_name,
)


@pytest.mark.parametrize(("title", "project_id", "name"), [
    ("Smith Residence", 7, "Smith Residence"),
    ("Smith: Phase 2", 7, "Smith - Phase 2"),
    ("A very long project title that goes on and on beyond", 7, "A very long project title that goes on an"),
    ("", 7, "Coperniq project #7"),
])
def test_desktop_names_are_at_most_41_characters(title: str, project_id: int, name: str) -> None:
    assert desktop_name(title, project_id) == name and len(name) <= 41


def test_the_suffixed_name_shortens_the_title_never_the_suffix() -> None:
    name = suffixed_desktop_name("A very long project title that goes on and on", 123456)
    assert name.endswith(" (Coperniq #123456)") and len(name) <= 41


PROJECT = {"id": 42, "title": "Okafor Residence", "address": ["1234 Barton Springs Rd Unit 5, Austin, TX 78704"]}
CONTACT = {"id": 9, "name": "Adaeze Okafor", "emails": ["Adaeze@Example.com"], "phones": ["512-555-0142"]}


def test_customer_elements_from_the_online_mapping() -> None:
    elements = customer_elements(customer_fields(PROJECT, CONTACT))
    assert elements == {
        "Name": "Okafor Residence", "FirstName": "Adaeze", "LastName": "Okafor",
        "BillAddress": {"Addr1": "1234 Barton Springs Rd", "Addr2": "Unit 5", "City": "Austin", "State": "TX",
                        "PostalCode": "78704", "Country": "US"},
        "Phone": "(512) 555-0142", "Email": "Adaeze@example.com", "Notes": "Coperniq project #42"}


@pytest.mark.parametrize(("key", "value", "element", "expected"), [
    ("GivenName", "Maximiliano Alessandro Federico", "FirstName", "Maximiliano Alessandro Fe"),
    ("BillAddr", {"Line1": "x" * 60, "City": "y" * 40}, "BillAddress", {"Addr1": "x" * 41, "City": "y" * 31}),
    ("PrimaryPhone", {"FreeFormNumber": "(512) 555-0142 x123456"}, "Phone", "(512) 555-0142 x12345"),
])
def test_values_are_cut_to_desktop_lengths(key: str, value: object, element: str, expected: object) -> None:
    assert customer_elements({key: value})[element] == expected


def test_a_customer_read_back_is_unchanged_even_when_values_were_cut() -> None:
    desired = customer_fields({**PROJECT, "address": ["1234 Extraordinarily Long Boulevard Name Parkway, Austin, "
                                                      "TX 78704"]}, CONTACT)
    desired.pop("CurrencyRef")
    stored = {"ListID": "8-1", "EditSequence": "1", **customer_elements(desired)}
    assert customer_element_changes(stored, desired, 42) == {}


def test_customer_changes_keep_the_bookkeepers_notes_and_accept_the_suffixed_name() -> None:
    desired = customer_fields(PROJECT, CONTACT)
    stored = {**customer_elements(desired), "Name": suffixed_desktop_name("Okafor Residence", 42),
              "Notes": "Gate code 4411\nCoperniq project #42", "Phone": "512.555.0142"}
    assert customer_element_changes(stored, desired, 42) == {}
    moved = {**stored, "BillAddress": {"Addr1": "9 Elm St", "City": "Austin", "State": "TX"}}
    assert set(customer_element_changes(moved, desired, 42)) == {"BillAddress"}
    unlinked = {**stored, "Notes": "Gate code 4411"}
    assert customer_element_changes(unlinked, desired, 42) == {"Notes": "Gate code 4411\nCoperniq project #42"}


INVOICE = {"id": 501, "uid": 123456789012, "amount": 1500.0, "dueDate": "2026-07-15T23:30:00-05:00",
           "description": "Panels and racking",
           "lineItems": [{"quantity": 2, "unitPrice": 750, "description": "Panel"}]}
ITEM = {"value": "Services", "name": "Services"}


def test_invoice_elements_memo_refnumber_lines_by_item_fullname() -> None:
    desired = invoice_fields(INVOICE, "8-1", ITEM, {"Line1": "1 Main St", "City": "Austin"}, "PrivateNote")
    elements = invoice_elements(desired)
    assert elements["CustomerRef"] == {"ListID": "8-1"}
    assert elements["RefNumber"] == "12345678901" and len(elements["RefNumber"]) == 11
    assert elements["DueDate"] == "2026-07-15"
    assert elements["Memo"] == "Panels and racking\nCoperniq invoice #501"
    assert elements["BillAddress"] == {"Addr1": "1 Main St", "City": "Austin"}
    assert elements["InvoiceLineAdd"] == [{"ItemRef": {"FullName": "Services"}, "Desc": "Panel", "Quantity": 2,
                                           "Rate": 750.0, "Amount": "1500.00"}]


def test_an_invoice_as_quickbooks_returns_it_is_unchanged_and_a_new_amount_resends_every_line() -> None:
    desired = invoice_fields(INVOICE, "8-1", ITEM, None, "PrivateNote")
    elements = invoice_elements(desired)
    stored = {"TxnID": "1A-1", "EditSequence": "5", "CustomerRef": {"ListID": "8-1", "FullName": "Okafor"},
              **{k: v for k, v in elements.items() if k != "InvoiceLineAdd"},
              "InvoiceLineRet": [{"TxnLineID": "1A-2", "ItemRef": {"ListID": "8-9", "FullName": "Services"},
                                  "Desc": "Panel", "Quantity": "2", "Rate": "750.00", "Amount": "1500.00"}],
              "Subtotal": "1500.00", "BalanceRemaining": "1500.00"}
    assert invoice_element_changes(stored, desired) == {}
    bigger = invoice_fields({**INVOICE, "amount": 1600.0}, "8-1", ITEM, None, "PrivateNote")
    changes = invoice_element_changes(stored, bigger)
    assert list(changes) == ["InvoiceLineMod"]
    assert [line["TxnLineID"] for line in changes["InvoiceLineMod"]] == ["-1", "-1"]
    assert desired_for(changes, bigger) == {"Line": bigger["Line"]}


def test_desktop_records_read_as_online_records_for_destination_coperniq() -> None:
    customer = online_customer({"ListID": "8-1", "EditSequence": "7", "Name": "Okafor Residence", "IsActive": "false",
                                "FirstName": "Ada", "Phone": "(512) 555-0142", "Notes": "Coperniq project #42",
                                "BillAddress": {"Addr1": "1 Main St", "State": "TX"},
                                "TimeModified": "2026-01-02T10:00:00-06:00"})
    assert customer["Id"] == "8-1" and customer["DisplayName"] == "Okafor Residence" and customer["Active"] is False
    assert customer["BillAddr"] == {"Line1": "1 Main St", "CountrySubDivisionCode": "TX"}
    assert customer["PrimaryPhone"] == {"FreeFormNumber": "(512) 555-0142"}
    invoice = online_invoice({"TxnID": "1A2-1", "CustomerRef": {"ListID": "8-1", "FullName": "Okafor"},
                              "RefNumber": "1001", "Memo": "Main panel\nCoperniq invoice #5", "Subtotal": "100.00",
                              "SalesTaxTotal": "8.25", "BalanceRemaining": "0.00", "_ab_cdc_deleted_at": "x"})
    assert invoice["Id"] == "1A2-1" and invoice["DocNumber"] == "1001" and invoice["TotalAmt"] == 108.25
    assert invoice["Balance"] == 0.0 and invoice["CustomerMemo"] == {"value": "Main panel"}
    assert invoice["PrivateNote"].endswith("Coperniq invoice #5") and invoice["_ab_cdc_deleted_at"] == "x"
    online = {"Id": "3", "DisplayName": "x"}
    assert online_record("customers", online) is online
