"""What each QuickBooks answer means: a 403 with fault 3001 is throttling (retried), a 404 is a wrong company."""

from __future__ import annotations

import pytest
import requests_mock as rm
from airbyte_cdk.models import FailureType
from airbyte_cdk.utils.traced_exception import AirbyteTracedException

from qbo.client import QuickBooksClient

TOKEN_URL = "https://oauth.platform.intuit.com/oauth2/v1/tokens/bearer"
API = "https://quickbooks.api.intuit.com/v3/company/42"
THROTTLED_XML = ('<?xml version="1.0" encoding="UTF-8" standalone="yes"?><IntuitResponse '
                 'xmlns="http://schema.intuit.com/finance/v3"><Fault type="SERVICE"><Error code="3001">'
                 '<Message>message=ThrottleExceeded; errorCode=003001; statusCode=403</Message>'
                 '<Detail>The request limit was reached.</Detail></Error></Fault></IntuitResponse>')
DENIED_JSON = {"Fault": {"Error": [{"Message": "message=ApplicationAuthorizationFailed; errorCode=003100",
                                    "code": "3100"}], "type": "AuthorizationFault"}}


class NoThrottle:
    def acquire(self, *groups: str) -> None:
        pass


def client() -> QuickBooksClient:
    config = {"client_id": "app", "client_secret": "s", "refresh_token": "rt", "realm_id": "42"}
    return QuickBooksClient(config, throttle=NoThrottle(), max_retries=3)


@pytest.fixture(autouse=True)
def token(requests_mock: rm.Mocker) -> None:
    requests_mock.post(TOKEN_URL, json={"access_token": "at", "refresh_token": "rt2", "expires_in": 3600})


@pytest.mark.parametrize("body", [pytest.param({"text": THROTTLED_XML}, id="xml"), pytest.param(
    {"json": {"Fault": {"Error": [{"Message": "ThrottleExceeded", "code": "3001"}], "type": "SERVICE"}}},
    id="json")])
def test_a_403_with_fault_3001_is_throttling_and_retried_like_a_429(requests_mock: rm.Mocker,
                                                                   body: dict[str, object]) -> None:
    query = requests_mock.post(f"{API}/query", [{"status_code": 403, **body}, {"status_code": 403, **body},
                                                {"json": {"QueryResponse": {"Customer": [{"Id": "1"}]}}}])
    assert client().query("SELECT * FROM Customer") == {"Customer": [{"Id": "1"}]}
    assert query.call_count == 3


def test_a_403_without_fault_3001_stays_a_config_error_and_is_not_retried(requests_mock: rm.Mocker) -> None:
    query = requests_mock.post(f"{API}/query", status_code=403, json=DENIED_JSON)
    with pytest.raises(AirbyteTracedException) as raised:
        client().query("SELECT * FROM Customer")
    assert raised.value.failure_type == FailureType.config_error
    assert query.call_count == 1


def test_a_404_is_a_config_error_naming_realm_id_and_sandbox(requests_mock: rm.Mocker) -> None:
    requests_mock.get(f"{API}/companyinfo/42", status_code=404, text="")
    with pytest.raises(AirbyteTracedException) as raised:
        client().company_info()
    assert raised.value.failure_type == FailureType.config_error
    message = raised.value.message or ""
    assert "no company '42' at quickbooks.api.intuit.com" in message
    assert "`realm_id`" in message and "`sandbox` is off" in message
