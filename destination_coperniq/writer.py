"""Updates Coperniq projects, contacts and invoices from QuickBooks customers and invoices.

qbo:out:1: a customer finds its project through the link destination-quickbooks wrote (the
``Coperniq project #ID`` line of its Notes, or the ``(Coperniq #ID)`` DisplayName suffix). The
project and its contact are read, compared in QuickBooks' terms (``mapping.qbo_to_coperniq``),
and patched only where QuickBooks really differs, so the echo of our own writes costs no write.

qbo:out:2: an invoice born in Coperniq (``Coperniq invoice #ID`` in its PrivateNote) only
brings its payment status back. An invoice born in QuickBooks is created once on the project of
its customer and found again by the ``QuickBooks invoice #Id`` line of its description.

Coperniq has no batch API and allows 5,000 requests a day per key: every request is counted,
and the writer stops cleanly (after the last committed state) before the quota runs out.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Mapping
from typing import Any

from airbyte_cdk.models import FailureType
from airbyte_cdk.utils.traced_exception import AirbyteTracedException

from connector_core.destination import WriteReport
from coperniq.client import CoperniqClient
from coperniq.errors import CoperniqError, CoperniqNotFound
from destination_coperniq.lookups import ListedRecords
from mapping.addresses import format_address
from mapping.job_site import job_site_key
from mapping.links import (
    display_name_matches,
    invoice_id_from_note,
    project_id_from_display_name,
    project_id_from_notes,
    qbo_invoice_id_from_description,
    title_from_display_name,
)
from mapping.people import join_name, same_email, same_phone, split_name
from mapping.qbd import online_record
from mapping.qbo_to_coperniq import (
    contact_changes,
    coperniq_invoice_changes,
    coperniq_invoice_fields,
    invoice_status,
    project_changes,
    record_problem,
)
from mapping.values import money_amount

STREAMS = ("customers", "invoices")
# Requests one record may need at most (read project, search contact, patch both): the quota guard's unit.
REQUESTS_PER_RECORD = 4
PAYMENT_RANK = {"PARTIALLY_PAID": 1, "PAID": 2}


def field_value(record: Mapping[str, Any], path: str) -> Any:
    value: Any = record
    for part in path.split("."):
        value = value.get(part) if isinstance(value, Mapping) else None
    return value


def is_deleted(record: Mapping[str, Any]) -> bool:
    return record.get("status") == "Deleted" or bool(record.get("_ab_cdc_deleted_at"))


def linked_project(customer: Mapping[str, Any]) -> int | None:
    """The Coperniq project a QuickBooks customer stands for: its Notes marker, else its DisplayName suffix."""
    return project_id_from_notes(customer.get("Notes")) or project_id_from_display_name(customer.get("DisplayName"))


def copy_of(invoices: Iterable[dict[str, Any]], qbo_invoice_id: Any) -> dict[str, Any] | None:
    """The Coperniq invoice made from this QuickBooks invoice (its description carries the marker)."""
    return next((i for i in invoices if qbo_invoice_id_from_description(i.get("description")) == str(qbo_invoice_id)),
                None)


def has_person(customer: Mapping[str, Any]) -> bool:
    """Whether a customer names a person to keep as the project's contact."""
    return any((customer.get("GivenName"), customer.get("FamilyName"),
                (customer.get("PrimaryEmailAddr") or {}).get("Address"),
                (customer.get("PrimaryPhone") or {}).get("FreeFormNumber")))


