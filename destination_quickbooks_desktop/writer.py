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
from collections.abc import Iterable, Mapping
from typing import Any

from connector_core.destination import WriteReport
from destination_quickbooks.intake import FlushRecords, RecordIntake
from destination_quickbooks.intake_writer import IntakeWriter
from destination_quickbooks.planner import (
    InvoiceSelection,
    customer_source,
    reported_as,
    unlinked_contacts,
)
from mapping.coperniq_to_qbo import customer_fields, invoice_fields
from mapping.links import invoice_id_from_note, project_id_from_notes
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
from mapping.write_rules import adoptable, customer_contact, stage_names, update_fields
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


class DesktopWriter(IntakeWriter):
    def __init__(self, client: BridgeClient, config: Mapping[str, Any], logger: logging.Logger,
                 streams: Iterable[str] = ()):
        self.client = client
        self.logger = logger
        self.stages = stage_names(config.get("invoice_stages"))
        self.item_name = str(config.get("item_name") or "Services")
        self.terms_name = str(config.get("terms_name") or "").strip() or None
        self.dry_run = bool(config.get("dry_run"))
        self.report = WriteReport(fail_fast=config.get("on_record_error") == "fail")
        self.intake = RecordIntake(self.report, streams)  # as destination-quickbooks: projects wait for contacts
        self._mirror: Mirror | None = None
        self._adopted: set[str] = set()

    def title_caveat(self, project: Mapping[str, Any]) -> str | None:
        title = " ".join(str(project.get("title") or "").split())
        if len(title) > NAME_MAX:
            return f"`title` is {len(title)} characters; a QuickBooks Desktop customer name holds {NAME_MAX}, so it " \
                   "is shortened"
        return None

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
        records, selection = self.take_flush(final)
        mirror = self._load()
        jobs: list[dict[str, Any]] = []
        creating = {i["record"]["id"] for i in selection.invoices if i["id"] not in selection.update_only}
        for project_id in sorted(set(records.projects) | set(records.contacts_by_project) | creating):
            jobs.append(self._customer_job(project_id, records, mirror))
        self.record_outcomes(unlinked_contacts(records))
        for invoice in sorted(selection.invoices, key=lambda i: i["id"]):
            jobs.append(self._invoice_job(invoice, selection, mirror))
        self._enqueue([job for job in jobs if job is not None])

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

    def _name(self, title: str | None, project_id: int, mirror: Mirror, current: dict[str, Any] | None) -> str:
        """The plain name unless another customer, vendor, employee or other name holds it; then the suffixed one."""
        name = desktop_name(title, project_id)
        holder = mirror.names.get(name.casefold())
        mine = {str((current or {}).get("ListID")), str((current or {}).get("_job"))} - {"None"}
        if holder is None or holder in mine:
            return name
        return suffixed_desktop_name(title, project_id)

    def _customer_job(self, project_id: int, records: FlushRecords, mirror: Mirror) -> dict[str, Any] | None:
        """The CustomerAdd or CustomerMod a project needs (overlaid on the mirror), else None."""
        current = mirror.customers.get(project_id)
        found = customer_source(project_id, records, current is not None)
        if found is None or found[1] is not None:
            self.record_outcomes([found[1]] if found is not None and found[1] is not None else [])
            return None
        source, project = found[0], records.projects.get(project_id)
        facts = self.intake.facts.get(project_id)
        contact = customer_contact(project, records.contacts_by_project.get(project_id, []),
                                   online_customer(current) if current is not None else None,
                                   facts.primary_email if facts else None, facts.primary_phone if facts else None)
        stream, _ = reported_as(project_id, project, contact)
        desired = update_fields("Customer", customer_fields(source, contact))  # Desktop takes no CurrencyRef
        title = source.get("title") if source else None
        if current is None and source is not None:
            current = self._adopt(project_id, title, mirror)
        job = self._customer_write(project_id, stream, title, source is not None, desired, current, mirror)
        if job is not None:
            mirror.overlay(job)
        return job

    def _adopt(self, project_id: int, title: str | None, mirror: Mirror) -> dict[str, Any] | None:
        """A customer the bookkeeper made under this name, linked to no project: linked, not duplicated."""
        holder = mirror.names.get(desktop_name(title, project_id).casefold())
        candidate = next((c for c in self._unlinked_customers(mirror) if str(c.get("ListID")) == holder), None)
        if candidate is None or not adoptable(online_customer(candidate), self._adopted):
            return None
        self._adopted.add(str(candidate["ListID"]))
        mirror.customers[project_id] = candidate
        return candidate

    def _customer_write(self, project_id: int, stream: str, title: str | None, from_project: bool,
                        desired: dict[str, Any], current: dict[str, Any] | None,
                        mirror: Mirror) -> dict[str, Any] | None:
        if "DisplayName" in desired:
            desired["DisplayName"] = self._name(title, project_id, mirror, current)
        link = f"project:{project_id}"
        if current is None:
            elements = customer_elements(desired)
            alternate = suffixed_desktop_name(title, project_id) if from_project else None
            payload = {"elements": elements, "project_id": project_id, "desired": desired,
                       "alternate_name": alternate if alternate != elements.get("Name") else None}
            return {"idempotency_key": job_key("CustomerAdd", link, payload), "kind": "CustomerAdd", "link": link,
                    "payload": payload, "_stream": stream}
        changes = customer_element_changes(current, desired, project_id)
        if not changes:
            self.report.count(stream, "unchanged")
            return None
        alternate = suffixed_desktop_name(title, project_id) if "Name" in changes and from_project else None
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

    def _invoice_job(self, invoice: dict[str, Any], selection: InvoiceSelection,
                     mirror: Mirror) -> dict[str, Any] | None:
        """The InvoiceAdd or InvoiceMod an invoice needs (overlaid on the mirror), else None."""
        project_id = invoice["record"]["id"]
        customer = mirror.customers.get(project_id)
        if invoice["id"] in selection.update_only and (customer is None or invoice["id"] not in mirror.invoices):
            self.report.count("invoices", "filtered")  # its project is in no billing stage, never written
            return None
        if customer is None:
            self.report.skip("invoices", invoice["id"], f"its project {project_id} has no QuickBooks customer")
            return None
        job = self._invoice_write(invoice, customer, mirror.invoices.get(invoice["id"]))
        if job is not None:
            mirror.overlay(job)
        return job

    def _invoice_write(self, invoice: dict[str, Any], customer: dict[str, Any],
                       current: dict[str, Any] | None) -> dict[str, Any] | None:
        item_ref = {"value": self.item_name, "name": self.item_name}
        try:
            desired = invoice_fields(invoice, str(customer.get("ListID") or "pending"), item_ref,
                                     online_customer(customer).get("BillAddr"), description_target="PrivateNote")
        except (ValueError, TypeError, AttributeError, ArithmeticError) as error:
            self.report.reject("invoices", invoice["id"], f"cannot be mapped to QuickBooks: {error}")
            return None
        link = f"invoice:{invoice['id']}"
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
        desired = update_fields("Invoice", desired)  # an issued invoice keeps the address it was issued to
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
