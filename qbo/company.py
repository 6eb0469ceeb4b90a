"""What a QuickBooks company is set up to accept: currency and numbering preferences, payment terms.

Read once per run (one ``GET /preferences``, one ``SELECT * FROM Term``), only when a write needs
them, so a quiet sync reads nothing. The decisions built on them are pure functions in ``mapping/``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from mapping.terms import Term, terms_from_rows
from qbo.client import QuickBooksClient
from qbo.query import quote


@dataclass(frozen=True)
class CompanySettings:
    """The slice of ``Preferences`` the connectors act on (Intuit's defaults when a key is absent)."""

    home_currency: str = "USD"
    multicurrency: bool = False
    custom_txn_numbers: bool = True  # SalesFormsPrefs.CustomTxnNumbers: off => QuickBooks numbers invoices itself
    terms: tuple[Term, ...] = field(default_factory=tuple)

    def currency_ref(self, currency: str | None) -> dict[str, str] | None:
        """The ``CurrencyRef`` of a new customer: only with multicurrency on, where it means something
        (without it every customer is in the home currency, and QuickBooks refuses any other)."""
        code = str(currency or "").strip().upper()
        return {"value": code} if self.multicurrency and code else None


def settings_from_preferences(preferences: Mapping[str, Any], term_rows: list[dict[str, Any]] = ()) -> CompanySettings:
    """CompanySettings from a ``Preferences`` object (and the company's active ``Term`` rows)."""
    currency = preferences.get("CurrencyPrefs") or {}
    home = currency.get("HomeCurrency")
    home_code = str((home.get("value") if isinstance(home, Mapping) else home) or "USD").strip().upper() or "USD"
    sales = preferences.get("SalesFormsPrefs") or {}
    custom = sales.get("CustomTxnNumbers")
    return CompanySettings(home_currency=home_code, multicurrency=bool(currency.get("MultiCurrencyEnabled")),
                           custom_txn_numbers=True if custom is None else bool(custom),
                           terms=terms_from_rows(list(term_rows)))


def read_settings(client: QuickBooksClient, with_terms: bool = True) -> CompanySettings:
    """The company's preferences (one request) and, unless told otherwise, its active terms (one query)."""
    preferences = client.preferences()
    rows: list[dict[str, Any]] = []
    if with_terms:
        for page in client.query_entities("Term", order_by="Id"):
            rows.extend(page)
    return settings_from_preferences(preferences, rows)


def currency_problem(settings: CompanySettings, currency: str | None,
                     company_currencies: list[str] | None = None) -> str | None:
    """Why customers cannot be created in ``currency`` in this company, in plain words; None when they can.

    ``company_currencies``: the codes on the company's currency list (only asked when multicurrency is on).
    """
    code = str(currency or "").strip().upper()
    if not code or code == settings.home_currency:
        return None
    if not settings.multicurrency:
        return (f"`currency` is {code}, but this QuickBooks company works in {settings.home_currency} only "
                "(multicurrency is off). Set `currency` to "
                f"{settings.home_currency}, or turn multicurrency on in QuickBooks (Settings > Account and "
                "settings > Advanced > Currency) and add the currency.")
    if company_currencies is not None and code not in {c.upper() for c in company_currencies}:
        return (f"`currency` is {code}, but {code} is not on this QuickBooks company's currency list. Add it "
                f"in QuickBooks (Settings > Currencies) or set `currency` to {settings.home_currency} or one "
                "listed there.")
    return None


def company_currencies(client: QuickBooksClient, code: str) -> list[str]:
    """The active currency codes of the company's list matching ``code`` (QuickBooks' ``CompanyCurrency``)."""
    rows = client.query(f"SELECT * FROM CompanyCurrency WHERE Code = {quote(code)}").get("CompanyCurrency", [])
    return [str(row.get("Code")) for row in rows if row.get("Active", True)]


def currency_check(client: QuickBooksClient, settings: CompanySettings, currency: str | None) -> str | None:
    """Why ``currency`` cannot be used in this company, or None; asks the currency list only when it must."""
    problem = currency_problem(settings, currency)
    code = str(currency or "").strip().upper()
    if problem is None and settings.multicurrency and code and code != settings.home_currency:
        problem = currency_problem(settings, code, company_currencies(client, code))
    return problem


def probe_currency(client: QuickBooksClient, currency: str | None) -> str | None:
    """For ``check``: why the configured ``currency`` cannot be used, or None (one to two requests)."""
    return currency_check(client, read_settings(client, with_terms=False), currency)
