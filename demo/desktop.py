"""The four flows through QuickBooks Desktop: Coperniq sandbox, the bridge, and the Web Connector + company sandbox.

``inbound``  = source-coperniq | destination-quickbooks-desktop   (qbo:in:1, qbo:in:2: writes queued in the bridge)
then the Web Connector runs a session (QuickBooks applies the queue, the bridge's mirror is refreshed)
``outbound`` = source-quickbooks-desktop | destination-coperniq   (qbo:out:1, qbo:out:2)

``run_desktop_round`` is what ``make demo`` can call; ``python -m demo.desktop`` runs four rounds.
"""

from __future__ import annotations

import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from connector_core.runner import Connection, RunResult
from demo.flows import COPERNIQ_WRITES, coperniq_config, errors_of
from sandboxes.coperniq import CoperniqSandbox
from sandboxes.coperniq import make_sandbox as make_coperniq
from sandboxes.quickbooks_desktop import DesktopSandbox, RunningBridge, SessionReport, start_bridge

USERNAME, PASSWORD, API_KEY = "qbwc", "sandbox-password", "sandbox-bridge-key"


def bridge_config(bridge_url: str, api_key: str = API_KEY, **extra: Any) -> dict[str, Any]:
    return {"bridge_url": bridge_url, "api_key": api_key, **extra}


@dataclass
class DesktopRound:
    inbound: tuple[RunResult, RunResult]
    sessions: list[SessionReport]
    outbound: tuple[RunResult, RunResult]
    qbxml_writes: int  # CustomerAdd/Mod and InvoiceAdd/Mod QuickBooks answered in this round
    qbxml_requests: int  # every qbXML request QuickBooks answered in this round
    coperniq_writes: int

    @property
    def writes(self) -> tuple[int, int]:
        return self.qbxml_writes, self.coperniq_writes

    @property
    def errors(self) -> list[dict[str, Any]]:
        return errors_of(*self.inbound, *self.outbound)


@dataclass
class DesktopTwoWaySync:
    coperniq: CoperniqSandbox
    desktop: DesktopSandbox
    bridge_url: str
    inbound_config: dict[str, Any] = field(default_factory=dict)
    outbound_config: dict[str, Any] = field(default_factory=dict)
    inbound: Connection = field(init=False)
    outbound: Connection = field(init=False)

    def __post_init__(self) -> None:
        self.desktop.connect(self.bridge_url, USERNAME, PASSWORD)
        self.reset()

    def reset(self) -> None:
        """New connections with no state, as after a reset in Airbyte."""
        self.inbound = Connection("source-coperniq", coperniq_config(self.coperniq), "destination-quickbooks-desktop",
                                  bridge_config(self.bridge_url, **self.inbound_config))
        self.outbound = Connection("source-quickbooks-desktop", bridge_config(self.bridge_url),
                                   "destination-coperniq", {**coperniq_config(self.coperniq), **self.outbound_config})

    def web_connector(self) -> list[SessionReport]:
        assert self.desktop.web_connector is not None
        return self.desktop.web_connector.run_until_idle()

    def round(self) -> DesktopRound:
        company = self.desktop.company
        writes_before, requests_before = company.writes(), company.requests_processed
        self.coperniq.log.clear()
        inbound = self.inbound.sync()
        sessions = self.web_connector()
        outbound = self.outbound.sync()
        coperniq_writes = sum(self.coperniq.log.count(m, COPERNIQ_WRITES) for m in ("POST", "PATCH", "DELETE"))
        return DesktopRound(inbound, sessions, outbound, company.writes() - writes_before,
                            company.requests_processed - requests_before, coperniq_writes)


def _summary(result: RunResult) -> str:
    line = next((m for m in result.logs() if m.startswith("Write summary:")), "Write summary: (none)")
    return line.removeprefix("Write summary: ")


