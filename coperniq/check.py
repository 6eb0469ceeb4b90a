"""What ``check`` probes in Coperniq, for source-coperniq and destination-coperniq alike.

Each probe raises what it meets; the connector reports it through :func:`coperniq.errors.describe_error`.
A check answers fast: its client retries once, not for minutes.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

from connector_core.config import config_error
from coperniq.client import CoperniqClient, client_from_config
from coperniq.errors import CoperniqNotFound


def probe_projects(config: Mapping[str, Any], logger: logging.Logger) -> CoperniqClient:
    """A client for ``config`` that has listed one project (one request): proves the host, the key and its access."""
    client = client_from_config(config, logger, max_retries=1)
    client.list_page("projects", page=1, page_size=1)
    return client


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
