"""Upserts Coperniq projects, contacts and invoices into QuickBooks Customers and Invoices.

One flush, in order:
1. look up what QuickBooks already holds: every customer once per run (the link to a project
   lives in the customer's Notes, which queries cannot filter), and the invoices of this flush
   by number and by customer (two queries per 100 invoices, never one per record);
2. compute each customer's and invoice's desired fields with the pure mapping functions, and
   keep only the ones that differ from QuickBooks (unchanged records cost no write);
3. send creates and sparse updates through ``/batch``, 30 at a time, each batch with a
   ``requestid`` new to this run (a random run id and the batch's number): a retried call reuses it
   and never writes twice, while a later run never replays an old answer (a fault whose cause was
   since fixed, say); duplicates across runs are prevented by the look-ups of step 1;
4. resolve per-item faults: a stale SyncToken re-reads the object and retries with the fresh
   token; a duplicate DisplayName retries under the collision-free name; anything else is
   reported with the record's id (or stops the sync with ``on_record_error: fail``).

Records arrive interleaved, in any order, and incrementally: a contact or invoice may come
without its project. Whatever arrives, the customer is keyed by project id, and created from
the project title the contact (``projects[].title``) or the invoice (``record.title``) carries
when the project itself is not in the sync.
"""

from __future__ import annotations

import logging
import uuid
from collections import defaultdict
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from airbyte_cdk.models import FailureType
from airbyte_cdk.utils.traced_exception import AirbyteTracedException

from connector_core.destination import WriteReport, describe_fields
from coperniq.records import project_stage
from mapping.coperniq_to_qbo import (
    contact_reached_at,
    customer_changes,
    customer_fields,
    invoice_changes,
    invoice_fields,
    primary_contact,
    primary_contact_at,
    record_problem,
    shortened_title,
)
from mapping.invoice_numbers import doc_numbers_for_lookup, suffixed_doc_number
from mapping.links import (
    clean_display_name,
    customer_notes_with_link,
    invoice_id_from_note,
    is_inactive,
    own_display_name,
    project_id_from_notes,
    qbo_invoice_id_from_description,
    suffixed_display_name,
    title_from_display_name,
)
from mapping.ownership import invoice_to_create, invoice_update
from mapping.people import split_name
from qbo.client import MAX_BATCH_ITEMS, QuickBooksClient, batch_item_fault
from qbo.company import CompanySettings, currency_check, read_settings
from qbo.errors import DUPLICATE_DOC_NUMBER, DUPLICATE_NAME, STALE_OBJECT, QuickBooksFault
from qbo.query import in_list, quote

LOOKUP_CHUNK = 500  # values per IN (...): queries go by POST, so no URL limit; answers page by 1,000
STREAMS = ("projects", "contacts", "invoices")
# Projects held back waiting for their contacts (see QuickBooksWriter.flush): a bound on memory.
MAX_HELD_PROJECTS = 20_000


@dataclass
class CustomerIndex:
    """Every QuickBooks customer (inactive included), by linked project and by name."""

    by_project: dict[int, dict[str, Any]] = field(default_factory=dict)
    by_name: dict[str, dict[str, Any]] = field(default_factory=dict)
    adopted: set[str] = field(default_factory=set)

    def add(self, customer: dict[str, Any]) -> None:
        project_id = project_id_from_notes(customer.get("Notes"))
        if project_id is not None:
            self.by_project[project_id] = customer
        name = str(own_display_name(customer) or "").casefold()  # an inactive customer still holds its name
        if name:
            self.by_name[name] = customer

    def reserve(self, name: str, holder: dict[str, Any] | None = None) -> None:
        """Mark a name as taken: by a vendor or employee, or by a customer about to be created."""
        if name:
            self.by_name.setdefault(name.casefold(), holder or {"DisplayName": name})

    def holder_of(self, name: str) -> dict[str, Any] | None:
        return self.by_name.get(name.casefold())


