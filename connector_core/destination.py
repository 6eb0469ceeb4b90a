"""The destination loop both destinations share: buffer records, write in bulk, then acknowledge state.

A STATE message means "every record before me is durably written". So STATE messages are held
while records are buffered and passed on only after the flush that commits those records.
Buffering across STATE messages (instead of flushing at each one) is what lets writes fill
30-item QuickBooks batches; the platform simply resumes from the last acknowledged state.
"""

from __future__ import annotations

import io
import logging
import os
from collections import Counter
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

import orjson
from airbyte_cdk.destinations import Destination
from airbyte_cdk.models import AirbyteLogMessage, AirbyteMessage, AirbyteMessageSerializer, FailureType, Level, Type
from airbyte_cdk.utils.traced_exception import AirbyteTracedException

DEFAULT_BUFFER_SIZE = 900  # 30 full batches of 30
PLAN_SAMPLE = 10  # planned writes a dry run shows per stream and action


def buffer_size(default: int = DEFAULT_BUFFER_SIZE) -> int:
    """Records held before a flush; ``DESTINATION_BUFFER_SIZE`` tunes it (smaller: more frequent checkpoints)."""
    try:
        return max(1, int(os.environ.get("DESTINATION_BUFFER_SIZE", default)))
    except ValueError:
        return default


@dataclass
class RecordIssue:
    stream: str
    record_id: Any
    reason: str
    skipped: bool = True  # False: written, with something the user should know (a shortened value, say)

    def log_line(self) -> str:
        what = "Skipped {} record {}" if self.skipped else "Wrote {} record {} with a caveat"
        return f"{what.format(self.stream, self.record_id)}: {self.reason}"


@dataclass
class WriteReport:
    """What a write did, by stream and action (created / updated / unchanged / skipped / would_*)."""

    counts: Counter[tuple[str, str]] = field(default_factory=Counter)
    issues: list[RecordIssue] = field(default_factory=list)
    fail_fast: bool = False  # the user's ``on_record_error: fail``: a record that cannot be written stops the sync
    planned: dict[tuple[str, str], list[str]] = field(default_factory=dict)  # dry run: a sample of the writes

    def plan(self, stream: str, action: str, record_id: Any, what: str) -> None:
        """A write a dry run would make: counted as ``would_<action>``, the first few kept as readable lines."""
        self.count(stream, f"would_{action}")
        sample = self.planned.setdefault((stream, action), [])
        if len(sample) < PLAN_SAMPLE:
            sample.append(f"would {action.replace('_', ' ')} ({stream} record {record_id}): {what}")

    def plan_lines(self) -> list[str]:
        lines = []
        for (stream, action), sample in sorted(self.planned.items()):
            total = self.counts[(stream, f"would_{action}")]
            lines.append(f"Dry run, {stream}: {total} would {action.replace('_', ' ')}"
                         + (f" (the first {len(sample)} below)" if total > len(sample) else ""))
            lines.extend(f"  {line}" for line in sample)
        return lines

    def count(self, stream: str, action: str, n: int = 1) -> None:
        self.counts[(stream, action)] += n

    def skip(self, stream: str, record_id: Any, reason: str) -> None:
        self.counts[(stream, "skipped")] += 1
        self.issues.append(RecordIssue(stream, record_id, reason))

    def reject(self, stream: str, record_id: Any, reason: str) -> None:
        """A record that cannot be written: skipped and reported, or the end of the sync with ``fail_fast``."""
        if self.fail_fast:
            raise AirbyteTracedException(message=f"{stream} record {record_id} was not written: {reason}",
                                         failure_type=FailureType.system_error)
        self.skip(stream, record_id, reason)

    def caveat(self, stream: str, record_id: Any, reason: str) -> None:
        """A record written, but not quite as sent: reported like a skip, counted as written."""
        self.issues.append(RecordIssue(stream, record_id, reason, skipped=False))

    def note(self, stream: str, record_id: Any, kind: str, reason: str = "") -> None:
        """A record's outcome by kind: ``skipped``, ``rejected`` or ``caveat`` reported with ``reason``; any
        other kind (unchanged, filtered...) counted as that action."""
        if kind == "skipped":
            self.skip(stream, record_id, reason)
        elif kind == "rejected":
            self.reject(stream, record_id, reason)
        elif kind == "caveat":
            self.caveat(stream, record_id, reason)
        else:
            self.count(stream, kind)

    def total(self, action: str) -> int:
        return sum(n for (_, a), n in self.counts.items() if a == action)

    def summary(self) -> str:
        streams = sorted({s for s, _ in self.counts})
        parts = []
        for stream in streams:
            actions = ", ".join(f"{a} {n}" for (s, a), n in sorted(self.counts.items()) if s == stream)
            parts.append(f"{stream}: {actions}")
        return "; ".join(parts) or "nothing to write"


