"""Intuit OAuth 2: hourly access tokens and rotating refresh tokens, persisted through CONTROL messages.

The CDK's ``SingleUseRefreshTokenOauth2Authenticator`` does the work: it refreshes when the
access token expires (or on a 401, through the error handler), stores the new refresh token in
the config and emits an Airbyte ``CONNECTOR_CONFIG`` control message so the platform saves it.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Mapping, MutableMapping
from typing import Any

from airbyte_cdk.sources.streams.http.requests_native_auth import SingleUseRefreshTokenOauth2Authenticator

INTUIT_TOKEN_URL = "https://oauth.platform.intuit.com/oauth2/v1/tokens/bearer"
INTUIT_AUTHORIZE_URL = "https://appcenter.intuit.com/connect/oauth2"
ACCOUNTING_SCOPE = "com.intuit.quickbooks.accounting"
REALM_ID_HELP = ("the QuickBooks company ID: QuickBooks > Settings > Account and settings > Billing & subscription > "
                 "Company ID, or the realmId in the address Intuit redirects to after you connect the app")


def id_token_claims(id_token: str) -> dict[str, Any]:
    """The claims of an OpenID Connect ID token (a JWT), read without verifying its signature.

    Not verified on purpose: the platform stored the token straight from Intuit's token endpoint
    (over TLS, with the app's secret), and whoever could forge the config could type ``realm_id`` anyway.
    """
    try:
        payload = id_token.split(".")[1]
        claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    except (IndexError, ValueError):
        return {}
    return claims if isinstance(claims, dict) else {}


def realm_id_from(config: Mapping[str, Any]) -> str:
    """``realm_id`` as typed, else the ``realmid`` claim of the ID token a "Connect" button stored.

    Intuit hands the company's realmId to the consent redirect, which Airbyte's declarative OAuth does
    not capture; with the ``openid`` scope it also puts it in the ID token of the code exchange,
    which the button keeps as ``id_token``.
    """
    typed = str(config.get("realm_id") or "").strip()
    if typed:
        return typed
    claimed = str(id_token_claims(str(config.get("id_token") or "")).get("realmid") or "").strip()
    if claimed:
        return claimed
    raise ValueError(f"`realm_id` is required: {REALM_ID_HELP}. Connecting with the \"Connect QuickBooks\" "
                     "button fills it in.")


def build_authenticator(config: MutableMapping[str, Any]) -> SingleUseRefreshTokenOauth2Authenticator:
    """An authenticator that reads and rewrites the top-level keys of ``config`` in place.

    ``access_token`` and ``token_expiry_date`` are optional in the config; when absent the first
    call refreshes. Client credentials go in a Basic header, as Intuit documents.
    """
    config.setdefault("access_token", "")
    config.setdefault("token_expiry_date", "")
    basic = base64.b64encode(f"{config['client_id']}:{config['client_secret']}".encode()).decode()
    return SingleUseRefreshTokenOauth2Authenticator(
        connector_config=config,
        token_refresh_endpoint=config.get("token_url") or INTUIT_TOKEN_URL,
        client_id=config["client_id"],
        client_secret=config["client_secret"],
        access_token_config_path=("access_token",),
        refresh_token_config_path=("refresh_token",),
        token_expiry_date_config_path=("token_expiry_date",),
        refresh_request_headers={"Authorization": f"Basic {basic}", "Accept": "application/json"},
        # Intuit answers a dead refresh token with 400 invalid_grant: the user must reconnect.
        refresh_token_error_status_codes=(400, 401),
        refresh_token_error_key="error",
        refresh_token_error_values=("invalid_grant", "invalid_client"),
    )
