"""Concern 5: no configured secret (API key, client secret, refresh and access tokens) in any output.

Every run of every test in this suite is scanned by the autouse fixture ``no_secret_in_any_output``
(conftest): stdout line by line and stderr, against the secrets of the configs each run was given,
the configs it handed back, and every token the QuickBooks sandboxes issued. The one exception is a
CONTROL connector-config message, whose purpose is to carry the config to the platform: there, and
only as the value of its own key (``api_key``, ``client_secret``, ``refresh_token``, ``access_token``)
at the top of ``control.connectorConfig.config``, a secret is expected.

This module checks that exception is exactly that narrow, and adds the runs most likely to leak:
failed checks with wrong secrets, debug-mode reads across a token refresh, and writes whose API
calls fail.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from connector_core.runner import configured_catalog, script
from integration_tests.fault_tolerance.conftest import (
    QBO_API,
    TRANSCRIPT,
    Intercept,
    Run,
    World,
    _discover,
    coperniq_config,
    find_leaks,
    matrix,
    quickbooks_config,
    run,
    write_json,
)

SECRET = "RT1-secret-value-0123456789"
ACCESS = "eyJsYW5kYm94IjoiYWNjZXNzIn0.access-0123456789"


def control(config: dict[str, Any], **extra: Any) -> str:
    return json.dumps({"type": "CONTROL", "control": {"type": "CONNECTOR_CONFIG", "emitted_at": 1,
                                                      "connectorConfig": {"config": config}, **extra}})


def fake_run(*stdout: str, stderr: str = "") -> Run:
    return Run(0, [], stderr, argv=["destination-quickbooks", "write"], stdout="\n".join(stdout))


# -- the scanner and its one exception ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("stdout", "stderr", "leaks"),
    [
        pytest.param([control({"refresh_token": SECRET, "access_token": ACCESS, "client_id": "app"})], "", 0,
                     id="control-config-at-its-own-keys-is-allowed"),
        pytest.param([control({"refresh_token": "old", "note": f"token {SECRET}"})], "", 1,
                     id="control-config-under-another-key"),
        pytest.param([control({"credentials": {"refresh_token": SECRET}})], "", 1,
                     id="control-config-nested-copy"),
        pytest.param([control({"refresh_token": SECRET}, debug=SECRET)], "", 1, id="control-outside-the-config"),
        pytest.param([json.dumps({"type": "CONTROL", "control": {"type": "OTHER",
                                                                  "config": {"refresh_token": SECRET}}})],
                     "", 1, id="control-of-another-type"),
        pytest.param([json.dumps({"type": "LOG", "log": {"level": "INFO", "message": f"refreshed: {SECRET}"}})], "", 1,
                     id="log-message"),
        pytest.param([json.dumps({"type": "TRACE", "trace": {"type": "ERROR", "error": {
            "message": "boom", "stack_trace": f"config={{'refresh_token': '{SECRET}'}}"}}})], "", 1,
                     id="trace-stack"),
        pytest.param([json.dumps({"type": "RECORD", "record": {"stream": "s", "data": {"x": ACCESS}}})], "", 1,
                     id="record"),
        pytest.param([f"Authorization: Bearer {ACCESS}"], "", 1, id="raw-stdout-line"),
        pytest.param([], f"Traceback ... {SECRET}", 1, id="stderr"),
    ],
)
def test_the_scan_allows_secrets_only_as_config_values_of_a_control_message(stdout: list[str], stderr: str,
                                                                            leaks: int) -> None:
    found = find_leaks(fake_run(*stdout, stderr=stderr), {SECRET, ACCESS})
    assert len(found) == leaks, found
    assert all(SECRET not in leak and ACCESS not in leak for leak in found), "a finding must not print the secret"


# -- runs most likely to leak --------------------------------------------------------------------------


def _scan_now() -> list[str]:
    """The scan the autouse fixture runs at teardown, run here as well so the test itself fails on a leak."""
    from integration_tests.fault_tolerance.conftest import STARTED, config_secrets

    secrets = STARTED.secrets()
    for result in TRANSCRIPT:
        secrets |= config_secrets(result.config)
        for update in result.config_updates:
            secrets |= config_secrets(update)
    return [leak for result in TRANSCRIPT for leak in find_leaks(result, secrets)]


@pytest.mark.parametrize(
    ("connector", "change"),
    [
        pytest.param("source-coperniq", {"api_key": "wrong-api-key-123456"}, id="source-coperniq-wrong-key"),
        pytest.param("destination-coperniq", {"api_key": "wrong-api-key-123456"}, id="destination-coperniq-wrong-key",
                     marks=pytest.mark.fault_full),
        pytest.param("source-quickbooks", {"client_secret": "wrong-client-secret-123"},
                     id="source-quickbooks-wrong-secret", marks=pytest.mark.fault_full),
        pytest.param("destination-quickbooks", {"client_secret": "wrong-client-secret-123"},
                     id="destination-quickbooks-wrong-secret"),
        pytest.param("source-quickbooks", {"refresh_token": "RT1-revoked-token-123456"},
                     id="source-quickbooks-dead-refresh-token", marks=pytest.mark.fault_full),
        pytest.param("destination-quickbooks", {"refresh_token": "RT1-revoked-token-123456"},
                     id="destination-quickbooks-dead-refresh-token"),
    ],
)
def test_a_failed_check_never_prints_the_secret_it_was_given(connector: str, change: dict[str, Any],
                                                             coperniq_factory: Any, qbo_factory: Any,
                                                             tmp_path: Path) -> None:
    if "coperniq" in connector:
        config = {**coperniq_config(coperniq_factory(projects=3, seed=41, daily_quota=None)), **change}
    else:
        config = {**quickbooks_config(qbo_factory(customers=2, invoices=2, seed=41)), **change}
    result = run([script(connector), "check", "--config", write_json(tmp_path, "config.json", config)], config=config)
    status = result.of_type("CONNECTION_STATUS")
    assert status and status[0]["connectionStatus"]["status"] == "FAILED", result.describe()
    assert not _scan_now()


@pytest.mark.parametrize("flow", matrix([], ["qbo:in:1", "qbo:out:1"]))
def test_a_sync_with_a_token_refresh_on_401_and_failing_api_calls_prints_no_secret(flow: str,
                                                                                   world_factory: Any) -> None:
    world: World = world_factory(flow, 42, size=25)
    quickbooks = world.quickbooks
    with Intercept(quickbooks, QBO_API, nth=2, before=quickbooks.expire_access_tokens), \
            Intercept(world.target_api, world.write_path, 1, method=world.write_methods,
                      then=lambda: world.target_api.app.fault_responder(500, {})):
        read, write = world.pipe.sync()
    assert read.ok() and write.ok(), (read.describe(), write.describe())
    assert read.config_updates or write.config_updates, "no token was refreshed"
    assert not _scan_now()


@pytest.mark.parametrize("source", ["source-coperniq", "source-quickbooks"])
def test_a_debug_read_across_a_token_refresh_prints_no_secret(source: str, coperniq_factory: Any, qbo_factory: Any,
                                                               tmp_path: Path) -> None:
    if source == "source-coperniq":
        sandbox: Any = coperniq_factory(projects=30, seed=43, daily_quota=None)
        config, streams = coperniq_config(sandbox), ("projects",)
        sandbox.faults.inject(401, count=1, path=r"^/v1/projects$")  # an auth failure the connector reports
    else:
        sandbox = qbo_factory(customers=30, invoices=5, seed=43)
        config, streams = quickbooks_config(sandbox), ("customers",)
    catalog = configured_catalog(_discover(source, config), True, streams)
    args = [script(source), "read", "--config", write_json(tmp_path, "config.json", config),
            "--catalog", write_json(tmp_path, "catalog.json", catalog), "--debug"]
    if source == "source-quickbooks":
        with Intercept(sandbox, QBO_API, nth=2, before=sandbox.expire_access_tokens):
            result = run(args, config=config)
        assert result.ok() and result.config_updates, result.describe()
    else:
        result = run(args, config=config)
        assert result.errors, "the 401 should fail the read"
    assert not _scan_now()

