"""Starts a QuickBooks sandbox for the standard destination tests and writes the configs they read.

As for source-quickbooks, the good config holds what the platform stores after a first run (the newest
refresh token and a live access token), since every run of the suite reads the same file.
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
def quickbooks_destination_sandbox() -> Iterator[None]:
    sandbox = make_sandbox(customers=5, invoices=5, seed=21, throttle=False).start()
    token = requests.post(sandbox.token_url, auth=(sandbox.client_id, sandbox.client_secret), timeout=10,
                          data={"grant_type": "refresh_token", "refresh_token": sandbox.refresh_token}).json()
    expiry = datetime.now(UTC) + timedelta(seconds=int(token["expires_in"]))
    CONFIGS.mkdir(exist_ok=True)
    good = {"client_id": sandbox.client_id, "client_secret": sandbox.client_secret, "realm_id": sandbox.realm_id,
            "refresh_token": token["refresh_token"], "access_token": token["access_token"],
            "token_expiry_date": expiry.isoformat(), "base_url": sandbox.base_url, "token_url": sandbox.token_url}
    fresh = {key: value for key, value in good.items() if key not in ("access_token", "token_expiry_date")}
    configs = {
        "config.json": good,
        "invalid_refresh_token.json": {**fresh, "refresh_token": "not-a-valid-token"},
        "unknown_company.json": {**good, "realm_id": "4620816365"},
        "missing_item.json": {**good, "item_name": "No Such Item"},
    }
    for name, config in configs.items():
        (CONFIGS / name).write_text(json.dumps(config))
    yield
    sandbox.stop()
