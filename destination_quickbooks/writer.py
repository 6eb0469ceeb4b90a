"""Upserts Coperniq projects, contacts and invoices into QuickBooks Customers and Invoices.

The BufferedWriter of destination-quickbooks (see connector_core.destination) glues three parts:
``intake.RecordIntake`` buffers the records, ``planner`` decides the writes (pure), ``executor`` sends
them. One flush, in order:
1. read what the plan needs of QuickBooks, into the run's ``QuickBooksView``: every customer once
   per run (the link to a project lives in the customer's Notes, which queries cannot filter), the
   vendor and employee names and the company's preferences when a plan asks for them, and the
   invoices of this flush by number and by customer (two queries per 100 invoices, never one per record);
2. plan the customers, execute, lay the answers over the view; then the same for the invoices, which
   need their customers' Ids. Unchanged records cost no write.

Whatever arrives, the customer is keyed by project id, and created from the project title the contact
(``projects[].title``) or the invoice (``record.title``) carries when the project itself is not in the sync.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any

from connector_core.config import config_error
from connector_core.destination import WriteReport
from destination_quickbooks.executor import Answer, BatchExecutor, chunks
from destination_quickbooks.intake import RecordIntake
from destination_quickbooks.intake_writer import IntakeWriter
from destination_quickbooks.planner import (
    NEEDS_COMPANY,
    NEEDS_OTHER_NAMES,
    CustomerIndex,
    InvoiceSettings,
    Plan,
    QuickBooksView,
    plan_customers,
    plan_invoices,
)
from mapping.coperniq_to_qbo import shortened_title
from mapping.invoice_numbers import doc_numbers_for_lookup
from mapping.links import invoice_id_from_note
from mapping.write_rules import stage_names
from qbo.client import QuickBooksClient
from qbo.company import CompanySettings, currency_check, read_settings
from qbo.query import in_list, quote

LOOKUP_CHUNK = 500  # values per IN (...): queries go by POST, so no URL limit; answers page by 1,000


class QuickBooksWriter(IntakeWriter):
    def __init__(self, client: QuickBooksClient, config: Mapping[str, Any], logger: logging.Logger,
                 streams: Iterable[str] = ()):
        self.client = client
        self.logger = logger
        self.currency = str(config.get("currency") or "USD")
        self.stages = stage_names(config.get("invoice_stages"))
        self.item_name = str(config.get("item_name") or "Services")
        self.description_target = str(config.get("invoice_description_target") or "CustomerMemo")
        self.dry_run = bool(config.get("dry_run"))
        self.report = WriteReport(fail_fast=config.get("on_record_error") == "fail")
        self.intake = RecordIntake(self.report, streams)
        self.executor = BatchExecutor(client, self.report, self.dry_run)
        self._view: QuickBooksView | None = None
        self._settings: CompanySettings | None = None
        self._item_ref: dict[str, str] | None = None

    def title_caveat(self, project: Mapping[str, Any]) -> str | None:
        return shortened_title(dict(project))

    # -- flush ---------------------------------------------------------------------------------

    def flush(self, final: bool = False) -> None:
        records, selection = self.take_flush(final)
        view = self.quickbooks_view()
        plan = self._complete(lambda: plan_customers(records, selection, view, self.intake.facts, self.currency))
        view.customers.adopted = plan.adopted
        self._run(plan, view)
        if selection.invoices:
            settings = self._invoice_settings()
            view.invoices = self._existing_invoices(selection.invoices, view)
            self._run(plan_invoices(selection, view, settings), view)

    def _complete(self, make_plan: Callable[[], Plan]) -> Plan:
        """A plan with nothing left to read: what it asks for is read, then it is made again (pure, cheap)."""
        plan = make_plan()
        while plan.needs:
            view = self.quickbooks_view()
            if NEEDS_OTHER_NAMES in plan.needs and not view.other_names_known:
                self._reserve_other_names(view)
            elif NEEDS_COMPANY in plan.needs and not view.company_known:
                view.currency_ref = self._company().currency_ref(self.currency)
                view.company_known = True
            else:
                raise RuntimeError(f"the plan asks again for what was read: {sorted(plan.needs)}")
            plan = make_plan()
        return plan

    def _run(self, plan: Plan, view: QuickBooksView) -> None:
        self.record_outcomes(plan.outcomes)
        for answer in self.executor.execute(plan.writes):
            self._lay_over(view, answer)

    @staticmethod
    def _lay_over(view: QuickBooksView, answer: Answer) -> None:
        """What QuickBooks answered (or, in a dry run, a customer to create) becomes part of the view."""
        write, obj = answer.write, answer.obj
        if answer.action in ("planned", "unchanged"):
            return
        if write.entity == "Invoice":
            if answer.action != "reread":
                view.written_invoices[write.coperniq_id] = obj  # newer than what a query may still show
            return
        if answer.action == "created":
            view.new_customer_ids.add(str(obj["Id"]))
        if answer.action == "updated":
            view.customers.replace(write.coperniq_id, obj)
        else:
            view.customers.add(obj)

    # -- what QuickBooks holds -------------------------------------------------------------------

    def quickbooks_view(self) -> QuickBooksView:
        """The run's view of QuickBooks: every customer read once, the rest added as flushes need it."""
        if self._view is None:
            index = CustomerIndex()
            for page in self.client.query_entities("Customer", ["Active IN (true, false)"], order_by="Id"):
                for customer in page:
                    index.add(customer)
            self.logger.info(f"Indexed {len(index.by_name)} QuickBooks customers "
                             f"({len(index.by_project)} linked to Coperniq projects).")
            self._view = QuickBooksView(customers=index)
        return self._view

    def _reserve_other_names(self, view: QuickBooksView) -> None:
        """DisplayName is unique across customers, vendors and employees: know the other two before the
        first customer is named (usually one query each) instead of one 6240 fault at a time."""
        view.other_names_known = True
        for entity in ("Vendor", "Employee"):
            for page in self.client.query_entities(entity, ["Active IN (true, false)"], order_by="Id"):
                for other in page:
                    view.customers.reserve(str(other.get("DisplayName") or ""))

    def _company(self) -> CompanySettings:
        """The company's preferences and terms, read once per run; a currency it cannot use stops the sync."""
        if self._settings is None:
            settings = read_settings(self.client)
            problem = currency_check(self.client, settings, self.currency)
            if problem is not None:
                raise config_error(problem)
            self._settings = settings
        return self._settings

    def _invoice_settings(self) -> InvoiceSettings:
        item_ref = self._item()
        company = self._company()
        return InvoiceSettings(item_ref, self.description_target, tuple(company.terms), company.custom_txn_numbers)

    def _item(self) -> dict[str, str]:
        if self._item_ref is None:
            rows = self.client.query(f"SELECT * FROM Item WHERE Name = {quote(self.item_name)}").get("Item", [])
            if not rows:
                raise config_error(f"QuickBooks has no product/service named {self.item_name!r} for invoice lines. "
                                   "Create it in QuickBooks or set `item_name` to an existing one.")
            self._item_ref = {"value": str(rows[0]["Id"]), "name": str(rows[0].get("Name", self.item_name))}
        return self._item_ref

    def _existing_invoices(self, invoices: Sequence[dict[str, Any]], view: QuickBooksView) -> dict[int, dict[str, Any]]:
        """QuickBooks invoices linked to these Coperniq invoices, found by number and by customer.

        A customer this run created can hold no invoice but the ones this run wrote (in the view), so its
        invoices are not looked up by customer; by number they are (an invoice of ours may sit under an
        older customer the bookkeeper unlinked and renamed).
        """
        found: dict[str, dict[str, Any]] = {}

        def lookup(field_name: str, values: Iterable[str]) -> None:
            for chunk in chunks(sorted(set(values)), LOOKUP_CHUNK):
                for page in self.client.query_entities("Invoice", [f"{field_name} IN {in_list(chunk)}"], "Id"):
                    found.update((row["Id"], row) for row in page)

        customers = (view.customers.by_project.get(i["record"]["id"]) for i in invoices)
        old_customers = {str(c["Id"]) for c in customers if c} - view.new_customer_ids
        # As sent, or "<uid>-C" after a duplicate number; with QuickBooks numbering invoices itself, by customer.
        lookup("DocNumber", (n for i in invoices for n in doc_numbers_for_lookup(i.get("uid"))))
        lookup("CustomerRef", old_customers)
        by_coperniq: dict[int, dict[str, Any]] = {}
        for row in found.values():
            coperniq_id = invoice_id_from_note(row.get("PrivateNote"))
            if coperniq_id is not None:
                by_coperniq[coperniq_id] = row
        # What this run wrote is newer than what a query may still show.
        written = view.written_invoices
        by_coperniq.update((i["id"], written[i["id"]]) for i in invoices if i["id"] in written)
        return by_coperniq
