"""Finding a project's contact by search when the contact list was not read (a small sync)."""

from __future__ import annotations

import logging
from typing import Any

import requests_mock as rm

from coperniq.client import CoperniqClient
from destination_coperniq.lookups import CoperniqHoldings

BASE = "https://api.coperniq.example/v1"
STORED = {"id": 9, "name": " Emily  Thompson ", "emails": [], "phones": [], "projects": [{"id": 7}]}


def test_a_contact_stored_with_odd_spacing_is_found_by_its_last_name_not_created_again(
        requests_mock: rm.Mocker) -> None:
    def search(request: Any, context: Any) -> list[dict[str, Any]]:
        # Like a search that matches the stored text: "emily thompson" is not in " Emily  Thompson ".
        text = request.qs["q"][0]
        return [STORED] if text in STORED["name"].lower() else []

    requests_mock.get(f"{BASE}/contacts", json=search)
    holdings = CoperniqHoldings(CoperniqClient("key", base_url=BASE), logging.getLogger("test"))
    customer = {"Id": "3", "GivenName": "Emily", "FamilyName": "Thompson"}
    found = holdings.project_contact({"id": 7}, customer)
    assert found is not None and found["id"] == 9
    assert [r.qs["q"][0] for r in requests_mock.request_history] == ["emily thompson", "thompson"]
