"""Fixtures of the Desktop rounds: a Coperniq sandbox, a company file with its Web Connector, and a bridge."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from demo.desktop import API_KEY, PASSWORD, USERNAME, DesktopTwoWaySync
from quickbooks_desktop_bridge.api import BridgeApp
from quickbooks_desktop_bridge.store import Store
from sandboxes.quickbooks_desktop import DesktopSandbox, RunningBridge, start_bridge


@pytest.fixture
def bridge_db(tmp_path: Path) -> str:
    return str(tmp_path / "bridge.db")


@pytest.fixture
def bridge_factory(bridge_db: str) -> Iterator[Callable[..., RunningBridge]]:
    """Starts a bridge on the same SQLite file each time (a restart after a crash keeps only what is on disk)."""
    running: list[RunningBridge] = []

    def start(port: int = 0) -> RunningBridge:
        bridge = start_bridge(BridgeApp(Store(bridge_db), USERNAME, PASSWORD, API_KEY), API_KEY, port=port)
        running.append(bridge)
        return bridge

    yield start
    for bridge in running:
        try:
            bridge.stop()
        except Exception:  # noqa: BLE001 - already stopped by the test
            pass


@pytest.fixture
def desktop_sync(coperniq_sandbox_factory: Any, bridge_factory: Callable[..., RunningBridge]
                 ) -> Callable[..., DesktopTwoWaySync]:
    def build(projects: int = 12, customers: int = 4, invoices: int = 4, seed: int = 11,
              **inbound: Any) -> DesktopTwoWaySync:
        coperniq = coperniq_sandbox_factory(projects=projects, seed=seed, daily_quota=None)
        desktop = DesktopSandbox(customers=customers, invoices=invoices, seed=seed)
        bridge = bridge_factory()
        return DesktopTwoWaySync(coperniq, desktop, bridge.url, inbound_config=inbound)
    return build
