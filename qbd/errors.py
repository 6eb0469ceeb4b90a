"""Bridge errors, classified once: each answer of the bridge's API to retry / config error / failure
(:func:`refusal`), each raised error to plain words for ``check`` (:func:`describe_error`) and to an
Airbyte error for a sync (:func:`explained`)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import requests
from airbyte_cdk.models import FailureType
from airbyte_cdk.utils.traced_exception import AirbyteTracedException

from connector_core.config import config_error

# Answers a retry may cure: a bridge restarting or busy is waited for, not fatal.
RETRY_STATUSES = frozenset({429, 500, 502, 503, 504})


class BridgeError(Exception):
    """The bridge answered with an error that a retry does not cure."""


def refusal(response: requests.Response) -> Exception | None:
    """The error a final (not retried) answer means, or None for a success: 401/403 is the API key
    (config_error), any other 4xx a :class:`BridgeError`."""
    if response.status_code in (401, 403):
        return config_error("The bridge refused the API key: check `api_key` (the bridge's --api-key).")
    if response.status_code >= 400:
        return BridgeError(f"the bridge answered {response.status_code}: {response.text[:300]}")
    return None


# What a connector's ``check`` reports in plain words (describe_error) rather than as a crash.
CHECK_FAILURES = (AirbyteTracedException, BridgeError)


def describe_error(error: Exception) -> str:
    """Plain words for what went wrong while talking to the bridge."""
    if isinstance(error, AirbyteTracedException):
        return error.message or str(error)
    return str(error)


@contextmanager
def explained(what: str) -> Iterator[None]:
    """Re-raise a :class:`BridgeError` met inside the block as a system_error saying ``{what} failed``."""
    try:
        yield
    except BridgeError as error:
        raise AirbyteTracedException(message=f"{what} failed: {error}", internal_message=str(error),
                                     failure_type=FailureType.system_error) from error
