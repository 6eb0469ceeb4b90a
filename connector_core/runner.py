"""A tiny orchestrator: runs the connectors' console scripts the way Airbyte does, over pipes.

Used by the demo, the integration tests and the benchmarks, so all three exercise exactly what a
user runs: ``source-x read ... | destination-y write ...``. It keeps what the platform keeps
between syncs: the last state per stream, and configs updated by CONTROL messages.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

BIN = Path(sys.executable).parent


def script(name: str) -> str:
    """The console script installed beside this Python (the project's virtual environment)."""
    candidate = BIN / name
    return str(candidate) if candidate.exists() else name


@dataclass
class RunResult:
    """The messages one connector process printed, sorted by type."""

    returncode: int
    messages: list[dict[str, Any]]
    stderr: str

    def of_type(self, kind: str) -> list[dict[str, Any]]:
        return [m for m in self.messages if m.get("type") == kind]

    @property
    def records(self) -> list[dict[str, Any]]:
        return [m["record"] for m in self.of_type("RECORD")]

    def records_of(self, stream: str) -> list[dict[str, Any]]:
        return [r["data"] for r in self.records if r["stream"] == stream]

    @property
    def states(self) -> list[dict[str, Any]]:
        return [m["state"] for m in self.of_type("STATE")]

    @property
    def errors(self) -> list[dict[str, Any]]:
        return [m["trace"]["error"] for m in self.of_type("TRACE") if m["trace"].get("type") == "ERROR"]

    @property
    def config_updates(self) -> list[dict[str, Any]]:
        return [m["control"]["connectorConfig"]["config"] for m in self.of_type("CONTROL")
                if m["control"].get("type") == "CONNECTOR_CONFIG"]

    def logs(self, level: str | None = None) -> list[str]:
        return [m["log"]["message"] for m in self.of_type("LOG") if level is None or m["log"]["level"] == level]


def run_connector(args: list[str], stdin_lines: Iterable[str] | None = None, timeout: float = 900,
                  env: Mapping[str, str] | None = None) -> RunResult:
    stdin = "".join(line if line.endswith("\n") else line + "\n" for line in stdin_lines or [])
    process = subprocess.run(args, input=stdin, capture_output=True, text=True, timeout=timeout,
                             env={**os.environ, **(env or {})})
    return RunResult(process.returncode, parse_output(process.stdout), process.stderr)


def parse_output(stdout: str) -> list[dict[str, Any]]:
    """The Airbyte messages of a connector's stdout (lines that are not JSON objects are ignored)."""
    messages = []
    for line in stdout.splitlines():
        line = line.strip()
        if line.startswith("{"):
            try:
                messages.append(json.loads(line))
            except ValueError:
                continue
    return messages


def configured_catalog(catalog: Mapping[str, Any], incremental: bool = True,
                       streams: Iterable[str] | None = None) -> dict[str, Any]:
    """A configured catalog from a discovered one: every (or the named) stream, incremental where supported."""
    wanted = set(streams) if streams is not None else None
    configured = []
    for stream in catalog["streams"]:
        if wanted is not None and stream["name"] not in wanted:
            continue
        mode = "incremental" if incremental and "incremental" in stream.get("supported_sync_modes", []) \
            else "full_refresh"
        entry = {"stream": stream, "sync_mode": mode, "destination_sync_mode": "append_dedup",
                 "primary_key": stream.get("source_defined_primary_key") or [["id"]]}
        if mode == "incremental":
            entry["cursor_field"] = stream.get("default_cursor_field") or []
        configured.append(entry)
    return {"streams": configured}


@dataclass
class Connection:
    """A source and a destination with the state and configs the platform would persist between syncs."""

    source: str
    source_config: dict[str, Any]
    destination: str
    destination_config: dict[str, Any]
    streams: list[str] | None = None
    incremental: bool = True
    state: dict[str, dict[str, Any]] = field(default_factory=dict)  # stream name -> STATE message
    workdir: Path = field(default_factory=lambda: Path(tempfile.mkdtemp(prefix="connection-")))
    # How a connector process is run: a subprocess per run, or e.g. connector_core.launcher.PreloadedLauncher.
    launcher: Callable[..., RunResult] = run_connector
    _catalog: dict[str, Any] | None = None

    def _write(self, name: str, payload: Any) -> str:
        path = self.workdir / name
        path.write_text(json.dumps(payload))
        return str(path)

    def catalog(self) -> dict[str, Any]:
        if self._catalog is None:
            result = self.launcher([script(self.source), "discover", "--config",
                                    self._write("source.json", self.source_config)])
            catalogs = result.of_type("CATALOG")
            if not catalogs:
                raise RuntimeError(f"discover failed: {result.errors or result.stderr[-2000:]}")
            self._catalog = configured_catalog(catalogs[0]["catalog"], self.incremental, self.streams)
        return self._catalog

    def read(self) -> RunResult:
        args = [script(self.source), "read", "--config", self._write("source.json", self.source_config),
                "--catalog", self._write("catalog.json", self.catalog())]
        if self.state:
            args += ["--state", self._write("state.json", list(self.state.values()))]
        result = self.launcher(args)
        for update in result.config_updates:
            self.source_config = update
        return result

    def write(self, lines: Iterable[str]) -> RunResult:
        result = self.launcher([script(self.destination), "write", "--config",
                                self._write("destination.json", self.destination_config),
                                "--catalog", self._write("catalog.json", self.catalog())], lines)
        for update in result.config_updates:
            self.destination_config = update
        # The platform persists only what the destination acknowledged.
        for state in result.states:
            name = state.get("stream", {}).get("stream_descriptor", {}).get("name")
            if name:
                self.state[name] = {"type": "STREAM", "stream": state["stream"]}
        return result

    def sync(self) -> tuple[RunResult, RunResult]:
        """One sync: read, pipe RECORD and STATE lines to the destination, keep acknowledged state."""
        read = self.read()
        lines = [json.dumps(m) for m in read.messages if m.get("type") in ("RECORD", "STATE")]
        return read, self.write(lines)
