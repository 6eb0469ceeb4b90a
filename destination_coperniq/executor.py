"""Runs destination-coperniq's plans: the daily quota, the requests, the faults, the report.

Coperniq has no batch API and allows 5,000 requests a day per key: every request is counted, and the
executor stops the sync cleanly (after the last committed state) before the quota runs out. Retries and
backoff are the client's (``coperniq.client``); a create whose answer was lost is looked for before it
is sent again, so it is made once. A Coperniq refusal or a value no rule foresaw costs the one record
(reported), never the sync; a dry run reports each planned write instead of making it.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from connector_core.destination import WriteReport
from coperniq.client import CoperniqClient
from coperniq.errors import CoperniqError, quota_nearly_spent
from destination_coperniq.lookups import CoperniqHoldings
from destination_coperniq.planner import Finding, PlannedWrite, RecordPlan, WriteKind

# Requests one record may need at most (read project, search contact, patch both): the quota guard's unit.
REQUESTS_PER_RECORD = 4
COUNTED_AS = {"update": "updated", "create": "created"}  # the report's name of an action done


class PlanExecutor:
    def __init__(self, client: CoperniqClient, holdings: CoperniqHoldings, report: WriteReport,
                 dry_run: bool = False, min_remaining_quota: int = 100):
        self.client = client
        self.holdings = holdings
        self.report = report
        self.dry_run = dry_run
        self.min_remaining_quota = min_remaining_quota

    def guard_quota(self) -> None:
        """Stop the sync (a transient error: the next run resumes) before a record could run past the reserve."""
        remaining = self.client.rate_limit_remaining
        if remaining is not None and remaining < self.min_remaining_quota + REQUESTS_PER_RECORD:
            raise quota_nearly_spent(remaining, self.min_remaining_quota)

    @contextmanager
    def record_faults(self, stream: str, record_id: Any) -> Iterator[None]:
        """A Coperniq refusal, or a value of a shape the checks in ``add`` missed, rejects the one record."""
        try:
            yield
        except CoperniqError as error:
            self.report.reject(stream, record_id, str(error))
        except (ValueError, TypeError, AttributeError, ArithmeticError) as error:
            self.report.reject(stream, record_id, f"cannot be mapped to Coperniq: {type(error).__name__}: {error}")

    def execute(self, plan: RecordPlan) -> None:
        """Each step in order; a failing write (raised) leaves the record's later steps undone."""
        for step in plan.steps:
            if isinstance(step, Finding):
                self._note(plan, step)
            elif self.dry_run:
                self.report.plan(step.stream, step.kind.action, step.record_id, step.describe())
            else:
                self._write(step)
                self.report.count(step.stream, COUNTED_AS.get(step.kind.action, step.kind.action))

    def _note(self, plan: RecordPlan, finding: Finding) -> None:
        kind = {"skip": "skipped", "caveat": "caveat"}.get(finding.kind, finding.text)  # a count names its action
        self.report.note(plan.stream, plan.record_id, kind, finding.text)

    def _write(self, write: PlannedWrite) -> None:
        """One request, then what Coperniq now holds is kept for the rest of the run."""
        holdings, body = self.holdings, write.body
        if write.kind is WriteKind.UPDATE_PROJECT:
            self.client.update_project(_id(write), body)
            holdings.project_written(write.current or {}, body)
        elif write.kind is WriteKind.UPSERT_PROJECT:
            self.client.create_project(body, match_by=write.query.get("match_by"),
                                       match_found_strategy=write.query.get("match_found_strategy"))
        elif write.kind is WriteKind.CREATE_CONTACT:
            project_id = _id(write)
            holdings.contact_written(self.client.create_contact(
                body, find_created=lambda: holdings.created_contact(body, project_id)))
        elif write.kind is WriteKind.UPDATE_CONTACT:
            answer = self.client.update_contact(_id(write), body)
            holdings.contact_written({**(write.current or {}), **body, **(answer or {})})
        elif write.kind is WriteKind.CREATE_INVOICE:
            project_id = _id(write)
            holdings.invoice_created(self.client.create_invoice(
                body, find_created=lambda: holdings.created_invoice(project_id, write.record_id)), project_id)
        else:
            answer = self.client.update_invoice(_id(write), body)
            holdings.invoice_updated({**(write.current or {}), **body, **(answer or {})})


def _id(write: PlannedWrite) -> int:
    if write.coperniq_id is None:
        raise TypeError(f"a {write.kind.name} write needs the id of a Coperniq record")
    return write.coperniq_id
