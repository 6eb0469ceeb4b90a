"""Turns Coperniq projects, contacts and invoices into qbXML writes queued in the bridge.

Per run: the bridge's mirror of customers, invoices and other names is read once (with the writes still
queued laid over it, so a Web Connector that has been offline does not make the same write twice). Per
flush: each project's desired Customer fields and each invoice's desired Invoice fields come from the
Online mapping (``mapping.coperniq_to_qbo``), are re-shaped for Desktop (``mapping.qbd``), and compared
with the mirror in Desktop's space; only differences are queued: ``CustomerAdd`` / ``CustomerMod`` /
``InvoiceAdd`` / ``InvoiceMod``, each with an idempotency key derived from its content, so a retried flush
queues nothing twice. A write is "done" for this sync once the bridge holds it durably; QuickBooks' answer
comes when the Web Connector next runs, and what QuickBooks refused is reported by the next sync.

Desktop rules applied here: names of at most 41 characters, unique across customers, vendors, employees
and other names (the strict reading: a taken name gets ``Title (Coperniq #ID)``, which the bridge also
uses if QuickBooks answers 3100), ``RefNumber`` of at most 11 characters, items by ``FullName``, the
description and link marker in the invoice ``Memo``. ``*Mod`` carries the mirror's ``EditSequence`` and
the desired fields, so the bridge can re-read and recompute on 3200.
"""

from __future__ import annotations

import hashlib
import json
import logging
from collections import defaultdict
from collections.abc import Iterable, Mapping
from typing import Any

from connector_core.destination import WriteReport
from destination_quickbooks.writer import STREAMS, ProjectFacts, QuickBooksWriter, admitted_record_id
from mapping.coperniq_to_qbo import contact_reached_at, customer_fields, invoice_fields, primary_contact
from mapping.links import invoice_id_from_note, project_id_from_notes, qbo_invoice_id_from_description
from mapping.qbd import (
    NAME_MAX,
    customer_element_changes,
    customer_elements,
    desired_for,
    desktop_name,
    invoice_element_changes,
    invoice_elements,
    online_customer,
    suffixed_desktop_name,
)
from qbd.client import BridgeClient

OPEN_STATUSES = ("pending", "sent", "stale")


def job_key(kind: str, link: str, body: Mapping[str, Any]) -> str:
    digest = hashlib.sha256(json.dumps([kind, link, body], sort_keys=True, default=str).encode()).hexdigest()
    return f"{link}:{digest[:32]}"


class Mirror:
    """QuickBooks as the bridge knows it, with queued writes laid over it."""

    def __init__(self) -> None:
        self.customers: dict[int, dict[str, Any]] = {}  # by linked project id
        self.names: dict[str, str] = {}  # casefolded name -> holder id (ListID, or a job key while queued)
        self.invoices: dict[int, dict[str, Any]] = {}  # by Coperniq invoice id
        self.unlinked: list[dict[str, Any]] = []  # customers linked to no project (made by the bookkeeper)

    def add_customer(self, record: dict[str, Any]) -> None:
        project_id = project_id_from_notes(record.get("Notes"))
        if project_id is not None:
            self.customers[project_id] = record
        elif record.get("ListID"):
            self.unlinked.append(record)
        if record.get("Name"):
            self.names[str(record["Name"]).casefold()] = str(record.get("ListID") or record.get("_job"))

    def add_invoice(self, record: dict[str, Any]) -> None:
        invoice_id = invoice_id_from_note(record.get("Memo"))
        if invoice_id is not None:
            self.invoices[invoice_id] = record

    def overlay(self, job: Mapping[str, Any]) -> None:
        """What QuickBooks will hold once a queued job is applied."""
        payload = job["payload"]
        elements = payload["elements"]
        link_kind, _, raw_id = job["link"].partition(":")
        if not raw_id.isdigit():
            return
        key_id = int(raw_id)
        if job["kind"] == "CustomerAdd":
            self.add_customer({**elements, "_job": job["idempotency_key"]})
        elif job["kind"] == "CustomerMod" and key_id in self.customers:
            current = self.customers[key_id]
            self.names.pop(str(current.get("Name", "")).casefold(), None)
            self.add_customer({**current, **elements})
        elif job["kind"] == "InvoiceAdd":
            self.invoices[key_id] = {**elements, "_job": job["idempotency_key"]}
        elif job["kind"] == "InvoiceMod" and key_id in self.invoices:
            merged = {**self.invoices[key_id], **{k: v for k, v in elements.items() if k != "InvoiceLineMod"}}
            if "InvoiceLineMod" in elements:
                merged["InvoiceLineRet"] = elements["InvoiceLineMod"]
            self.invoices[key_id] = merged


