"""destination-quickbooks' executor: planned writes -> ``/batch`` requests, and their answers.

Creates and sparse updates go 30 to a batch, each batch with a ``requestid`` new to this run (a random
run id and the batch's number): a retried call reuses it and never writes twice, while a later run
never replays an old answer (a fault whose cause was since fixed, say); duplicates across runs are
prevented by the planner's look-ups. Per-item faults get the one retry the planner allows
(``planner.retry_after_fault``: a stale SyncToken re-reads the object first); anything else is
reported with the record's id (or stops the sync with ``on_record_error: fail``). Pacing and
transport retries are the client's (``qbo.client``). A dry run sends nothing and reports the plan.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from connector_core.destination import WriteReport, describe_fields
from destination_quickbooks.planner import PlannedWrite, Retry, retry_after_fault
from qbo.client import MAX_BATCH_ITEMS, QuickBooksClient, batch_item_fault
from qbo.errors import STALE_OBJECT, QuickBooksFault


def chunks(values: Sequence[Any], size: int) -> Iterator[Sequence[Any]]:
    for start in range(0, len(values), size):
        yield values[start:start + size]


@dataclass(frozen=True)
class Answer:
    """What QuickBooks holds after a write: ``action`` created, updated, unchanged or reread (a fresh copy)."""

    write: PlannedWrite
    obj: dict[str, Any]
    action: str


class BatchExecutor:
    def __init__(self, client: QuickBooksClient, report: WriteReport, dry_run: bool = False) -> None:
        self.client = client
        self.report = report
        self.dry_run = dry_run
        # requestids unique to this run: a retry within the run reuses its batch's id (QuickBooks then
        # answers without writing twice); a later run never replays an earlier run's answer.
        self.run_id = uuid.uuid4().hex[:24]
        self.batches_sent = 0

    def execute(self, writes: Sequence[PlannedWrite]) -> list[Answer]:
        """Send the writes (a retry round for the faults that deserve one); what QuickBooks answered, in order."""
        if self.dry_run:
            return [self._planned(write) for write in writes]
        answers: list[Answer] = []
        pending, may_retry = list(writes), True
        while pending:
            retries: list[PlannedWrite] = []
            for chunk in chunks(pending, MAX_BATCH_ITEMS):
                answers += self._send(chunk, retries if may_retry else None)
            pending, may_retry = retries, False
        return answers

    def _planned(self, write: PlannedWrite) -> Answer:
        """Dry run: report the write; a customer to create stands in for itself, so its invoices are planned too."""
        what = f"{write.action} {write.entity} {describe_fields(write.body)}"
        self.report.plan(write.stream, write.action, write.record_id, what + (f" ({write.reason})"
                                                                               if write.reason else ""))
        if write.entity == "Customer" and write.action == "create":
            return Answer(write, {**write.body, "Id": f"(new for project {write.coperniq_id})", "SyncToken": "0"},
                          "created")
        return Answer(write, write.body, "planned")

    def _send(self, chunk: Sequence[PlannedWrite], retries: list[PlannedWrite] | None) -> list[Answer]:
        items = [{"bId": str(n), "operation": write.action, write.entity: write.body} for n, write in enumerate(chunk)]
        self.batches_sent += 1
        replies = self.client.batch(items, request_id=f"{self.run_id}-{self.batches_sent}")
        answers: list[Answer] = []
        for n, write in enumerate(chunk):
            reply = replies.get(str(n), {})
            fault = batch_item_fault(reply) if reply else None
            if reply and fault is None and write.entity in reply:
                self.report.count(write.stream, "created" if write.action == "create" else "updated")
                answers.append(Answer(write, reply[write.entity], write.action + "d"))
                continue
            retry = self._retry(write, fault, answers) if retries is not None and fault is not None else None
            if retry is None:
                self.report.reject(write.stream, write.record_id,
                                   f"QuickBooks rejected it: {fault or 'no answer for this batch item'}")
            elif retry.write is None:
                self.report.count(write.stream, "unchanged")
            else:
                if retry.caveat:
                    self.report.caveat(write.stream, write.record_id, retry.caveat)
                retries.append(retry.write)  # type: ignore[union-attr]
        return answers

    def _retry(self, write: PlannedWrite, fault: QuickBooksFault, answers: list[Answer]) -> Retry | None:
        fresh = None
        if fault.has_code(STALE_OBJECT) and write.action == "update":
            # Someone edited the object since we read it: re-read, recompute, never overwrite blindly.
            fresh = self.client.read(write.entity, write.body["Id"])
            answers.append(Answer(write, fresh, "reread"))
        return retry_after_fault(write, fault, fresh)
