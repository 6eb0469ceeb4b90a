"""What both QuickBooks writers (Online and Desktop) share around their intake: the buffer counts, ``add``
with the connector's caveat on a project title, a flush's records with the invoices it may write, and
the report of the records a plan writes nothing for."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Iterable, Mapping
from typing import Any

from connector_core.destination import WriteReport
from destination_quickbooks.intake import FlushRecords, Outcome, RecordIntake
from destination_quickbooks.planner import InvoiceSelection, select_invoices


class IntakeWriter(ABC):
    """What both QuickBooks writers share around their intake: the buffer counts, ``add`` with the
    connector's caveat on a project title, and recording the records a plan writes nothing for."""

    report: WriteReport
    intake: RecordIntake
    stages: frozenset[str]  # the ``invoice_stages`` setting (mapping.write_rules.stage_names)

    def pending_count(self) -> int:
        return self.intake.pending_count()

    def deferred_count(self) -> int:
        return self.intake.deferred_count()

    def add(self, stream: str, record: Mapping[str, Any]) -> None:
        record_id = self.intake.add(stream, record)
        if record_id is not None and stream == "projects":
            caveat = self.title_caveat(record)
            if caveat is not None:
                self.report.caveat(stream, record_id, caveat)

    @abstractmethod
    def title_caveat(self, project: Mapping[str, Any]) -> str | None:
        """A note when QuickBooks keeps only part of the project's title (each writer knows its limit)."""

    def record_outcomes(self, outcomes: Iterable[Outcome]) -> None:
        for outcome in outcomes:
            self.report.note(outcome.stream, outcome.record_id, outcome.kind, outcome.reason)

    def take_flush(self, final: bool) -> tuple[FlushRecords, InvoiceSelection]:
        """The records of a flush and the invoices it may write; those it may not are reported."""
        records = self.intake.take(final)
        selection = select_invoices(records.invoices.values(), self.intake.facts, self.stages)
        self.record_outcomes(selection.outcomes)
        records.note_invoice_titles(selection.invoices)
        return records, selection
