"""qbo.errors.explained: a QuickBooks error met while doing something reaches the user in plain words,
with the failure type that says who can fix it."""

from __future__ import annotations

import pytest
import requests
from airbyte_cdk.models import FailureType
from airbyte_cdk.utils.traced_exception import AirbyteTracedException

from qbo.errors import FaultError, QuickBooksFault, explained


def fault(status: int, code: str, message: str) -> QuickBooksFault:
    return QuickBooksFault("Fault", [FaultError(code, message)], status)


@pytest.mark.parametrize(("error", "failure", "message"), [
    pytest.param(fault(401, "3200", "AuthenticationFailed"), FailureType.config_error,
                 "QuickBooks refused the request while reading invoices: AuthenticationFailed (fault 3200)",
                 id="401-is-the-apps-access"),
    pytest.param(fault(403, "3100", "ApplicationAuthorizationFailed"), FailureType.config_error,
                 "QuickBooks refused the request while reading invoices: ApplicationAuthorizationFailed (fault 3100)",
                 id="403-is-the-apps-access"),
    pytest.param(fault(400, "4000", "Error parsing query"), FailureType.system_error,
                 "QuickBooks refused the request while reading invoices: Error parsing query (fault 4000)",
                 id="other-fault-is-a-system-error"),
    pytest.param(fault(None, "6000", "A business validation error"), FailureType.system_error,
                 "QuickBooks refused the request while reading invoices: A business validation error (fault 6000)",
                 id="fault-in-a-200-answer"),
    pytest.param(requests.ConnectionError("connection refused"), FailureType.transient_error,
                 "QuickBooks could not be reached while reading invoices: connection refused",
                 id="network-error-is-transient"),
])
def test_an_error_inside_is_raised_saying_what_was_being_done(error: Exception, failure: FailureType,
                                                              message: str) -> None:
    with pytest.raises(AirbyteTracedException) as raised, explained("reading invoices"):
        raise error
    assert raised.value.failure_type == failure
    assert raised.value.message == message
    assert raised.value.internal_message == f"{type(error).__name__}: {error}"
    assert raised.value.__cause__ is error


@pytest.mark.parametrize("error", [
    pytest.param(ValueError("a bug"), id="a-bug-stays-a-bug"),
    pytest.param(AirbyteTracedException(message="already explained", failure_type=FailureType.config_error),
                 id="already-explained"),
])
def test_other_errors_pass_through_untouched(error: Exception) -> None:
    with pytest.raises(type(error)) as raised, explained("reading invoices"):
        raise error
    assert raised.value is error


def test_a_block_that_succeeds_is_left_alone() -> None:
    with explained("counting invoices"):
        total = 41 + 1
    assert total == 42
