"""The Coperniq records a QuickBooks destination buffers between flushes (Online and Desktop alike).

Records arrive interleaved, in any order, and incrementally: a contact or invoice may come without its
project. The intake admits what can be mapped, keeps the latest version of each record, remembers a
few facts of every project seen (for its later contacts and invoices), and hands a flush its records
grouped by project.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from connector_core.destination import WriteReport
from coperniq.records import project_stage
from mapping.coperniq_to_qbo import record_problem

# The streams both QuickBooks destinations take from source-coperniq, in the order a flush writes them.
ACCEPTED_STREAMS = ("projects", "contacts", "invoices")
# Projects held back waiting for their contacts (see RecordIntake.take): a bound on memory.
MAX_HELD_PROJECTS = 20_000


@dataclass(frozen=True)
class Outcome:
    """A record a plan writes nothing for: counted (unchanged, filtered...) or reported (skipped, rejected)."""

    stream: str
    record_id: Any
    kind: str  # unchanged | filtered | owned_by_quickbooks | skipped | rejected
    reason: str = ""


@dataclass(frozen=True)
class ProjectFacts:
    """What the run remembers of a project after its records are flushed (small: for later contacts, invoices)."""

    stage: str | None = None
    primary_email: str | None = None
    primary_phone: str | None = None


def admitted_record_id(stream: str, record: Mapping[str, Any], report: WriteReport,
                       facts: dict[int, ProjectFacts]) -> int | None:
    """The id of a record the writer can map, else None with the reason reported; a project's facts are noted."""
    if stream not in ACCEPTED_STREAMS:
        report.skip(stream, record.get("id"),
                    f"unknown stream {stream!r}; expected one of {', '.join(ACCEPTED_STREAMS)}")
        return None
    record_id = record.get("id")
    if not isinstance(record_id, int) or isinstance(record_id, bool):
        report.skip(stream, record_id, "record has no integer `id`")
        return None
    problem = record_problem(stream, dict(record))
    if problem is not None:
        report.reject(stream, record_id, f"cannot be mapped to QuickBooks: {problem}")
        return None
    if stream == "projects":
        facts[record_id] = ProjectFacts(stage=project_stage(record), primary_email=record.get("primaryEmail"),
                                        primary_phone=record.get("primaryPhone"))
    return record_id


def _project_links(contact: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    return [link for link in contact.get("projects") or [] if isinstance(link, Mapping) and isinstance(
        link.get("id"), int)]


@dataclass
class FlushRecords:
    """One flush's records: projects, contacts grouped by project, invoices, and the titles they carry."""

    projects: dict[int, dict[str, Any]]
    contacts: dict[int, dict[str, Any]]
    invoices: dict[int, dict[str, Any]]
    contacts_by_project: dict[int, list[dict[str, Any]]] = field(default_factory=dict)
    titles: dict[int, str] = field(default_factory=dict)  # project id -> title a contact or invoice carries
    unlinked_contacts: list[int] = field(default_factory=list)  # contacts linked to no project

    def __post_init__(self) -> None:
        grouped: dict[int, list[dict[str, Any]]] = defaultdict(list)
        for contact in self.contacts.values():
            links = _project_links(contact)
            if not links:
                self.unlinked_contacts.append(contact["id"])
            for link in links:
                grouped[link["id"]].append(contact)
                self.titles.setdefault(link["id"], str(link.get("title") or ""))
        self.contacts_by_project = dict(grouped)

    def note_invoice_titles(self, invoices: Iterable[Mapping[str, Any]]) -> None:
        """The project titles invoices carry (``record.title``), for customers created without their project."""
        for invoice in invoices:
            record = invoice.get("record") or {}
            self.titles.setdefault(record["id"], str(record.get("title") or ""))


class RecordIntake:
    """Buffers admitted records by stream; holds projects back for their contacts when contacts are synced."""

    def __init__(self, report: WriteReport, streams: Iterable[str] = ()) -> None:
        self.report = report
        self.facts: dict[int, ProjectFacts] = {}
        self._records: dict[str, dict[int, dict[str, Any]]] = {stream: {} for stream in ACCEPTED_STREAMS}
        # With contacts in the sync, a project's customer is written once, with its contact, instead of
        # being created from the project and updated when the contact arrives a stream later.
        self._hold_projects = "contacts" in set(streams)
        self._held: dict[int, dict[str, Any]] = {}

    def pending_count(self) -> int:
        return sum(len(records) for records in self._records.values())

    def deferred_count(self) -> int:
        return len(self._held)

    def add(self, stream: str, record: Mapping[str, Any]) -> int | None:
        """Buffer a record (a later version replaces an earlier one: at-least-once delivery); its id, or None."""
        record_id = admitted_record_id(stream, record, self.report, self.facts)
        if record_id is not None:
            self._records[stream][record_id] = dict(record)
        return record_id

    def take(self, final: bool) -> FlushRecords:
        """What this flush writes; the buffers start over."""
        projects, contacts, invoices = (self._records[stream] for stream in ACCEPTED_STREAMS)
        self._records = {stream: {} for stream in ACCEPTED_STREAMS}
        return FlushRecords(self._release_held(projects, contacts, invoices, final), contacts, invoices)

    def _release_held(self, projects: dict[int, dict[str, Any]], contacts: Mapping[int, dict[str, Any]],
                      invoices: Mapping[int, dict[str, Any]], final: bool) -> dict[int, dict[str, Any]]:
        """The projects to write now; the others wait (held) for contacts that may still come.

        A source sends one stream after another, so on an initial load every project comes before
        any contact: written at once, each customer would be created from the project and updated
        when its contact arrives, two writes where one will do. A project is written with the first
        flush that brings a contact or an invoice of it, or at the end of the input, or when too many
        wait. The states behind held projects are acknowledged only once they are written.
        """
        if not self._hold_projects:
            return projects
        self._held.update(projects)
        if final or len(self._held) > MAX_HELD_PROJECTS:
            released, self._held = self._held, {}
            return released
        wanted = {link["id"] for contact in contacts.values() for link in _project_links(contact)
                  if link["id"] in self._held}
        wanted |= {invoice["record"]["id"] for invoice in invoices.values()
                   if isinstance(invoice.get("record"), Mapping) and invoice["record"].get("id") in self._held}
        return {project_id: self._held.pop(project_id) for project_id in sorted(wanted)}