class CoperniqWriter:
    def __init__(self, client: CoperniqClient, config: Mapping[str, Any], logger: logging.Logger):
        self.client = client
        self.logger = logger
        self.filter_field = str(config.get("customer_filter_field") or "").strip()
        self.filter_value = str(config.get("customer_filter_value") or "").strip().casefold()
        self.filter_contains = config.get("customer_filter_match") == "contains"
        self.matched_status = config.get("matched_project_status") or None
        self.upsert_unlinked = config.get("unlinked_customers") == "upsert"
        self.match_by = str(config.get("match_by") or "title")
        self.catalog_item_id = config.get("invoice_catalog_item_id")
        self.min_remaining = int(config.get("min_remaining_quota", 100) or 0)
        self.dry_run = bool(config.get("dry_run"))
        self.report = WriteReport(fail_fast=config.get("on_record_error") == "fail")
        self._customers: dict[str, dict[str, Any]] = {}
        self._invoices: dict[str, dict[str, Any]] = {}
        self._project_of_customer: dict[str, int | None] = {}
        self._project_invoices: dict[int, list[dict[str, Any]]] = {}
        # What Coperniq holds, read by list pages where that saves requests (see lookups.py).
        self._known_projects = ListedRecords(client, "projects", include_archived="true")
        self._known_contacts = ListedRecords(client, "contacts")
        self._known_invoices = ListedRecords(client, "invoices")

    # -- buffering -----------------------------------------------------------------------------

    def buffered(self) -> int:
        return len(self._customers) + len(self._invoices)

    def add(self, stream: str, record: Mapping[str, Any]) -> None:
        if stream not in STREAMS:
            self.report.skip(stream, record.get("Id"), f"unknown stream {stream!r}; expected customers or invoices")
            return
        record = online_record(stream, dict(record))  # QuickBooks Desktop records arrive in qbXML names
        record_id = record.get("Id")
        if not isinstance(record_id, str | int) or isinstance(record_id, bool) or not str(record_id).strip():
            self.report.skip(stream, record_id, "record has no QuickBooks `Id`")
            return
        problem = None if is_deleted(record) else record_problem(stream, dict(record))
        if problem is not None:
            self.report.reject(stream, record_id, f"cannot be mapped to Coperniq: {problem}")
            return
        (self._customers if stream == "customers" else self._invoices)[str(record_id)] = dict(record)

    def held(self) -> int:
        return 0  # every flush writes all it has

    def flush(self, final: bool = False) -> None:
        customers, invoices = self._customers, self._invoices
        self._customers, self._invoices = {}, {}
        self._read_lists_if_cheaper(list(customers.values()), list(invoices.values()))
        for customer in sorted(customers.values(), key=lambda c: int(c["Id"]) if str(c["Id"]).isdigit() else 0):
            self._guard_quota()
            self._guarded("customers", customer["Id"], self._write_customer, customer)
        for invoice in invoices.values():
            self._guard_quota()
            self._guarded("invoices", invoice["Id"], self._write_invoice, invoice)

    def _read_lists_if_cheaper(self, customers: list[dict[str, Any]], invoices: list[dict[str, Any]]) -> None:
        """Read list pages in place of the one-by-one reads this flush would make, where that is cheaper."""
        linked: set[int] = set()
        people = 0
        for customer in customers:
            project_id = linked_project(customer)
            if project_id is not None and self._matches_filter(customer):
                linked.add(project_id)
                people += has_person(customer)
        wanted = self._known_projects.missing(linked)
        # An invoice whose customer is not in this run finds its project by a title search.
        searches = {str(ref.get("name")) for i in invoices if not is_deleted(i)
                    and invoice_id_from_note(i.get("PrivateNote")) is None
                    and isinstance(ref := i.get("CustomerRef"), Mapping)
                    and str(ref.get("value")) not in self._project_of_customer
                    and project_id_from_display_name(ref.get("name")) is None}
        if searches:
            self._known_projects.read_pages(len(wanted) + len(searches))
        else:
            self._known_projects.read_pages(len(wanted), lambda: not self._known_projects.missing(wanted))
        # Each contact lookup is a search of up to three requests; count it as one.
        self._known_contacts.read_pages(people)
        # One invoice list per customer of a QuickBooks-born invoice, at most one GET per Coperniq-born one.
        owners: set[str] = set()
        payments = 0
        for invoice in invoices:
            if is_deleted(invoice):
                continue
            if invoice_id_from_note(invoice.get("PrivateNote")) is None:
                owners.add(str((invoice.get("CustomerRef") or {}).get("value")))
            else:
                payments += 1
        self._known_invoices.read_pages(len(owners) + payments)

    def _project(self, project_id: int) -> dict[str, Any]:
        if project_id not in self._known_projects.by_id:
            self._known_projects.remember(self.client.get_project(project_id))
        return dict(self._known_projects.by_id[project_id])

    def _guarded(self, stream: str, record_id: Any, write: Any, record: dict[str, Any]) -> None:
        try:
            write(record)
        except CoperniqError as error:
            self.report.reject(stream, record_id, str(error))
        except (ValueError, TypeError, AttributeError, ArithmeticError) as error:  # the checks in add() missed it
            self.report.reject(stream, record_id, f"cannot be mapped to Coperniq: {type(error).__name__}: {error}")

    def _guard_quota(self) -> None:
        remaining = self.client.rate_limit_remaining
        if remaining is not None and remaining < self.min_remaining + REQUESTS_PER_RECORD:
            raise AirbyteTracedException(
                message=f"Coperniq's daily request quota is nearly used up ({remaining} requests left, "
                        f"{self.min_remaining} kept in reserve). The sync stopped after its last committed state; "
                        "the next run resumes from there.",
                failure_type=FailureType.transient_error)

    # -- qbo:out:1 -----------------------------------------------------------------------------

    def _matches_filter(self, customer: Mapping[str, Any]) -> bool:
        if not self.filter_field:
            return True
        value = field_value(customer, self.filter_field)
        text = str(value).casefold() if value is not None else ""
        return self.filter_value in text if self.filter_contains else text == self.filter_value

    def _write_customer(self, customer: dict[str, Any]) -> None:
        project_id = linked_project(customer)
        if project_id is not None:
            self._project_of_customer[str(customer["Id"])] = project_id
        if not self._matches_filter(customer):
            self.report.count("customers", "filtered")
            return
        if project_id is None:
            self._unlinked_customer(customer)
            return
        try:
            project = self._project(project_id)
        except CoperniqNotFound:
            self.report.skip("customers", customer["Id"], f"its linked Coperniq project {project_id} no longer exists")
            return
        changes = project_changes(customer, project, project_id)
        if self.matched_status and self.filter_field and project.get("status") != self.matched_status:
            changes["status"] = self.matched_status
        wrote = self._apply("customers", "update", changes,
                            lambda: self.client.update_project(project_id, changes))
        if wrote and not self.dry_run:
            self._known_projects.remember({**project, **changes})
        wrote |= self._write_contact(customer, project)
        if not wrote:
            self.report.count("customers", "unchanged")

    def _project_contact(self, project: Mapping[str, Any], customer: Mapping[str, Any]) -> dict[str, Any] | None:
        """The project's contact, found by the project's primary email or phone, else by the customer's
        name (the API lists contacts by search only, not by project)."""
        name = join_name(customer.get("GivenName"), customer.get("FamilyName"))
        probes = [(project.get("primaryEmail"), lambda c, v: any(same_email(e, v) for e in c.get("emails") or [])),
                  (project.get("primaryPhone"), lambda c, v: any(same_phone(p, v) for p in c.get("phones") or [])),
                  (name, lambda c, v: split_name(c.get("name")) == split_name(v))]
        known = self._known_contacts.of_project(project["id"])
        for value, matches in probes:
            found = next((contact for contact in known if value and matches(contact, value)), None)
            if found is not None:
                return found
        if self._known_contacts.complete:
            return None  # every contact was read: this project has none of these
        # The name is searched once more by its last part alone: Coperniq's search matches text as
        # stored, and a stored " Emily  Thompson " is not found by "Emily Thompson".
        family = customer.get("FamilyName")
        searches = [(value, value, matches) for value, matches in probes if value]
        if name and family and str(family).strip() != name:
            searches.append((str(family).strip(), name, probes[2][1]))
        for text, value, matches in searches:
            found = self._search_contact(str(text), project["id"], lambda c, v=value, m=matches: m(c, v))
            if found is not None:
                self._known_contacts.remember(found)
                return found
        return None

    def _search_contact(self, text: str, project_id: int,
                        matches: Callable[[dict[str, Any]], bool]) -> dict[str, Any] | None:
        """The first contact Coperniq's search finds for ``text`` that is linked to the project and matches."""
        for contact in self.client.search_contacts(text):
            if any(p.get("id") == project_id for p in contact.get("projects") or []) and matches(contact):
                return contact
        return None

    def _write_contact(self, customer: Mapping[str, Any], project: Mapping[str, Any]) -> bool:
        if not has_person(customer):
            return False
        contact = self._project_contact(project, customer)
        changes = contact_changes(dict(customer), contact)
        if contact is None:
            body = {**changes, "projectIds": [project["id"]]}
            return self._apply("customers", "create_contact", body, lambda: self._known_contacts.remember(
                self.client.create_contact(body, find_created=lambda: self._created_contact(body, project["id"]))))
        return self._apply("customers", "update_contact", changes, lambda: self._known_contacts.remember(
            {**contact, **changes, **(self.client.update_contact(contact["id"], changes) or {})}))

    def _created_contact(self, body: Mapping[str, Any], project_id: int) -> dict[str, Any] | None:
        """The contact a create whose answer was lost may have made: same name, linked to the project."""
        probe = next(iter(body.get("emails") or []), None) or next(iter(body.get("phones") or []), None) \
            or body["name"]
        return self._search_contact(str(probe), project_id, lambda c: c.get("name") == body["name"])

    def _unlinked_customer(self, customer: dict[str, Any]) -> None:
        if not self.upsert_unlinked:
            self.report.skip("customers", customer["Id"], "no linked Coperniq project (its Notes carry no "
                             "'Coperniq project #ID' line); set unlinked_customers to upsert to match or create one")
            return
        address = format_address(customer.get(job_site_key(customer)))  # the job site (mapping/job_site.py)
        body: dict[str, Any] = {"title": title_from_display_name(customer.get("DisplayName"), 0) or
                                f"QuickBooks customer {customer['Id']}",
                                "address": [address] if address else []}
        if not address:
            self.report.skip("customers", customer["Id"], "no linked project, and no address to create one "
                             "(Coperniq requires a project address)")
            return
        email = (customer.get("PrimaryEmailAddr") or {}).get("Address")
        phone = (customer.get("PrimaryPhone") or {}).get("FreeFormNumber")
        if email:
            body["primaryEmail"] = email
        if phone:
            body["primaryPhone"] = phone
        self._apply("customers", "upsert", body, lambda: self.client.create_project(
            body, match_by=self.match_by, match_found_strategy="enrich"))

    # -- qbo:out:2 -----------------------------------------------------------------------------

    def _catalog_item(self) -> int:
        if self.catalog_item_id is None:
            items = self.client.list_catalog_items()
            if not items:
                raise AirbyteTracedException(
                    message="Coperniq has no catalog item to book invoice lines on; create one or set "
                            "`invoice_catalog_item_id`.", failure_type=FailureType.config_error)
            self.catalog_item_id = int(items[0]["id"])
            self.logger.info(f"Invoices from QuickBooks are booked on Coperniq catalog item {self.catalog_item_id}.")
        return int(self.catalog_item_id)

    def _invoices_of(self, project_id: int) -> list[dict[str, Any]]:
        if self._known_invoices.complete:
            return self._known_invoices.of_project(project_id)
        if project_id not in self._project_invoices:
            self._project_invoices[project_id] = self.client.list_project_invoices(project_id)
        return self._project_invoices[project_id]

    def _copy_of(self, project_id: int, qbo_invoice_id: Any) -> dict[str, Any] | None:
        return copy_of(self._invoices_of(project_id), qbo_invoice_id)

    def _project_for_invoice(self, invoice: Mapping[str, Any]) -> int | None:
        """The invoice's customer's project: from this run's customers, the DisplayName suffix, or a
        title search (an incremental sync brings a new invoice without its unchanged customer)."""
        ref = invoice.get("CustomerRef") or {}
        customer_id, name = str(ref.get("value")), str(ref.get("name") or "")
        if customer_id not in self._project_of_customer:
            found = project_id_from_display_name(name)
            if found is None and name:
                candidates = (self._known_projects.by_id.values() if self._known_projects.complete else
                              self.client.list_page("projects", page=1, title=name, include_archived="true").records)
                matches = [p["id"] for p in candidates if display_name_matches(name, p.get("title"), p["id"])]
                found = matches[0] if len(matches) == 1 else None  # two projects of that title: ambiguous
            self._project_of_customer[customer_id] = found  # a miss is remembered too: one search per customer
            return found
        return self._project_of_customer[customer_id]

    def _write_invoice(self, invoice: dict[str, Any]) -> None:
        if is_deleted(invoice):
            # Deleting records in Coperniq on a signal from accounting is left to people: reported, not done.
            self.report.skip("invoices", invoice["Id"], "deleted in QuickBooks; its Coperniq copy (if any) is kept")
            return
        coperniq_id = invoice_id_from_note(invoice.get("PrivateNote"))
        if coperniq_id is not None:
            self._payment_status_back(invoice, coperniq_id)
            return
        project_id = self._project_for_invoice(invoice)
        if project_id is None:
            self.report.skip("invoices", invoice["Id"], "its customer is linked to no Coperniq project")
            return
        desired = coperniq_invoice_fields(invoice, self._catalog_item())
        existing = self._copy_of(project_id, invoice["Id"])
        if existing is None:
            body = {"recordId": project_id, **desired}

            def created_meanwhile() -> dict[str, Any] | None:  # the answer to the create was lost: read afresh
                return copy_of(self.client.list_project_invoices(project_id), invoice["Id"])

            def create() -> None:
                self._known_invoices.remember(self.client.create_invoice(body, find_created=created_meanwhile))
                self._project_invoices.pop(project_id, None)  # re-read once if another invoice needs it

            self._apply("invoices", "create", body, create)
            return
        desired.pop("issueDate", None)
        desired.pop("calculationMethod", None)
        changes = coperniq_invoice_changes(existing, desired)
        if not self._apply("invoices", "update", changes, lambda: self._updated_invoice(existing, changes)):
            self.report.count("invoices", "unchanged")

    def _updated_invoice(self, current: Mapping[str, Any], changes: Mapping[str, Any]) -> None:
        answer = self.client.update_invoice(current["id"], changes)
        self._known_invoices.remember({**current, **changes, **(answer or {})})
        self._project_invoices.clear()  # one-by-one lists of invoices may hold the old version

    def _payment_status_back(self, invoice: Mapping[str, Any], coperniq_id: int) -> None:
        """An invoice born in Coperniq: Coperniq owns its lines; QuickBooks only adds news of payments.

        Payments Coperniq recorded itself are unknown to QuickBooks, so an unpaid balance there never
        downgrades Coperniq's status; only a payment QuickBooks knows of moves it forward.
        """
        total = money_amount(invoice.get("TotalAmt"), "TotalAmt")
        balance = money_amount(invoice.get("Balance", total), "Balance")
        if balance >= total:
            self.report.count("invoices", "unchanged")  # no payment in QuickBooks: nothing to tell Coperniq
            return
        try:
            if coperniq_id not in self._known_invoices.by_id:
                self._known_invoices.remember(self.client.get_invoice(coperniq_id))
            current = self._known_invoices.by_id[coperniq_id]
        except CoperniqNotFound:
            self.report.skip("invoices", invoice["Id"], f"its Coperniq invoice {coperniq_id} no longer exists")
            return
        status = invoice_status(total, balance, current.get("status"))
        changes = {"status": status} if PAYMENT_RANK.get(status, 0) > PAYMENT_RANK.get(current.get("status"), 0) \
            else {}
        if not self._apply("invoices", "update", changes, lambda: self._updated_invoice(current, changes)):
            self.report.count("invoices", "unchanged")

    # -- writes --------------------------------------------------------------------------------

    def _apply(self, stream: str, action: str, body: Mapping[str, Any], write: Any) -> bool:
        """Run one write unless the body is empty (nothing changed) or this is a dry run."""
        if not body:
            return False
        if self.dry_run:
            self.report.count(stream, f"would_{action}")
            return True
        write()
        self.report.count(stream, {"update": "updated", "create": "created"}.get(action, action))
        return True
