"""Set-up mistakes show at `check`, in plain words, and a sync mode a destination cannot honour stops a sync at once.

The checks run in-process against the sandboxes (fast); one write runs as the console script to prove the
user sees a config_error TRACE before anything is read or written.
"""

from __future__ import annotations

import json
import logging
from typing import Any

import pytest
from airbyte_cdk.models import ConfiguredAirbyteCatalogSerializer, FailureType, Status
from airbyte_cdk.utils.traced_exception import AirbyteTracedException

from connector_core.runner import run_connector, script
from destination_coperniq.destination import DestinationCoperniq
from destination_quickbooks.destination import DestinationQuickbooks
from destination_quickbooks_desktop.destination import DestinationQuickbooksDesktop
from sandboxes.coperniq import CoperniqSandbox
from sandboxes.quickbooks import QuickBooksSandbox

LOGGER = logging.getLogger("airbyte.test")


def qbo_config(sandbox: QuickBooksSandbox, **extra: Any) -> dict[str, Any]:
    return {"client_id": sandbox.client_id, "client_secret": sandbox.client_secret,
            "refresh_token": sandbox.current_refresh_token or sandbox.refresh_token, "realm_id": sandbox.realm_id,
            "base_url": sandbox.base_url, "token_url": sandbox.token_url, **extra}


def coperniq_config(sandbox: CoperniqSandbox, **extra: Any) -> dict[str, Any]:
    return {"api_key": sandbox.api_key, "base_url": sandbox.base_url, **extra}


def check_message(destination: Any, config: dict[str, Any]) -> tuple[Status, str]:
    status = destination.check(LOGGER, config)
    return status.status, status.message or ""


# -- destination-quickbooks: the item invoice lines are booked on, the company, the hosts ------------------------


def test_quickbooks_check_passes_with_the_default_item(qbo_sandbox: QuickBooksSandbox) -> None:
    assert check_message(DestinationQuickbooks(), qbo_config(qbo_sandbox)) == (Status.SUCCEEDED, "")


@pytest.mark.parametrize(("setup", "expected"), [
    pytest.param("missing", "has no product/service named 'Installation'", id="missing-item"),
    pytest.param("inactive", "'Installation' is inactive", id="inactive-item"),
    pytest.param("not-sold", "'Installation' is not sold", id="item-without-income-account"),
    pytest.param("category", "'Installation' is a category", id="category"),
])
def test_quickbooks_check_names_the_item_setting_to_fix(qbo_sandbox: QuickBooksSandbox, setup: str,
                                                        expected: str) -> None:
    backend = qbo_sandbox.backend
    if setup != "missing":
        item = backend.add_item("Installation", 100.0, item_type="Category" if setup == "category" else "Service",
                                active=setup != "inactive")
        if setup == "not-sold":
            backend.items[item["Id"]].pop("IncomeAccountRef")
    status, message = check_message(DestinationQuickbooks(), qbo_config(qbo_sandbox, item_name="Installation"))
    assert status == Status.FAILED
    assert expected in message and "`item_name`" in message


@pytest.mark.parametrize(("change", "expected"), [
    pytest.param({"realm_id": "4620816365"}, ["no company '4620816365'", "`realm_id`", "`base_url`"],
                 id="wrong-realm"),
])
def test_quickbooks_wrong_company_is_a_plain_config_error(qbo_sandbox: QuickBooksSandbox, change: dict[str, Any],
                                                          expected: list[str]) -> None:
    status, message = check_message(DestinationQuickbooks(), qbo_config(qbo_sandbox, **change))
    assert status == Status.FAILED
    for words in expected:
        assert words in message


def test_a_404_names_the_environment_setting_on_intuits_hosts() -> None:
    from qbo.errors import company_not_found

    production = company_not_found("https://quickbooks.api.intuit.com/v3/company/123/companyinfo/123")
    sandbox = company_not_found("https://sandbox-quickbooks.api.intuit.com/v3/company/123/companyinfo/123")
    assert "no company '123' at quickbooks.api.intuit.com" in production and "turn it on" in production
    assert "`sandbox` is on" in sandbox and "turn it off" in sandbox


@pytest.mark.parametrize(("change", "key"), [
    pytest.param({"base_url": "https://quickbooks.api.intuit.com.evil.example"}, "base_url", id="look-alike-host"),
    pytest.param({"token_url": "https://collector.example.com/oauth2/v1/tokens/bearer"}, "token_url",
                 id="token-url-elsewhere"),
])
def test_quickbooks_secrets_are_never_sent_to_other_hosts(qbo_sandbox: QuickBooksSandbox, change: dict[str, Any],
                                                          key: str) -> None:
    qbo_sandbox.log.clear()
    status, message = check_message(DestinationQuickbooks(), qbo_config(qbo_sandbox, **change))
    assert status == Status.FAILED
    assert f"`{key}` points at" in message and "*.intuit.com" in message
    assert not qbo_sandbox.log.entries(), "refused before any request"


