"""The destination loop's contract: a STATE is passed on only after the records before it are committed."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

from airbyte_cdk.models import (
    AirbyteMessage,
    AirbyteRecordMessage,
    AirbyteStateMessage,
    AirbyteStateType,
    AirbyteStreamState,
    StreamDescriptor,
    Type,
)

from connector_core.destination import WriteReport, run_write


class RecordingWriter:
    """Keeps a journal of adds and flushes, interleaved with what the loop yields."""

    def __init__(self, journal: list[str], hold: set[int] | None = None):
        self.report = WriteReport()
        self.journal = journal
        self.pending: list[Any] = []
        self.hold = hold or set()  # records a flush keeps back until the final one
        self.kept: list[Any] = []

    def add(self, stream: str, record: Mapping[str, Any]) -> None:
        if record.get("bad"):
            self.report.skip(stream, record["id"], "bad record")
            return
        self.pending.append(record["id"])

    def pending_count(self) -> int:
        return len(self.pending)

    def deferred_count(self) -> int:
        return len(self.kept)

    def flush(self, final: bool = False) -> None:
        self.kept += [i for i in self.pending if i in self.hold]
        written = [i for i in self.pending if i not in self.hold] + (self.kept if final else [])
        self.kept = [] if final else self.kept
        self.journal.append(f"commit {written}")
        self.report.count("s", "created", len(written))
        self.pending = []


def _record(i: int, **extra: Any) -> AirbyteMessage:
    return AirbyteMessage(type=Type.RECORD, record=AirbyteRecordMessage(stream="s", data={"id": i, **extra},
                                                                         emitted_at=0))


def _state(n: int) -> AirbyteMessage:
    return AirbyteMessage(type=Type.STATE, state=AirbyteStateMessage(
        type=AirbyteStateType.STREAM,
        stream=AirbyteStreamState(stream_descriptor=StreamDescriptor(name="s"), stream_state={"n": n})))


def _run(messages: list[AirbyteMessage], max_buffered: int, hold: set[int] | None = None) -> list[str]:
    journal: list[str] = []
    writer = RecordingWriter(journal, hold)
    for out in run_write(writer, messages, logging.getLogger("test"), max_buffered=max_buffered):
        if out.type == Type.STATE:
            state = out.state.stream.stream_state
            journal.append(f"state {state['n'] if isinstance(state, dict) else state.n}")
        elif out.type == Type.LOG and "Skipped" in out.log.message:
            journal.append("skipped-report")
    return journal


def test_given_states_between_records_when_buffer_not_full_then_states_wait_for_the_commit() -> None:
    journal = _run([_record(1), _state(1), _record(2), _state(2)], max_buffered=10)
    assert journal == ["commit [1, 2]", "state 1", "state 2"]


def test_given_full_buffer_when_flushed_then_only_states_received_before_are_released() -> None:
    journal = _run([_record(1), _state(1), _record(2), _record(3), _state(3)], max_buffered=3)
    assert journal == ["commit [1, 2, 3]", "state 1", "state 3"]


def test_given_state_with_empty_buffer_then_it_passes_straight_through() -> None:
    journal = _run([_state(0), _record(1), _state(1)], max_buffered=10)
    assert journal == ["state 0", "commit [1]", "state 1"]


def test_given_a_bad_record_then_it_is_reported_and_the_others_are_committed() -> None:
    journal = _run([_record(1), _record(2, bad=True), _record(3), _state(3)], max_buffered=10)
    assert journal == ["commit [1, 3]", "skipped-report", "state 3"]


def test_given_a_writer_holding_records_then_later_states_wait_until_the_held_records_are_written() -> None:
    messages = [_record(1), _state(1), _record(2), _record(3), _state(3), _record(4), _state(4)]
    journal = _run(messages, max_buffered=2, hold={2})
    # 2 is held by the first full flush: state 1 (before it) could go, but states are released in
    # order only once nothing before them is held, so all wait for the final flush that writes 2.
    assert journal == ["commit [1]", "commit [3, 4]", "commit [2]", "state 1", "state 3", "state 4"]


def test_a_line_that_is_not_a_valid_message_is_skipped_and_the_rest_are_read(caplog: Any) -> None:
    import io
    import json

    from destination_coperniq import DestinationCoperniq

    def line(data: Any) -> str:
        return json.dumps({"type": "RECORD", "record": {"stream": "customers", "data": data, "emitted_at": 0}})

    lines = [line({"Id": "1"}), line("not an object"), "{not json", line({"Id": "2"})]
    with caplog.at_level(logging.WARNING):
        messages = list(DestinationCoperniq()._parse_input_stream(io.StringIO("\n".join(lines) + "\n")))
    assert [m.record.data["Id"] for m in messages] == ["1", "2"]
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert any("line 2 of stream 'customers'" in w and "not a JSON object" in w for w in warnings)
    assert any("line 3" in w and "not JSON" in w for w in warnings)
