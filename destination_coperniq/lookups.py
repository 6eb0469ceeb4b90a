"""The Coperniq records destination-coperniq compares against, read by list pages when that is cheaper.

Coperniq lists cannot be filtered by id: finding N projects costs N one-by-one GETs, or every page
of the list (100 records a page). A flush reads list pages only where one page is likely to replace
two or more one-by-one reads (a budget of half the reads it would replace), stops as soon as it has
what it needs, and falls back to one-by-one reads for whatever is still missing. So a first sync of
thousands of customers reads each list once, and an incremental sync of a few reads no list.
Whatever was read stays for the rest of the run, and the writer keeps it current with its own writes.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Collection
from typing import Any

from coperniq.client import CoperniqClient

# Fields the writer compares or matches on: the rest of each record is not kept (memory).
KEPT_FIELDS = {
    "projects": ("id", "title", "address", "primaryEmail", "primaryPhone", "status"),
    "contacts": ("id", "name", "emails", "phones", "projects"),
    "invoices": ("id", "description", "amount", "dueDate", "status", "lineItems", "record"),
}


def slim(resource: str, record: dict[str, Any]) -> dict[str, Any]:
    return {key: record[key] for key in KEPT_FIELDS[resource] if key in record}


def linked_project_ids(resource: str, record: dict[str, Any]) -> list[int]:
    """The projects a contact (``projects[].id``) or an invoice (``record.id``) belongs to."""
    if resource == "contacts":
        return [p["id"] for p in record.get("projects") or [] if isinstance(p, dict) and isinstance(p.get("id"), int)]
    if resource == "invoices":
        owner = record.get("record")
        return [owner["id"]] if isinstance(owner, dict) and isinstance(owner.get("id"), int) else []
    return []


class ListedRecords:
    """One Coperniq list (``/projects``, ``/contacts``, ``/invoices``), read as far as it pays."""

    def __init__(self, client: CoperniqClient, resource: str, **params: Any):
        self._client = client
        self.resource = resource
        self._params = params
        self._pages_read = 0
        self.complete = False  # every page read: a record missing here does not exist (or is newer)
        self.by_id: dict[int, dict[str, Any]] = {}
        self.by_project: dict[int, dict[int, dict[str, Any]]] = defaultdict(dict)

    def read_pages(self, replaces: int, satisfied: Callable[[], bool] = lambda: False) -> None:
        """Read on while ``satisfied()`` is false, for at most half of the ``replaces`` one-by-one reads."""
        budget = replaces // 2
        while budget > 0 and not self.complete and not satisfied():
            page = self._client.list_page(self.resource, page=self._pages_read + 1, **self._params)
            self._pages_read += 1
            budget -= 1
            for record in page.records:
                self.remember(record)
            self.complete = not page.has_more

    def remember(self, record: dict[str, Any] | None) -> None:
        """Keep (or refresh) a record read or written one by one."""
        if not isinstance(record, dict) or not isinstance(record.get("id"), int):
            return
        kept = slim(self.resource, record)
        self.by_id[record["id"]] = kept
        for project_id in linked_project_ids(self.resource, kept):
            self.by_project[project_id][record["id"]] = kept

    def of_project(self, project_id: int) -> list[dict[str, Any]]:
        return list(self.by_project.get(project_id, {}).values())

    def missing(self, ids: Collection[int]) -> set[int]:
        return {i for i in ids if i not in self.by_id}
