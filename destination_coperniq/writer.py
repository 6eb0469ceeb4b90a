"""Updates Coperniq projects, contacts and invoices from QuickBooks customers and invoices.

qbo:out:1: a customer finds its project through the link destination-quickbooks wrote (the
``Coperniq project #ID`` line of its Notes, or the ``(Coperniq #ID)`` DisplayName suffix). The
project and its contact are read, compared in QuickBooks' terms (``mapping.qbo_to_coperniq``),
and patched only where QuickBooks really differs, so the echo of our own writes costs no write.

An inactive customer (QuickBooks shows it as ``Name (deleted)``) never lends that suffix to a
project title; its project gets ``inactive_customer_project_status`` when set, else the
deactivation is reported. ``unlinked_customers: upsert`` never merges a customer into a project on
a title alone or on an ambiguous match: it reports what would link them instead.

qbo:out:2: an invoice born in Coperniq (``Coperniq invoice #ID`` in its PrivateNote) only
brings its payment status back. An invoice born in QuickBooks is created once on the project of
its customer: the ``_coperniq_project_id`` source-quickbooks puts on every invoice (the link in its
customer's Notes), else this run's customer record or the DisplayName suffix; it is found again by
the ``QuickBooks invoice #Id`` line of its description. Never on a project picked by a shared title.

A dry run writes nothing and acknowledges no state; it reports counts and a sample of planned writes.

Coperniq has no batch API and allows 5,000 requests a day per key: every request is counted,
and the writer stops cleanly (after the last committed state) before the quota runs out.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Iterable, Mapping
from typing import Any

from airbyte_cdk.models import FailureType
from airbyte_cdk.utils.traced_exception import AirbyteTracedException

from connector_core.destination import WriteReport, describe_fields
from coperniq.client import CoperniqClient
from coperniq.errors import CoperniqError, CoperniqNotFound
from destination_coperniq.lookups import ListedRecords
from mapping.addresses import format_address
from mapping.job_site import job_site_key
from mapping.links import (
    PROJECT_MARKER,
    display_name_matches,
    invoice_id_from_note,
    is_inactive,
    own_display_name,
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
    names_nobody,
    project_changes,
    record_problem,
)
from mapping.values import money_amount

STREAMS = ("customers", "invoices")
# Requests one record may need at most (read project, search contact, patch both): the quota guard's unit.
REQUESTS_PER_RECORD = 4
PAYMENT_RANK = {"PARTIALLY_PAID": 1, "PAID": 2}
# match_by -> the /projects list filter that finds candidates (Coperniq matches on the primary contact's values)
MATCH_FILTERS = {"title": "title", "primaryEmail": "primary_email", "primaryPhone": "primary_phone",
                 "address": "address"}
LINK_HINT = ("add the line '" + PROJECT_MARKER.format("<project id>") + "' to the customer's Notes in QuickBooks "
             "to link it to its project")


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


def same_match_value(match_by: str, a: Any, b: Any) -> bool:
    """Whether two values are equal the way Coperniq's match_by compares them."""
    if match_by == "address":
        a, b = (v[0] if isinstance(v, list) and v else v for v in (a, b))
        return bool(a and b) and re.sub(r"[^0-9a-z]", "", str(a).casefold()) == re.sub(r"[^0-9a-z]", "",
                                                                                       str(b).casefold())
    if match_by == "primaryEmail":
        return bool(a and b) and same_email(str(a), str(b))
    if match_by == "primaryPhone":
        return bool(a and b) and same_phone(str(a), str(b))
    return " ".join(str(a or "").casefold().split()) == " ".join(str(b or "").casefold().split()) != ""


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
        self.inactive_status = config.get("inactive_customer_project_status") or None
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
        self._title_matches: dict[str, list[int]] = {}  # older sources: projects by the title of a customer
        # What Coperniq holds, read by list pages where that saves requests (see lookups.py).
        self._known_projects = ListedRecords(client, "projects", include_archived="true")
        self._known_contacts = ListedRecords(client, "contacts")
        self._known_invoices = ListedRecords(client, "invoices")
        self._record: tuple[str, Any] = ("", None)  # the record being written, for the dry run's sample

    # -- buffering -----------------------------------------------------------------------------

    def pending_count(self) -> int:
        return len(self._customers) + len(self._invoices)

    def add(self, stream: str, record: Mapping[str, Any]) -> None:
        if stream not in STREAMS:
            self.report.skip(stream, record.get("Id"), f"unknown stream {stream!r}; expected customers or invoices")
            return
        original = record
        record = online_record(stream, dict(record))  # QuickBooks Desktop records arrive in qbXML names
        if "_coperniq_project_id" in original:  # the source's link to the project travels with the record
            record = {**record, "_coperniq_project_id": original["_coperniq_project_id"]}
        record_id = record.get("Id")
        if not isinstance(record_id, str | int) or isinstance(record_id, bool) or not str(record_id).strip():
            self.report.skip(stream, record_id, "record has no QuickBooks `Id`")
            return
        problem = None if is_deleted(record) else record_problem(stream, dict(record))
        if problem is not None:
            self.report.reject(stream, record_id, f"cannot be mapped to Coperniq: {problem}")
            return
        (self._customers if stream == "customers" else self._invoices)[str(record_id)] = dict(record)

    def deferred_count(self) -> int:
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
                    and "_coperniq_project_id" not in i
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
        self._record = (stream, record_id)
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
        matches = self._matches_filter(customer)
        inactive = is_inactive(customer)
        if not matches and not (inactive and project_id is not None):
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
        # QuickBooks shows an inactive customer as "Name (deleted)": the project keeps the customer's own name.
        named = {**customer, "DisplayName": own_display_name(customer)}
        changes = project_changes(named, project, project_id) if matches else {}
        if matches and self.matched_status and self.filter_field and project.get("status") != self.matched_status:
            changes["status"] = self.matched_status
        if inactive:
            self._deactivated(customer, project, changes)
        wrote = self._apply("customers", "update", changes,
                            lambda: self.client.update_project(project_id, changes))
        if wrote and not self.dry_run:
            self._known_projects.remember({**project, **changes})
        if matches:
            wrote |= self._write_contact(named, project)
        if not wrote:
            self.report.count("customers", "unchanged")

    def _deactivated(self, customer: Mapping[str, Any], project: Mapping[str, Any], changes: dict[str, Any]) -> None:
        """A customer made inactive: its project takes ``inactive_customer_project_status``, else it is reported."""
        if self.inactive_status:
            if project.get("status") != self.inactive_status:
                changes["status"] = self.inactive_status
            else:
                changes.pop("status", None)
            return
        self.report.count("customers", "inactive_reported")
        self.report.caveat("customers", customer["Id"],
                           f"customer {own_display_name(customer)!r} is inactive in QuickBooks; its project "
                           f"{project['id']} is left as it is (set inactive_customer_project_status to change its "
                           "status when a customer is made inactive)")

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
        if contact is None and names_nobody(dict(customer)):
            self.report.caveat("customers", customer.get("Id"), "names no person (no GivenName, FamilyName or "
                               "CompanyName): its email and phone make no Coperniq contact; add a name in QuickBooks "
                               "or a contact in Coperniq")
            return False
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
        if is_inactive(customer):
            self.report.skip("customers", customer["Id"], "inactive in QuickBooks and linked to no Coperniq project: "
                             "no project is made for it")
            return
        address = format_address(customer.get(job_site_key(customer)))  # the job site (mapping/job_site.py)
        body: dict[str, Any] = {"title": title_from_display_name(own_display_name(customer), 0) or
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
        if not self._safe_to_upsert(customer, body):
            return
        self._apply("customers", "upsert", body, lambda: self.client.create_project(
            body, match_by=self.match_by, match_found_strategy="enrich"))

    def _safe_to_upsert(self, customer: Mapping[str, Any], body: Mapping[str, Any]) -> bool:
        """Whether Coperniq's match_by would merge this customer into the right project, or create a new one.

        A title proves nothing (two homes are both "Smith Residence"): with ``match_by: title`` any
        project of that title stops the upsert. On the other fields a match is trusted only when it is
        the only one. Otherwise the customer is reported with what would link it, never merged.
        """
        value = body.get(self.match_by)
        search = value[0] if isinstance(value, list) else value
        if not search:
            return True  # Coperniq matches nothing on an empty value: a new project
        candidates = self.client.list_page("projects", page=1, **{MATCH_FILTERS[self.match_by]: str(search)}).records
        matching = sorted(p["id"] for p in candidates if isinstance(p.get("id"), int)
                          and same_match_value(self.match_by, p.get(self.match_by), value))
        if self.match_by == "title" and matching:
            self.report.skip("customers", customer["Id"],
                             f"linked to no project, and its name matches the title of project(s) "
                             f"{', '.join(map(str, matching[:5]))}; a title alone does not prove they are the "
                             f"same job, so nothing was merged: {LINK_HINT}, or set match_by to primaryEmail, "
                             "primaryPhone or address")
            return False
        if len(matching) > 1:
            self.report.skip("customers", customer["Id"],
                             f"linked to no project, and its {self.match_by} matches {len(matching)} projects "
                             f"({', '.join(map(str, matching[:5]))}): ambiguous, nothing was merged; {LINK_HINT}")
            return False
        return True

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
        """The project of the invoice's customer, from the link only (an incremental sync brings a new
        invoice without its unchanged customer, so the source puts the link on the invoice).

        In order: ``_coperniq_project_id`` (source-quickbooks reads it from the customer's Notes), this
        run's customer record, the DisplayName suffix. Only an invoice from a source that does not send
        ``_coperniq_project_id`` falls back to a title, and only when exactly one project has it.
        A miss is reported with why and what would link it.
        """
        ref = invoice.get("CustomerRef") or {}
        customer_id, name = str(ref.get("value")), own_display_name({"DisplayName": str(ref.get("name") or "")})
        linked = invoice.get("_coperniq_project_id")
        if isinstance(linked, int | str) and not isinstance(linked, bool) and str(linked).strip().isdigit():
            self._project_of_customer[customer_id] = int(linked)
            return int(linked)
        if customer_id in self._project_of_customer:
            found = self._project_of_customer[customer_id]
        else:
            found = project_id_from_display_name(name)
            self._project_of_customer[customer_id] = found
        if found is not None:
            return found
        reason = f"its customer {name!r} (Id {customer_id}) is linked to no Coperniq project"
        if "_coperniq_project_id" not in invoice and name:
            if name not in self._title_matches:  # one search per name and run
                candidates = (self._known_projects.by_id.values() if self._known_projects.complete else
                              self.client.list_page("projects", page=1, title=name, include_archived="true").records)
                self._title_matches[name] = sorted(p["id"] for p in candidates
                                                   if display_name_matches(name, p.get("title"), p["id"]))
            matches = self._title_matches[name]
            if len(matches) == 1:
                self._project_of_customer[customer_id] = matches[0]  # one search per customer
                return matches[0]
            if matches:
                reason += (f", and projects {', '.join(map(str, matches[:5]))} share its title, so none was "
                           "picked by title")
        self.report.skip("invoices", invoice["Id"], f"{reason}: {LINK_HINT}")
        return None

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
            return  # reported
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
            record_id = self._record[1] if self._record[0] == stream else None
            self.report.plan(stream, action, record_id, describe_fields(body))
            return True
        write()
        self.report.count(stream, {"update": "updated", "create": "created"}.get(action, action))
        return True
