"""What ``check`` probes in the QuickBooks Desktop bridge, for both Desktop connectors.

The probe raises what it meets; the connector reports it through :func:`qbd.errors.describe_error`.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Mapping
from typing import Any

from qbd.client import client_from_config

DEFAULT_MAX_STALENESS_HOURS = 24.0


def probe_bridge(config: Mapping[str, Any], logger: logging.Logger) -> dict[str, Any]:
    """The bridge's status (one request, retried once): proves ``bridge_url`` and ``api_key``."""
    return client_from_config(config, logger, max_retries=1).status()


def staleness_warning(status: Mapping[str, Any], max_hours: float = DEFAULT_MAX_STALENESS_HOURS) -> str | None:
    """What to tell a reader when the Web Connector never polled the bridge or not for ``max_hours``."""
    silent = status.get("seconds_since_contact")
    if silent is None:
        return "The Web Connector has never polled the bridge: add the .qwc file (GET /qwc) to it."
    if silent > max_hours * 3600:
        return (f"The Web Connector last polled the bridge {silent / 3600:.1f} hours ago "
                f"({time.ctime(status['last_contact'])}): QuickBooks data may be old.")
    return None
