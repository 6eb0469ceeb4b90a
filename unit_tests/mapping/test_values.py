"""The strict readers and the per-record checks: a bad value is refused by name, never guessed."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

import pytest

from mapping import coperniq_to_qbo, qbo_to_coperniq
from mapping.values import UnmappableRecord, money_amount, optional_date, text_list


@pytest.mark.parametrize(("value", "expected"), [
    (1200, Decimal("1200.00")), (0.1 + 0.2, Decimal("0.30")), ("99.995", Decimal("100.00")), (0, Decimal("0.00")),
])
def test_money_amounts_round_half_up_to_the_cent(value: Any, expected: Decimal) -> None:
    assert money_amount(value, "amount") == expected


@pytest.mark.parametrize(("value", "reason"), [
    (None, "missing"), ("", "missing"), ("twelve hundred", "must be a number"), (True, "must be a number"),
    ([5], "must be a number"), (float("nan"), "finite"), (1e15, "beyond"), (-250, "negative"),
])
def test_money_amounts_refuse_what_is_not_an_amount(value: Any, reason: str) -> None:
    with pytest.raises(UnmappableRecord, match=reason) as raised:
        money_amount(value, "amount")
    assert "`amount`" in str(raised.value)


def test_a_negative_amount_is_allowed_where_asked() -> None:
    assert money_amount(-5, "Amount", allow_negative=True) == Decimal("-5.00")


@pytest.mark.parametrize(("value", "expected"), [
    (None, None), ("", None), ("2031-05-01", date(2031, 5, 1)), ("2031-05-01T23:30:00Z", date(2031, 5, 1)),
    ("2031-05-01T23:30:00-07:00", date(2031, 5, 1)),
])
def test_dates_are_iso_dates_taken_as_written(value: Any, expected: date | None) -> None:
    assert optional_date(value, "dueDate") == expected


@pytest.mark.parametrize("value", ["31/12/2024", "2024-02-30", "next Tuesday", "12/31/2024"])
def test_dates_that_are_not_iso_are_refused_by_name(value: str) -> None:
    with pytest.raises(UnmappableRecord, match="`dueDate` must be an ISO 8601 date"):
        optional_date(value, "dueDate")


def test_lists_of_text() -> None:
    assert text_list(None, "emails") == [] and text_list("a@b.co", "emails") == ["a@b.co"]
    with pytest.raises(UnmappableRecord, match="`emails` must be a list of text, got 5"):
        text_list(5, "emails")


INVOICE = {"id": 7, "uid": 1007, "amount": 500, "dueDate": "2031-01-31",
           "lineItems": [{"quantity": 2, "unitPrice": 250, "description": "Panels"}]}


@pytest.mark.parametrize(("stream", "record", "reason"), [
    ("projects", {"id": 1, "title": "Okafor", "address": 12345}, "`address` must be a list of text"),
    ("projects", {"id": 1, "title": ["Okafor"]}, "`title` must be text"),
    ("contacts", {"id": 2, "name": "Ada Obi", "emails": 5}, "`emails` must be a list of text"),
    ("invoices", {**INVOICE, "amount": None}, "`amount` is missing"),
    ("invoices", {**INVOICE, "amount": "lots"}, "`amount` must be a number"),
    ("invoices", {**INVOICE, "amount": 1e15}, "beyond"),
    ("invoices", {**INVOICE, "amount": -250}, "negative"),
    ("invoices", {**INVOICE, "dueDate": "31/12/2024"}, "`dueDate` must be an ISO 8601 date"),
    ("invoices", {**INVOICE, "lineItems": [{"quantity": "two", "unitPrice": 1}]}, "quantity` must be a number"),
    ("invoices", {**INVOICE, "lineItems": "Panels"}, "`lineItems` must be a list"),
])
def test_a_coperniq_record_that_cannot_be_mapped_says_which_field_and_why(stream: str, record: dict,
                                                                          reason: str) -> None:
    problem = coperniq_to_qbo.record_problem(stream, record)
    assert problem is not None and reason in problem


@pytest.mark.parametrize(("stream", "record"), [
    ("projects", {"id": 1, "title": "Okafor Residence", "address": ["1 Main St, Austin, TX 78701"]}),
    ("contacts", {"id": 2, "name": "Ada Obi", "emails": ["ada@example.com"], "phones": "512-555-0100"}),
    ("invoices", INVOICE),
    ("invoices", {**INVOICE, "dueDate": None, "lineItems": []}),
])
def test_good_coperniq_records_have_no_problem(stream: str, record: dict) -> None:
    assert coperniq_to_qbo.record_problem(stream, record) is None


def test_a_title_longer_than_a_display_name_is_noted_not_refused() -> None:
    project = {"id": 1, "title": "Solar " * 200}
    assert coperniq_to_qbo.record_problem("projects", project) is None
    assert "truncated" in (coperniq_to_qbo.shortened_title(project) or "")
    assert coperniq_to_qbo.shortened_title({"id": 1, "title": "Okafor"}) is None


QBO_INVOICE = {"Id": "41", "TotalAmt": 640.0, "Balance": 640.0, "DueDate": "2031-05-01", "TxnDate": "2031-04-01",
               "CustomerRef": {"value": "3"}}


@pytest.mark.parametrize(("stream", "record", "reason"), [
    ("customers", {"Id": "3", "DisplayName": "Solar " * 17_000}, "`DisplayName` is 102,000 characters"),
    ("customers", {"Id": "3", "DisplayName": "Okafor", "BillAddr": 78701}, "`BillAddr` must be an object"),
    ("customers", {"Id": "3", "DisplayName": "Okafor", "PrimaryEmailAddr": "a@b.co"}, "`PrimaryEmailAddr`"),
    ("invoices", {**QBO_INVOICE, "TotalAmt": "lots"}, "`TotalAmt` must be a number"),
    ("invoices", {k: v for k, v in QBO_INVOICE.items() if k != "TotalAmt"}, "`TotalAmt` is missing"),
    ("invoices", {**QBO_INVOICE, "TotalAmt": -99.5, "Balance": 0}, "negative"),
    ("invoices", {**QBO_INVOICE, "TotalAmt": 1e15, "Balance": 1e15}, "beyond"),
    ("invoices", {**QBO_INVOICE, "DueDate": "31/12/2024"}, "`DueDate` must be an ISO 8601 date"),
])
def test_a_quickbooks_record_that_cannot_be_mapped_says_which_field_and_why(stream: str, record: dict,
                                                                            reason: str) -> None:
    problem = qbo_to_coperniq.record_problem(stream, record)
    assert problem is not None and reason in problem


def test_good_quickbooks_records_have_no_problem() -> None:
    assert qbo_to_coperniq.record_problem("invoices", QBO_INVOICE) is None
    customer = {"Id": "3", "DisplayName": "Okafor Residence", "GivenName": "Ada", "FamilyName": "Okafor",
                "BillAddr": {"Line1": "1 Main St", "City": "Austin", "CountrySubDivisionCode": "TX"},
                "PrimaryEmailAddr": {"Address": "ada@example.com"}}
    assert qbo_to_coperniq.record_problem("customers", customer) is None
