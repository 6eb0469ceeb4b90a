"""Starts a polled bridge for the standard source tests and writes the configs they read (desktop_bridge.py)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from integration_tests.standard.desktop_bridge import bridge_with_configs

CONFIGS = Path(__file__).parent / "sandbox_configs"  # not "secrets": the suite marks those requires_creds


@pytest.fixture(scope="module", autouse=True)
def desktop_source_bridge() -> Iterator[None]:
    with bridge_with_configs(CONFIGS):
        yield
