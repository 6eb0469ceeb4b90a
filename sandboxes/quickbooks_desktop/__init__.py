"""A QuickBooks Desktop company file plus a Web Connector stand-in that polls a bridge (see README.md).

```python
from sandboxes.quickbooks_desktop import DesktopSandbox

sandbox = DesktopSandbox(customers=10, invoices=12, seed=42)
with sandbox.bridge(username="qbwc", password="secret", api_key="key") as bridge:   # in-process bridge
    sandbox.connect(bridge.url, "qbwc", "secret")
    sandbox.web_connector.run_session()
```
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from werkzeug.serving import BaseWSGIServer, make_server

from sandboxes.quickbooks_desktop.models import CompanyFile, QbError
from sandboxes.quickbooks_desktop.seed import ITEM, seed_company
from sandboxes.quickbooks_desktop.webconnector import Faults, SessionReport, WebConnector

__all__ = ["CompanyFile", "DesktopSandbox", "Faults", "ITEM", "QbError", "RunningBridge", "SessionReport",
           "WebConnector"]


@dataclass
class RunningBridge:
    url: str
    server: BaseWSGIServer
    thread: threading.Thread
    api_key: str

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(timeout=10)


class DesktopSandbox:
    def __init__(self, customers: int = 10, invoices: int = 12, seed: int = 42):
        self.company = seed_company(CompanyFile(), customers, invoices, seed)
        self.web_connector: WebConnector | None = None

    def connect(self, bridge_url: str, username: str, password: str) -> WebConnector:
        self.web_connector = WebConnector(bridge_url, username, password, self.company)
        return self.web_connector

    @staticmethod
    @contextmanager
    def bridge(database: str = "sqlite://", username: str = "qbwc", password: str = "sandbox-password",
               api_key: str = "sandbox-api-key") -> Iterator[RunningBridge]:
        """A bridge served in this process on a free port (a SQLite file keeps its state across restarts)."""
        from quickbooks_desktop_bridge.api import BridgeApp
        from quickbooks_desktop_bridge.store import Store

        running = start_bridge(BridgeApp(Store(database), username, password, api_key), api_key)
        try:
            yield running
        finally:
            running.stop()


def start_bridge(app: object, api_key: str, port: int = 0) -> RunningBridge:
    logging.getLogger("werkzeug").setLevel(logging.WARNING)
    server = make_server("127.0.0.1", port, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    return RunningBridge(f"http://127.0.0.1:{server.server_port}", server, thread, api_key)
