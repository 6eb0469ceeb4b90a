"""Starts a Coperniq sandbox for the standard tests and writes the configs they read."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from sandboxes.coperniq import make_sandbox

CONFIGS = Path(__file__).parent / "sandbox_configs"  # not "secrets": the suite marks those requires_creds


@pytest.fixture(scope="module", autouse=True)
def coperniq_standard_sandbox() -> Iterator[None]:
    sandbox = make_sandbox(projects=60, seed=21, daily_quota=None).start()
    CONFIGS.mkdir(exist_ok=True)
    good = {"api_key": sandbox.api_key, "base_url": sandbox.base_url}
    (CONFIGS / "config.json").write_text(json.dumps(good))
    (CONFIGS / "invalid_config.json").write_text(json.dumps({**good, "api_key": "not-a-valid-key"}))
    yield
    sandbox.stop()
