"""qbd.errors and qbd.check: what the bridge's answers mean, and what a Desktop `check` warns about."""

from __future__ import annotations

import time

import pytest
import requests
from airbyte_cdk.models import FailureType
from airbyte_cdk.utils.traced_exception import AirbyteTracedException

from qbd.check import staleness_warning
from qbd.errors import BridgeError, describe_error, explained, refusal


def answer(status: int, text: str = "") -> requests.Response:
    response = requests.Response()
    response.status_code, response._content = status, text.encode()
    return response


def test_a_success_is_no_refusal() -> None:
    assert refusal(answer(200, "{}")) is None


@pytest.mark.parametrize("status", [401, 403])
def test_a_refused_key_is_a_config_error(status: int) -> None:
    error = refusal(answer(status))
    assert isinstance(error, AirbyteTracedException) and error.failure_type == FailureType.config_error
    assert describe_error(error) == "The bridge refused the API key: check `api_key` (the bridge's --api-key)."


def test_another_client_error_is_a_bridge_error_quoting_the_answer() -> None:
    error = refusal(answer(404, "no such stream"))
    assert isinstance(error, BridgeError) and describe_error(error) == "the bridge answered 404: no such stream"


def test_a_bridge_error_inside_is_raised_as_a_system_error_saying_what_failed() -> None:
    cause = BridgeError("the bridge answered 409: conflict")
    with pytest.raises(AirbyteTracedException) as raised, explained("Reading invoices from the bridge"):
        raise cause
    assert raised.value.failure_type == FailureType.system_error
    assert raised.value.message == "Reading invoices from the bridge failed: the bridge answered 409: conflict"
    assert raised.value.__cause__ is cause


@pytest.mark.parametrize(("silent", "max_hours", "warning"), [
    pytest.param(None, 24, "The Web Connector has never polled the bridge: add the .qwc file (GET /qwc) to it.",
                 id="never-polled"),
    pytest.param(3600, 24, None, id="recent"),
    pytest.param(25 * 3600, 24, "The Web Connector last polled the bridge 25.0 hours ago", id="stale"),
    pytest.param(3 * 3600, 2, "The Web Connector last polled the bridge 3.0 hours ago", id="stale-by-setting"),
])
def test_staleness_warning(silent: float | None, max_hours: float, warning: str | None) -> None:
    found = staleness_warning({"seconds_since_contact": silent, "last_contact": time.time() - (silent or 0)},
                              max_hours)
    assert (found is None) if warning is None else (found is not None and found.startswith(warning))
