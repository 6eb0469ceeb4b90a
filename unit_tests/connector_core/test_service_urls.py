"""One validator decides where credentials may go: the service's own domain, or a sandbox on this machine."""

from __future__ import annotations

import pytest
from airbyte_cdk.models import FailureType
from airbyte_cdk.utils.traced_exception import AirbyteTracedException

from connector_core.config import validate_service_url


@pytest.mark.parametrize(("url", "service"), [
    ("https://quickbooks.api.intuit.com", "quickbooks"),
    ("https://sandbox-quickbooks.api.intuit.com/", "quickbooks"),
    ("https://oauth.platform.intuit.com/oauth2/v1/tokens/bearer", "quickbooks"),
    ("https://api.coperniq.io/v1", "coperniq"),
    ("http://127.0.0.1:8081/v1", "coperniq"),
    ("http://localhost:8082", "quickbooks"),
])
def test_the_services_own_hosts_and_local_sandboxes_are_accepted(url: str, service: str) -> None:
    assert validate_service_url(url, "base_url", service, "https://x") == url.rstrip("/")


@pytest.mark.parametrize(("url", "service", "words"), [
    ("https://quickbooks.api.intuit.com.attacker.example", "quickbooks", "not one of Intuit's hosts"),
    ("https://notintuit.com", "quickbooks", "*.intuit.com"),
    ("https://api.coperniq.io", "quickbooks", "*.intuit.com"),  # Intuit's secrets never go to Coperniq
    ("https://quickbooks.api.intuit.com", "coperniq", "*.coperniq.io"),  # nor the Coperniq key to Intuit
    ("http://api.coperniq.io/v1", "coperniq", "https"),
    ("api.coperniq.io/v1", "coperniq", "http(s) URL"),
])
def test_other_hosts_are_a_config_error_naming_the_setting(url: str, service: str, words: str) -> None:
    with pytest.raises(AirbyteTracedException) as raised:
        validate_service_url(url, "base_url", service, "https://x")
    assert raised.value.failure_type == FailureType.config_error
    assert "`base_url`" in (raised.value.message or "") and words in (raised.value.message or "")


@pytest.mark.parametrize("empty", [None, "", "  "])
def test_an_empty_setting_means_the_default(empty: str | None) -> None:
    assert validate_service_url(empty, "base_url", "coperniq", "https://api.coperniq.io/v1") is None
