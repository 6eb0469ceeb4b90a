"""qbo.check: what `check` probes in QuickBooks Online, for both QuickBooks Online connectors."""

from __future__ import annotations

import logging
from typing import Any

import pytest
import requests
import requests_mock as rm
from airbyte_cdk.models import FailureType
from airbyte_cdk.utils.traced_exception import AirbyteTracedException

from qbo.check import check_currency, connected, find_sales_item, probe_company
from qbo.errors import describe_error

TOKEN_URL = "https://oauth.platform.intuit.com/oauth2/v1/tokens/bearer"
API = "https://quickbooks.api.intuit.com"
CONFIG = {"client_id": "app", "client_secret": "s", "refresh_token": "rt", "realm_id": "42"}
LOGGER = logging.getLogger("test")
SOLD = {"Id": "1", "Name": "Services", "Type": "Service", "Active": True, "IncomeAccountRef": {"value": "79"}}


class ItemsClient:
    """Answers ``SELECT * FROM Item`` with ``rows`` and keeps the statements asked."""

    def __init__(self, rows: list[dict[str, Any]]):
        self.rows, self.statements = rows, []

    def query(self, statement: str) -> dict[str, Any]:
        self.statements.append(statement)
        return {"Item": self.rows}


@pytest.mark.parametrize(("rows", "problem"), [
    pytest.param([], "QuickBooks has no product/service named 'Services'", id="missing"),
    pytest.param([{**SOLD, "Active": False}], "The QuickBooks product/service 'Services' is inactive",
                 id="inactive"),
    pytest.param([{**SOLD, "Type": "Category"}], "'Services' is a category", id="category"),
    pytest.param([{**SOLD, "IncomeAccountRef": None}], "'Services' is not sold (it has no income account)",
                 id="not-sold"),
])
def test_an_item_invoice_lines_cannot_use_is_a_config_error_naming_the_setting(rows: list[dict[str, Any]],
                                                                               problem: str) -> None:
    with pytest.raises(AirbyteTracedException) as raised:
        find_sales_item(ItemsClient(rows), "Services")  # type: ignore[arg-type]
    assert raised.value.failure_type == FailureType.config_error
    assert problem in raised.value.message and "`item_name`" in raised.value.message


def test_the_active_item_is_found_among_inactive_namesakes_in_one_query() -> None:
    client = ItemsClient([{**SOLD, "Id": "9", "Active": False}, SOLD])
    assert find_sales_item(client, "O'Brien Services")["Id"] == "1"  # type: ignore[arg-type]
    assert client.statements == [r"SELECT * FROM Item WHERE Name = 'O\'Brien Services' AND Active IN (true, false)"]


class CurrencyClient:
    def preferences(self) -> dict[str, Any]:
        return {"CurrencyPrefs": {"MultiCurrencyEnabled": False, "HomeCurrency": {"value": "USD"}}}


def test_a_currency_the_company_cannot_use_is_a_config_error() -> None:
    check_currency(CurrencyClient(), "usd")  # type: ignore[arg-type]
    with pytest.raises(AirbyteTracedException) as raised:
        check_currency(CurrencyClient(), "EUR")  # type: ignore[arg-type]
    assert raised.value.failure_type == FailureType.config_error
    assert raised.value.message.startswith("`currency` is EUR, but this QuickBooks company works in USD only")


def company_answers(requests_mock: rm.Mocker) -> None:
    requests_mock.post(TOKEN_URL, json={"access_token": "at", "refresh_token": "rt2", "expires_in": 3600})
    requests_mock.get(f"{API}/v3/company/42/companyinfo/42", json={"CompanyInfo": {"CompanyName": "Sunny Roofs"}})


def test_probe_company_proves_the_token_on_this_company(requests_mock: rm.Mocker) -> None:
    company_answers(requests_mock)
    client, company = probe_company(CONFIG, LOGGER)
    assert connected(client, company) == "Connected to QuickBooks company 'Sunny Roofs' (realm 42)"
    assert [r.method for r in requests_mock.request_history] == ["POST", "GET"]  # no host probes by default


def test_reaching_the_hosts_first_asks_the_token_host_then_the_api_host(requests_mock: rm.Mocker) -> None:
    company_answers(requests_mock)
    requests_mock.head(TOKEN_URL, status_code=405)  # any answer proves the host is there
    requests_mock.head(API, status_code=200)
    probe_company(CONFIG, LOGGER, reach_hosts=True)
    assert [(r.method, r.url.rstrip("/")) for r in requests_mock.request_history][:2] == [
        ("HEAD", TOKEN_URL), ("HEAD", API)]


def test_a_host_that_does_not_answer_is_a_config_error_in_seconds(requests_mock: rm.Mocker) -> None:
    requests_mock.head(TOKEN_URL, exc=requests.ConnectTimeout("timed out"))
    with pytest.raises(AirbyteTracedException) as raised:
        probe_company(CONFIG, LOGGER, reach_hosts=True)
    assert raised.value.failure_type == FailureType.config_error
    assert describe_error(raised.value) == (
        f"QuickBooks could not be reached at {TOKEN_URL}: timed out. Check the host (`base_url` / `token_url`, "
        "or `sandbox`) and the network.")
    assert not any(r.method == "POST" for r in requests_mock.request_history)  # no token refresh attempted
