"""destination-coperniq: QuickBooks customers and invoices into Coperniq projects, contacts and invoices."""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping
from typing import Any

from airbyte_cdk.models import AirbyteConnectionStatus, AirbyteMessage, ConfiguredAirbyteCatalog, Status

from connector_core.destination import TolerantDestination, run_write
from connector_core.sync_modes import require_honoured_modes
from coperniq.check import check_catalog_item, probe_projects
from coperniq.client import client_from_config
from coperniq.errors import CHECK_FAILURES, describe_error
from destination_coperniq.writer import CoperniqWriter

# A flush reads its records' projects in one search of up to 100 ids (coperniq.client.projects_by_id): a
# buffer of 100 fills each search (50 cost twice the searches), and checkpoints stay frequent.
BUFFER_SIZE = 100


class DestinationCoperniq(TolerantDestination):
    def check(self, logger: logging.Logger, config: Mapping[str, Any]) -> AirbyteConnectionStatus:
        """Everything a sync needs: the key, the projects it updates and the catalog item invoices are booked on."""
        try:
            client = probe_projects(config, logger)
            item = check_catalog_item(client, config.get("invoice_catalog_item_id"))
        except CHECK_FAILURES as error:
            return AirbyteConnectionStatus(status=Status.FAILED, message=describe_error(error))
        logger.info(f"Connected to Coperniq; invoices from QuickBooks are booked on {item}.")
        return AirbyteConnectionStatus(status=Status.SUCCEEDED)

    def write(self, config: Mapping[str, Any], configured_catalog: ConfiguredAirbyteCatalog,
              input_messages: Iterable[AirbyteMessage]) -> Iterable[AirbyteMessage]:
        """Update Coperniq from every record; a STATE message is passed on only after every record
        before it is committed in Coperniq (see connector_core.destination)."""
        logger = logging.getLogger("airbyte.destination_coperniq")
        require_honoured_modes(configured_catalog, "destination-coperniq", logger)
        writer = CoperniqWriter(client_from_config(config, logger), config, logger)
        yield from run_write(writer, input_messages, logger, max_buffered=BUFFER_SIZE)
        logger.info(f"Coperniq requests used: {writer.client.request_counter.total} "
                    f"(daily quota left: {writer.client.rate_limit_remaining})")
