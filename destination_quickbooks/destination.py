"""destination-quickbooks: Coperniq projects, contacts and invoices into QuickBooks Customers and Invoices."""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping
from typing import Any

from airbyte_cdk.models import AirbyteConnectionStatus, AirbyteMessage, ConfiguredAirbyteCatalog, FailureType, Status
from airbyte_cdk.utils.traced_exception import AirbyteTracedException

from connector_core.config import config_error
from connector_core.destination import TolerantDestination, run_write
from connector_core.sync_modes import require_honoured_modes
from destination_quickbooks.writer import QuickBooksWriter
from qbo.check import DEFAULT_ITEM_NAME, check_currency, connected, find_sales_item, probe_company
from qbo.client import client_from_config
from qbo.errors import CHECK_FAILURES, describe_error


class DestinationQuickbooks(TolerantDestination):
    def check(self, logger: logging.Logger, config: Mapping[str, Any]) -> AirbyteConnectionStatus:
        """Everything a sync needs: the app's keys and token, the company, and the item invoice lines use."""
        try:
            client, company = probe_company(config, logger)
            item = find_sales_item(client, str(config.get("item_name") or DEFAULT_ITEM_NAME))
            check_currency(client, config.get("currency"))  # a currency the company cannot use
        except CHECK_FAILURES as error:
            return AirbyteConnectionStatus(status=Status.FAILED, message=describe_error(error))
        logger.info(f"{connected(client, company)}; invoice lines are booked on {item.get('Name')!r} "
                    f"(item {item.get('Id')}).")
        return AirbyteConnectionStatus(status=Status.SUCCEEDED)

    def write(self, config: Mapping[str, Any], configured_catalog: ConfiguredAirbyteCatalog,
              input_messages: Iterable[AirbyteMessage]) -> Iterable[AirbyteMessage]:
        """Upsert every record; a STATE message is passed on only after every record before it is
        committed in QuickBooks (see connector_core.destination)."""
        logger = logging.getLogger("airbyte.destination_quickbooks")
        require_honoured_modes(configured_catalog, "destination-quickbooks", logger)
        try:
            writer = QuickBooksWriter(client_from_config(config, logger), config, logger,
                                      streams=[s.stream.name for s in configured_catalog.streams])
            yield from run_write(writer, input_messages, logger)
        except AirbyteTracedException as error:
            if error.failure_type != FailureType.config_error:
                raise
            # The CDK's OAuth errors speak of "this source"; say what to do in this destination's words.
            raise config_error(describe_error(error), error.internal_message) from error
