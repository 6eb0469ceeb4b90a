"""Payment terms both ways (mapping/terms.py), table-driven."""

from __future__ import annotations

from datetime import date

import pytest

from mapping.coperniq_to_qbo import invoice_fields
from mapping.qbo_to_coperniq import coperniq_invoice_fields
from mapping.terms import (
    Term,
    qbo_invoice_terms,
    term_for_dates,
    terms_from_rows,
    terms_in,
    terms_line,
    with_terms_line,
)

ROWS = [
    {"Id": "3", "Name": "Net 30", "Active": True, "Type": "STANDARD", "DueDays": 30},
    {"Id": "1", "Name": "Due on receipt", "Active": True, "Type": "STANDARD", "DueDays": 0},
    {"Id": "2", "Name": "Net 15", "Active": True, "Type": "STANDARD", "DueDays": 15},
    {"Id": "4", "Name": "Net 60", "Active": True, "Type": "STANDARD", "DueDays": 60},
    {"Id": "7", "Name": "30 days", "Active": True, "Type": "STANDARD", "DueDays": 30},
    {"Id": "5", "Name": "Old Net 45", "Active": False, "Type": "STANDARD", "DueDays": 45},
    {"Id": "6", "Name": "15th of month", "Active": True, "Type": "DATE_DRIVEN", "DayOfMonthDue": 15},
]
TERMS = terms_from_rows(ROWS)
ITEM = {"value": "1", "name": "Services"}


def test_terms_from_rows_keeps_active_standard_terms_in_a_fixed_order():
    assert [t.name for t in TERMS] == ["Due on receipt", "Net 15", "Net 30", "30 days", "Net 60"]


@pytest.mark.parametrize(("issued", "due", "expected"), [
    pytest.param(date(2024, 6, 1), date(2024, 7, 1), "Net 30", id="thirty-days-net-30"),
    pytest.param(date(2024, 6, 1), date(2024, 6, 16), "Net 15", id="fifteen-days"),
    pytest.param(date(2024, 6, 1), date(2024, 6, 1), "Due on receipt", id="same-day-due-on-receipt"),
    pytest.param(date(2024, 6, 1), date(2024, 7, 31), "Net 60", id="sixty-days"),
    pytest.param(date(2024, 2, 1), date(2024, 3, 2), "Net 30", id="across-a-leap-february"),
    pytest.param(date(2024, 6, 1), date(2024, 7, 16), None, id="inactive-net-45-is-not-used"),
    pytest.param(date(2024, 6, 1), date(2024, 6, 11), None, id="ten-days-no-term-fits"),
    pytest.param(date(2024, 6, 10), date(2024, 6, 1), None, id="due-before-issue"),
    pytest.param(None, date(2024, 6, 1), None, id="no-issue-date"),
    pytest.param(date(2024, 6, 1), None, None, id="no-due-date"),
])
def test_term_for_dates(issued, due, expected):
    term = term_for_dates(TERMS, issued, due)
    assert (term.name if term else None) == expected


def coperniq_invoice(issue, due):
    return {"id": 9001, "uid": 1042, "description": "Milestone 2", "issueDate": issue, "dueDate": due,
            "amount": 100.0, "calculationMethod": "LINE_ITEMS", "lineItems": []}


@pytest.mark.parametrize(("issue", "due", "term_ref", "due_sent"), [
    pytest.param("2024-06-01T15:30:00.000Z", "2024-07-01T15:30:00.000Z", {"value": "3", "name": "Net 30"},
                 "2024-07-01", id="net-30"),
    pytest.param("2024-06-01", "2024-06-01", {"value": "1", "name": "Due on receipt"}, "2024-06-01",
                 id="due-on-receipt"),
    pytest.param("2024-06-01", "2024-06-11", None, "2024-06-11", id="no-term-due-date-still-coperniq-s"),
    pytest.param(None, "2024-06-11", None, "2024-06-11", id="draft-without-issue-date"),
])
def test_invoice_fields_terms_txn_date_and_due_date(issue, due, term_ref, due_sent):
    fields = invoice_fields(coperniq_invoice(issue, due), "58", ITEM, None, terms=TERMS)
    assert fields.get("SalesTermRef") == term_ref
    assert fields["DueDate"] == due_sent
    assert fields.get("TxnDate") == (issue[:10] if issue else None)


def test_invoice_fields_without_company_terms_sends_no_term():
    fields = invoice_fields(coperniq_invoice("2024-06-01", "2024-07-01"), "58", ITEM, None)
    assert "SalesTermRef" not in fields and fields["DueDate"] == "2024-07-01"


@pytest.mark.parametrize(("name", "days", "line"), [
    ("Net 30", 30, "Terms: Net 30"),
    ("  Net   15 ", 15, "Terms: Net 15"),
    (None, 0, "Terms: due on receipt"),
    (None, 1, "Terms: due in 1 day"),
    ("", 45, "Terms: due in 45 days"),
    (None, None, None),
    (None, -3, None),
])
def test_terms_line(name, days, line):
    assert terms_line(name, days) == line


@pytest.mark.parametrize(("text", "line", "expected"), [
    ("Thanks for your business", "Terms: Net 30", "Thanks for your business\nTerms: Net 30"),
    ("Thanks\nTerms: Net 15", "Terms: Net 30", "Thanks\nTerms: Net 30"),
    (None, "Terms: Net 30", "Terms: Net 30"),
    ("Terms: typed by hand", None, "Terms: typed by hand"),
    (None, None, None),
])
def test_with_terms_line(text, line, expected):
    assert with_terms_line(text, line) == expected


def test_terms_in_reads_the_line_back():
    assert terms_in("Thanks\nTerms: Net 30\nQuickBooks invoice #12") == "Net 30"
    assert terms_in("no terms here") is None


@pytest.mark.parametrize(("invoice", "line"), [
    ({"SalesTermRef": {"value": "3", "name": "Net 30"}}, "Terms: Net 30"),
    ({"SalesTermRef": {"value": "3"}}, "Terms: due in 30 days"),
    ({}, None),
    ({"SalesTermRef": None}, None),
])
def test_qbo_invoice_terms(invoice, line):
    assert qbo_invoice_terms(invoice, date(2024, 6, 1), date(2024, 7, 1)) == line


def qbo_invoice(**extra):
    return {"Id": "130", "DocNumber": "1037", "TxnDate": "2024-06-01", "DueDate": "2024-07-01", "TotalAmt": 500.0,
            "Balance": 500.0, "CustomerMemo": {"value": "Thank you"}, **extra}


@pytest.mark.parametrize(("extra", "description"), [
    pytest.param({"SalesTermRef": {"value": "3", "name": "Net 30"}},
                 "Thank you\nTerms: Net 30\nQuickBooks invoice #130", id="memo-terms-link"),
    pytest.param({"SalesTermRef": {"value": "3", "name": "Net 30"}, "CustomerMemo": None},
                 "Terms: Net 30\nQuickBooks invoice #130", id="terms-without-memo"),
    pytest.param({}, "Thank you\nQuickBooks invoice #130", id="no-terms"),
])
def test_quickbooks_terms_reach_the_coperniq_description(extra, description):
    fields = coperniq_invoice_fields(qbo_invoice(**extra), 5)
    assert fields["description"] == description
    assert fields["dueDate"] == "2024-07-01T00:00:00.000Z"


def test_term_dataclass_is_hashable_and_ordered_by_days():
    assert term_for_dates((Term("9", "Net 7", 7),), date(2024, 1, 1), date(2024, 1, 8)) == Term("9", "Net 7", 7)
