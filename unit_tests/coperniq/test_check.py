"""coperniq.check: what `check` probes in Coperniq, for both Coperniq connectors, and the words it fails with."""

from __future__ import annotations

import logging

import pytest
import requests
import requests_mock as rm
from airbyte_cdk.models import FailureType
from airbyte_cdk.utils.traced_exception import AirbyteTracedException

from connector_core import backoff
from coperniq.check import check_catalog_item, probe_projects
from coperniq.client import DEFAULT_BASE_URL, CoperniqClient
from coperniq.errors import CoperniqError, describe_error

CONFIG = {"api_key": "key"}
LOGGER = logging.getLogger("test")
PROJECTS = f"{DEFAULT_BASE_URL}/projects"
ITEMS = f"{DEFAULT_BASE_URL}/catalog-items"


@pytest.fixture(autouse=True)
def instant_retries(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(backoff, "BASE_SECONDS", 0.001)


def test_probe_projects_lists_one_project(requests_mock: rm.Mocker) -> None:
    requests_mock.get(PROJECTS, json=[{"id": 1}])
    assert isinstance(probe_projects(CONFIG, LOGGER), CoperniqClient)
    assert requests_mock.call_count == 1 and requests_mock.last_request.qs["page_size"] == ["1"]


def test_a_host_that_does_not_answer_is_retried_once_not_for_minutes(requests_mock: rm.Mocker) -> None:
    requests_mock.get(PROJECTS, exc=requests.ConnectionError("connection refused"))
    with pytest.raises(AirbyteTracedException) as raised:
        probe_projects(CONFIG, LOGGER)
    assert raised.value.failure_type == FailureType.transient_error
    assert describe_error(raised.value).endswith("Coperniq could not be reached: connection refused")
    assert requests_mock.call_count == 2


def test_a_rejected_key_says_where_to_get_one(requests_mock: rm.Mocker) -> None:
    requests_mock.get(PROJECTS, status_code=401, json={"message": "Invalid API key"})
    with pytest.raises(AirbyteTracedException) as raised:
        probe_projects(CONFIG, LOGGER)
    assert raised.value.failure_type == FailureType.config_error
    assert describe_error(raised.value).startswith("Coperniq rejected the API key (401). Check `api_key`")


@pytest.mark.parametrize(("item_id", "answers", "found"), [
    pytest.param(None, {ITEMS: {"items": [{"id": 3, "name": "Solar install"}]}},
                 "the first catalog item, 'Solar install' (id 3)", id="first-item"),
    pytest.param("7", {f"{ITEMS}/7": {"id": 7, "name": "Battery"}}, "catalog item 'Battery' (id 7)",
                 id="configured-item"),
])
def test_the_catalog_item_invoices_are_booked_on_is_described(requests_mock: rm.Mocker, item_id: str | None,
                                                               answers: dict, found: str) -> None:
    for url, body in answers.items():
        requests_mock.get(url, json=body)
    assert check_catalog_item(CoperniqClient("key"), item_id) == found


@pytest.mark.parametrize(("item_id", "url", "answer", "problem"), [
    pytest.param("", ITEMS, {"json": {"items": []}},
                 "Coperniq has no catalog item to book invoice lines from QuickBooks on.", id="empty-catalog"),
    pytest.param(9, f"{ITEMS}/9", {"status_code": 404, "json": {"message": "Not found"}},
                 "Coperniq has no catalog item 9, set as `invoice_catalog_item_id`", id="unknown-item"),
])
def test_no_catalog_item_to_book_on_is_a_config_error(requests_mock: rm.Mocker, item_id: object, url: str,
                                                       answer: dict, problem: str) -> None:
    requests_mock.get(url, **answer)
    with pytest.raises(AirbyteTracedException) as raised:
        check_catalog_item(CoperniqClient("key"), item_id)
    assert raised.value.failure_type == FailureType.config_error
    assert raised.value.message.startswith(problem)


@pytest.mark.parametrize(("error", "words"), [
    pytest.param(AirbyteTracedException(message="`api_key` is required."), "`api_key` is required.", id="traced"),
    pytest.param(CoperniqError(422, "title is required", "VALIDATION_ERROR", "title"),
                 "Coperniq answered 422 VALIDATION_ERROR: title is required (field title)", id="coperniq-answer"),
    pytest.param(requests.ReadTimeout("read timed out"), "Coperniq could not be reached: read timed out",
                 id="network"),
])
def test_describe_error_in_plain_words(error: Exception, words: str) -> None:
    assert describe_error(error) == words
