"""destination-quickbooks-desktop: Coperniq records into QuickBooks Desktop, through the bridge's durable queue."""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping
from typing import Any

from airbyte_cdk.models import AirbyteConnectionStatus, AirbyteMessage, ConfiguredAirbyteCatalog, Status

from connector_core.destination import TolerantDestination, run_write
from connector_core.sync_modes import require_honoured_modes
from destination_quickbooks_desktop.writer import DesktopWriter
from qbd.check import probe_bridge
from qbd.client import client_from_config
from qbd.errors import CHECK_FAILURES, describe_error, explained


class DestinationQuickbooksDesktop(TolerantDestination):
    def check(self, logger: logging.Logger, config: Mapping[str, Any]) -> AirbyteConnectionStatus:
        """The bridge answers with this API key (qbd.check); a Web Connector that never polled is warned about."""
        try:
            status = probe_bridge(config, logger)
        except CHECK_FAILURES as error:
            return AirbyteConnectionStatus(status=Status.FAILED, message=describe_error(error))
        if status.get("last_contact") is None:
            logger.warning("The Web Connector has never polled the bridge: writes will wait in its queue.")
        return AirbyteConnectionStatus(status=Status.SUCCEEDED)

    def write(self, config: Mapping[str, Any], configured_catalog: ConfiguredAirbyteCatalog,
              input_messages: Iterable[AirbyteMessage]) -> Iterable[AirbyteMessage]:
        """Queue every record's write in the bridge; a STATE message is passed on only after every record
        before it is durably queued (with an idempotency key). QuickBooks applies the queue when the Web
        Connector next polls; what it refused is reported by the next sync (see the docs page)."""
        logger = logging.getLogger("airbyte.destination_quickbooks_desktop")
        require_honoured_modes(configured_catalog, "destination-quickbooks-desktop", logger)
        writer = DesktopWriter(client_from_config(config, logger), config, logger,
                               streams=[s.stream.name for s in configured_catalog.streams])
        with explained("The bridge"):
            yield from run_write(writer, input_messages, logger)
