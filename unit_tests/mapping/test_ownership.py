"""Who owns which field (mapping/ownership.py), invoice numbers and the job site, table-driven."""

from __future__ import annotations

import copy

import pytest

from mapping.coperniq_to_qbo import customer_changes, customer_fields, invoice_fields
from mapping.invoice_numbers import (
    doc_number,
    doc_number_matches,
    doc_numbers_for_lookup,
    suffixed_doc_number,
)
from mapping.job_site import billing_follows_job_site, job_site_key
from mapping.links import invoice_id_from_note, invoice_note_with_link, strip_links
from mapping.ownership import (
    changed_since,
    fingerprint_in,
    invoice_fingerprint,
    invoice_to_create,
    invoice_update,
    sync_tag,
)
from mapping.terms import terms_from_rows

ITEM = {"value": "1", "name": "Services"}
TERMS = terms_from_rows([{"Id": "3", "Name": "Net 30", "DueDays": 30}, {"Id": "2", "Name": "Net 15", "DueDays": 15}])


def coperniq(**extra):
    return {"id": 9001, "uid": 1042, "description": "Milestone 2: glass on roof", "issueDate": "2024-06-01",
            "dueDate": "2024-07-01", "amount": 1200.0, "calculationMethod": "LINE_ITEMS",
            "lineItems": [{"quantity": 2, "unitPrice": 600.0, "description": "Panels"}], **extra}


def desired(record, target="CustomerMemo"):
    return invoice_fields(record, "58", ITEM, None, target, terms=TERMS)


def written(record, target="CustomerMemo"):
    """What QuickBooks holds after the connector created the invoice: the body plus Ids and a subtotal line."""
    body = invoice_to_create(desired(record, target), target)
    invoice = copy.deepcopy(body)
    invoice.update({"Id": "130", "SyncToken": "0", "TotalAmt": record["amount"]})
    for number, line in enumerate(invoice["Line"], start=1):
        line["Id"] = str(number)
    invoice["Line"].append({"DetailType": "SubTotalLineDetail", "Amount": record["amount"]})
    return invoice


def update(current, record, target="CustomerMemo"):
    wanted = desired(record, target)
    wanted.pop("BillAddr", None)
    return invoice_update(current, wanted, target)


# -- fingerprints ------------------------------------------------------------------------------------


def test_create_body_carries_the_baseline_on_the_link_line():
    body = invoice_to_create(desired(coperniq()))
    assert body["PrivateNote"].startswith("Coperniq invoice #9001 [sync c=")
    assert set(fingerprint_in(body["PrivateNote"])) == {"c", "n", "t", "d", "r", "m", "l"}
    assert invoice_id_from_note(body["PrivateNote"]) == 9001
    assert strip_links(body["PrivateNote"]) is None, "the tag never leaks into text copied elsewhere"


@pytest.mark.parametrize(("note", "baseline"), [
    ("Coperniq invoice #1 [sync a=0f0f0f b=1a2b3c]", {"a": "0f0f0f", "b": "1a2b3c"}),
    ("Call first\nCoperniq invoice #1 [sync a=0f0f0f]", {"a": "0f0f0f"}),
    ("Coperniq invoice #1", None),  # linked before fingerprints existed
    ("coperniq invoice # 1 [SYNC A=0F0F0F]", {"a": "0f0f0f"}),
    (None, None),
])
def test_fingerprint_in(note, baseline):
    assert fingerprint_in(note) == baseline


def test_old_markers_still_link_and_new_markers_replace_them():
    assert invoice_id_from_note("Coperniq invoice #77") == 77
    note = invoice_note_with_link("Gate code 1234\nCoperniq invoice #77 [sync a=000000]", 77, "[sync a=111111]")
    assert note == "Gate code 1234\nCoperniq invoice #77 [sync a=111111]"


@pytest.mark.parametrize(("baseline", "now", "moved"), [
    (None, {"d": "1", "m": "2"}, {"d", "m"}),
    ({"d": "1", "m": "2"}, {"d": "1", "m": "2"}, set()),
    ({"d": "1", "m": "2"}, {"d": "9", "m": "2"}, {"d"}),
    ({"d": "1"}, {"d": "1", "r": "5"}, {"r"}),
])
def test_changed_since(baseline, now, moved):
    assert changed_since(baseline, now) == moved


