"""source-quickbooks-desktop against a mocked bridge API: incremental by the bridge's sequence, config errors."""

from __future__ import annotations

import logging

import pytest
import requests_mock
from airbyte_cdk.models import SyncMode

from source_quickbooks_desktop.source import SourceQuickbooksDesktop

CONFIG = {"bridge_url": "http://127.0.0.1:8085", "api_key": "key-1"}
RECORDS = "http://127.0.0.1:8085/api/v1/records/customers"


def _customer(seq: int, modified: str, **extra: object) -> dict:
    return {"ListID": f"8000000{seq}-1", "Name": f"C{seq}", "TimeModified": modified, "_bridge_seq": seq, **extra}


def test_given_state_when_read_then_reads_after_the_bridge_sequence_and_keeps_the_latest_time() -> None:
    stream = next(s for s in SourceQuickbooksDesktop().streams(CONFIG) if s.name == "customers")
    stream.state = {"bridge_seq": 5, "TimeModified": "2026-01-02T10:00:00-06:00"}
    with requests_mock.Mocker() as mock:
        mock.get(RECORDS, [
            {"json": {"records": [_customer(6, "2026-01-02T09:00:00-06:00"),
                                  _customer(7, "2026-01-03T08:00:00-06:00", _ab_cdc_deleted_at="2026-01-03")],
                      "last_seq": 7, "has_more": False}}])
        records = list(stream.read_records(SyncMode.incremental))
        assert mock.request_history[0].qs == {"after_seq": ["5"], "limit": ["1000"]}
        assert mock.request_history[0].headers["x-api-key"] == "key-1"
    assert [r["ListID"] for r in records] == ["80000006-1", "80000007-1"]
    assert records[1]["_ab_cdc_deleted_at"] == "2026-01-03"
    # A record that reached the bridge late (older TimeModified) is read, and the cursor never goes back.
    assert stream.state == {"bridge_seq": 7, "TimeModified": "2026-01-03T08:00:00-06:00"}


def test_given_a_wrong_key_when_check_then_it_fails_with_a_config_message() -> None:
    with requests_mock.Mocker() as mock:
        mock.get("http://127.0.0.1:8085/api/v1/status", status_code=401, json={"error": "missing or wrong x-api-key"})
        ok, message = SourceQuickbooksDesktop().check_connection(logging.getLogger("test"), CONFIG)
    assert not ok and "api_key" in message


@pytest.mark.parametrize("url", ["http://bridge.example.com", "ftp://x"])
def test_plain_http_is_refused_except_for_localhost(url: str) -> None:
    ok, message = SourceQuickbooksDesktop().check_connection(logging.getLogger("test"), {**CONFIG, "bridge_url": url})
    assert not ok and "bridge_url" in message