def describe_fields(body: Mapping[str, Any], skip: Iterable[str] = ("Id", "SyncToken", "sparse"),
                    width: int = 80) -> str:
    """A write body as one readable line: ``DisplayName='Smith Residence', BillAddr.City='Austin'``."""
    parts: list[str] = []

    def walk(prefix: str, value: Any) -> None:
        if isinstance(value, Mapping):
            for key, inner in value.items():
                walk(f"{prefix}.{key}" if prefix else str(key), inner)
        elif isinstance(value, list) and value and all(isinstance(v, Mapping) for v in value):
            parts.append(f"{prefix}=[{len(value)} line{'s' if len(value) != 1 else ''}]")
        else:
            text = repr(value)
            parts.append(f"{prefix}={text if len(text) <= width else text[:width - 3] + '...'}")

    for key, value in body.items():
        if key not in skip:
            walk(str(key), value)
    return ", ".join(parts) or "(no fields)"


class BufferedWriter(Protocol):
    report: WriteReport
    dry_run: bool

    def add(self, stream: str, record: Mapping[str, Any]) -> None: ...

    def pending_count(self) -> int:
        """Records waiting for the next flush."""
        ...

    def deferred_count(self) -> int:
        """Records a flush kept back on purpose (to write them once, later): not committed yet."""
        ...

    def flush(self, final: bool = False) -> None:
        """Write what is buffered; ``final`` (the input ended) writes what is held too."""
        ...


def log_message(message: str, level: Level = Level.INFO) -> AirbyteMessage:
    return AirbyteMessage(type=Type.LOG, log=AirbyteLogMessage(level=level, message=message))


def run_write(writer: BufferedWriter, input_messages: Iterable[AirbyteMessage], logger: logging.Logger,
              max_buffered: int | None = None) -> Iterator[AirbyteMessage]:
    """Feed records to ``writer``; yield each STATE only once the records before it are committed.

    A dry run commits nothing, so it acknowledges no STATE: the platform keeps the state the last
    real sync left, and the next real sync reads (and writes) everything this one only reported.
    """
    held_states: list[AirbyteMessage] = []
    dry_run = bool(getattr(writer, "dry_run", False))
    reported = 0
    limit = buffer_size(max_buffered or DEFAULT_BUFFER_SIZE)

    def flush(final: bool = False) -> Iterator[AirbyteMessage]:
        nonlocal held_states, reported
        if writer.pending_count() or (final and writer.deferred_count()):
            writer.flush(final)
        for issue in writer.report.issues[reported:]:
            yield log_message(issue.log_line(), Level.WARN)
        reported = len(writer.report.issues)
        if writer.deferred_count():
            return  # records before these states are not committed yet
        if not dry_run:
            yield from held_states
        held_states = []

    for message in input_messages:
        if message.type == Type.RECORD and message.record is not None:
            writer.add(message.record.stream, message.record.data)
            if writer.pending_count() >= limit:
                yield from flush()
        elif message.type == Type.STATE:
            held_states.append(message)
            if not writer.pending_count() and not writer.deferred_count():
                yield from flush()
    yield from flush(final=True)
    summary = writer.report.summary()
    logger.info(summary)
    if dry_run:
        for line in writer.report.plan_lines():
            yield log_message(line)
        yield log_message("Dry run: nothing was written and no STATE was emitted, so the next real sync "
                          "starts where this one started and writes what is planned above.")
    yield log_message(f"Write summary: {summary}")


class TolerantDestination(Destination):
    """A destination whose input loop survives a malformed line.

    The CDK skips a line that is not JSON but stops the whole sync on JSON that is not a valid
    Airbyte message (a RECORD whose ``data`` is not an object, say). One bad record must not sink
    a sync of ten thousand: such a line is reported (stream and reason, never its content) and
    skipped. Overrides the CDK's ``_parse_input_stream``, the only hook for it.
    """

    def _parse_input_stream(self, input_stream: io.TextIOWrapper) -> Iterable[AirbyteMessage]:
        logger = logging.getLogger("airbyte")
        for number, line in enumerate(input_stream, start=1):
            try:
                raw = orjson.loads(line)
            except orjson.JSONDecodeError:
                logger.warning(f"Skipped input line {number}: not JSON.")
                continue
            try:
                yield AirbyteMessageSerializer.load(raw)
            except Exception as error:  # the CDK raises several types for an invalid message
                stream = raw.get("record", {}).get("stream") if isinstance(raw, dict) and isinstance(
                    raw.get("record"), dict) else None
                where = f" of stream {stream!r}" if stream else ""
                record = raw.get("record") if isinstance(raw, dict) else None
                if isinstance(record, dict) and not isinstance(record.get("data"), dict):
                    reason = "its record `data` is not a JSON object"
                else:
                    reason = " ".join(str(error).split())[:200] or type(error).__name__
                logger.warning(f"Skipped input line {number}{where}: not a valid Airbyte message ({reason}).")
