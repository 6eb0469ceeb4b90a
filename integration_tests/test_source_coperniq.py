"""source-coperniq, run as its console script against the Coperniq sandbox."""

from __future__ import annotations

import json
import subprocess
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from connector_core.runner import configured_catalog, run_connector, script
from sandboxes.coperniq import CoperniqSandbox

STREAMS = ("projects", "contacts", "invoices")


def _config(sandbox: CoperniqSandbox, **extra: Any) -> dict[str, Any]:
    return {"api_key": sandbox.api_key, "base_url": sandbox.base_url, **extra}


def _files(tmp_path: Path, config: dict[str, Any], incremental: bool,
           state: list[dict[str, Any]] | None = None, streams: tuple[str, ...] = STREAMS) -> list[str]:
    discovered = run_connector([script("source-coperniq"), "discover", "--config", _write(tmp_path, "c.json", config)])
    catalog = configured_catalog(discovered.of_type("CATALOG")[0]["catalog"], incremental, streams)
    args = ["--config", _write(tmp_path, "c.json", config), "--catalog", _write(tmp_path, "cat.json", catalog)]
    if state:
        args += ["--state", _write(tmp_path, "s.json", state)]
    return args


def _write(tmp_path: Path, name: str, payload: Any) -> str:
    path = tmp_path / name
    path.write_text(json.dumps(payload))
    return str(path)


def _read(tmp_path: Path, config: dict[str, Any], incremental: bool = True,
          state: list[dict[str, Any]] | None = None, streams: tuple[str, ...] = STREAMS):
    return run_connector([script("source-coperniq"), "read", *_files(tmp_path, config, incremental, state, streams)])


def _last_states(messages: list[dict[str, Any]]) -> list[dict[str, Any]]:
    last: dict[str, dict[str, Any]] = {}
    for message in messages:
        if message.get("type") == "STATE":
            state = message["state"]
            last[state["stream"]["stream_descriptor"]["name"]] = {"type": "STREAM", "stream": state["stream"]}
    return list(last.values())


@pytest.fixture(scope="module")
def big_sandbox() -> CoperniqSandbox:
    from sandboxes.coperniq import make_sandbox

    sandbox = make_sandbox(projects=10_000, seed=3, daily_quota=None).start()
    yield sandbox
    sandbox.stop()


def test_full_refresh_of_10000_projects_delivers_each_once_in_about_100_requests(
        big_sandbox: CoperniqSandbox, tmp_path: Path) -> None:
    big_sandbox.log.clear()
    result = _read(tmp_path, _config(big_sandbox), incremental=False, streams=("projects",))
    assert result.returncode == 0, result.stderr[-2000:]
    ids = [r["id"] for r in result.records_of("projects")]
    expected = len(big_sandbox.backend.projects)
    assert len(ids) == expected == len(set(ids))
    requests = big_sandbox.log.count("GET", r"/v1/projects$")
    assert requests <= expected // 100 + 2, requests


def test_incremental_after_editing_10_projects_delivers_exactly_those_in_a_handful_of_requests(
        big_sandbox: CoperniqSandbox, tmp_path: Path) -> None:
    first = _read(tmp_path, _config(big_sandbox))
    assert first.returncode == 0, first.stderr[-2000:]
    state = _last_states(first.messages)
    assert {s["stream"]["stream_descriptor"]["name"] for s in state} == set(STREAMS)
    edited = sorted(big_sandbox.backend.projects)[5:5000:500]
    for project_id in edited:
        big_sandbox.backend.update_project(project_id, {"description": "edited for the incremental test"})
    big_sandbox.log.clear()
    second = _read(tmp_path, _config(big_sandbox), state=state)
    assert second.returncode == 0, second.stderr[-2000:]
    assert sorted(r["id"] for r in second.records_of("projects")) == edited
    assert second.records_of("contacts") == [] and second.records_of("invoices") == []
    assert big_sandbox.log.count("GET") <= 2 * len(STREAMS)


@pytest.mark.parametrize("kill_after_states", [1, 4, 9])
def test_read_killed_midway_and_resumed_from_its_last_state_misses_nothing(
        coperniq_sandbox_factory: Any, tmp_path: Path, kill_after_states: int) -> None:
    sandbox = coperniq_sandbox_factory(projects=1_500, seed=11, daily_quota=None)
    args = [script("source-coperniq"), "read",
            *_files(tmp_path, _config(sandbox), incremental=True, streams=("projects",))]
    delivered: Counter[int] = Counter()
    seen: list[dict[str, Any]] = []
    process = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    states = 0
    assert process.stdout is not None
    for line in process.stdout:
        message = json.loads(line)
        seen.append(message)
        if message["type"] == "RECORD":
            delivered[message["record"]["data"]["id"]] += 1
        if message["type"] == "STATE":
            states += 1
            if states == kill_after_states:
                process.kill()
                break
    process.wait()
    state = _last_states(seen)
    # Meanwhile users edit records the reader already passed: they leave the frozen window, so
    # every later record shifts back in the server's paging. Resuming must still lose nothing.
    for project_id in sorted(delivered)[:60]:
        sandbox.backend.update_project(project_id, {"description": "edited while the sync was down"})
    resumed = _read(tmp_path, _config(sandbox), state=state, streams=("projects",))
    assert resumed.returncode == 0, resumed.stderr[-2000:]
    delivered.update(r["id"] for r in resumed.records_of("projects"))
    following = _read(tmp_path, _config(sandbox), state=_last_states(resumed.messages), streams=("projects",))
    delivered.update(r["id"] for r in following.records_of("projects"))
    assert set(delivered) == set(sandbox.backend.projects)


