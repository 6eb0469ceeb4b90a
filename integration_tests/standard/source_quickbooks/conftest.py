"""Starts a QuickBooks sandbox for the standard tests and writes the configs they read.

The suite runs the connector many times from the same config file, while QuickBooks rotates the
refresh token on every refresh. So the config holds what the platform would have stored after a
first sync: the newest refresh token and a live access token, and no test needs to refresh.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import requests

from sandboxes.quickbooks import make_sandbox

CONFIGS = Path(__file__).parent / "sandbox_configs"  # not "secrets": the suite marks those requires_creds


@pytest.fixture(scope="module", autouse=True)
def quickbooks_standard_sandbox() -> Iterator[None]:
    sandbox = make_sandbox(customers=40, invoices=60, seed=21, throttle=False).start()
    token = requests.post(sandbox.token_url, auth=(sandbox.client_id, sandbox.client_secret), timeout=10,
                          data={"grant_type": "refresh_token", "refresh_token": sandbox.refresh_token}).json()
    expiry = datetime.now(UTC) + timedelta(seconds=int(token["expires_in"]))
    CONFIGS.mkdir(exist_ok=True)
    good = {"client_id": sandbox.client_id, "client_secret": sandbox.client_secret, "realm_id": sandbox.realm_id,
            "refresh_token": token["refresh_token"], "access_token": token["access_token"],
            "token_expiry_date": expiry.isoformat(), "base_url": sandbox.base_url, "token_url": sandbox.token_url}
    (CONFIGS / "config.json").write_text(json.dumps(good))
    invalid = {key: value for key, value in good.items() if key not in ("access_token", "token_expiry_date")}
    (CONFIGS / "invalid_config.json").write_text(json.dumps({**invalid, "refresh_token": "not-a-valid-token"}))
    yield
    sandbox.stop()
