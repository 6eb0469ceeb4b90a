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
from destination_quickbooks.writer import QuickBooksWriter
from qbo.client import client_from_config
from qbo.company import probe_currency
from qbo.errors import QuickBooksFault, describe_error


class DestinationQuickbooks(TolerantDestination):
    def check(self, logger: logging.Logger, config: Mapping[str, Any]) -> AirbyteConnectionStatus:
        try:
            client = client_from_config(config, logger, max_retries=1)  # a check answers fast, not after minutes
            company = client.company_info()
            problem = probe_currency(client, config.get("currency"))  # a currency the company cannot use
        except (AirbyteTracedException, QuickBooksFault, requests.RequestException, ValueError) as error:
            return AirbyteConnectionStatus(status=Status.FAILED, message=describe_error(error))
        if problem is not None:
            return AirbyteConnectionStatus(status=Status.FAILED, message=problem)
        logger.info(f"Connected to QuickBooks company {company.get('CompanyName')!r} (realm {client.realm_id}).")
        return AirbyteConnectionStatus(status=Status.SUCCEEDED)

    def write(self, config: Mapping[str, Any], configured_catalog: ConfiguredAirbyteCatalog,
              input_messages: Iterable[AirbyteMessage]) -> Iterable[AirbyteMessage]:
        """Upsert every record; a STATE message is passed on only after every record before it is
        committed in QuickBooks (see connector_core.destination)."""
        logger = logging.getLogger("airbyte.destination_quickbooks")
        try:
            writer = QuickBooksWriter(client_from_config(config, logger), config, logger,
                                      streams=[s.stream.name for s in configured_catalog.streams])
            yield from run_write(writer, input_messages, logger)
        except AirbyteTracedException as error:
            if error.failure_type != FailureType.config_error:
                raise
            # The CDK's OAuth errors speak of "this source"; say what to do in this destination's words.
            raise config_error(describe_error(error), error.internal_message) from error
