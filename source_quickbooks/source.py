"""source-quickbooks: QuickBooks Online customers and invoices, full refresh or incremental with deletions."""

from __future__ import annotations

import logging
from collections.abc import Iterator, Mapping
from typing import Any

import requests
from airbyte_cdk.models import AirbyteMessage, AirbyteStateMessage, ConfiguredAirbyteCatalog, SyncMode
from airbyte_cdk.sources import AbstractSource
from airbyte_cdk.sources.connector_state_manager import ConnectorStateManager
from airbyte_cdk.sources.streams import Stream
from airbyte_cdk.utils.traced_exception import AirbyteTracedException

from connector_core.config import config_error, parse_start_date
from qbo.auth import INTUIT_TOKEN_URL
from qbo.client import QuickBooksClient, api_root
from qbo.errors import QuickBooksFault
from source_quickbooks.streams import DeletionFeed, QuickBooksStream, deletions_since

# Stream name (as in Airbyte's own QuickBooks source) -> QuickBooks entity.
STREAMS: dict[str, str] = {"customers": "Customer", "invoices": "Invoice"}

DEAD_REFRESH_TOKEN = ("QuickBooks refused the refresh token (invalid_grant): it expired, was revoked, or was already "
                      "replaced by a newer one. Reconnect the app to the company and enter the new refresh token.")
CLIENT_REFUSED = ("QuickBooks refused the app's keys (invalid_client): check `client_id` and `client_secret` "
                  "(Intuit developer portal > Keys & credentials; development and production keys differ) and that "
                  "the refresh token was issued to this app.")


def build_client(config: Mapping[str, Any], logger: logging.Logger | None = None,
                 max_retries: int = 6) -> QuickBooksClient:
    try:
        # A mutable copy: the authenticator writes rotated tokens into it (and emits them as CONTROL messages).
        return QuickBooksClient(dict(config), logger=logger, max_retries=max_retries)
    except (ValueError, KeyError) as error:
        raise config_error(str(error)) from error


def explain(error: Exception) -> str:
    """Plain words for a failed check."""
    if isinstance(error, AirbyteTracedException):
        text = f"{error.message or ''} {error.internal_message or ''}"
        if "invalid_grant" in text:
            return DEAD_REFRESH_TOKEN
        if "invalid_client" in text:
            return CLIENT_REFUSED
        return error.message or str(error)
    if isinstance(error, QuickBooksFault):
        return f"QuickBooks answered with a fault: {error}"
    if isinstance(error, requests.RequestException):
        return f"QuickBooks could not be reached: {error}"
    return str(error)


def probe(url: str) -> None:
    """Fail fast on a host that does not answer: the OAuth refresh alone would retry for five minutes."""
    try:
        requests.head(url, timeout=(5, 10), allow_redirects=False)
    except requests.RequestException as error:
        raise config_error(f"QuickBooks could not be reached at {url}: {error}. Check the host "
                           "(`base_url` / `token_url`, or `sandbox`) and the network.", str(error)) from error


class SourceQuickbooks(AbstractSource):
    def __init__(self) -> None:
        super().__init__()
        self._deletion_plan: dict[str, Any] = {}

    def check_connection(self, logger: logging.Logger, config: Mapping[str, Any]) -> tuple[bool, Any]:
        try:
            parse_start_date(config.get("start_date"))
            client = build_client(config, logger, max_retries=1)  # a check answers fast, not after minutes
            probe(client.config.get("token_url") or INTUIT_TOKEN_URL)
            probe(api_root(client.config))
            company = client.company_info()  # proves the token and that it belongs to this realm
        except (AirbyteTracedException, QuickBooksFault, requests.RequestException, ValueError) as error:
            return False, explain(error)
        logger.info(f"Connected to QuickBooks company {company.get('CompanyName')!r} (realm {client.realm_id}).")
        return True, None

    def read(self, logger: logging.Logger, config: Mapping[str, Any], catalog: ConfiguredAirbyteCatalog,
             state: list[AirbyteStateMessage] | None = None) -> Iterator[AirbyteMessage]:
        # The streams share one CDC call; it must cover every stream's window, known only from here.
        manager = ConnectorStateManager(state=state)
        self._deletion_plan = {}
        for configured in catalog.streams:
            name = configured.stream.name
            if name in STREAMS and configured.sync_mode == SyncMode.incremental:
                since = deletions_since(manager.get_stream_state(name, configured.stream.namespace))
                if since is not None:
                    self._deletion_plan[STREAMS[name]] = since
        yield from super().read(logger, config, catalog, state)

    def streams(self, config: Mapping[str, Any]) -> list[Stream]:
        logger = logging.getLogger("airbyte.source_quickbooks")
        start_date = parse_start_date(config.get("start_date"))
        client = build_client(config, logger)
        deletions = DeletionFeed(client, logger)
        deletions.plan = dict(self._deletion_plan)
        return [QuickBooksStream(name, entity, client, start_date=start_date, deletions=deletions, logger=logger)
                for name, entity in STREAMS.items()]
