"""destination-quickbooks: Coperniq projects, contacts and invoices into QuickBooks Customers and Invoices."""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping
from typing import Any

import requests
from airbyte_cdk.models import AirbyteConnectionStatus, AirbyteMessage, ConfiguredAirbyteCatalog, FailureType, Status
from airbyte_cdk.utils.traced_exception import AirbyteTracedException

from connector_core.config import config_error
from connector_core.destination import TolerantDestination, run_write
from connector_core.sync_modes import require_honoured_modes
from destination_quickbooks.writer import QuickBooksWriter
from qbo.client import QuickBooksClient, client_from_config
from qbo.company import probe_currency
from qbo.errors import QuickBooksFault, describe_error
from qbo.query import quote

DEFAULT_ITEM_NAME = "Services"


def find_sales_item(client: QuickBooksClient, item_name: str) -> dict[str, Any]:
    """The product/service invoice lines are booked on, or a config error saying what is wrong with it.

    Items are inactive-hidden in queries, so the look-up names ``Active`` to tell a missing item from an
    inactive one. An item is usable on a sales line when it is active, is not a category and has an
    income account (QuickBooks gives one only to items marked "I sell this product/service").
    """
    rows = client.query(f"SELECT * FROM Item WHERE Name = {quote(item_name)} AND Active IN (true, false)"
                        ).get("Item", [])
    setting = "set `item_name` (Invoice line item) to the exact name of a product/service you sell"
    if not rows:
        raise config_error(f"QuickBooks has no product/service named {item_name!r}, which invoice lines are booked "
                           f"on. Create it in QuickBooks (Sales > Products and services > New, type Service) or "
                           f"{setting}.")
    item = next((row for row in rows if row.get("Active", True)), rows[0])
    if item.get("Active") is False:
        raise config_error(f"The QuickBooks product/service {item_name!r} is inactive, so invoices cannot use it. "
                           f"Make it active again in QuickBooks (Sales > Products and services) or {setting}.")
    if item.get("Type") == "Category" or not item.get("IncomeAccountRef"):
        why = "is a category" if item.get("Type") == "Category" else "is not sold (it has no income account)"
        raise config_error(f"The QuickBooks product/service {item_name!r} {why}, so invoice lines cannot be booked "
                           f"on it. In QuickBooks tick \"I sell this product/service to my customers\" and pick an "
                           f"income account, or {setting}.")
    return item


class DestinationQuickbooks(TolerantDestination):
    def check(self, logger: logging.Logger, config: Mapping[str, Any]) -> AirbyteConnectionStatus:
        """Everything a sync needs: the app's keys and token, the company, and the item invoice lines use."""
        try:
            client = client_from_config(config, logger, max_retries=1)  # a check answers fast, not after minutes
            company = client.company_info()
            item = find_sales_item(client, str(config.get("item_name") or DEFAULT_ITEM_NAME))
            problem = probe_currency(client, config.get("currency"))  # a currency the company cannot use
        except (AirbyteTracedException, QuickBooksFault, requests.RequestException, ValueError) as error:
            return AirbyteConnectionStatus(status=Status.FAILED, message=describe_error(error))
        if problem is not None:
            return AirbyteConnectionStatus(status=Status.FAILED, message=problem)
        logger.info(f"Connected to QuickBooks company {company.get('CompanyName')!r} (realm {client.realm_id}); "
                    f"invoice lines are booked on {item.get('Name')!r} (item {item.get('Id')}).")
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