# -- destination-coperniq: the catalog item invoices are booked on ----------------------------------------------


def test_coperniq_check_passes_with_and_without_a_catalog_item(coperniq_sandbox: CoperniqSandbox) -> None:
    item_id = next(iter(coperniq_sandbox.backend.catalog_items))
    assert check_message(DestinationCoperniq(), coperniq_config(coperniq_sandbox))[0] == Status.SUCCEEDED
    assert check_message(DestinationCoperniq(), coperniq_config(coperniq_sandbox, invoice_catalog_item_id=item_id)
                         )[0] == Status.SUCCEEDED


def test_coperniq_check_names_a_catalog_item_that_does_not_exist(coperniq_sandbox: CoperniqSandbox) -> None:
    status, message = check_message(DestinationCoperniq(),
                                    coperniq_config(coperniq_sandbox, invoice_catalog_item_id=987654))
    assert status == Status.FAILED
    assert "no catalog item 987654" in message and "`invoice_catalog_item_id`" in message


def test_coperniq_check_refuses_a_base_url_outside_coperniq(coperniq_sandbox: CoperniqSandbox) -> None:
    status, message = check_message(DestinationCoperniq(),
                                    coperniq_config(coperniq_sandbox, base_url="https://api.coperniq.io.example/v1"))
    assert status == Status.FAILED and "*.coperniq.io" in message


# -- sync modes -----------------------------------------------------------------------------------------------


def catalog(streams: dict[str, str]) -> Any:
    return ConfiguredAirbyteCatalogSerializer.load({"streams": [
        {"stream": {"name": name, "json_schema": {"type": "object"}, "supported_sync_modes": ["incremental"]},
         "sync_mode": "incremental", "destination_sync_mode": mode, "cursor_field": ["updatedAt"],
         "primary_key": [["id"]]} for name, mode in streams.items()]})


@pytest.mark.parametrize("mode", ["append", "overwrite", "update", "soft_delete"])
@pytest.mark.parametrize("destination", [DestinationQuickbooks, DestinationCoperniq, DestinationQuickbooksDesktop])
def test_a_mode_that_promises_more_than_an_upsert_fails_before_anything_is_written(destination: Any,
                                                                                   mode: str) -> None:
    config = {"api_key": "k", "client_id": "c", "client_secret": "s", "refresh_token": "r", "realm_id": "1",
              "bridge_url": "http://localhost:1"}
    with pytest.raises(AirbyteTracedException) as raised:
        list(destination().write(config, catalog({"projects": "append_dedup", "invoices": mode}), iter(())))
    assert raised.value.failure_type == FailureType.config_error
    assert "stream 'invoices' asks for" in raised.value.message and f"({mode})" in raised.value.message
    assert "Append + Deduped (append_dedup)" in raised.value.message and "never deletes" in raised.value.message


def test_the_spec_declares_only_append_dedup() -> None:
    for destination in (DestinationQuickbooks, DestinationCoperniq, DestinationQuickbooksDesktop):
        spec = destination().spec(LOGGER)
        assert [m.value for m in spec.supported_destination_sync_modes] == ["append_dedup"]


def test_the_console_script_answers_a_wrong_mode_with_a_config_error_trace(qbo_sandbox: QuickBooksSandbox,
                                                                            tmp_path: Any) -> None:
    config, catalog_path = tmp_path / "config.json", tmp_path / "catalog.json"
    config.write_text(json.dumps(qbo_config(qbo_sandbox)))
    catalog_path.write_text(json.dumps({"streams": [
        {"stream": {"name": "projects", "json_schema": {"type": "object"}, "supported_sync_modes": ["full_refresh"]},
         "sync_mode": "full_refresh", "destination_sync_mode": "overwrite"}]}))
    record = {"type": "RECORD", "record": {"stream": "projects", "data": {"id": 1, "title": "X"}, "emitted_at": 1}}
    result = run_connector([script("destination-quickbooks"), "write", "--config", str(config), "--catalog",
                            str(catalog_path)], stdin_lines=[json.dumps(record)])
    errors = [m["trace"]["error"] for m in result.of_type("TRACE") if m["trace"]["type"] == "ERROR"]
    assert [e["failure_type"] for e in errors] == ["config_error"]
    assert "Overwrite (overwrite)" in errors[0]["message"]
    assert not result.of_type("STATE")
    assert not [c for c in qbo_sandbox.backend.customers.values() if c.get("DisplayName") == "X"]