def test_fingerprint_ignores_what_comparisons_ignore():
    a = invoice_fingerprint(desired(coperniq(dueDate="2024-07-01T23:30:00-05:00", description="Milestone  2")))
    b = invoice_fingerprint(desired(coperniq(dueDate="2024-07-01", description="Milestone 2")))
    assert a == b
    assert sync_tag({"d": "1a2b3c", "c": "000111"}) == "[sync c=000111 d=1a2b3c]"


# -- the ownership rule, round by round ---------------------------------------------------------------


def bookkeeper(invoice, **edits):
    return {**copy.deepcopy(invoice), **edits, "SyncToken": str(int(invoice["SyncToken"]) + 1)}


@pytest.mark.parametrize(("qbo_edit", "coperniq_edit", "expected_keys"), [
    pytest.param({}, {}, set(), id="quiet-nothing-to-write"),
    pytest.param({"DueDate": "2024-08-15"}, {"status": "PAID"}, set(), id="qbo-due-date-kept-on-unrelated-change"),
    pytest.param({"CustomerMemo": {"value": "Fixed typo"}}, {"status": "SENT"}, set(),
                 id="qbo-memo-kept-on-unrelated-change"),
    pytest.param({"DueDate": "2024-08-15"}, {"description": "New memo"}, {"CustomerMemo", "PrivateNote"},
                 id="coperniq-memo-change-writes-memo-only"),
    pytest.param({"CustomerMemo": {"value": "Fixed typo"}}, {"dueDate": "2024-06-16"},
                 {"DueDate", "SalesTermRef", "PrivateNote"}, id="coperniq-due-change-writes-due-and-terms-only"),
    pytest.param({}, {"amount": 1300.0, "lineItems": [{"quantity": 2, "unitPrice": 650.0, "description": "Panels"}]},
                 {"Line", "PrivateNote"}, id="coperniq-lines-change"),
    pytest.param({"DueDate": "2024-08-15"}, {"dueDate": "2024-08-15"}, {"PrivateNote"},
                 id="same-edit-both-sides-refreshes-baseline-only"),
])
def test_a_change_overwrites_only_fields_changed_at_its_origin(qbo_edit, coperniq_edit, expected_keys):
    record = coperniq()
    current = bookkeeper(written(record), **qbo_edit)
    changes = update(current, {**record, **coperniq_edit})
    assert set(changes) == expected_keys
    for key, value in qbo_edit.items():
        if key not in changes:
            assert current[key] == value  # the bookkeeper's value stays
    if changes:  # the next round, with the new baseline, writes nothing (loop-free)
        after = {**current, **changes}
        assert update(after, {**record, **coperniq_edit}) == {}


def test_legacy_invoice_without_baseline_takes_coperniq_values_once_then_keeps_edits():
    record = coperniq()
    current = written(record)
    current["PrivateNote"] = "Coperniq invoice #9001"  # linked by an older version
    current["DueDate"] = "2024-08-15"
    current["TxnDate"] = "2024-06-20"  # the date the older version's sync wrote it
    changes = update(current, record)
    assert changes["DueDate"] == "2024-07-01" and fingerprint_in(changes["PrivateNote"])
    assert "TxnDate" not in changes, "an issued invoice keeps its date"
    after = bookkeeper({**current, **changes}, DueDate="2024-09-01")
    assert update(after, {**record, "status": "PAID"}) == {}


def test_private_note_target_keeps_the_bookkeeper_s_note_until_coperniq_changes_it():
    record = coperniq()
    current = written(record, "PrivateNote")
    assert current["PrivateNote"].startswith("Milestone 2: glass on roof\nCoperniq invoice #9001 [sync ")
    edited = bookkeeper(current, PrivateNote=current["PrivateNote"].replace("Milestone 2", "Milestone two"))
    assert update(edited, {**record, "status": "PAID"}, "PrivateNote") == {}
    changes = update(edited, {**record, "description": "Final"}, "PrivateNote")
    assert changes["PrivateNote"].startswith("Final\nCoperniq invoice #9001 [sync ")


