"""The bridge process killed (SIGKILL) in the middle of a destination's write, then started again on its database."""

from __future__ import annotations

import json
import socket
import sqlite3
import subprocess
import threading
import time
from pathlib import Path
from typing import Any

import pytest
import requests

from connector_core.runner import script
from demo.desktop import API_KEY, PASSWORD, USERNAME, DesktopTwoWaySync
from integration_tests.desktop.test_desktop_rounds import assert_every_record_once
from sandboxes.quickbooks_desktop import DesktopSandbox


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _start(port: int, database: Path) -> subprocess.Popen[bytes]:
    process = subprocess.Popen([script("quickbooks-desktop-bridge"), "--port", str(port), "--database", str(database),
                                "--username", USERNAME, "--password", PASSWORD, "--api-key", API_KEY],
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.time() + 60
    while time.time() < deadline:
        try:
            requests.get(f"http://127.0.0.1:{port}/api/v1/status", headers={"x-api-key": API_KEY}, timeout=2)
            return process
        except requests.RequestException:
            time.sleep(0.2)
    process.kill()
    raise RuntimeError("the bridge did not start")


def _jobs(database: Path) -> int:
    try:
        with sqlite3.connect(database, timeout=5) as conn:
            return conn.execute("SELECT count(*) FROM jobs").fetchone()[0]
    except sqlite3.Error:
        return 0


def test_a_bridge_killed_mid_write_loses_nothing_and_queues_nothing_twice(
        coperniq_sandbox_factory: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DESTINATION_BUFFER_SIZE", "2")  # many small flushes: the kill lands between two of them
    port, database = _free_port(), tmp_path / "bridge.db"
    bridge = _start(port, database)
    try:
        coperniq = coperniq_sandbox_factory(projects=10, seed=5, daily_quota=None)
        sync = DesktopTwoWaySync(coperniq, DesktopSandbox(customers=3, invoices=3, seed=5), f"http://127.0.0.1:{port}")
        read = sync.inbound.read()
        lines = [json.dumps(m) for m in read.messages if m.get("type") in ("RECORD", "STATE")]
        results: list[Any] = []
        writer = threading.Thread(target=lambda: results.append(sync.inbound.write(lines)))
        writer.start()
        deadline = time.time() + 300
        while _jobs(database) == 0 and writer.is_alive() and time.time() < deadline:
            time.sleep(0.05)
        alive_at_kill = writer.is_alive()
        bridge.kill()  # SIGKILL: no clean shutdown
        bridge.wait()
        killed_at = _jobs(database)
        bridge = _start(port, database)
        writer.join(timeout=600)
        write = results[0]
        assert not write.errors, write.errors
        assert write.states, "the destination waited for the bridge and acknowledged its state"
        assert killed_at >= 1 and alive_at_kill, "the kill landed after the first flush, before the last"

        sync.web_connector()
        assert_every_record_once(sync)
        # A rerun of the same records (the platform's retry after a crash) queues nothing new.
        again = sync.inbound.write(lines)
        assert "queued_" not in next(m for m in again.logs() if m.startswith("Write summary:"))
    finally:
        bridge.kill()
        bridge.wait()