class DesktopWriter:
    def __init__(self, client: BridgeClient, config: Mapping[str, Any], logger: logging.Logger,
                 streams: Iterable[str] = ()):
        self.client = client
        self.logger = logger
        self.stages = {s.strip().casefold() for s in config.get("invoice_stages") or [] if str(s).strip()}
        self.item_name = str(config.get("item_name") or "Services")
        self.terms_name = str(config.get("terms_name") or "").strip() or None
        self.dry_run = bool(config.get("dry_run"))
        self.report = WriteReport(fail_fast=config.get("on_record_error") == "fail")
        self._records: dict[str, dict[int, dict[str, Any]]] = {stream: {} for stream in STREAMS}
        self._hold_projects = "contacts" in set(streams)
        self._held: dict[int, dict[str, Any]] = {}
        self._facts: dict[int, ProjectFacts] = {}
        self._mirror: Mirror | None = None

    # -- buffering (as destination-quickbooks) ----------------------------------------------

    def pending_count(self) -> int:
        return sum(len(records) for records in self._records.values())

    def deferred_count(self) -> int:
        return len(self._held)

    def add(self, stream: str, record: Mapping[str, Any]) -> None:
        record_id = admitted_record_id(stream, record, self.report, self._facts)
        if record_id is None:
            return
        if stream == "projects":
            title = " ".join(str(record.get("title") or "").split())
            if len(title) > NAME_MAX:
                self.report.caveat(stream, record_id, f"`title` is {len(title)} characters; a QuickBooks Desktop "
                                                      f"customer name holds {NAME_MAX}, so it is shortened")
        self._records[stream][record_id] = dict(record)

    # -- the run's view of QuickBooks -------------------------------------------------------

    def _load(self) -> Mirror:
        if self._mirror is not None:
            return self._mirror
        mirror = Mirror()
        for record in self.client.all_records("names"):
            if record.get("Name") and not record.get("_ab_cdc_deleted_at"):
                mirror.names[str(record["Name"]).casefold()] = str(record.get("ListID"))
        for record in self.client.all_records("customers"):
            if not record.get("_ab_cdc_deleted_at"):
                mirror.add_customer(record)
        for record in self.client.all_records("invoices"):
            if not record.get("_ab_cdc_deleted_at"):
                mirror.add_invoice(record)
        for job in self.client.jobs(OPEN_STATUSES):
            mirror.overlay(job)
        self._report_refusals()
        self.logger.info(f"Bridge mirror: {len(mirror.customers)} linked customers, {len(mirror.invoices)} linked "
                         f"invoices, {len(mirror.names)} names in use.")
        self._mirror = mirror
        return mirror

    def _report_refusals(self) -> None:
        """What QuickBooks refused since the last sync (queued by an earlier one): reported once, then acknowledged."""
        refused = self.client.jobs(("failed",), unreported=True)
        for job in refused:
            stream = "invoices" if job["kind"].startswith("Invoice") else "projects"
            record_id = job["link"].partition(":")[2]
            self.report.skip(stream, record_id, f"QuickBooks refused the queued {job['kind']} "
                                                f"(status {job['code']}): {job['message']}")
        if refused and not self.dry_run:
            self.client.acknowledge([job["id"] for job in refused])

    # -- flush ------------------------------------------------------------------------------

    def flush(self, final: bool = False) -> None:
        projects, contacts, invoices = (self._records[s] for s in STREAMS)
        self._records = {stream: {} for stream in STREAMS}
        projects = self._release_held(projects, contacts, invoices, final)
        mirror = self._load()
        contacts_by_project: dict[int, list[dict[str, Any]]] = defaultdict(list)
        titles: dict[int, str] = {}
        for contact in contacts.values():
            links = [link for link in contact.get("projects") or [] if isinstance(link, Mapping)
                     and isinstance(link.get("id"), int)]
            if not links:
                self.report.skip("contacts", contact["id"], "contact is linked to no project, so to no customer")
            for link in links:
                contacts_by_project[link["id"]].append(contact)
                titles.setdefault(link["id"], str(link.get("title") or ""))
        wanted_invoices = self._invoices_to_write(invoices)
        for invoice in wanted_invoices:
            titles.setdefault(invoice["record"]["id"], str(invoice["record"].get("title") or ""))
        jobs: list[dict[str, Any]] = []
        project_ids = sorted(set(projects) | set(contacts_by_project) | {i["record"]["id"] for i in wanted_invoices})
        for project_id in project_ids:
            job = self._customer_job(project_id, projects.get(project_id), contacts_by_project.get(project_id, []),
                                     titles.get(project_id), mirror)
            if job is not None:
                jobs.append(job)
                mirror.overlay(job)
        for invoice in sorted(wanted_invoices, key=lambda i: i["id"]):
            job = self._invoice_job(invoice, mirror)
            if job is not None:
                jobs.append(job)
                mirror.overlay(job)
        self._enqueue(jobs)

    # As destination-quickbooks: a project waits for its contacts so its customer is written once (the same
    # rule on the same two attributes, ``_hold_projects`` and ``_held``).
    _release_held = QuickBooksWriter._release_held

    def _enqueue(self, jobs: list[dict[str, Any]]) -> None:
        if not jobs:
            return
        if self.dry_run:
            for job in jobs:
                self.report.count(job["_stream"], f"would_{'create' if job['kind'].endswith('Add') else 'update'}")
            return
        for start in range(0, len(jobs), 200):
            chunk = jobs[start:start + 200]
            answers = self.client.enqueue([{k: v for k, v in job.items() if not k.startswith("_")} for job in chunk])
            for job, answer in zip(chunk, answers, strict=True):
                action = "create" if job["kind"].endswith("Add") else "update"
                self.report.count(job["_stream"], f"queued_{action}" if answer["created"] else "already_queued")

    # -- customers --------------------------------------------------------------------------

    def _contact_for(self, project_id: int, current: dict[str, Any] | None,
                     contacts: list[dict[str, Any]]) -> dict[str, Any] | None:
        """Without the project in this flush: its primary contact (by the run's facts), else only the person the
        customer already names, else any contact for a customer naming no one (as destination-quickbooks)."""
        if not contacts:
            return None
        facts = self._facts.get(project_id)
        if facts is not None and (facts.primary_email or facts.primary_phone):
            return contact_reached_at(contacts, facts.primary_email, facts.primary_phone)
        email, phone = (current or {}).get("Email"), (current or {}).get("Phone")
        found = contact_reached_at(contacts, email, phone)
        if found is not None or any((email, phone, (current or {}).get("FirstName"), (current or {}).get("LastName"))):
            return found
        return min(contacts, key=lambda c: c["id"])

    def _name(self, title: str | None, project_id: int, mirror: Mirror, current: dict[str, Any] | None) -> str:
        """The plain name unless another customer, vendor, employee or other name holds it; then the suffixed one."""
        name = desktop_name(title, project_id)
        holder = mirror.names.get(name.casefold())
        mine = {str((current or {}).get("ListID")), str((current or {}).get("_job"))} - {"None"}
        if holder is None or holder in mine:
            return name
        return suffixed_desktop_name(title, project_id)

    def _customer_job(self, project_id: int, project: dict[str, Any] | None, contacts: list[dict[str, Any]],
                      title_hint: str | None, mirror: Mirror) -> dict[str, Any] | None:
        current = mirror.customers.get(project_id)
        if project is None and not contacts and current is not None:
            return None  # reached only through an invoice, and its customer exists (or is queued)
        contact = primary_contact(project, contacts) if project is not None else \
            self._contact_for(project_id, current, contacts)
        source = project
        if source is None and current is None:
            if not title_hint:
                self.report.skip("contacts", contacts[0]["id"] if contacts else project_id,
                                 f"project {project_id} has no customer yet and no title to create one with")
                return None
            source = {"id": project_id, "title": title_hint}
        stream, record_id = ("projects", project_id) if project is not None else \
            ("contacts", contact["id"]) if contact is not None else ("projects", project_id)
        desired = customer_fields(source, contact)
        desired.pop("CurrencyRef", None)
        title = source.get("title") if source else None
        if current is None and source is not None:
            # A customer the bookkeeper made under this name, linked to no project: link it, do not duplicate it.
            holder = mirror.names.get(desktop_name(title, project_id).casefold())
            candidate = next((c for c in self._unlinked_customers(mirror) if str(c.get("ListID")) == holder), None)
            if candidate is not None:
                current = candidate
                mirror.customers[project_id] = candidate
        if "DisplayName" in desired:
            desired["DisplayName"] = self._name(title, project_id, mirror, current)
        link = f"project:{project_id}"
        if current is None:
            elements = customer_elements(desired)
            alternate = suffixed_desktop_name(title, project_id) if source else None
            payload = {"elements": elements, "project_id": project_id, "desired": desired,
                       "alternate_name": alternate if alternate != elements.get("Name") else None}
            return {"idempotency_key": job_key("CustomerAdd", link, payload), "kind": "CustomerAdd", "link": link,
                    "payload": payload, "_stream": stream}
        changes = customer_element_changes(current, desired, project_id)
        if not changes:
            self.report.count(stream, "unchanged")
            return None
        alternate = suffixed_desktop_name(title, project_id) if "Name" in changes and source else None
        payload = {"elements": changes, "project_id": project_id, "desired": desired_for(changes, desired),
                   "ListID": current.get("ListID"), "EditSequence": current.get("EditSequence"),
                   "alternate_name": alternate if alternate != changes.get("Name") else None}
        depends_on = current.get("_job") if not current.get("ListID") else None
        return {"idempotency_key": job_key("CustomerMod", link, {**payload, "depends_on": depends_on}),
                "kind": "CustomerMod", "link": link, "payload": payload, "depends_on": depends_on,
                "_stream": stream}

    @staticmethod
    def _unlinked_customers(mirror: Mirror) -> list[dict[str, Any]]:
        linked = {str(c.get("ListID")) for c in mirror.customers.values()}
        return [c for c in mirror.unlinked if str(c.get("ListID")) not in linked]

    # -- invoices ---------------------------------------------------------------------------

    def _invoices_to_write(self, invoices: Mapping[int, dict[str, Any]]) -> list[dict[str, Any]]:
        wanted = []
        for invoice in invoices.values():
            record = invoice.get("record")
            if not isinstance(record, Mapping) or not isinstance(record.get("id"), int):
                self.report.skip("invoices", invoice["id"], "invoice belongs to no project (`record` is empty); "
                                 "only project invoices are written")
                continue
            if self.stages:
                facts = self._facts.get(record["id"])
                # A project not in this run (stage unknown) may update an invoice written before, never create one.
                known = invoice["id"] in (self._mirror.invoices if self._mirror else {})
                passes = facts is not None and facts.stage is not None and facts.stage.casefold() in self.stages
                if not passes and (facts is not None or not known):
                    self.report.count("invoices", "filtered")
                    continue
            if qbo_invoice_id_from_description(invoice.get("description")):
                self.report.count("invoices", "owned_by_quickbooks")  # born in QuickBooks: writing it back would echo
                continue
            wanted.append(invoice)
        return wanted

    def _invoice_job(self, invoice: dict[str, Any], mirror: Mirror) -> dict[str, Any] | None:
        project_id = invoice["record"]["id"]
        customer = mirror.customers.get(project_id)
        if customer is None:
            self.report.skip("invoices", invoice["id"], f"its project {project_id} has no QuickBooks customer")
            return None
        item_ref = {"value": self.item_name, "name": self.item_name}
        try:
            desired = invoice_fields(invoice, str(customer.get("ListID") or "pending"), item_ref,
                                     online_customer(customer).get("BillAddr"), description_target="PrivateNote")
        except (ValueError, TypeError, AttributeError, ArithmeticError) as error:
            self.report.reject("invoices", invoice["id"], f"cannot be mapped to QuickBooks: {error}")
            return None
        link = f"invoice:{invoice['id']}"
        current = mirror.invoices.get(invoice["id"])
        if current is None:
            elements = invoice_elements(desired)
            if self.terms_name:
                # Set on creation only: terms the bookkeeper changes afterwards are theirs.
                elements["TermsRef"] = {"FullName": self.terms_name}
            depends_on = None
            if not customer.get("ListID"):
                elements.pop("CustomerRef", None)  # filled in by the bridge once the queued CustomerAdd is done
                depends_on = customer.get("_job")
            payload = {"elements": elements, "invoice_id": invoice["id"], "desired": desired}
            return {"idempotency_key": job_key("InvoiceAdd", link, {**payload, "depends_on": depends_on}),
                    "kind": "InvoiceAdd", "link": link, "payload": payload, "depends_on": depends_on,
                    "_stream": "invoices"}
        desired.pop("BillAddr", None)  # an issued invoice keeps the address it was issued to
        if not customer.get("ListID") or str((current.get("CustomerRef") or {}).get("ListID")) == str(
                customer.get("ListID")):
            desired.pop("CustomerRef", None)
        changes = invoice_element_changes(current, desired)
        if not changes:
            self.report.count("invoices", "unchanged")
            return None
        payload = {"elements": changes, "invoice_id": invoice["id"], "desired": desired_for(changes, desired),
                   "TxnID": current.get("TxnID"), "EditSequence": current.get("EditSequence")}
        depends_on = current.get("_job") if not current.get("TxnID") else None
        return {"idempotency_key": job_key("InvoiceMod", link, {**payload, "depends_on": depends_on}),
                "kind": "InvoiceMod", "link": link, "payload": payload, "depends_on": depends_on,
                "_stream": "invoices"}
