"""List pages are read only where they replace at least two one-by-one reads each, and no further than needed."""

from __future__ import annotations

from typing import Any

import requests_mock as rm

from coperniq.client import CoperniqClient
from destination_coperniq.lookups import KnownRecords

BASE = "https://api.coperniq.example/v1"


def projects_api(requests_mock: rm.Mocker, total: int) -> None:
    def page(request: Any, context: Any) -> list[dict[str, Any]]:
        number, size = int(request.qs["page"][0]), int(request.qs["page_size"][0])
        ids = range((number - 1) * size + 1, min(total, number * size) + 1)
        return [{"id": i, "title": f"Project {i}", "custom": {"big": "x" * 100}} for i in ids]
    requests_mock.get(f"{BASE}/projects", json=page)


def test_pages_stop_as_soon_as_every_wanted_record_is_in(requests_mock: rm.Mocker) -> None:
    projects_api(requests_mock, total=1_000)
    listed = KnownRecords(CoperniqClient("key", base_url=BASE), "projects")
    wanted = {5, 150, 250}
    listed.read_pages(instead_of=300, until=lambda: not listed.unknown(wanted))
    assert requests_mock.call_count == 3 and not listed.unknown(wanted) and not listed.whole_list_read
    assert listed.by_id[150] == {"id": 150, "title": "Project 150"}, "only the compared fields are kept"


def test_a_short_page_means_the_list_is_complete(requests_mock: rm.Mocker) -> None:
    projects_api(requests_mock, total=250)
    listed = KnownRecords(CoperniqClient("key", base_url=BASE), "projects")
    listed.read_pages(instead_of=100)
    assert listed.whole_list_read and len(listed.by_id) == 250 and requests_mock.call_count == 3


def test_few_reads_to_replace_read_no_list_and_the_budget_is_half_of_them(requests_mock: rm.Mocker) -> None:
    projects_api(requests_mock, total=100_000)
    listed = KnownRecords(CoperniqClient("key", base_url=BASE), "projects")
    listed.read_pages(instead_of=1)
    assert requests_mock.call_count == 0
    listed.read_pages(instead_of=8)
    assert requests_mock.call_count == 4 and not listed.whole_list_read


def test_contacts_and_invoices_are_found_by_project() -> None:
    contacts = KnownRecords(CoperniqClient("key", base_url=BASE), "contacts")
    contacts.keep({"id": 1, "name": "Ada", "projects": [{"id": 7}, {"id": 8}]})
    invoices = KnownRecords(CoperniqClient("key", base_url=BASE), "invoices")
    invoices.keep({"id": 3, "record": {"id": 7, "title": "T"}, "amount": 5})
    assert [c["id"] for c in contacts.of_project(8)] == [1] and [i["id"] for i in invoices.of_project(7)] == [3]
    assert contacts.of_project(9) == []


def test_pages_that_answer_no_read_stop_after_one_and_stay_stopped(requests_mock: rm.Mocker) -> None:
    projects_api(requests_mock, total=100_000)
    listed = KnownRecords(CoperniqClient("key", base_url=BASE), "projects")
    wanted = {50_000, 70_000}
    listed.read_pages(instead_of=100, answered=lambda: len(wanted) - len(listed.unknown(wanted)))
    assert requests_mock.call_count == 1, "a page that answered nothing is not followed by another"
    listed.read_pages(instead_of=100, answered=lambda: 0)
    assert requests_mock.call_count == 1, "nor by one in the next flush"


def test_pages_that_answer_reads_go_on(requests_mock: rm.Mocker) -> None:
    projects_api(requests_mock, total=1_000)
    listed = KnownRecords(CoperniqClient("key", base_url=BASE), "projects")
    wanted = set(range(1, 1_001, 7))
    listed.read_pages(instead_of=400, answered=lambda: len(wanted) - len(listed.unknown(wanted)))
    assert listed.whole_list_read and requests_mock.call_count == 11  # the 11th page, empty, ends the list
