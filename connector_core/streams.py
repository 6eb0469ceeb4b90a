"""The base streams of the sources: a named stream that keeps its own state, and one whose sync is a list of units.

The CDK loads each stream's schema from its package's ``schemas/<stream name>.json`` (``Stream.get_json_schema``
with ``ResourceSchemaLoader``): the sources keep their schemas there and write no loader of their own. The CDK
asks for the schema once per record, so :class:`NamedStream` keeps what the loader read.

:class:`UnitStream` is for syncs whose next request depends on the answer to the last one (keyset pages,
windows re-read when records moved). The stream writes its sync as one plain generator of :class:`Unit`\\ s, each
the messages of one step and the state that holds once they are out; the CDK reads one unit per slice, so a
checkpoint follows every unit, after its records. ``stream_slices`` runs the generator one unit ahead of nothing:
it asks for the next unit only once the previous one was read, so nothing is fetched that a failed sync would
throw away, and ``read_records`` only emits what the unit holds.
"""

from __future__ import annotations

from abc import abstractmethod
from collections.abc import Iterable, Iterator, Mapping, MutableMapping, Sequence
from dataclasses import dataclass
from typing import Any

from airbyte_cdk.models import AirbyteMessage, SyncMode
from airbyte_cdk.sources.streams import CheckpointMixin, Stream


@dataclass(frozen=True)
class Unit:
    """One step of a sync: the messages (records, traces) to emit, then the state that holds once they are out."""

    messages: Sequence[Mapping[str, Any] | AirbyteMessage]
    state: Mapping[str, Any] | None = None


class NamedStream(Stream, CheckpointMixin):
    """A stream named at construction that keeps its state itself (the CDK reads and sets it between slices)."""

    def __init__(self, name: str):
        super().__init__()
        self._name = name
        self._state: dict[str, Any] = {}
        self._schema: Mapping[str, Any] | None = None

    @property
    def name(self) -> str:
        return self._name

    def get_json_schema(self) -> Mapping[str, Any]:
        """The CDK's own schema, read once: it is asked for again with every record."""
        if self._schema is None:
            self._schema = super().get_json_schema()
        return self._schema

    @property
    def state(self) -> MutableMapping[str, Any]:
        return self._state

    @state.setter
    def state(self, value: MutableMapping[str, Any]) -> None:
        self._state = dict(value or {})


class UnitStream(NamedStream):
    """A stream whose sync is :meth:`units`: one CDK slice per unit, a checkpoint after each."""

    # The checkpoint follows every slice (one unit), after its records; never in the middle of one.
    state_checkpoint_interval = None

    def __init__(self, name: str):
        super().__init__(name)
        self._pending: dict[int, Unit] = {}

    @abstractmethod
    def units(self, sync_mode: SyncMode) -> Iterator[Unit]:
        """The work of one sync, produced lazily: the next unit is asked for once the previous one was read."""

    def stream_slices(self, *, sync_mode: SyncMode, cursor_field: list[str] | None = None,
                      stream_state: Mapping[str, Any] | None = None) -> Iterable[Mapping[str, Any] | None]:
        self._pending = {}
        for step, unit in enumerate(self.units(sync_mode)):
            if self._pending:
                return  # the previous slice was listed but never read: do not fetch ahead
            self._pending[step] = unit
            yield {"step": step}

    def read_records(self, sync_mode: SyncMode, cursor_field: list[str] | None = None,
                     stream_slice: Mapping[str, Any] | None = None,
                     stream_state: Mapping[str, Any] | None = None) -> Iterable[Mapping[str, Any] | AirbyteMessage]:
        if stream_slice and "step" in stream_slice:
            units: Iterable[Unit] = [self._pending.pop(int(stream_slice["step"]))]
        else:  # called outside the CDK's slice loop: do all the work at once
            units = self.units(sync_mode)
        for unit in units:
            yield from unit.messages
            if unit.state is not None:
                self._state = dict(unit.state)
