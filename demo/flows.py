"""The four flows wired to the two sandboxes, as a scheduler would run them (used by the demo and tests).

``inbound``  = source-coperniq | destination-quickbooks   (qbo:in:1 customers, qbo:in:2 invoices)
``outbound`` = source-quickbooks | destination-coperniq   (qbo:out:1 projects, qbo:out:2 invoices)
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from connector_core.runner import Connection, RunResult, run_connector
from sandboxes.coperniq import CoperniqSandbox
from sandboxes.quickbooks import QuickBooksSandbox

QBO_WRITES = r"/(batch|customer|invoice)$"
QBO_READS = r"/(query|cdc|preferences|companyinfo/\d+|customer/\d+|invoice/\d+)$"
COPERNIQ_WRITES = r"^/v1/(projects|contacts|invoices)"


def coperniq_config(sandbox: CoperniqSandbox) -> dict[str, Any]:
    return {"api_key": sandbox.api_key, "base_url": sandbox.base_url}


def quickbooks_config(sandbox: QuickBooksSandbox, **extra: Any) -> dict[str, Any]:
    return {"client_id": sandbox.client_id, "client_secret": sandbox.client_secret, "realm_id": sandbox.realm_id,
            "refresh_token": sandbox.current_refresh_token or sandbox.refresh_token,
            "base_url": sandbox.base_url, "token_url": sandbox.token_url, **extra}


@dataclass
class Traffic:
    """Requests one direction cost, as the sandboxes counted them."""

    coperniq_reads: int = 0
    coperniq_writes: int = 0
    qbo_reads: int = 0
    qbo_writes: int = 0


@dataclass
class Round:
    inbound: tuple[RunResult, RunResult]
    outbound: tuple[RunResult, RunResult]
    inbound_traffic: Traffic
    outbound_traffic: Traffic

    @property
    def writes(self) -> tuple[int, int]:
        """(QuickBooks writes, Coperniq writes) of the whole round."""
        t = (self.inbound_traffic, self.outbound_traffic)
        return sum(x.qbo_writes for x in t), sum(x.coperniq_writes for x in t)

    @property
    def errors(self) -> list[dict[str, Any]]:
        return errors_of(*self.inbound, *self.outbound)


def errors_of(*results: RunResult) -> list[dict[str, Any]]:
    """The errors (TRACE messages) the connectors of a round reported, in run order."""
    return [error for result in results for error in result.errors]


@dataclass
class TwoWaySync:
    coperniq: CoperniqSandbox
    quickbooks: QuickBooksSandbox
    outbound_config: dict[str, Any] = field(default_factory=dict)
    inbound_config: dict[str, Any] = field(default_factory=dict)
    # qbo:in:2's billing stages, set on both inbound connectors as a user would: destination-quickbooks
    # bills on them, source-coperniq re-sends the invoices of projects that move into them.
    invoice_stages: list[str] | None = None
    launcher: Callable[..., RunResult] = run_connector  # how each connector process runs (see connector_core)
    inbound: Connection = field(init=False)
    outbound: Connection = field(init=False)

    def __post_init__(self) -> None:
        self.reset()

    def reset(self) -> None:
        """New connections with no state, as after a reset in Airbyte."""
        stages = {"invoice_stages": list(self.invoice_stages)} if self.invoice_stages else {}
        self.inbound = Connection("source-coperniq", {**coperniq_config(self.coperniq), **stages},
                                  "destination-quickbooks",
                                  quickbooks_config(self.quickbooks, **stages, **self.inbound_config),
                                  launcher=self.launcher)
        self.outbound = Connection("source-quickbooks", quickbooks_config(self.quickbooks), "destination-coperniq",
                                   {**coperniq_config(self.coperniq), **self.outbound_config},
                                   launcher=self.launcher)

    def _run(self, connection: Connection) -> tuple[tuple[RunResult, RunResult], Traffic]:
        self.coperniq.log.clear()
        self.quickbooks.log.clear()
        results = connection.sync()
        traffic = Traffic(
            coperniq_reads=self.coperniq.log.count("GET", r"^/v1/"),
            coperniq_writes=sum(self.coperniq.log.count(m, COPERNIQ_WRITES) for m in ("POST", "PATCH", "DELETE")),
            qbo_reads=self.quickbooks.log.count(None, QBO_READS),
            qbo_writes=self.quickbooks.log.count("POST", QBO_WRITES),
        )
        return results, traffic

    def round(self) -> Round:
        inbound, inbound_traffic = self._run(self.inbound)
        outbound, outbound_traffic = self._run(self.outbound)
        return Round(inbound, outbound, inbound_traffic, outbound_traffic)
