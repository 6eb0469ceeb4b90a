"""What Coperniq holds, as destination-coperniq reads it: on demand, in as few requests as the API allows.

``CoperniqHoldings`` answers the planner's questions (``planner.CoperniqView``) and keeps every answer
for the rest of the run; the executor keeps it current with its own writes. Before a flush,
``read_ahead`` reads in bulk what the flush's records will ask for:

- projects by id through ``GET /projects/search`` (``CoperniqClient.projects_by_id``, 100 ids a request),
  the same read source-coperniq uses for its invoices' stages;
- list pages of ``/contacts`` and ``/invoices``, which cannot be filtered by id or project, only where one
  page is likely to replace two or more one-by-one reads (a budget of half the reads it would replace),
  stopping as soon as the flush has what it needs. So a first sync of thousands of customers reads each
  list once, and an incremental sync of a few reads no list.

Whatever is still missing is read one by one when the planner asks.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Callable, Collection, Iterable, Mapping
from typing import Any

from connector_core.config import config_error
from coperniq.client import CoperniqClient
from coperniq.errors import CoperniqNotFound
from destination_coperniq.planner import RecordPlan, WriteRules
from mapping.coperniq_targets import (
    MATCH_FILTERS,
    contact_probes,
    contact_searches,
    first_matching_contact,
    has_person,
    is_deleted,
    linked_project,
    qbo_invoice_copy,
)
from mapping.links import invoice_id_from_note, is_inactive, project_id_from_display_name

Record = Mapping[str, Any]

# Fields the planner compares or matches on: the rest of each record is not kept (memory).
COMPARED_FIELDS = {
    "projects": ("id", "title", "address", "primaryEmail", "primaryPhone", "status"),
    "contacts": ("id", "name", "emails", "phones", "projects"),
    "invoices": ("id", "description", "amount", "dueDate", "status", "lineItems", "record"),
}


def compared_fields(resource: str, record: Record) -> dict[str, Any]:
    return {key: record[key] for key in COMPARED_FIELDS[resource] if key in record}


def owning_project_ids(resource: str, record: Record) -> list[int]:
    """The projects a contact (``projects[].id``) or an invoice (``record.id``) belongs to."""
    if resource == "contacts":
        return [p["id"] for p in record.get("projects") or [] if isinstance(p, dict) and isinstance(p.get("id"), int)]
    if resource == "invoices":
        owner = record.get("record")
        return [owner["id"]] if isinstance(owner, dict) and isinstance(owner.get("id"), int) else []
    return []


class KnownRecords:
    """The records of one Coperniq list (``/projects``, ``/contacts``, ``/invoices``) this run has read or written."""

    def __init__(self, client: CoperniqClient, resource: str, **params: Any):
        self._client = client
        self.resource = resource
        self._params = params
        self._pages_read = 0
        self._answered_before = 0  # reads of earlier flushes answered by what was known
        self.whole_list_read = False  # a record missing here does not exist (or is newer than the read)
        self.by_id: dict[int, dict[str, Any]] = {}
        self.by_project: dict[int, dict[int, dict[str, Any]]] = defaultdict(dict)

    def read_pages(self, instead_of: int, until: Callable[[], bool] = lambda: False,
                   answered: Callable[[], int] | None = None) -> None:
        """Read list pages on until ``until()``, for at most half of the ``instead_of`` one-by-one reads.

        With ``answered`` (how many of those reads what is known now answers), pages are read only while
        every page read this run has answered at least one read: on a list far longer than a sync has
        look-ups, pages rarely hold the few records wanted, and one-by-one reads are cheaper.
        """
        budget = instead_of // 2
        while budget > 0 and not self.whole_list_read and not until() and self._pages_pay(answered):
            page = self._client.list_page(self.resource, page=self._pages_read + 1, **self._params)
            self._pages_read += 1
            budget -= 1
            for record in page.records:
                self.keep(record)
            self.whole_list_read = not page.has_more
        if answered is not None:
            self._answered_before += answered()

    def _pages_pay(self, answered: Callable[[], int] | None) -> bool:
        return answered is None or self._pages_read <= self._answered_before + answered()

    def keep(self, record: Record | None) -> None:
        """Keep (or refresh) a record read or written."""
        if not isinstance(record, Mapping) or not isinstance(record.get("id"), int):
            return
        kept = compared_fields(self.resource, record)
        self.by_id[record["id"]] = kept
        for project_id in owning_project_ids(self.resource, kept):
            self.by_project[project_id][record["id"]] = kept

    def get(self, record_id: int, read_one: Callable[[int], dict[str, Any]]) -> dict[str, Any] | None:
        """The record, read by ``read_one`` when not known yet; None when Coperniq has no such record."""
        if record_id not in self.by_id:
            try:
                self.keep(read_one(record_id))
            except CoperniqNotFound:
                return None
        return self.by_id.get(record_id)

    def of_project(self, project_id: int) -> list[dict[str, Any]]:
        return list(self.by_project.get(project_id, {}).values())

    def unknown(self, ids: Collection[int]) -> set[int]:
        return {i for i in ids if i not in self.by_id}


class CoperniqHoldings:
    """What Coperniq holds, read on demand and kept for the run: the planner's ``CoperniqView``."""

    def __init__(self, client: CoperniqClient, logger: logging.Logger, catalog_item_id: Any = None):
        self._client = client
        self._logger = logger
        self._catalog_item_id = catalog_item_id
        self.projects = KnownRecords(client, "projects", include_archived="true")
        self.contacts = KnownRecords(client, "contacts")
        self.invoices = KnownRecords(client, "invoices")
        self._invoices_by_project: dict[int, list[dict[str, Any]]] = {}  # one-by-one lists of a project's invoices
        self._title_searches: dict[str, list[dict[str, Any]]] = {}
        self._customer_projects: dict[str, int] = {}

    # -- read ahead, once per flush ------------------------------------------------------------

    def read_ahead(self, customers: Iterable[Record], invoices: Iterable[Record], rules: WriteRules) -> None:
        """Read in bulk what planning these records will ask for, where that saves requests."""
        customers, invoices = list(customers), list(invoices)
        self._read_projects_ahead(customers, invoices, rules)
        # A contact look-up is a search of up to three requests; count it as one.
        people = {project_id for c in customers if (project_id := linked_project(c)) is not None
                  and rules.customer_filter.admits(c) and has_person(c)}
        self.contacts.read_pages(len(people),
                                 answered=lambda: sum(1 for p in people if self.contacts.by_project.get(p)))
        # One invoice list per customer of a QuickBooks-born invoice (answered by the whole list only), at most
        # one GET per Coperniq-born one.
        live = [i for i in invoices if not is_deleted(i)]
        owners = {str((i.get("CustomerRef") or {}).get("value")) for i in live
                  if invoice_id_from_note(i.get("PrivateNote")) is None}
        ours = {invoice_id for i in live if (invoice_id := invoice_id_from_note(i.get("PrivateNote"))) is not None}
        self.invoices.read_pages(len(owners) + len(ours), answered=lambda: len(ours) - len(self.invoices.unknown(ours))
                                 + (len(owners) if self.invoices.whole_list_read else 0))

    def _read_projects_ahead(self, customers: list[Record], invoices: list[Record], rules: WriteRules) -> None:
        """The linked projects of the customers, 100 a request; list pages first when invoices search titles.

        The customers' links are learnt here too: their invoices of this run and later ones land on them.
        """
        wanted: set[int] = set()
        for customer in customers:
            project_id = linked_project(customer)
            if project_id is not None:
                self._customer_projects[str(customer["Id"])] = project_id  # for the customer's invoices
                if rules.customer_filter.admits(customer) or is_inactive(customer):
                    wanted.add(project_id)
        # An invoice whose customer is linked nowhere this run finds its project by a title search.
        searches = {str(ref.get("name")) for i in invoices if not is_deleted(i)
                    and invoice_id_from_note(i.get("PrivateNote")) is None
                    and "_coperniq_project_id" not in i
                    and isinstance(ref := i.get("CustomerRef"), Mapping)
                    and str(ref.get("value")) not in self._customer_projects
                    and project_id_from_display_name(ref.get("name")) is None}
        if searches:
            self.projects.read_pages(len(searches))
        unknown = sorted(self.projects.unknown(wanted))
        if len(unknown) > 1:  # one id costs one GET either way
            for project in self._client.projects_by_id(unknown):
                self.projects.keep(project)

    # -- the planner's questions (planner.CoperniqView) -----------------------------------------

    def project(self, project_id: int) -> Record | None:
        # A project the search did not return may be deleted, or too new for the search yet: read it to know.
        found = self.projects.get(project_id, self._client.get_project)
        return dict(found) if found is not None else None

    def project_contact(self, project: Record, customer: Record) -> Record | None:
        found = first_matching_contact(self.contacts.of_project(project["id"]), contact_probes(project, customer))
        if found is not None or self.contacts.whole_list_read:
            return found  # every contact was read: this project has none of these
        for text, probe in contact_searches(project, customer):
            found = next((c for c in self._contacts_found(text, project["id"]) if probe.matches(c)), None)
            if found is not None:
                self.contacts.keep(found)
                return found
        return None

    def _contacts_found(self, text: str, project_id: int) -> list[dict[str, Any]]:
        """The contacts Coperniq's search finds for ``text`` that are linked to the project."""
        return [contact for contact in self._client.search_contacts(text)
                if any(p.get("id") == project_id for p in contact.get("projects") or [])]

    def match_candidates(self, match_by: str, value: str) -> list[Record]:
        return self._client.list_page("projects", page=1, **{MATCH_FILTERS[match_by]: value}).records

    def title_candidates(self, display_name: str) -> list[Record]:
        if self.projects.whole_list_read:
            return list(self.projects.by_id.values())
        if display_name not in self._title_searches:  # one search per name and run
            self._title_searches[display_name] = self._client.list_page(
                "projects", page=1, title=display_name, include_archived="true").records
        return self._title_searches[display_name]

    def invoices_of(self, project_id: int) -> list[Record]:
        if self.invoices.whole_list_read:
            return self.invoices.of_project(project_id)
        if project_id not in self._invoices_by_project:
            self._invoices_by_project[project_id] = self._client.list_project_invoices(project_id)
        return self._invoices_by_project[project_id]

    def invoice(self, invoice_id: int) -> Record | None:
        return self.invoices.get(invoice_id, self._client.get_invoice)

    def catalog_item_id(self) -> int:
        if self._catalog_item_id is None:
            items = self._client.list_catalog_items()
            if not items:
                raise config_error("Coperniq has no catalog item to book invoice lines on; create one or set "
                                   "`invoice_catalog_item_id`.")
            self._catalog_item_id = int(items[0]["id"])
            self._logger.info(f"Invoices from QuickBooks are booked on Coperniq catalog item {self._catalog_item_id}.")
        return int(self._catalog_item_id)

    def customer_project(self, customer_id: str) -> int | None:
        return self._customer_projects.get(customer_id)

    # -- what the run learns and writes ---------------------------------------------------------

    def learn_link(self, plan: RecordPlan) -> None:
        """Remember the customer -> project link a record proved, for the customer's later invoices."""
        if plan.link is not None:
            self._customer_projects[plan.link[0]] = plan.link[1]

    def project_written(self, project: Record, changes: Record) -> None:
        self.projects.keep({**project, **changes})

    def contact_written(self, contact: Record | None) -> None:
        self.contacts.keep(contact)

    def invoice_created(self, invoice: Record | None, project_id: int) -> None:
        self.invoices.keep(invoice)
        self._invoices_by_project.pop(project_id, None)  # re-read once if another invoice needs it

    def invoice_updated(self, invoice: Record) -> None:
        self.invoices.keep(invoice)
        self._invoices_by_project.clear()  # one-by-one lists of invoices may hold the old version

    # -- finding a create whose answer was lost --------------------------------------------------

    def created_contact(self, body: Record, project_id: int) -> dict[str, Any] | None:
        """The contact a create whose answer was lost may have made: same name, linked to the project."""
        probe = next(iter(body.get("emails") or []), None) or next(iter(body.get("phones") or []), None) \
            or body["name"]
        return next((c for c in self._contacts_found(str(probe), project_id) if c.get("name") == body["name"]), None)

    def created_invoice(self, project_id: int, qbo_invoice_id: str) -> dict[str, Any] | None:
        """The invoice a create whose answer was lost may have made: read the project's invoices afresh."""
        found = qbo_invoice_copy(self._client.list_project_invoices(project_id), qbo_invoice_id)
        return dict(found) if found is not None else None
