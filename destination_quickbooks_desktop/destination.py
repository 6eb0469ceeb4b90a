"""destination-quickbooks-desktop: Coperniq records into QuickBooks Desktop, through the bridge's durable queue."""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping
from typing import Any

from airbyte_cdk.models import AirbyteConnectionStatus, AirbyteMessage, ConfiguredAirbyteCatalog, Status
from airbyte_cdk.utils.traced_exception import AirbyteTracedException

from connector_core.destination import TolerantDestination, run_write
from destination_quickbooks_desktop.writer import DesktopWriter
from qbd.client import BridgeError, client_from_config


class DestinationQuickbooksDesktop(TolerantDestination):
    def check(self, logger: logging.Logger, config: Mapping[str, Any]) -> AirbyteConnectionStatus:
        try:
            status = client_from_config(config, logger, max_retries=1).status()
        except AirbyteTracedException as error:
            return AirbyteConnectionStatus(status=Status.FAILED, message=error.message)
        except BridgeError as error:
            return AirbyteConnectionStatus(status=Status.FAILED, message=str(error))
        if status.get("last_contact") is None:
            logger.warning("The Web Connector has never polled the bridge: writes will wait in its queue.")
        return AirbyteConnectionStatus(status=Status.SUCCEEDED)

    def write(self, config: Mapping[str, Any], configured_catalog: ConfiguredAirbyteCatalog,
              input_messages: Iterable[AirbyteMessage]) -> Iterable[AirbyteMessage]:
        """Queue every record's write in the bridge; a STATE message is passed on only after every record
        before it is durably queued (with an idempotency key). QuickBooks applies the queue when the Web
        Connector next polls; what it refused is reported by the next sync (see the docs page)."""
        logger = logging.getLogger("airbyte.destination_quickbooks_desktop")
        writer = DesktopWriter(client_from_config(config, logger), config, logger,
                               streams=[s.stream.name for s in configured_catalog.streams])
        try:
            yield from run_write(writer, input_messages, logger)
        except BridgeError as error:
            raise AirbyteTracedException(message=f"The bridge failed: {error}", internal_message=str(error)) from error
