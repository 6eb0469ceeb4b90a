"""Starts a Coperniq sandbox for the standard destination tests and writes the configs they read."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from sandboxes.coperniq import make_sandbox

CONFIGS = Path(__file__).parent / "sandbox_configs"  # not "secrets": the suite marks those requires_creds


@pytest.fixture(scope="module", autouse=True)
def coperniq_destination_sandbox() -> Iterator[None]:
    sandbox = make_sandbox(projects=5, seed=21, daily_quota=None).start()
    CONFIGS.mkdir(exist_ok=True)
    item_id = next(iter(sandbox.backend.catalog_items))
    good = {"api_key": sandbox.api_key, "base_url": sandbox.base_url, "invoice_catalog_item_id": item_id}
    configs = {
        "config.json": good,
        "invalid_api_key.json": {**good, "api_key": "not-a-valid-key"},
        "missing_catalog_item.json": {**good, "invoice_catalog_item_id": 987654},
    }
    for name, config in configs.items():
        (CONFIGS / name).write_text(json.dumps(config))
    yield
    sandbox.stop()