@dataclass
class ProjectFacts:
    """What the run remembers of a project after its records are flushed (small: for later contacts, invoices)."""

    stage: str | None = None
    primary_email: str | None = None
    primary_phone: str | None = None


@dataclass
class Operation:
    """One batch item and what to do with its answer."""

    entity: str
    operation: str  # create | update
    body: dict[str, Any]
    stream: str
    record_id: Any
    key: int  # project id for customers, Coperniq invoice id for invoices



def admitted_record_id(stream: str, record: Mapping[str, Any], report: WriteReport,
                       facts: dict[int, ProjectFacts]) -> int | None:
    """The id of a record the writer can map, else None with the reason reported; a project's facts are noted.

    Shared by destination-quickbooks and destination-quickbooks-desktop: both take the same Coperniq records.
    """
    if stream not in STREAMS:
        report.skip(stream, record.get("id"), f"unknown stream {stream!r}; expected one of {', '.join(STREAMS)}")
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


def _chunks(values: Sequence[Any], size: int) -> Iterator[Sequence[Any]]:
    for start in range(0, len(values), size):
        yield values[start:start + size]


class QuickBooksWriter:
    def __init__(self, client: QuickBooksClient, config: Mapping[str, Any], logger: logging.Logger,
                 streams: Iterable[str] = ()):
        self.client = client
        self.logger = logger
        self.currency = str(config.get("currency") or "USD")
        self.stages = {s.strip().casefold() for s in config.get("invoice_stages") or [] if str(s).strip()}
        self.item_name = str(config.get("item_name") or "Services")
        self.description_target = str(config.get("invoice_description_target") or "CustomerMemo")
        self.dry_run = bool(config.get("dry_run"))
        self.report = WriteReport(fail_fast=config.get("on_record_error") == "fail")
        self._projects: dict[int, dict[str, Any]] = {}
        self._contacts: dict[int, dict[str, Any]] = {}
        self._invoices: dict[int, dict[str, Any]] = {}
        # With contacts in the sync, a project's customer is written once, with its contact, instead of
        # being created from the project and updated when the contact arrives a stream later.
        self._hold_projects = "contacts" in set(streams)
        self._held: dict[int, dict[str, Any]] = {}
        self._new_customers: set[str] = set()  # customers this run created
        self._others_reserved = False  # vendor and employee names read (only once a customer is named)
        self._written_invoices: dict[int, dict[str, Any]] = {}  # by Coperniq invoice id, as QuickBooks answered
        self._facts: dict[int, ProjectFacts] = {}
        self._index: CustomerIndex | None = None
        self._item_ref: dict[str, str] | None = None
        # requestids unique to this run: a retry within the run reuses its batch's id (QuickBooks then
        # answers without writing twice); a later run never replays an earlier run's answer.
        self._run_id = uuid.uuid4().hex[:24]
        self._batches_sent = 0
        self._settings: CompanySettings | None = None

    # -- buffering -----------------------------------------------------------------------------

    def pending_count(self) -> int:
        return len(self._projects) + len(self._contacts) + len(self._invoices)

    def deferred_count(self) -> int:
        return len(self._held)

    def add(self, stream: str, record: Mapping[str, Any]) -> None:
        record_id = admitted_record_id(stream, record, self.report, self._facts)
        if record_id is None:
            return
        if stream == "projects":
            caveat = shortened_title(dict(record))
            if caveat is not None:
                self.report.caveat(stream, record_id, caveat)
        # A later version of the same record replaces the earlier one (at-least-once delivery).
        {"projects": self._projects, "contacts": self._contacts, "invoices": self._invoices}[stream][record_id] = \
            dict(record)

    # -- flush ---------------------------------------------------------------------------------

    def flush(self, final: bool = False) -> None:
        projects, contacts, invoices = self._projects, self._contacts, self._invoices
        self._projects, self._contacts, self._invoices = {}, {}, {}
        projects = self._release_held(projects, contacts, invoices, final)
        index = self._customer_index()

        contacts_by_project: dict[int, list[dict[str, Any]]] = defaultdict(list)
        titles: dict[int, str] = {}
        for contact in contacts.values():
            for link in contact.get("projects") or []:
                if isinstance(link, Mapping) and isinstance(link.get("id"), int):
                    contacts_by_project[link["id"]].append(contact)
                    titles.setdefault(link["id"], str(link.get("title") or ""))
        wanted_invoices, update_only = self._invoices_to_write(invoices)
        for invoice in wanted_invoices:
            record = invoice.get("record") or {}
            titles.setdefault(record["id"], str(record.get("title") or ""))

        project_ids = sorted(set(projects) | set(contacts_by_project) |
                             {i["record"]["id"] for i in wanted_invoices if i["id"] not in update_only})
        operations = []
        for project_id in project_ids:
            try:
                operation = self._customer_operation(project_id, projects.get(project_id),
                                                     contacts_by_project.get(project_id, []), titles.get(project_id),
                                                     index)
            except (ValueError, TypeError, AttributeError, ArithmeticError) as error:  # the checks in add() missed it
                self.report.reject("projects", project_id,
                                   f"cannot be mapped to QuickBooks: {type(error).__name__}: {error}")
                continue
            if operation is not None:
                operations.append(operation)
        for contact in contacts.values():
            if not any(isinstance(link, Mapping) and isinstance(link.get("id"), int)
                       for link in contact.get("projects") or []):
                self.report.skip("contacts", contact["id"], "contact is linked to no project, so to no customer")
        self._execute(operations, index)
        if wanted_invoices:
            self._write_invoices(wanted_invoices, update_only, index)

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
        wanted = {link["id"] for contact in contacts.values() for link in contact.get("projects") or []
                  if isinstance(link, Mapping) and link.get("id") in self._held}
        wanted |= {invoice["record"]["id"] for invoice in invoices.values()
                   if isinstance(invoice.get("record"), Mapping) and invoice["record"].get("id") in self._held}
        return {project_id: self._held.pop(project_id) for project_id in sorted(wanted)}

    # -- customers -----------------------------------------------------------------------------

    def _customer_index(self) -> CustomerIndex:
        if self._index is None:
            self._index = CustomerIndex()
            for page in self.client.query_entities("Customer", ["Active IN (true, false)"], order_by="Id"):
                for customer in page:
                    self._index.add(customer)
            self.logger.info(f"Indexed {len(self._index.by_name)} QuickBooks customers "
                             f"({len(self._index.by_project)} linked to Coperniq projects).")
        return self._index

    def _reserve_other_names(self, index: CustomerIndex) -> None:
        """DisplayName is unique across customers, vendors and employees: know the other two before the
        first customer is named (usually one query each) instead of one 6240 fault at a time."""
        if self._others_reserved:
            return
        self._others_reserved = True
        for entity in ("Vendor", "Employee"):
            for page in self.client.query_entities(entity, ["Active IN (true, false)"], order_by="Id"):
                for other in page:
                    index.reserve(str(other.get("DisplayName") or ""))

    def _display_name(self, title: str | None, project_id: int, index: CustomerIndex,
                      current: dict[str, Any] | None) -> str:
        """The title, unless another customer holds it; then "Title (Coperniq #ID)". Deterministic."""
        name = clean_display_name(title, project_id)
        if current is None or own_display_name(current) != name:
            self._reserve_other_names(index)  # a new name: it must not be a vendor's or an employee's
        holder = index.holder_of(name)
        if holder is None or (current is not None and holder.get("Id") == current.get("Id")):
            return name
        return suffixed_display_name(name, project_id)

    def _customer_operation(self, project_id: int, project: dict[str, Any] | None, contacts: list[dict[str, Any]],
                            title_hint: str | None, index: CustomerIndex) -> Operation | None:
        current = index.by_project.get(project_id)
        if project is None and not contacts and current is not None:
            return None  # reached only through an invoice, and its customer already exists
        contact = primary_contact(project, contacts) if project is not None else \
            self._contact_for(project_id, current, contacts)
        source_project = project
        if source_project is None and current is None:
            if not title_hint:
                self.report.skip("contacts", contacts[0]["id"] if contacts else project_id,
                                 f"project {project_id} has no customer yet and no title to create one with")
                return None
            source_project = {"id": project_id, "title": title_hint}
        desired = customer_fields(source_project, contact, self.currency)
        stream, record_id = ("projects", project_id) if project is not None else \
            ("contacts", contact["id"]) if contact is not None else ("projects", project_id)
        if current is None and source_project is not None:
            # A customer the bookkeeper made before the sync existed, under the same name and linked
            # to no project: link it instead of creating a duplicate.
            same_name = index.holder_of(clean_display_name(source_project.get("title"), project_id))
            if (same_name is not None and same_name.get("Id") and same_name["Id"] not in index.adopted
                    and project_id_from_notes(same_name.get("Notes")) is None and not is_inactive(same_name)):
                current = same_name
                index.adopted.add(same_name["Id"])  # a second project of that title must not adopt it too
        if "DisplayName" in desired:
            desired["DisplayName"] = self._display_name(source_project.get("title") if source_project else None,
                                                        project_id, index, current)
        if current is None:
            currency = self._company().currency_ref(desired.pop("CurrencyRef", {}).get("value"))
            body = {**desired, **({"CurrencyRef": currency} if currency else {}),
                    "Notes": customer_notes_with_link(None, project_id)}
            index.reserve(body["DisplayName"])  # a second project of the same title in this flush gets the suffix
            return Operation("Customer", "create", body, stream, record_id, project_id)
        desired.pop("CurrencyRef", None)  # settable only on create
        # An inactive customer shows "Name (deleted)": its own name is compared, and the suffix never
        # becomes part of a name we send (the update keeps it inactive: sparse, no `Active`).
        changes = customer_changes({**current, "DisplayName": own_display_name(current)}, desired)
        if project_id_from_notes(current.get("Notes")) != project_id:
            changes["Notes"] = customer_notes_with_link(current.get("Notes"), project_id)
        if not changes:
            self.report.count(stream, "unchanged")
            return None
        body = {"Id": current["Id"], "SyncToken": current["SyncToken"], "sparse": True, **changes}
        return Operation("Customer", "update", body, stream, record_id, project_id)

    def _contact_for(self, project_id: int, current: dict[str, Any] | None,
                     contacts: list[dict[str, Any]]) -> dict[str, Any] | None:
        """Without the project record in this flush, which of its contacts (if any) speaks for the customer.

        A project has one primary contact; the others must never overwrite the customer. When this run
        saw the project, its primary email or phone decides. Otherwise only the person the customer
        already names (same email or phone, else the same name) may update it; any contact may fill a customer
        with no one on it.
        """
        if not contacts:
            return None
        facts = self._facts.get(project_id)
        if facts is not None and (facts.primary_email or facts.primary_phone):
            return primary_contact_at(contacts, facts.primary_email, facts.primary_phone)
        email = ((current or {}).get("PrimaryEmailAddr") or {}).get("Address")
        phone = ((current or {}).get("PrimaryPhone") or {}).get("FreeFormNumber")
        found = contact_reached_at(contacts, email, phone)
        named = ((current or {}).get("GivenName"), (current or {}).get("FamilyName"))
        if found is None and any(named):  # a customer that names its person by name alone (no email, no phone)
            found = next((c for c in sorted(contacts, key=lambda c: c["id"]) if split_name(c.get("name")) == named),
                         None)
        names_someone = any((email, phone, *named))
        if found is not None or names_someone:
            return found
        return min(contacts, key=lambda c: c["id"])

    # -- invoices ------------------------------------------------------------------------------

    def _invoices_to_write(self, invoices: Mapping[int, dict[str, Any]]) -> tuple[list[dict[str, Any]], set[int]]:
        """The invoices to write, and which of them may only update an invoice QuickBooks already has.

        With ``invoice_stages`` set (qbo:in:2), an invoice is created only while its project is in one
        of the stages: the stage of the project record when it is in this run, else the
        ``_project_stage`` source-coperniq puts on every invoice (and the invoices of a project whose
        stage changed are sent again, so reaching the stage is enough, whether the invoice changed or
        not). An invoice whose project is in none of the stages (it left the stage, or never reached
        it), or whose stage is unknown (a source without ``_project_stage``), may update the invoice
        QuickBooks already has (it was billed: it keeps following Coperniq), never create one.
        """
        wanted, update_only = [], set()
        for invoice in invoices.values():
            record = invoice.get("record")
            if not isinstance(record, Mapping) or not isinstance(record.get("id"), int):
                self.report.skip("invoices", invoice["id"], "invoice belongs to no project (`record` is empty); "
                                 "only project invoices are written")
                continue
            if self.stages:
                known, stage = self._invoice_stage(invoice, record["id"])
                if not known or stage is None or stage.casefold() not in self.stages:
                    update_only.add(invoice["id"])
            if qbo_invoice_id_from_description(invoice.get("description")):
                # Born in QuickBooks (qbo:out:2 made this copy): QuickBooks owns it; writing the copy
                # back would only echo it.
                self.report.count("invoices", "owned_by_quickbooks")
                continue
            wanted.append(invoice)
        return wanted, update_only

    def _invoice_stage(self, invoice: Mapping[str, Any], project_id: int) -> tuple[bool, str | None]:
        """(known, stage name) of the invoice's project: its record in this run, else ``_project_stage``."""
        facts = self._facts.get(project_id)
        if facts is not None:
            return True, facts.stage
        if "_project_stage" in invoice:
            stage = invoice.get("_project_stage")
            if isinstance(stage, Mapping):  # tolerate the whole stage object instead of its name
                stage = stage.get("name")
            return True, str(stage) if stage else None
        return False, None

    def _company(self) -> CompanySettings:
        """The company's preferences and terms, read once per run; a currency it cannot use stops the sync."""
        if self._settings is None:
            settings = read_settings(self.client)
            problem = currency_check(self.client, settings, self.currency)
            if problem is not None:
                raise AirbyteTracedException(message=problem, failure_type=FailureType.config_error)
            self._settings = settings
        return self._settings

    def _item(self) -> dict[str, str]:
        if self._item_ref is None:
            rows = self.client.query(f"SELECT * FROM Item WHERE Name = {quote(self.item_name)}").get("Item", [])
            if not rows:
                raise AirbyteTracedException(
                    message=f"QuickBooks has no product/service named {self.item_name!r} for invoice lines. "
                            "Create it in QuickBooks or set `item_name` to an existing one.",
                    failure_type=FailureType.config_error)
            self._item_ref = {"value": str(rows[0]["Id"]), "name": str(rows[0].get("Name", self.item_name))}
        return self._item_ref

    def _existing_invoices(self, invoices: Sequence[dict[str, Any]],
                           customer_ids: Iterable[str]) -> dict[int, dict[str, Any]]:
        """QuickBooks invoices linked to these Coperniq invoices, found by number and by customer.

        A customer this run created can hold no invoice but the ones this run wrote (remembered), so its
        invoices are not looked up by customer; by number they are (an invoice of ours may sit under an
        older customer the bookkeeper unlinked and renamed).
        """
        found: dict[str, dict[str, Any]] = {}

        def lookup(field_name: str, values: Iterable[str]) -> None:
            for chunk in _chunks(sorted(set(values)), LOOKUP_CHUNK):
                for page in self.client.query_entities("Invoice", [f"{field_name} IN {in_list(chunk)}"], "Id"):
                    found.update((row["Id"], row) for row in page)

        old_customers = {str(c) for c in customer_ids} - self._new_customers
        # As sent, or "<uid>-C" after a duplicate number; with QuickBooks numbering invoices itself, by customer.
        lookup("DocNumber", (n for i in invoices for n in doc_numbers_for_lookup(i.get("uid"))))
        lookup("CustomerRef", old_customers)
        by_coperniq: dict[int, dict[str, Any]] = {}
        for row in found.values():
            coperniq_id = invoice_id_from_note(row.get("PrivateNote"))
            if coperniq_id is not None:
                by_coperniq[coperniq_id] = row
        # What this run wrote is newer than what a query may still show.
        written = self._written_invoices
        by_coperniq.update((i["id"], written[i["id"]]) for i in invoices if i["id"] in written)
        return by_coperniq

    def _write_invoices(self, invoices: list[dict[str, Any]], update_only: set[int], index: CustomerIndex) -> None:
        item_ref = self._item()
        company = self._company()
        customers = {i["record"]["id"]: index.by_project.get(i["record"]["id"]) for i in invoices}
        existing = self._existing_invoices(invoices, [c["Id"] for c in customers.values() if c])
        operations = []
        for invoice in sorted(invoices, key=lambda i: i["id"]):
            customer = customers[invoice["record"]["id"]]
            if invoice["id"] in update_only and (customer is None or invoice["id"] not in existing):
                self.report.count("invoices", "filtered")  # stage unknown in this run and never written
                continue
            if customer is None:
                self.report.skip("invoices", invoice["id"],
                                 f"its project {invoice['record']['id']} has no QuickBooks customer (see above)")
                continue
            if is_inactive(customer):
                self.report.skip("invoices", invoice["id"],
                                 f"its customer {own_display_name(customer)!r} (Id {customer['Id']}) is inactive in "
                                 "QuickBooks, which takes no invoice for it; make the customer active to write it")
                continue
            try:
                desired = invoice_fields(invoice, str(customer["Id"]), item_ref, customer.get("BillAddr"),
                                         self.description_target, ship_addr=customer.get("ShipAddr"),
                                         terms=company.terms, send_doc_number=company.custom_txn_numbers)
            except (ValueError, TypeError, AttributeError, ArithmeticError) as error:
                self.report.reject("invoices", invoice["id"], f"cannot be mapped to QuickBooks: {error}")
                continue
            current = existing.get(invoice["id"])
            if current is None:
                body = invoice_to_create(desired, self.description_target)  # with the sync baseline
                operations.append(Operation("Invoice", "create", body, "invoices", invoice["id"], invoice["id"]))
                continue
            # The bill-to and ship-to addresses are the customer's at the time of invoicing: an issued invoice
            # keeps them when the customer moves (and a re-sync from scratch must not rewrite history).
            desired.pop("BillAddr", None)
            desired.pop("ShipAddr", None)
            # Only what Coperniq changed since the last sync (mapping/ownership.py): edits made in QuickBooks stay.
            changes = invoice_update(current, desired, self.description_target)
            if not changes:
                self.report.count("invoices", "unchanged")
                continue
            body = {"Id": current["Id"], "SyncToken": current["SyncToken"], "sparse": True, **changes}
            operations.append(Operation("Invoice", "update", body, "invoices", invoice["id"], invoice["id"]))
        self._execute(operations, index)

    # -- batches -------------------------------------------------------------------------------

    def _execute(self, operations: list[Operation], index: CustomerIndex, retry: bool = True) -> None:
        if not operations:
            return
        if self.dry_run:
            for op in operations:
                self._plan(op, index)
            return
        retries: list[Operation] = []
        for chunk in _chunks(operations, MAX_BATCH_ITEMS):
            items = [{"bId": str(n), "operation": op.operation, op.entity: op.body} for n, op in enumerate(chunk)]
            self._batches_sent += 1
            answers = self.client.batch(items, request_id=f"{self._run_id}-{self._batches_sent}")
            for n, op in enumerate(chunk):
                answer = answers.get(str(n), {})
                fault = batch_item_fault(answer) if answer else None
                if answer and fault is None and op.entity in answer:
                    self._committed(op, answer[op.entity], index)
                    continue
                fixed = self._fix(op, fault, index) if retry and fault is not None else False
                if isinstance(fixed, Operation):
                    retries.append(fixed)
                elif not fixed:
                    self.report.reject(op.stream, op.record_id,
                                       f"QuickBooks rejected it: {fault or 'no answer for this batch item'}")
        if retries:
            self._execute(retries, index, retry=False)

    def _plan(self, op: Operation, index: CustomerIndex) -> None:
        """Dry run: report the write; a customer to create stands in the index, so its invoices are planned too."""
        what = f"{op.operation} {op.entity} " + describe_fields(op.body)
        if op.entity == "Customer" and op.operation == "create":
            placeholder = {**op.body, "Id": f"(new for project {op.key})", "SyncToken": "0"}
            index.add(placeholder)
            self._new_customers.add(placeholder["Id"])  # nothing to look up under it
        self.report.plan(op.stream, op.operation, op.record_id, what)

    def _committed(self, op: Operation, obj: dict[str, Any], index: CustomerIndex) -> None:
        self.report.count(op.stream, "created" if op.operation == "create" else "updated")
        if op.entity == "Invoice":
            self._written_invoices[op.key] = obj
        elif op.operation == "create":
            self._new_customers.add(str(obj["Id"]))
        if op.entity == "Customer":
            if op.operation == "update":
                stale = index.by_project.get(op.key)
                if stale is not None:
                    index.by_name.pop(str(own_display_name(stale) or "").casefold(), None)
            index.add(obj)

    def _fix(self, op: Operation, fault: QuickBooksFault, index: CustomerIndex) -> Operation | bool:
        """The one retry a fault deserves; True when nothing is left to write; False to report the record."""
        if fault.has_code(STALE_OBJECT) and op.operation == "update":
            # Someone edited the object since we read it: re-read, recompute, never overwrite blindly.
            fresh = self.client.read(op.entity, op.body["Id"])
            changed = {k: v for k, v in op.body.items() if k not in ("Id", "SyncToken", "sparse")}
            if op.entity == "Customer":
                index.add(fresh)
                changed = customer_changes({**fresh, "DisplayName": own_display_name(fresh)}, changed)
            else:
                changed = invoice_changes(fresh, changed)
            if not changed:
                self.report.count(op.stream, "unchanged")
                return True
            return Operation(op.entity, "update", {"Id": fresh["Id"], "SyncToken": fresh["SyncToken"], "sparse": True,
                                                   **changed}, op.stream, op.record_id, op.key)
        if fault.has_code(DUPLICATE_NAME) and op.entity == "Customer" and "DisplayName" in op.body:
            # The name is held by a vendor, an employee or a customer created meanwhile.
            name = suffixed_display_name(title_from_display_name(op.body["DisplayName"], op.key), op.key)
            if name != op.body["DisplayName"]:
                return Operation(op.entity, op.operation, {**op.body, "DisplayName": name}, op.stream, op.record_id,
                                 op.key)
        if fault.has_code(DUPLICATE_DOC_NUMBER) and op.entity == "Invoice" and op.operation == "create" \
                and op.body.get("DocNumber"):
            # The number is taken (a QuickBooks-numbered invoice or one typed by hand): "<uid>-C", once.
            number = suffixed_doc_number(op.body["DocNumber"])
            if number != op.body["DocNumber"]:
                self.report.caveat(op.stream, op.record_id, f"QuickBooks already has an invoice numbered "
                                   f"{op.body['DocNumber']}; this one is sent as {number}")
                return Operation(op.entity, op.operation, {**op.body, "DocNumber": number}, op.stream,
                                 op.record_id, op.key)
        return False
