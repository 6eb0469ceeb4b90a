"""What the CDK standard test suites of the four connectors share."""

from __future__ import annotations

from pathlib import Path

import pytest

HERE = Path(__file__).parent


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Docker image tests and tests against real credentials cannot run here (no engine, no keys)."""
    for item in list(items):
        if HERE in Path(str(item.fspath)).parents and (
                item.get_closest_marker("image_tests") or item.get_closest_marker("requires_creds")
                or "docker" in item.name):
            items.remove(item)
            config.hook.pytest_deselected(items=[item])
