"""Concern 3: QuickBooks OAuth trouble mid-sync.

- The access token expires mid-sync (the n-th API request finds it expired and gets 401): the
  connector refreshes, retries and completes; every rotation of the refresh token (the first
  refresh and the one on 401) reaches the platform in a CONTROL message carrying the new token.
- The refresh token is rotated behind the connector's back (a second copy of the app authorised
  again, or Intuit revoked it) while the access token also expires: the stored refresh token is
  dead, so the sync fails with a config_error TRACE telling the user to reconnect. After the user
  reconnects (the platform stores the new token) the next sync completes with every record once.
- A stored refresh token that is already dead fails the sync at once, with words that send the
  user to the right place (a destination's settings, not a source's).

The QuickBooks connector is destination-quickbooks in the qbo:in flows and source-quickbooks in the
qbo:out flows.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest

from connector_core.runner import configured_catalog, script
from integration_tests.fault_tolerance.conftest import (
    QBO_API,
    Intercept,
    Run,
    World,
    _discover,
    destination_catalog,
    matrix,
    quickbooks_config,
    record_line,
    run,
    state_line,
    write_json,
)

FLOWS = matrix(("qbo:in:1", "qbo:out:2"), ("qbo:in:2", "qbo:out:1"))
RECONNECT = re.compile(r"reconnect|re-?authenticate|re-?authori[sz]e", re.I)
CONFIG_KEYS = ("client_id", "client_secret", "realm_id", "base_url", "token_url")


def quickbooks_side(world: World, read: Run, write: Run) -> Run:
    return write if world.inbound else read


def quickbooks_config_of(world: World) -> dict[str, Any]:
    return world.pipe.destination_config if world.inbound else world.pipe.source_config


def mid_sync(world: World) -> int:
    """The QuickBooks API request before which the tokens change: the second of destination-quickbooks; the
    first of source-quickbooks, whose small reads here are one query (its token was refreshed just before)."""
    return 2 if world.inbound else 1


def served(world: World, status: int) -> int:
    return sum(1 for entry in world.quickbooks.log.entries() if entry.status == status)


@pytest.mark.parametrize("flow", FLOWS)
def test_an_access_token_expiring_mid_sync_is_refreshed_and_every_rotation_reaches_the_platform(
        flow: str, world_factory: Any) -> None:
    world: World = world_factory(flow, 31)
    quickbooks = world.quickbooks
    initial = dict(quickbooks_config_of(world))
    with Intercept(quickbooks, QBO_API, nth=mid_sync(world), before=quickbooks.expire_access_tokens) as expiry:
        read, write = world.pipe.sync()
    assert expiry.fired.is_set(), "the access token never expired mid-sync"
    assert read.ok(), read.describe()
    assert write.ok(), write.describe()
    assert served(world, 401) >= 1, "the expired access token was never refused"
    connector = quickbooks_side(world, read, write)
    rotated = [update["refresh_token"] for update in connector.config_updates]
    assert len(rotated) >= 2, f"expected a CONTROL message for the first refresh and one for the refresh on 401, " \
                              f"got {len(rotated)}"
    assert len(set(rotated)) == len(rotated) and initial["refresh_token"] not in rotated
    assert rotated[-1] == quickbooks.current_refresh_token, "the last CONTROL message does not carry the live token"
    assert not quickbooks.oauth.refresh_token_valid(initial["refresh_token"])
    for update in connector.config_updates:
        assert {k: update.get(k) for k in CONFIG_KEYS} == {k: initial.get(k) for k in CONFIG_KEYS}, \
            "a CONTROL message changed more of the config than the tokens"
        assert update.get("access_token"), "the CONTROL config carries no access token"
    assert quickbooks_config_of(world)["refresh_token"] == quickbooks.current_refresh_token
    world.assert_exactly_once("access token expired mid-sync")


@pytest.mark.parametrize("flow", FLOWS)
def test_a_refresh_token_rotated_behind_the_connectors_back_fails_with_a_reconnect_config_error(
        flow: str, world_factory: Any) -> None:
    world: World = world_factory(flow, 32)
    quickbooks = world.quickbooks
    reconnected: list[str] = []

    def rotate_behind_its_back() -> None:
        reconnected.append(quickbooks.rotate_refresh_token())  # what a reconnect hands the user
        quickbooks.expire_access_tokens()

    with Intercept(quickbooks, QBO_API, nth=mid_sync(world), before=rotate_behind_its_back) as rotation:
        read, write = world.pipe.sync()
    assert rotation.fired.is_set()
    failed = quickbooks_side(world, read, write)
    assert failed.returncode != 0, f"the sync went on with a dead refresh token: {failed.describe()}"
    errors = failed.errors
    assert errors, f"no error TRACE: {failed.describe()}"
    assert all(e.get("failure_type") == "config_error" for e in errors), \
        f"a dead refresh token is the user's to fix: {[(e['failure_type'], e['message']) for e in errors]}"
    message = errors[0]["message"]
    assert re.search(r"refresh token", message, re.I) and RECONNECT.search(message), \
        f"the message does not tell the user to reconnect: {message!r}"

    # The user reconnects; the platform stores the new refresh token; the next sync finishes the job.
    quickbooks_config_of(world)["refresh_token"] = reconnected[-1]
    read, write = world.pipe.sync()
    assert read.ok(), read.describe()
    assert write.ok(), write.describe()
    world.assert_exactly_once("after a reconnect")


@pytest.mark.parametrize("connector", ["destination-quickbooks", "source-quickbooks"])
def test_a_dead_stored_refresh_token_fails_at_once_and_says_where_to_reconnect(
        connector: str, qbo_factory: Any, tmp_path: Path) -> None:
    quickbooks = qbo_factory(customers=4, invoices=4, seed=33)
    config = quickbooks_config(quickbooks)
    quickbooks.rotate_refresh_token()  # the stored token is dead before the sync starts
    if connector == "source-quickbooks":
        catalog = configured_catalog(_discover(connector, config), True, ("customers",))
        args = [script(connector), "read", "--config", write_json(tmp_path, "config.json", config),
                "--catalog", write_json(tmp_path, "catalog.json", catalog)]
        result = run(args, config=config)
    else:
        args = [script(connector), "write", "--config", write_json(tmp_path, "config.json", config),
                "--catalog", write_json(tmp_path, "catalog.json", destination_catalog(["projects"], "id"))]
        lines = [record_line("projects", {"id": 1, "title": "Okafor Residence"}), state_line("projects", {"n": 1})]
        result = run(args, config=config, stdin_lines=lines)
    assert result.returncode != 0 and not result.records and not result.states, result.describe()
    errors = [e for e in result.errors if e.get("failure_type") == "config_error"]
    assert errors, f"no config_error TRACE: {result.describe()}"
    message = errors[0]["message"]
    assert re.search(r"refresh token", message, re.I) and RECONNECT.search(message), message
    if connector.startswith("destination"):
        assert not re.search(r"\bsource", message, re.I), \
            f"a destination's error sends the user to a source's settings: {message!r}"
