"""How the QuickBooks sandbox routes requests (werkzeug's Map/Rule, as the Coperniq sandbox does): the
router as a table without a server, then what a client sees for paths the sandbox does not model."""

from __future__ import annotations

import pytest
import requests
from werkzeug.test import EnvironBuilder

from integration_tests.test_quickbooks_sandbox import api, bearer
from sandboxes.quickbooks import QuickBooksSandbox
from sandboxes.quickbooks.app import Route, route

API = "/v3/company/9130357"


@pytest.mark.parametrize(("method", "path", "expected"), [
    ("POST", "/oauth2/v1/tokens/bearer", Route("token")),
    ("POST", "/oauth2/v1/tokens/revoke", Route("revoke")),
    ("GET", "/connect/oauth2", Route("authorize")),
    ("GET", "/.well-known/openid_sandbox_configuration", Route("discovery")),
    ("GET", f"{API}/query", Route("query", "9130357", "query")),
    ("POST", f"{API}/Query/", Route("query", "9130357", "query")),  # any case, a trailing slash
    ("GET", f"{API}/cdc", Route("cdc", "9130357", "cdc")),
    ("GET", f"{API}/companyinfo/9130357", Route("company_info", "9130357", "companyinfo", "9130357")),
    ("GET", f"{API}/preferences", Route("preferences", "9130357", "preferences")),
    ("GET", f"{API}/Customer/58", Route("read", "9130357", "customer", "58")),
    ("GET", f"{API}/term/3", Route("read", "9130357", "term", "3")),
    ("POST", f"{API}/batch", Route("batch", "9130357", "batch")),
    ("POST", f"{API}/invoice", Route("write", "9130357", "invoice")),
    # Paths and methods the sandbox does not model, under a company: answered after authentication.
    ("GET", f"{API}/batch", Route("unsupported", "9130357", "batch")),
    ("POST", f"{API}/item", Route("unsupported", "9130357", "item")),
    ("DELETE", f"{API}/customer/58", Route("unsupported", "9130357", "customer/58")),
    ("GET", f"{API}/reports/ProfitAndLoss", Route("unsupported", "9130357", "reports/profitandloss")),
    # Outside OAuth and the company API: nothing to authenticate.
    ("GET", "/oauth2/v1/tokens/bearer", None),
    ("GET", "/v3/company/9130357", None),
    ("GET", "/v2/anything", None),
])
def test_the_router(method: str, path: str, expected: Route | None) -> None:
    assert route(EnvironBuilder(method=method, path=path).get_request()) == expected


def test_an_unmodelled_path_is_authenticated_first_then_refused_as_quickbooks_does(
        qbo_sandbox: QuickBooksSandbox) -> None:
    no_token = requests.get(f"{qbo_sandbox.api_url}/reports/ProfitAndLoss", headers={"Accept": "application/json"},
                            timeout=5)
    assert no_token.status_code == 401
    token = bearer(qbo_sandbox)
    for method, path in (("GET", "reports/ProfitAndLoss"), ("GET", "batch"), ("DELETE", "customer/1")):
        answer = api(qbo_sandbox, method, path, token)
        error = answer.json()["Fault"]["Error"][0]
        assert (answer.status_code, error["Message"]) == (400, "Unsupported Operation"), (method, path)
        assert error["Detail"] == f"Operation {method} {path.lower()} (not modelled by the sandbox) is not supported."


def test_resource_names_are_read_in_any_case(qbo_sandbox: QuickBooksSandbox) -> None:
    token = bearer(qbo_sandbox)
    customer_id = next(iter(qbo_sandbox.backend.customers))
    lower = api(qbo_sandbox, "GET", f"customer/{customer_id}", token)
    upper = api(qbo_sandbox, "GET", f"Customer/{customer_id}/", token)
    assert lower.status_code == upper.status_code == 200
    assert upper.json()["Customer"] == lower.json()["Customer"]


def test_a_path_outside_the_api_is_a_404_without_authentication(qbo_sandbox: QuickBooksSandbox) -> None:
    answer = requests.get(f"{qbo_sandbox.base_url}/oauth2/v1/tokens/bearer", headers={"Accept": "application/json"},
                          timeout=5)
    assert answer.status_code == 404
    assert answer.json()["Fault"]["Error"][0]["Message"] == "Unsupported Operation"
