"""The "Connect QuickBooks" button, as Airbyte's declarative OAuth runs it, against the QuickBooks sandbox.

The platform renders the spec's ``advanced_auth`` templates with Jinjava (its ``DeclarativeOAuthSpecHandler``):
the consent URL, then the code exchange, whose ``access_token_params`` go in a form-encoded body when the
headers say ``application/x-www-form-urlencoded``; ``extract_output`` picks fields of the token answer,
``expires_in`` also becoming ``token_expiry_date``; ``complete_oauth_output_specification`` places them in
the config. Jinja2 renders the same templates here (with Jinjava's ``b64encode`` filter added), so this test
runs the flow a user would, and the connectors then work with the config it produced, with no realm ID typed.
"""

from __future__ import annotations

import base64
import json
import logging
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import jinja2
import pytest
import requests
from airbyte_cdk.models import Status

from destination_quickbooks.destination import DestinationQuickbooks
from qbo.auth import INTUIT_AUTHORIZE_URL, INTUIT_TOKEN_URL, id_token_claims, realm_id_from
from sandboxes.quickbooks import QuickBooksSandbox
from source_quickbooks.source import SourceQuickbooks

ROOT = Path(__file__).resolve().parents[1]
REDIRECT_URI = "https://airbyte.example/auth_flow"
SPECS = ("source_quickbooks", "destination_quickbooks")


def advanced_auth(package: str) -> dict[str, Any]:
    return json.loads((ROOT / package / "spec.json").read_text())["advanced_auth"]


def template_values(client_id: str, client_secret: str, code: str = "", state: str = "") -> dict[str, str]:
    """The names DeclarativeOAuthSpecHandler offers a template (its defaults: no key overrides in our specs)."""
    return {"client_id_key": "client_id", "client_id_value": client_id, "client_secret_value": client_secret,
            "redirect_uri_key": "redirect_uri", "redirect_uri_value": REDIRECT_URI, "scope_key": "scope",
            "state_key": "state", "state_value": state, "auth_code_key": "code", "auth_code_value": code}


def render(template: str, values: dict[str, str]) -> str:
    environment = jinja2.Environment()
    environment.filters["b64encode"] = lambda text: base64.b64encode(str(text).encode()).decode()
    return environment.from_string(template).render(**values)


def connect_with_the_button(sandbox: QuickBooksSandbox, spec: dict[str, Any]) -> dict[str, Any]:
    """Consent, code exchange and output mapping as the platform does them; returns the config it stores."""
    oauth = spec["oauth_config_specification"]
    inputs = oauth["oauth_connector_input_specification"]
    consent = render(inputs["consent_url"], {**template_values(sandbox.client_id, sandbox.client_secret, state="s1"),
                                             "scope_value": inputs["scope"]})
    # The sandbox stands in for Intuit's hosts: same paths, local address.
    consent = consent.replace(INTUIT_AUTHORIZE_URL, f"{sandbox.base_url}/connect/oauth2")
    redirect = requests.get(consent, allow_redirects=False, timeout=10)
    assert redirect.status_code == 302, redirect.text
    callback = parse_qs(urlsplit(redirect.headers["Location"]).query)
    assert callback["state"] == ["s1"]

    values = template_values(sandbox.client_id, sandbox.client_secret, code=callback["code"][0])
    headers = {render(k, values): render(v, values) for k, v in inputs["access_token_headers"].items()}
    params = {render(k, values): render(v, values) for k, v in inputs["access_token_params"].items()}
    assert headers["Content-Type"] == "application/x-www-form-urlencoded"
    url = inputs["access_token_url"].replace(INTUIT_TOKEN_URL, sandbox.token_url)
    answer = requests.post(url, headers=headers, data=params, timeout=10)  # a form body, as Intuit documents
    assert answer.status_code == 200, answer.text
    body = answer.json()

    output = {key: body[key] for key in inputs["extract_output"]}
    output["token_expiry_date"] = (datetime.now(UTC) + timedelta(seconds=int(body["expires_in"]))).isoformat()
    config: dict[str, Any] = {}
    for field in oauth["complete_oauth_output_specification"]["properties"].values():
        config[field["path_in_connector_config"][0]] = output[field["path_in_oauth_response"][0]]
    server = {"client_id": sandbox.client_id, "client_secret": sandbox.client_secret}
    for name, field in oauth["complete_oauth_server_output_specification"]["properties"].items():
        config[field["path_in_connector_config"][0]] = server[name]
    return {**config, "callback_realm": callback["realmId"][0]}


def test_both_quickbooks_specs_carry_the_same_button() -> None:
    assert advanced_auth("source_quickbooks") == advanced_auth("destination_quickbooks")


def test_the_code_exchange_sends_a_form_body_with_basic_client_auth_not_a_query_string() -> None:
    oauth = advanced_auth("destination_quickbooks")["oauth_config_specification"]
    inputs = oauth["oauth_connector_input_specification"]
    assert inputs["access_token_url"] == INTUIT_TOKEN_URL, "no parameters on the query string"
    values = template_values("app", "secret", code="C1")
    params = {render(k, values): render(v, values) for k, v in inputs["access_token_params"].items()}
    assert params == {"grant_type": "authorization_code", "code": "C1", "redirect_uri": REDIRECT_URI}
    authorization = render(inputs["access_token_headers"]["Authorization"], template_values("app", "secret"))
    assert authorization == "Basic " + base64.b64encode(b"app:secret").decode()
    assert "client_secret" not in params


@pytest.mark.parametrize("package", SPECS)
def test_a_user_who_connects_with_the_button_gets_a_working_connection_without_typing_the_realm_id(
        qbo_sandbox: QuickBooksSandbox, package: str) -> None:
    stored = connect_with_the_button(qbo_sandbox, advanced_auth(package))
    callback_realm = stored.pop("callback_realm")
    assert "realm_id" not in stored
    assert id_token_claims(stored["id_token"])["realmid"] == callback_realm == qbo_sandbox.realm_id
    assert realm_id_from(stored) == qbo_sandbox.realm_id
    config = {**stored, "base_url": qbo_sandbox.base_url, "token_url": qbo_sandbox.token_url}
    logger = logging.getLogger("airbyte.test")
    if package == "destination_quickbooks":
        assert DestinationQuickbooks().check(logger, config).status == Status.SUCCEEDED
    else:
        assert SourceQuickbooks().check_connection(logger, config) == (True, None)


def test_without_realm_id_or_id_token_the_check_says_where_to_find_it(qbo_sandbox: QuickBooksSandbox) -> None:
    config = {"client_id": qbo_sandbox.client_id, "client_secret": qbo_sandbox.client_secret,
              "refresh_token": qbo_sandbox.refresh_token, "base_url": qbo_sandbox.base_url,
              "token_url": qbo_sandbox.token_url}
    status = DestinationQuickbooks().check(logging.getLogger("airbyte.test"), config)
    assert status.status == Status.FAILED
    assert "`realm_id` is required" in (status.message or "") and "Company ID" in (status.message or "")


def test_a_typed_realm_id_wins_over_the_id_token() -> None:
    header = base64.urlsafe_b64encode(b'{"alg":"none"}').rstrip(b"=").decode()
    claims = base64.urlsafe_b64encode(b'{"realmid":"111"}').rstrip(b"=").decode()
    token = f"{header}.{claims}.x"
    assert realm_id_from({"id_token": token}) == "111"
    assert realm_id_from({"id_token": token, "realm_id": " 222 "}) == "222"
    assert id_token_claims("not-a-jwt") == {}