# -- invoice numbers -----------------------------------------------------------------------------------


@pytest.mark.parametrize(("uid", "number", "suffixed"), [
    (1042, "1042", "1042-C"),
    ("  77 ", "77", "77-C"),
    ("X" * 25, "X" * 21, "X" * 19 + "-C"),
    (None, None, None),
])
def test_doc_numbers(uid, number, suffixed):
    assert doc_number(uid) == number
    assert doc_numbers_for_lookup(uid) == ([number, suffixed] if number else [])
    if number:
        assert suffixed_doc_number(number) == suffixed and len(suffixed) <= 21


@pytest.mark.parametrize(("current", "desired", "same"), [
    ("1042", "1042", True), ("1042-C", "1042", True), ("1043", "1042", False), (None, "1042", False),
    ("1042", "1042-C", False),
])
def test_doc_number_matches(current, desired, same):
    assert doc_number_matches(current, desired) is same


def test_a_suffixed_number_is_not_written_back():
    record = coperniq()
    current = written(record)
    current["DocNumber"] = "1042-C"  # after a duplicate (6140)
    current["PrivateNote"] = "Coperniq invoice #9001"  # and no baseline: every field is compared
    assert "DocNumber" not in update(current, record)


def test_company_numbering_sends_no_doc_number():
    fields = invoice_fields(coperniq(), "58", ITEM, None, send_doc_number=False)
    assert "DocNumber" not in fields and fields["PrivateNote"] == "Coperniq invoice #9001"


# -- job site ------------------------------------------------------------------------------------------

PROJECT = {"id": 42, "title": "Okafor Residence", "address": ["123 Main St, Austin, TX 78701"]}
OFFICE = {"Line1": "PO Box 77", "City": "Austin", "CountrySubDivisionCode": "TX", "PostalCode": "78767"}


def test_project_address_goes_to_bill_and_ship_address():
    fields = customer_fields(PROJECT, None)
    assert fields["ShipAddr"] == fields["BillAddr"] == {
        "Line1": "123 Main St", "City": "Austin", "CountrySubDivisionCode": "TX", "PostalCode": "78701",
        "Country": "US"}


@pytest.mark.parametrize(("current_edit", "project_address", "expected"), [
    pytest.param({"BillAddr": OFFICE}, None, set(), id="office-billing-address-stays"),
    pytest.param({"BillAddr": OFFICE}, "500 Congress Ave, Austin, TX 78701", {"BillAddr", "ShipAddr"},
                 id="job-site-moved-both-follow"),
    pytest.param({"ShipAddr": None}, None, {"ShipAddr"}, id="customer-before-the-rule-gets-its-job-site"),
    pytest.param({"ShipAddr": None, "BillAddr": OFFICE}, None, {"ShipAddr", "BillAddr"},
                 id="no-job-site-yet-bill-compared-as-before"),
])
def test_billing_follows_job_site(current_edit, project_address, expected):
    current = {"Id": "58", **customer_fields(PROJECT, None), **current_edit}
    current = {k: v for k, v in current.items() if v is not None}
    project = {**PROJECT, "address": [project_address]} if project_address else PROJECT
    assert set(customer_changes(current, customer_fields(project, None))) == expected


def test_billing_follows_job_site_leaves_other_fields():
    fields = customer_fields(PROJECT, None)
    assert billing_follows_job_site({"ShipAddr": fields["ShipAddr"]}, fields).keys() == fields.keys() - {"BillAddr"}


@pytest.mark.parametrize(("customer", "key"), [
    ({"ShipAddr": {"Line1": "1 Main St"}, "BillAddr": OFFICE}, "ShipAddr"),
    ({"ShipAddr": {"Id": "9"}, "BillAddr": OFFICE}, "BillAddr"),
    ({"BillAddr": OFFICE}, "BillAddr"),
    ({}, "BillAddr"),
])
def test_job_site_key(customer, key):
    assert job_site_key(customer) == key
