"""source-quickbooks-desktop: customers and invoices of a QuickBooks Desktop company, read from the bridge.

The bridge keeps a mirror of what the Web Connector last brought back from QuickBooks; every change to
it gets a growing sequence number (``_bridge_seq``). Streams are incremental: the declared cursor is
``TimeModified`` (what QuickBooks stamps), and the state also keeps the last ``_bridge_seq`` read, which
is what the next read starts after. Why both: the Web Connector may be offline for hours, so a record
can reach the bridge after records with a later ``TimeModified`` were already synced; reading by the
bridge's sequence never misses it, and re-reads nothing (Desktop's ``FromModifiedDate`` is inclusive,
so the bridge de-duplicates re-read records before they get a new sequence number).
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping
from typing import Any

from airbyte_cdk.models import SyncMode
from airbyte_cdk.sources import AbstractSource
from airbyte_cdk.sources.streams import Stream

from connector_core.streams import NamedStream
from qbd.check import DEFAULT_MAX_STALENESS_HOURS, probe_bridge, staleness_warning
from qbd.client import BridgeClient, client_from_config
from qbd.errors import CHECK_FAILURES, describe_error, explained
from qbd.qbxml import later_time

PRIMARY_KEYS = {"customers": "ListID", "invoices": "TxnID"}


class DesktopStream(NamedStream):
    cursor_field = "TimeModified"
    state_checkpoint_interval = 1000

    def __init__(self, name: str, client: BridgeClient):
        super().__init__(name)
        self.client = client

    @property
    def primary_key(self) -> str:
        return PRIMARY_KEYS[self._name]

    def read_records(self, sync_mode: SyncMode, cursor_field: list[str] | None = None,
                     stream_slice: Mapping[str, Any] | None = None,
                     stream_state: Mapping[str, Any] | None = None) -> Iterable[Mapping[str, Any]]:
        after = int(self._state.get("bridge_seq", 0)) if sync_mode == SyncMode.incremental else 0
        with explained(f"Reading {self._name} from the bridge"):
            for page in self.client.records(self._name, after_seq=after):
                for record in page:
                    if sync_mode == SyncMode.incremental:
                        self._state = {"bridge_seq": record["_bridge_seq"],
                                       "TimeModified": later_time(self._state.get("TimeModified"),
                                                              record.get("TimeModified"))}
                    yield record


class SourceQuickbooksDesktop(AbstractSource):
    raise_exception_on_missing_stream = True

    def check_connection(self, logger: logging.Logger, config: Mapping[str, Any]) -> tuple[bool, Any]:
        """The bridge answers with this API key (qbd.check); a Web Connector silent too long is warned about."""
        try:
            status = probe_bridge(config, logger)
        except CHECK_FAILURES as error:
            return False, describe_error(error)
        warning = staleness_warning(status, float(config.get("max_staleness_hours") or DEFAULT_MAX_STALENESS_HOURS))
        if warning is not None:
            logger.warning(warning)
        return True, None

    def streams(self, config: Mapping[str, Any]) -> list[Stream]:
        client = client_from_config(config, logging.getLogger("airbyte.source_quickbooks_desktop"))
        return [DesktopStream(name, client) for name in PRIMARY_KEYS]
