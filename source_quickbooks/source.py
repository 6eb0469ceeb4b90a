"""source-quickbooks: QuickBooks Online customers and invoices, full refresh or incremental with deletions."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

from airbyte_cdk.sources import AbstractSource
from airbyte_cdk.sources.streams import Stream

from connector_core.config import parse_start_date
from qbo.check import connected, probe_company
from qbo.client import client_from_config
from qbo.errors import CHECK_FAILURES, describe_error
from source_quickbooks.deletions import DeletionFeed
from source_quickbooks.streams import CustomerLinks, QuickBooksStream

# Stream name (as in Airbyte's own QuickBooks source) -> the QuickBooks entity it reads.
ENTITY_OF_STREAM: dict[str, str] = {"customers": "Customer", "invoices": "Invoice"}
# Entities QuickBooks can delete. A customer cannot be deleted, only made inactive (an ordinary
# update), so its stream spends no change-data-capture call.
DELETABLE = {"Invoice"}


class SourceQuickbooks(AbstractSource):
    # A stream of the configured catalog this source does not have (a stale schema) fails the sync, by name.
    raise_exception_on_missing_stream = True

    def check_connection(self, logger: logging.Logger, config: Mapping[str, Any]) -> tuple[bool, Any]:
        """A readable start date, hosts that answer, and a token that reads this company (qbo.check)."""
        try:
            parse_start_date(config.get("start_date"))
            client, company = probe_company(config, logger, reach_hosts=True)
        except CHECK_FAILURES as error:
            return False, describe_error(error)
        logger.info(f"{connected(client, company)}.")
        return True, None

    def streams(self, config: Mapping[str, Any]) -> list[Stream]:
        logger = logging.getLogger("airbyte.source_quickbooks")
        start_date = parse_start_date(config.get("start_date"))
        client = client_from_config(config, logger)
        deletions = DeletionFeed(client, logger)
        links = CustomerLinks(client)  # shared: customers read by one stream spare the invoices' look-ups
        return [QuickBooksStream(name, entity, client, start_date=start_date,
                                 deletions=deletions if entity in DELETABLE else None, links=links, logger=logger)
                for name, entity in ENTITY_OF_STREAM.items()]
