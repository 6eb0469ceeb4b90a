"""Company preferences (qbo/company.py): currency and numbering decisions, table-driven, and one read per run."""

from __future__ import annotations

import pytest

from qbo.company import CompanySettings, currency_problem, probe_currency, read_settings, settings_from_preferences

PREFS = {
    "SalesFormsPrefs": {"CustomTxnNumbers": False},
    "CurrencyPrefs": {"MultiCurrencyEnabled": True, "HomeCurrency": {"value": "CAD"}},
}


@pytest.mark.parametrize(("preferences", "expected"), [
    (PREFS, CompanySettings("CAD", True, False)),
    ({}, CompanySettings("USD", False, True)),  # Intuit's defaults when a key is absent
    ({"CurrencyPrefs": {"HomeCurrency": {"value": "gbp"}}}, CompanySettings("GBP", False, True)),
])
def test_settings_from_preferences(preferences, expected):
    assert settings_from_preferences(preferences) == expected


@pytest.mark.parametrize(("settings", "currency", "listed", "problem"), [
    pytest.param(CompanySettings("USD", False), "USD", None, None, id="home-currency"),
    pytest.param(CompanySettings("USD", False), "usd", None, None, id="any-case"),
    pytest.param(CompanySettings("USD", False), None, None, None, id="not-set"),
    pytest.param(CompanySettings("CAD", False), "USD", None, "works in CAD only (multicurrency is off)",
                 id="canadian-company-without-multicurrency"),
    pytest.param(CompanySettings("USD", True), "EUR", ["EUR"], None, id="multicurrency-listed"),
    pytest.param(CompanySettings("USD", True), "EUR", [], "not on this QuickBooks company's currency list",
                 id="multicurrency-not-listed"),
])
def test_currency_problem(settings, currency, listed, problem):
    found = currency_problem(settings, currency, listed)
    assert (found is None) if problem is None else (problem in found)
    if found:
        assert "`currency`" in found  # names the setting to fix


@pytest.mark.parametrize(("settings", "currency", "ref"), [
    (CompanySettings("USD", False), "USD", None),  # meaningless without multicurrency: not sent
    (CompanySettings("USD", True), "usd", {"value": "USD"}),
    (CompanySettings("USD", True), "EUR", {"value": "EUR"}),
])
def test_currency_ref(settings, currency, ref):
    assert settings.currency_ref(currency) == ref


class FakeClient:
    def __init__(self, preferences, terms=(), currencies=()):
        self._preferences, self._terms, self._currencies = preferences, list(terms), list(currencies)
        self.calls: list[str] = []

    def preferences(self):
        self.calls.append("preferences")
        return self._preferences

    def query_entities(self, entity, where=(), order_by=None):
        self.calls.append(entity)
        yield self._terms

    def query(self, statement):
        self.calls.append(statement)
        return {"CompanyCurrency": [{"Code": c, "Active": True} for c in self._currencies]}


def test_read_settings_reads_preferences_and_terms_once():
    client = FakeClient(PREFS, [{"Id": "3", "Name": "Net 30", "DueDays": 30}])
    settings = read_settings(client)
    assert [t.name for t in settings.terms] == ["Net 30"] and client.calls == ["preferences", "Term"]


@pytest.mark.parametrize(("preferences", "currencies", "currency", "ok", "calls"), [
    ({}, [], "USD", True, 1),
    ({}, [], "CAD", False, 1),
    (PREFS, ["EUR"], "EUR", True, 2),
    (PREFS, [], "EUR", False, 2),
    (PREFS, [], "CAD", True, 1),
])
def test_probe_currency(preferences, currencies, currency, ok, calls):
    client = FakeClient(preferences, currencies=currencies)
    assert (probe_currency(client, currency) is None) is ok
    assert len(client.calls) == calls
