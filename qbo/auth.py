"""Intuit OAuth 2: hourly access tokens and rotating refresh tokens, persisted through CONTROL messages.

The CDK's ``SingleUseRefreshTokenOauth2Authenticator`` does the work: it refreshes when the
access token expires (or on a 401, through the error handler), stores the new refresh token in
the config and emits an Airbyte ``CONNECTOR_CONFIG`` control message so the platform saves it.
"""

from __future__ import annotations

import base64
from collections.abc import MutableMapping
from typing import Any

from airbyte_cdk.sources.streams.http.requests_native_auth import SingleUseRefreshTokenOauth2Authenticator

INTUIT_TOKEN_URL = "https://oauth.platform.intuit.com/oauth2/v1/tokens/bearer"
INTUIT_AUTHORIZE_URL = "https://appcenter.intuit.com/connect/oauth2"
ACCOUNTING_SCOPE = "com.intuit.quickbooks.accounting"


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