def test_given_429_and_5xx_mid_read_when_read_then_it_completes_with_every_record(
        coperniq_sandbox_factory: Any, tmp_path: Path) -> None:
    sandbox = coperniq_sandbox_factory(projects=450, seed=5, daily_quota=None)
    sandbox.faults.inject(429, count=1, path=r"/v1/projects$", retry_after=1)
    sandbox.faults.inject(502, count=1, path=r"/v1/projects$")
    sandbox.faults.drop_connection(count=1, path=r"/v1/contacts$")
    result = _read(tmp_path, _config(sandbox), incremental=False)
    assert result.returncode == 0, result.stderr[-2000:]
    assert {r["id"] for r in result.records_of("projects")} == set(sandbox.backend.projects)
    assert len(result.records_of("contacts")) == len(sandbox.backend.contacts)
    assert sandbox.log.count("GET", r"/v1/projects$") >= 2 + 5


def test_records_keep_coperniq_field_names_and_validate_against_the_discovered_schemas(
        coperniq_sandbox: CoperniqSandbox, tmp_path: Path) -> None:
    import jsonschema

    config = _config(coperniq_sandbox)
    discovered = run_connector([script("source-coperniq"), "discover", "--config", _write(tmp_path, "c.json", config)])
    schemas = {s["name"]: s["json_schema"] for s in discovered.of_type("CATALOG")[0]["catalog"]["streams"]}
    result = _read(tmp_path, config, incremental=False)
    assert result.returncode == 0
    for stream in STREAMS:
        records = result.records_of(stream)
        assert records, stream
        for record in records:
            jsonschema.validate(record, schemas[stream])
    project = result.records_of("projects")[0]
    assert {"id", "title", "address", "updatedAt"} <= set(project)


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        pytest.param({"api_key": "wrong"}, "api_key", id="wrong-key"),
        pytest.param({"start_date": "2024-99-99"}, "start_date", id="bad-start-date"),
        pytest.param({"base_url": "http://127.0.0.1:9/v1"}, "could not be reached", id="unreachable"),
    ],
)
def test_check_fails_with_a_clear_message(coperniq_sandbox: CoperniqSandbox, tmp_path: Path,
                                          change: dict[str, Any], expected: str) -> None:
    config = {**_config(coperniq_sandbox), **change}
    result = run_connector([script("source-coperniq"), "check", "--config", _write(tmp_path, "c.json", config)])
    status = result.of_type("CONNECTION_STATUS")[0]["connectionStatus"]
    assert status["status"] == "FAILED"
    assert expected in status["message"]
    if "api_key" in change:
        assert change["api_key"] not in json.dumps(result.messages)


def test_edits_during_a_long_read_never_make_it_skip_a_record(coperniq_sandbox_factory: Any, tmp_path: Path) -> None:
    # The sandbox pages by id; edits to records the reader already passed move them out of the
    # frozen window and shift every later record back one place, past the reader.
    import threading
    import time

    sandbox = coperniq_sandbox_factory(projects=800, seed=12, daily_quota=None)
    sandbox.faults.delay(0.15, count=12, path=r"/v1/projects$")  # a slow read, so the edits land mid-read
    passed = sorted(sandbox.backend.projects)[:40]

    def edit_once_two_pages_are_read() -> None:
        deadline = time.monotonic() + 60
        while sandbox.log.count("GET", r"/v1/projects$") < 2 and time.monotonic() < deadline:
            time.sleep(0.01)
        for project_id in passed:
            sandbox.backend.update_project(project_id, {"description": "edited mid-read"})

    editor = threading.Thread(target=edit_once_two_pages_are_read)
    editor.start()
    first = _read(tmp_path, _config(sandbox), streams=("projects",))
    editor.join()
    delivered = {r["id"] for r in first.records_of("projects")}
    second = _read(tmp_path, _config(sandbox), state=_last_states(first.messages), streams=("projects",))
    delivered |= {r["id"] for r in second.records_of("projects")}
    assert delivered == set(sandbox.backend.projects)
