"""source-quickbooks through PyAirbyte into its DuckDB cache, deduplicated on the top-level cursor (issue 12, item 1).

Warehouse destinations refuse nested cursors in Incremental | Append + Deduped; the source declares
``airbyte_cursor`` (a copy of ``MetaData.LastUpdatedTime``) as its cursor. PyAirbyte runs the
installed console script as a local executable (``local_executable``), offline.
"""

from __future__ import annotations

import importlib.util
import os
from pathlib import Path
from typing import Any

import pytest

from connector_core.runner import script

pytestmark = pytest.mark.skipif(importlib.util.find_spec("airbyte") is None,
                                reason="PyAirbyte (`airbyte`, a dev extra) is not installed")


@pytest.mark.slow  # PyAirbyte's import alone takes seconds; the two syncs, spec and discover are subprocesses
def test_two_incremental_syncs_into_duckdb_in_dedup_mode_keep_each_record_once_at_its_latest_values(
        qbo_sandbox_factory: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AIRBYTE_OFFLINE_MODE", "1")
    monkeypatch.setenv("AIRBYTE_PROJECT_DIR", str(tmp_path))
    monkeypatch.setenv("AIRBYTE_LOGGING_ROOT", str(tmp_path / "logs"))
    monkeypatch.setenv("DO_NOT_TRACK", "1")
    import airbyte as ab
    from airbyte.caches import DuckDBCache

    # PyAirbyte does not save rotated refresh tokens between runs: let the first one stay valid.
    sandbox = qbo_sandbox_factory(customers=15, invoices=20, seed=21, throttle=False, refresh_token_grace=3600)
    config = {"client_id": sandbox.client_id, "client_secret": sandbox.client_secret,
              "refresh_token": sandbox.refresh_token, "realm_id": sandbox.realm_id,
              "base_url": sandbox.base_url, "token_url": sandbox.token_url}
    source = ab.get_source("source-quickbooks", local_executable=script("source-quickbooks"), config=config)
    source.select_all_streams()
    for configured in source.get_configured_catalog().streams:
        assert configured.cursor_field == ["airbyte_cursor"], configured.stream.name
        assert configured.primary_key == [["Id"]]
    cache = DuckDBCache(db_path=tmp_path / "quickbooks.duckdb", schema_name="main")

    first = source.read(cache=cache, write_strategy="merge")
    assert first.processed_records == len(sandbox.backend.customers) + len(sandbox.backend.invoices)

    backend = sandbox.backend
    customers = sorted(backend.customers, key=int)[:4]
    for customer_id in customers:
        backend.edit_customer(customer_id, Notes=f"edited between syncs {customer_id}")
    active = [i for i, v in backend.invoices.items() if backend.customers[v["CustomerRef"]["value"]].get("Active")]
    invoices = sorted(active, key=int)[:3]
    for invoice_id in invoices:
        backend.edit_invoice(invoice_id, PrivateNote=f"edited between syncs {invoice_id}")

    second = source.read(cache=cache, write_strategy="merge")
    assert 0 < second.processed_records < first.processed_records  # incremental: the state was carried

    for stream, table, field in (("customers", backend.customers, "Notes"),
                                 ("invoices", backend.invoices, "PrivateNote")):
        rows = cache.get_pandas_dataframe(stream)  # PyAirbyte writes column names in lower case
        assert sorted(rows["id"]) == sorted(table), stream  # each record once
        by_id = rows.set_index("id")
        for record_id, record in table.items():
            assert str(by_id.loc[record_id, "synctoken"]) == record["SyncToken"], (stream, record_id)
            assert by_id.loc[record_id, "airbyte_cursor"] is not None
        for record_id in customers if stream == "customers" else invoices:
            assert by_id.loc[record_id, field.lower()] == f"edited between syncs {record_id}"
    assert os.environ["AIRBYTE_OFFLINE_MODE"] == "1"
