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


class Bridges:
    """Bridges served in this process on one SQLite file: a restart keeps only what is on disk."""

    def __init__(self, database: str):
        self.database = database
        self.running: list[RunningBridge] = []

    def start(self, port: int = 0) -> RunningBridge:
        bridge = start_bridge(BridgeApp(Store(self.database), USERNAME, PASSWORD, API_KEY), API_KEY, port=port)
        self.running.append(bridge)
        return bridge

    def restart(self, url: str) -> RunningBridge:
        """Stop the bridge serving ``url`` and start a new one (new store, new sessions) on its port."""
        for bridge in [b for b in self.running if b.url == url]:
            bridge.stop()
            self.running.remove(bridge)
        return self.start(port=int(url.rsplit(":", 1)[1]))

    def stop_all(self) -> None:
        for bridge in self.running:
            bridge.stop()
        self.running = []


@pytest.fixture
def bridges(bridge_db: str) -> Iterator[Bridges]:
    started = Bridges(bridge_db)
    yield started
    started.stop_all()


@pytest.fixture
def desktop_sync(coperniq_sandbox_factory: Any, bridges: Bridges
                 ) -> Callable[..., DesktopTwoWaySync]:
    def build(projects: int = 12, customers: int = 4, invoices: int = 4, seed: int = 11,
              **inbound: Any) -> DesktopTwoWaySync:
        coperniq = coperniq_sandbox_factory(projects=projects, seed=seed, daily_quota=None)
        desktop = DesktopSandbox(customers=customers, invoices=invoices, seed=seed)
        bridge = bridges.start()
        return DesktopTwoWaySync(coperniq, desktop, bridge.url, inbound_config=inbound)
    return build
