"""source-quickbooks: QuickBooks Online customers and invoices, full refresh or incremental with deletions."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

import requests
from airbyte_cdk.sources import AbstractSource
from airbyte_cdk.sources.streams import Stream
from airbyte_cdk.utils.traced_exception import AirbyteTracedException

from connector_core.config import config_error, parse_start_date
from qbo.auth import INTUIT_TOKEN_URL
from qbo.client import api_root, client_from_config
from qbo.errors import QuickBooksFault, describe_error
from source_quickbooks.deletions import DeletionFeed
from source_quickbooks.streams import CustomerLinks, QuickBooksStream

# Stream name (as in Airbyte's own QuickBooks source) -> the QuickBooks entity it reads.
ENTITY_OF_STREAM: dict[str, str] = {"customers": "Customer", "invoices": "Invoice"}
# Entities QuickBooks can delete. A customer cannot be deleted, only made inactive (an ordinary
# update), so its stream spends no change-data-capture call.
DELETABLE = {"Invoice"}


def probe(url: str) -> None:
    """Fail fast on a host that does not answer: the OAuth refresh alone would retry for five minutes."""
    try:
        requests.head(url, timeout=(5, 10), allow_redirects=False)
    except requests.RequestException as error:
        raise config_error(f"QuickBooks could not be reached at {url}: {error}. Check the host "
                           "(`base_url` / `token_url`, or `sandbox`) and the network.", str(error)) from error


class SourceQuickbooks(AbstractSource):
    # A stream of the configured catalog this source does not have (a stale schema) fails the sync, by name.
    raise_exception_on_missing_stream = True

    def check_connection(self, logger: logging.Logger, config: Mapping[str, Any]) -> tuple[bool, Any]:
        try:
            parse_start_date(config.get("start_date"))
            client = client_from_config(config, logger, max_retries=1)  # a check answers fast, not after minutes
            probe(client.config.get("token_url") or INTUIT_TOKEN_URL)
            probe(api_root(client.config))
            company = client.company_info()  # proves the token and that it belongs to this realm
        except (AirbyteTracedException, QuickBooksFault, requests.RequestException, ValueError) as error:
            return False, describe_error(error)
        logger.info(f"Connected to QuickBooks company {company.get('CompanyName')!r} (realm {client.realm_id}).")
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
