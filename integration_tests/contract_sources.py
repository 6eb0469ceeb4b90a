"""The sources as issue 10's contract describes them, for testing the destinations in scheduler rounds.

The destinations route some records by a fact that lives in another record, so the sources put it on
the record (see mapping/README.md, "Triggers in scheduled syncs"):

- every ``invoices`` record of source-coperniq carries ``_project_stage`` (its project's current
  stage or phase name, or null), and source-coperniq sends again the invoices of a project whose
  stage or phase changed;
- every ``invoices`` record of source-quickbooks carries ``_coperniq_project_id`` (the project its
  customer's Notes link to, or null).

``ContractConnection`` runs the real source and, where a record lacks a contract field, adds it from
the sandbox as the source would (a source that already sends it is left alone), so these tests hold
the destinations to the contract whichever source version is installed.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from connector_core.runner import Connection, RunResult
from demo.flows import TwoWaySync, coperniq_config, quickbooks_config
from mapping.links import project_id_from_notes
from sandboxes.coperniq import CoperniqSandbox
from sandboxes.quickbooks import QuickBooksSandbox


def stage_name(project: dict[str, Any]) -> str | None:
    for key in ("stage", "phase"):
        value = project.get(key)
        if isinstance(value, dict) and value.get("name"):
            return str(value["name"])
    return None


def current_stages(coperniq: CoperniqSandbox) -> dict[int, str | None]:
    backend = coperniq.backend
    return {pid: stage_name(backend.project_json(p)) for pid, p in backend.projects.items()}


def _record(stream: str, data: dict[str, Any]) -> dict[str, Any]:
    return {"type": "RECORD", "record": {"stream": stream, "data": data, "emitted_at": 0}}


@dataclass
class ContractConnection(Connection):
    coperniq: CoperniqSandbox | None = None
    quickbooks: QuickBooksSandbox | None = None
    stages: dict[int, str | None] | None = None  # project stages at the previous read (source-coperniq)

    def read(self) -> RunResult:
        result = super().read()
        if self.source == "source-coperniq" and self.coperniq is not None:
            self._coperniq_contract(result)
        if self.source == "source-quickbooks" and self.quickbooks is not None:
            self._quickbooks_contract(result)
        return result

    def _coperniq_contract(self, result: RunResult) -> None:
        backend = self.coperniq.backend
        now = current_stages(self.coperniq)
        selected = {s["stream"]["name"] for s in self.catalog()["streams"]}
        sent = set()
        for message in result.messages:
            if message.get("type") == "RECORD" and message["record"]["stream"] == "invoices":
                data = message["record"]["data"]
                sent.add(data["id"])
                owner = (data.get("record") or {}).get("id")
                data.setdefault("_project_stage", now.get(owner))
        if self.stages is not None and "invoices" in selected:
            moved = {pid for pid, stage in now.items() if self.stages.get(pid) != stage}
            extra = [_record("invoices", {**backend.invoice_json(i), "_project_stage": now[i.record_id]})
                     for i in sorted(backend.invoices.values(), key=lambda i: i.id)
                     if i.record_id in moved and i.id not in sent]
            states = [n for n, m in enumerate(result.messages) if m.get("type") == "STATE"]
            at = states[-1] if states else len(result.messages)
            result.messages[at:at] = extra
        self.stages = now

    def _quickbooks_contract(self, result: RunResult) -> None:
        customers = self.quickbooks.backend.customers
        for message in result.messages:
            if message.get("type") == "RECORD" and message["record"]["stream"] == "invoices":
                data = message["record"]["data"]
                customer = customers.get(str((data.get("CustomerRef") or {}).get("value")))
                data.setdefault("_coperniq_project_id", project_id_from_notes((customer or {}).get("Notes")))


class ContractTwoWaySync(TwoWaySync):
    """demo.flows.TwoWaySync over ContractConnections."""

    def reset(self) -> None:
        self.inbound = ContractConnection("source-coperniq", coperniq_config(self.coperniq), "destination-quickbooks",
                                          quickbooks_config(self.quickbooks, **self.inbound_config),
                                          coperniq=self.coperniq)
        self.outbound = ContractConnection("source-quickbooks", quickbooks_config(self.quickbooks),
                                           "destination-coperniq",
                                           {**coperniq_config(self.coperniq), **self.outbound_config},
                                           quickbooks=self.quickbooks)


__all__ = ["ContractConnection", "ContractTwoWaySync", "current_stages", "stage_name"]
