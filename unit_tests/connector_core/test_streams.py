"""The sources' base streams: one unit per slice, read lazily; state after each unit; the CDK's schemas, read once."""

from __future__ import annotations

import logging
from collections.abc import Iterator

import pytest
from airbyte_cdk.models import SyncMode
from airbyte_cdk.sources.connector_state_manager import ConnectorStateManager
from airbyte_cdk.sources.utils import schema_helpers
from airbyte_cdk.sources.utils.schema_helpers import InternalConfig
from airbyte_cdk.sources.utils.slice_logger import DebugSliceLogger
from airbyte_cdk.test.catalog_builder import ConfiguredAirbyteStreamBuilder

from connector_core.streams import Unit, UnitStream
from source_quickbooks_desktop.source import DesktopStream


class Counting(UnitStream):
    """Three units of one record each; counts how many the stream has produced (as if each cost a request)."""

    primary_key = "id"
    cursor_field = "n"

    def __init__(self) -> None:
        super().__init__("counting")
        self.produced = 0

    def get_json_schema(self) -> dict:
        return {"type": "object", "properties": {"id": {"type": "integer"}}}

    def units(self, sync_mode: SyncMode) -> Iterator[Unit]:
        start = int(self.state.get("n", 0)) if sync_mode == SyncMode.incremental else 0
        for n in range(start + 1, 4):
            self.produced += 1
            yield Unit([{"id": n}], {"n": n})


def test_each_unit_is_one_slice_produced_only_after_the_previous_one_was_read() -> None:
    stream = Counting()
    slices = iter(stream.stream_slices(sync_mode=SyncMode.full_refresh))
    first = next(slices)
    assert first == {"step": 0} and stream.produced == 1
    assert list(stream.read_records(SyncMode.full_refresh, stream_slice=first)) == [{"id": 1}]
    assert stream.state == {"n": 1}
    second = next(slices)
    assert stream.produced == 2
    assert list(stream.read_records(SyncMode.full_refresh, stream_slice=second)) == [{"id": 2}]
    assert stream.state == {"n": 2}


def test_slices_listed_without_reading_them_stop_instead_of_fetching_ahead() -> None:
    stream = Counting()
    assert list(stream.stream_slices(sync_mode=SyncMode.full_refresh)) == [{"step": 0}]
    assert stream.produced == 2  # the second unit was made, seen unread, and dropped


def test_outside_the_slice_loop_all_units_are_read_at_once_from_the_state() -> None:
    stream = Counting()
    stream.state = {"n": 1}
    assert list(stream.read_records(SyncMode.incremental)) == [{"id": 2}, {"id": 3}]
    assert stream.state == {"n": 3}


def test_a_full_read_through_the_cdk_checkpoints_after_every_unit() -> None:
    stream = Counting()
    configured = ConfiguredAirbyteStreamBuilder().with_name("counting").with_sync_mode(SyncMode.incremental).build()
    out = list(stream.read(configured, logging.getLogger("test"), DebugSliceLogger(), {},
                           ConnectorStateManager([]), InternalConfig()))
    kinds = ["record" if isinstance(m, dict) else m.state.stream.stream_state.__dict__["n"] for m in out]
    assert kinds == ["record", 1, "record", 2, "record", 3]


def test_the_schema_comes_from_the_cdk_loader_once_per_stream(monkeypatch: pytest.MonkeyPatch) -> None:
    loads: list[str] = []
    real = schema_helpers.ResourceSchemaLoader.get_schema

    def counted(self: schema_helpers.ResourceSchemaLoader, name: str) -> dict:
        loads.append(f"{self.package_name}/{name}")
        return real(self, name)

    monkeypatch.setattr(schema_helpers.ResourceSchemaLoader, "get_schema", counted)
    stream = DesktopStream("invoices", client=None)  # type: ignore[arg-type]
    schema = stream.get_json_schema()
    assert stream.get_json_schema() is schema and "TxnID" in schema["properties"]
    assert loads == ["source_quickbooks_desktop/invoices"]
