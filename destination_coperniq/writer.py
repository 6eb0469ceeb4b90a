"""destination-coperniq's buffer: admits QuickBooks records, then plans and executes them a flush at a time.

A flush reads ahead what its records will ask of Coperniq (``lookups.CoperniqHoldings``), then for each
record, customers first: the quota guard, the plan (``planner``: what to write and why, nothing
written), the execution (``executor``). Planning and executing one record at a time keeps the quota
guard between records and makes a record's writes see the ones before it.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

from connector_core.destination import WriteReport
from coperniq.client import CoperniqClient
from destination_coperniq.executor import PlanExecutor
from destination_coperniq.lookups import CoperniqHoldings
from destination_coperniq.planner import WriteRules, plan_record
from mapping.coperniq_targets import is_deleted
from mapping.qbd import online_record
from mapping.qbo_to_coperniq import record_problem

# The QuickBooks streams this destination takes (from source-quickbooks or source-quickbooks-desktop).
INPUT_STREAMS = ("customers", "invoices")


class CoperniqWriter:
    def __init__(self, client: CoperniqClient, config: Mapping[str, Any], logger: logging.Logger):
        self.client = client
        self.dry_run = bool(config.get("dry_run"))
        self.rules = WriteRules.from_config(config)
        self.report = WriteReport(fail_fast=config.get("on_record_error") == "fail")
        self.holdings = CoperniqHoldings(client, logger, config.get("invoice_catalog_item_id"))
        self.executor = PlanExecutor(client, self.holdings, self.report, self.dry_run,
                                     int(config.get("min_remaining_quota", 100) or 0))
        self._pending: dict[str, dict[str, dict[str, Any]]] = {stream: {} for stream in INPUT_STREAMS}

    def pending_count(self) -> int:
        return sum(len(records) for records in self._pending.values())

    def deferred_count(self) -> int:
        return 0  # every flush writes all it has

    def add(self, stream: str, record: Mapping[str, Any]) -> None:
        if stream not in INPUT_STREAMS:
            self.report.skip(stream, record.get("Id"), f"unknown stream {stream!r}; expected customers or invoices")
            return
        admitted = online_record(stream, dict(record))  # QuickBooks Desktop records arrive in qbXML names
        if "_coperniq_project_id" in record:  # the source's link to the project travels with the record
            admitted["_coperniq_project_id"] = record["_coperniq_project_id"]
        record_id = admitted.get("Id")
        if not isinstance(record_id, str | int) or isinstance(record_id, bool) or not str(record_id).strip():
            self.report.skip(stream, record_id, "record has no QuickBooks `Id`")
            return
        problem = None if is_deleted(admitted) else record_problem(stream, dict(admitted))
        if problem is not None:
            self.report.reject(stream, record_id, f"cannot be mapped to Coperniq: {problem}")
            return
        self._pending[stream][str(record_id)] = admitted

    def flush(self, final: bool = False) -> None:
        customers = sorted(self._pending["customers"].values(),
                           key=lambda c: int(c["Id"]) if str(c["Id"]).isdigit() else 0)
        invoices = list(self._pending["invoices"].values())
        self._pending = {stream: {} for stream in INPUT_STREAMS}
        self.holdings.read_ahead(customers, invoices, self.rules)
        for stream, records in (("customers", customers), ("invoices", invoices)):
            for record in records:
                self.executor.guard_quota()
                with self.executor.record_faults(stream, record["Id"]):
                    plan = plan_record(stream, record, self.holdings, self.rules)
                    self.holdings.learn_link(plan)
                    self.executor.execute(plan)
