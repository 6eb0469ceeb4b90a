"""destination-coperniq: QuickBooks customers and invoices into Coperniq projects, contacts and invoices."""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping
from typing import Any

import requests
from airbyte_cdk.models import AirbyteConnectionStatus, AirbyteMessage, ConfiguredAirbyteCatalog, Status
from airbyte_cdk.utils.traced_exception import AirbyteTracedException

from connector_core.config import config_error
from connector_core.destination import TolerantDestination, run_write
from connector_core.sync_modes import require_honoured_modes
from coperniq.client import CoperniqClient, client_from_config
from coperniq.errors import CoperniqError, CoperniqNotFound
from destination_coperniq.writer import CoperniqWriter

# Coperniq has no batch API, so a small buffer costs nothing and keeps checkpoints frequent.
BUFFER_SIZE = 50


def check_catalog_item(client: CoperniqClient, item_id: Any) -> str:
    """The catalog item invoices from QuickBooks are booked on, described; a config error if there is none."""
    if item_id in (None, ""):
        items = client.list_catalog_items(page=1, page_size=1)
        if not items:
            raise config_error("Coperniq has no catalog item to book invoice lines from QuickBooks on. Create one in "
                               "Coperniq's catalog, or set `invoice_catalog_item_id` (Catalog item for invoices).")
        return f"the first catalog item, {items[0].get('name')!r} (id {items[0].get('id')})"
    try:
        item = client.get_catalog_item(int(item_id))
    except CoperniqNotFound as error:
        raise config_error(f"Coperniq has no catalog item {item_id}, set as `invoice_catalog_item_id` (Catalog item "
                           "for invoices). Set it to the id of an existing catalog item, or leave it empty to use "
                           "the first one.", str(error)) from error
    return f"catalog item {item.get('name')!r} (id {item.get('id')})"


class DestinationCoperniq(TolerantDestination):
    def check(self, logger: logging.Logger, config: Mapping[str, Any]) -> AirbyteConnectionStatus:
        """Everything a sync needs: the key, the projects it updates and the catalog item invoices are booked on."""
        try:
            client = client_from_config(config, logger, max_retries=1)
            client.list_page("projects", page=1, page_size=1)
            item = check_catalog_item(client, config.get("invoice_catalog_item_id"))
        except AirbyteTracedException as error:
            return AirbyteConnectionStatus(status=Status.FAILED, message=error.message)
        except CoperniqError as error:
            return AirbyteConnectionStatus(status=Status.FAILED, message=str(error))
        except requests.RequestException as error:
            return AirbyteConnectionStatus(status=Status.FAILED, message=f"Coperniq could not be reached: {error}")
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
