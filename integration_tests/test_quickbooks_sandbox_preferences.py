"""The QuickBooks sandbox's company preferences: currency, custom transaction numbers, duplicate numbers."""

from __future__ import annotations

import pytest

from sandboxes.quickbooks.errors import QBOFault
from sandboxes.quickbooks.models import RealmBackend


def _backend(**options: object) -> RealmBackend:
    backend = RealmBackend("1", **options)
    backend.add_item("Services", 100.0)
    return backend


def _fault(call: object, *args: object, **kwargs: object) -> QBOFault:
    with pytest.raises(QBOFault) as raised:
        call(*args, **kwargs)  # type: ignore[operator]
    return raised.value


@pytest.mark.parametrize(("options", "currency", "code"), [
    ({}, "USD", None),
    ({}, "CAD", "6000"),  # multicurrency off: only the home currency
    ({"home_currency": "CAD"}, "CAD", None),
    ({"home_currency": "CAD"}, "USD", "6000"),
    ({"multicurrency": True, "currencies": ("EUR",)}, "EUR", None),
    ({"multicurrency": True, "currencies": ("EUR",)}, "GBP", "2500"),  # not on the company's list
])
def test_customer_currency(options, currency, code):
    backend = _backend(**options)
    if code is None:
        created = backend.add_customer(DisplayName="A", CurrencyRef={"value": currency})
        assert created["CurrencyRef"]["value"] == currency
    else:
        assert _fault(backend.add_customer, DisplayName="A", CurrencyRef={"value": currency}).code == code


def test_preferences_report_the_options():
    prefs = _backend(home_currency="CAD", multicurrency=True, custom_txn_numbers=False).preferences()
    assert prefs["CurrencyPrefs"] == {"MultiCurrencyEnabled": True, "HomeCurrency": {"value": "CAD"}}
    assert prefs["SalesFormsPrefs"]["CustomTxnNumbers"] is False
    backend = _backend()
    assert backend.add_customer(DisplayName="B")["CurrencyRef"]["value"] == "USD"


def test_company_numbering_and_duplicate_numbers():
    own = _backend(custom_txn_numbers=False, check_duplicate_doc_number=True)
    customer = own.add_customer(DisplayName="C")["Id"]
    first = own.add_invoice(customer, [("1", 1, 10.0)])
    assert first["DocNumber"] == "1001"
    assert own.add_invoice(customer, [("1", 1, 10.0)], DocNumber="1001")["DocNumber"] == "1001"  # unchecked

    custom = _backend(check_duplicate_doc_number=True)
    customer = custom.add_customer(DisplayName="D")["Id"]
    custom.add_invoice(customer, [("1", 1, 10.0)], DocNumber="1042")
    fault = _fault(custom.add_invoice, customer, [("1", 1, 10.0)], DocNumber="1042")
    assert fault.code == "6140"
    assert custom.add_invoice(customer, [("1", 1, 10.0)], DocNumber="1042-C")["DocNumber"] == "1042-C"
