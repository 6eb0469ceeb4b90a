"""destination-coperniq: QuickBooks customers and invoices into Coperniq projects, contacts and invoices."""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping
from typing import Any

import requests
from airbyte_cdk.models import AirbyteConnectionStatus, AirbyteMessage, ConfiguredAirbyteCatalog, Status
from airbyte_cdk.utils.traced_exception import AirbyteTracedException

from connector_core.destination import TolerantDestination, run_write
from coperniq.client import client_from_config
from coperniq.errors import CoperniqError
from destination_coperniq.writer import CoperniqWriter

# Coperniq has no batch API, so a small buffer costs nothing and keeps checkpoints frequent.
BUFFER_SIZE = 50


class DestinationCoperniq(TolerantDestination):
    def check(self, logger: logging.Logger, config: Mapping[str, Any]) -> AirbyteConnectionStatus:
        try:
            client = client_from_config(config, logger, max_retries=1)
            client.list_page("projects", page=1, page_size=1)
        except AirbyteTracedException as error:
            return AirbyteConnectionStatus(status=Status.FAILED, message=error.message)
        except CoperniqError as error:
            return AirbyteConnectionStatus(status=Status.FAILED, message=str(error))
        except requests.RequestException as error:
            return AirbyteConnectionStatus(status=Status.FAILED, message=f"Coperniq could not be reached: {error}")
        return AirbyteConnectionStatus(status=Status.SUCCEEDED)

    def write(self, config: Mapping[str, Any], configured_catalog: ConfiguredAirbyteCatalog,
              input_messages: Iterable[AirbyteMessage]) -> Iterable[AirbyteMessage]:
        """Update Coperniq from every record; a STATE message is passed on only after every record
        before it is committed in Coperniq (see connector_core.destination)."""
        logger = logging.getLogger("airbyte.destination_coperniq")
        writer = CoperniqWriter(client_from_config(config, logger), config, logger)
        yield from run_write(writer, input_messages, logger, max_buffered=BUFFER_SIZE)
        logger.info(f"Coperniq requests used: {writer.client.requests.total} "
                    f"(daily quota left: {writer.client.rate_limit_remaining})")