def describe(name: str, round_: DesktopRound) -> str:
    (in_read, in_write), (out_read, out_write) = round_.inbound, round_.outbound
    sessions = [s for s in round_.sessions if s.happened]
    lines = [
        name,
        f"  Coperniq -> bridge: read {len(in_read.records_of('projects'))} projects, "
        f"{len(in_read.records_of('contacts'))} contacts, {len(in_read.records_of('invoices'))} invoices; "
        f"queued: {_summary(in_write)}",
        f"  Web Connector: {len(sessions)} session(s), {sum(s.message_sets for s in sessions)} message sets, "
        f"{round_.qbxml_requests} qbXML requests ({round_.qbxml_writes} writes)",
        f"  bridge -> Coperniq: read {len(out_read.records_of('customers'))} customers, "
        f"{len(out_read.records_of('invoices'))} invoices; written: {_summary(out_write)} "
        f"({round_.coperniq_writes} Coperniq writes)",
    ]
    lines += [f"  ERROR: {e['message']}" for e in round_.errors]
    return "\n".join(lines)


def run_desktop_round(sync: DesktopTwoWaySync, name: str = "Desktop round") -> DesktopRound:
    """One round of both directions through the bridge, printed as a summary (for ``make demo``)."""
    round_ = sync.round()
    print(describe(name, round_))
    return round_


def start_desktop(projects: int = 40, seed: int = 42, customers: int = 10, invoices: int = 12,
                  database: str | None = None) -> tuple[CoperniqSandbox, DesktopSandbox, RunningBridge]:
    """A started Coperniq sandbox, a seeded company file and a bridge (SQLite file) served in this process."""
    from quickbooks_desktop_bridge.api import BridgeApp
    from quickbooks_desktop_bridge.store import Store

    coperniq = make_coperniq(projects=projects, seed=seed, daily_quota=None).start()
    desktop = DesktopSandbox(customers=customers, invoices=invoices, seed=seed)
    database = database or str(Path(tempfile.mkdtemp(prefix="qbd-bridge-")) / "bridge.db")
    bridge = start_bridge(BridgeApp(Store(database), USERNAME, PASSWORD, API_KEY), API_KEY)
    return coperniq, desktop, bridge


def main() -> int:
    coperniq, desktop, bridge = start_desktop()
    try:
        print(f"Coperniq sandbox {coperniq.base_url}; bridge {bridge.url} (SOAP {bridge.url}/qbwc, "
              f".qwc {bridge.url}/qwc?api_key=...); company file with {len(desktop.company.customers)} customers, "
              f"{len(desktop.company.invoices)} invoices\n")
        sync = DesktopTwoWaySync(coperniq, desktop, bridge.url)
        rounds = [run_desktop_round(sync, "Round 1: first sync")]
        rounds.append(run_desktop_round(sync, "\nRound 2: nothing changed"))
        project_id = sorted(coperniq.backend.projects)[0]
        coperniq.backend.update_project(project_id, {"title": "Okafor Residence - Phase 2"})
        customer = desktop.company.find_customer(lambda c: "Coperniq project #" in (c.get("Notes") or ""))
        if customer is not None:
            desktop.company.edit_customer(customer["ListID"], Phone="(512) 555-0177")
        print(f"\nPeople work: project {project_id} renamed in Coperniq; a customer's phone changed in QuickBooks.")
        rounds.append(run_desktop_round(sync, "Round 3: the changes cross, once"))
        rounds.append(run_desktop_round(sync, "\nRound 4: quiet again"))
        quiet = [rounds[1].writes, rounds[3].writes]
        ok = not any(r.errors for r in rounds) and all(q == (0, 0) for q in quiet)
        print("\nQuiet rounds wrote nothing on either side." if ok else f"\nProblem: quiet rounds wrote {quiet}.")
        return 0 if ok else 1
    finally:
        bridge.stop()
        coperniq.stop()


if __name__ == "__main__":
    sys.exit(main())
