"""The Coperniq client's creates: a POST whose answer is lost is looked for before it is sent again."""

from __future__ import annotations

from typing import Any

import pytest
import requests
import requests_mock as rm

from connector_core import backoff
from coperniq.client import CoperniqClient
from coperniq.errors import CoperniqUncertainWrite

BASE = "https://api.coperniq.example/v1"
CREATED = {"id": 501, "description": "QuickBooks invoice #41"}


@pytest.fixture(autouse=True)
def instant_retries(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(backoff, "BASE_SECONDS", 0.001)


def client() -> CoperniqClient:
    return CoperniqClient("key", base_url=BASE, max_retries=2)


@pytest.mark.parametrize("first_answer", [
    pytest.param({"exc": requests.ConnectionError("connection reset")}, id="connection-lost"),
    pytest.param({"status_code": 502, "json": {"message": "bad gateway"}}, id="502"),
])
def test_a_create_that_happened_before_its_answer_was_lost_is_found_not_sent_again(
        requests_mock: rm.Mocker, first_answer: dict[str, Any]) -> None:
    post = requests_mock.post(f"{BASE}/invoices", [first_answer, {"status_code": 201, "json": {"id": 999}}])
    lookups: list[int] = []

    def find() -> dict[str, Any]:
        lookups.append(1)
        return CREATED

    assert client().create_invoice({"recordId": 1}, find_created=find) == CREATED
    assert post.call_count == 1 and lookups == [1]


def test_a_create_that_did_not_happen_is_sent_again(requests_mock: rm.Mocker) -> None:
    post = requests_mock.post(f"{BASE}/contacts", [{"exc": requests.ConnectionError("reset")},
                                                   {"status_code": 201, "json": {"id": 7}}])
    assert client().create_contact({"name": "Ada"}, find_created=lambda: None) == {"id": 7}
    assert post.call_count == 2


def test_without_a_way_to_look_the_outcome_stays_unknown_and_is_raised(requests_mock: rm.Mocker) -> None:
    post = requests_mock.post(f"{BASE}/invoices", status_code=503, json={"message": "unavailable"})
    with pytest.raises(CoperniqUncertainWrite, match="may or may not have been applied"):
        client().create_invoice({"recordId": 1})
    assert post.call_count == 1


def test_a_rate_limited_create_was_not_applied_and_is_simply_retried(requests_mock: rm.Mocker) -> None:
    post = requests_mock.post(f"{BASE}/invoices", [{"status_code": 429, "headers": {"Retry-After": "0"}, "json": {}},
                                                   {"status_code": 201, "json": {"id": 8}}])
    assert client().create_invoice({"recordId": 1}, find_created=lambda: pytest.fail("no lookup needed")) == {"id": 8}
    assert post.call_count == 2


def test_reads_are_still_retried_on_server_errors(requests_mock: rm.Mocker) -> None:
    get = requests_mock.get(f"{BASE}/invoices/5", [{"status_code": 500, "json": {}}, {"json": {"id": 5}}])
    assert client().get_invoice(5) == {"id": 5}
    assert get.call_count == 2


def test_projects_by_id_searches_100_ids_a_request_archived_included(requests_mock: rm.Mocker) -> None:
    search = requests_mock.get(f"{BASE}/projects/search", [{"json": [{"id": 1}]}, {"json": [{"id": 150}]}])
    found = client().projects_by_id(list(range(1, 151)))
    assert [p["id"] for p in found] == [1, 150]
    assert search.call_count == 2
    first, second = (r.qs for r in search.request_history)
    assert first["prop1"] == ["id"] and first["op1"] == ["in"] and first["include_archived"] == ["true"]
    assert first["value1"] == [",".join(str(i) for i in range(1, 101))]
    assert second["value1"] == [",".join(str(i) for i in range(101, 151))] and second["page_size"] == ["100"]
