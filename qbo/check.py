"""What ``check`` probes in QuickBooks Online, for source-quickbooks and destination-quickbooks alike.

Each probe raises what it meets; the connector reports it through :func:`qbo.errors.describe_error`.
A check answers fast: its client retries once, not for minutes.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

import requests

from connector_core.config import config_error
from qbo.auth import INTUIT_TOKEN_URL
from qbo.client import QuickBooksClient, api_root, client_from_config
from qbo.company import probe_currency
from qbo.query import quote

DEFAULT_ITEM_NAME = "Services"


def probe_host(url: str) -> None:
    """Fail fast on a host that does not answer: the OAuth refresh alone would retry for five minutes."""
    try:
        requests.head(url, timeout=(5, 10), allow_redirects=False)
    except requests.RequestException as error:
        raise config_error(f"QuickBooks could not be reached at {url}: {error}. Check the host "
                           "(`base_url` / `token_url`, or `sandbox`) and the network.", str(error)) from error


def probe_company(config: Mapping[str, Any], logger: logging.Logger,
                  reach_hosts: bool = False) -> tuple[QuickBooksClient, dict[str, Any]]:
    """A client for ``config`` and its company, which proves the app's keys, the token and that the token
    belongs to ``realm_id``. With ``reach_hosts`` the token and API hosts are asked first (a source's
    check: a wrong host then fails in seconds)."""
    client = client_from_config(config, logger, max_retries=1)
    if reach_hosts:
        probe_host(client.config.get("token_url") or INTUIT_TOKEN_URL)
        probe_host(api_root(client.config))
    return client, client.company_info()


def connected(client: QuickBooksClient, company: Mapping[str, Any]) -> str:
    """The log line of a check that got through."""
    return f"Connected to QuickBooks company {company.get('CompanyName')!r} (realm {client.realm_id})"


def find_sales_item(client: QuickBooksClient, item_name: str) -> dict[str, Any]:
    """The product/service invoice lines are booked on, or a config error saying what is wrong with it.

    Items are inactive-hidden in queries, so the look-up names ``Active`` to tell a missing item from an
    inactive one. An item is usable on a sales line when it is active, is not a category and has an
    income account (QuickBooks gives one only to items marked "I sell this product/service").
    """
    rows = client.query(f"SELECT * FROM Item WHERE Name = {quote(item_name)} AND Active IN (true, false)"
                        ).get("Item", [])
    setting = "set `item_name` (Invoice line item) to the exact name of a product/service you sell"
    if not rows:
        raise config_error(f"QuickBooks has no product/service named {item_name!r}, which invoice lines are booked "
                           f"on. Create it in QuickBooks (Sales > Products and services > New, type Service) or "
                           f"{setting}.")
    item = next((row for row in rows if row.get("Active", True)), rows[0])
    if item.get("Active") is False:
        raise config_error(f"The QuickBooks product/service {item_name!r} is inactive, so invoices cannot use it. "
                           f"Make it active again in QuickBooks (Sales > Products and services) or {setting}.")
    if item.get("Type") == "Category" or not item.get("IncomeAccountRef"):
        why = "is a category" if item.get("Type") == "Category" else "is not sold (it has no income account)"
        raise config_error(f"The QuickBooks product/service {item_name!r} {why}, so invoice lines cannot be booked "
                           f"on it. In QuickBooks tick \"I sell this product/service to my customers\" and pick an "
                           f"income account, or {setting}.")
    return item


def check_currency(client: QuickBooksClient, currency: str | None) -> None:
    """A config error when the company cannot take customers in ``currency`` (one to two requests)."""
    problem = probe_currency(client, currency)
    if problem is not None:
        raise config_error(problem)
