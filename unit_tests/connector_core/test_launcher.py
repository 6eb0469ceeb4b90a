"""connector_core.launcher: a forked run answers exactly as the console script's own process does."""

from __future__ import annotations

import json

import pytest

from connector_core.launcher import PreloadedLauncher
from connector_core.runner import run_connector, script


def _gist(messages: list[dict]) -> list[tuple]:
    """Messages without what differs between two runs: times, and the stack frames of a traceback."""
    gist = []
    for message in messages:
        if message["type"] == "LOG":
            gist.append(("LOG", message["log"]["level"], message["log"]["message"].splitlines()[0]))
        elif message["type"] == "TRACE":
            error = message["trace"].get("error") or {}
            gist.append(("TRACE", error.get("message"), error.get("failure_type")))
        else:
            gist.append((message["type"], json.dumps(message.get(message["type"].lower()), sort_keys=True)))
    return gist


@pytest.fixture(scope="module")
def launcher() -> PreloadedLauncher:
    return PreloadedLauncher()


def test_spec_is_the_same_as_the_console_scripts(launcher: PreloadedLauncher) -> None:
    for name in ("source-coperniq", "destination-quickbooks"):
        forked = launcher([script(name), "spec"])
        spawned = run_connector([script(name), "spec"])
        assert forked.returncode == spawned.returncode == 0
        assert forked.of_type("SPEC") == spawned.of_type("SPEC") != []


def test_exit_codes_errors_and_stdin_are_the_same_as_the_console_scripts(launcher: PreloadedLauncher,
                                                                         tmp_path) -> None:
    config = tmp_path / "config.json"
    config.write_text(json.dumps({"realm_id": "1"}))  # no credentials: a config error
    catalog = tmp_path / "catalog.json"
    catalog.write_text(json.dumps({"streams": []}))
    state = {"type": "STATE", "state": {"type": "STREAM", "stream": {
        "stream_descriptor": {"name": "projects"}, "stream_state": {"updatedAt": "2026-01-01T00:00:00Z"}}}}
    runs = [([script("source-coperniq"), "no-such-command"], None),
            ([script("destination-quickbooks"), "write", "--config", str(config), "--catalog", str(catalog)],
             [json.dumps(state)])]
    for args, stdin in runs:
        forked, spawned = launcher(args, stdin), run_connector(args, stdin)
        assert forked.returncode == spawned.returncode != 0
        assert _gist(forked.messages) == _gist(spawned.messages)
        assert forked.stderr.strip().splitlines()[-1:] == spawned.stderr.strip().splitlines()[-1:]
    assert any(m["type"] == "TRACE" for m in forked.messages)  # the config error, as a TRACE message
