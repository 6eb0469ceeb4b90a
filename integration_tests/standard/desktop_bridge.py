"""What the CDK standard suites of the two Desktop connectors share: a bridge whose mirror the Web Connector filled.

The bridge is served in the test process on an in-memory SQLite store (the suite needs no restart), and
one session of the Web Connector stand-in reads the seeded company file's customers and invoices into its
mirror: what source-quickbooks-desktop reads, and a Web Connector that has polled, as `check` expects.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from demo.desktop import API_KEY, PASSWORD, USERNAME, bridge_config
from sandboxes.quickbooks_desktop import DesktopSandbox


@contextmanager
def bridge_with_configs(configs: Path) -> Iterator[dict[str, str]]:
    """A running, polled bridge; ``configs`` receives the suite's config files (good and failing ones)."""
    desktop = DesktopSandbox(customers=6, invoices=6, seed=21)
    with DesktopSandbox.bridge("sqlite://", USERNAME, PASSWORD, API_KEY) as bridge:
        session = desktop.connect(bridge.url, USERNAME, PASSWORD).run_session()
        assert session.authenticated and session.closed and not session.last_error, session
        good = bridge_config(bridge.url)
        failing = {
            "invalid_api_key.json": {**good, "api_key": "not-the-bridge-key"},  # the bridge answers 401
            # refused before any request: the Web Connector and the connectors speak https to a remote bridge
            "plain_http_remote.json": {**good, "bridge_url": "http://qbd-bridge.example.com"},
        }
        configs.mkdir(exist_ok=True)
        for name, config in {"config.json": good, **failing}.items():
            (configs / name).write_text(json.dumps(config))
        yield good
