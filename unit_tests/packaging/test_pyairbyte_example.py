"""examples/pyairbyte_source_coperniq.py runs: PyAirbyte reads every stream of the sandbox into DuckDB."""

from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from sandboxes.coperniq import make_sandbox

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "examples" / "pyairbyte_source_coperniq.py"

pytestmark = pytest.mark.skipif(
    importlib.util.find_spec("airbyte") is None,
    reason="PyAirbyte (`airbyte` on the package index) is not installed in this environment; it is a dev extra: "
           "airbyte>=0.71,<0.72; python_version < '3.13'",
)


@pytest.mark.slow
def test_pyairbyte_example_reads_every_stream_into_duckdb(tmp_path: Path) -> None:
    """The example in a subprocess, in a scratch directory (PyAirbyte writes its cache and logs under it)."""
    env = {key: value for key, value in os.environ.items() if not key.startswith("AIRBYTE_")}
    env.update(AIRBYTE_OFFLINE_MODE="1", AIRBYTE_PROJECT_DIR=str(tmp_path), AIRBYTE_LOGGING_ROOT=str(tmp_path / "logs"))
    result = subprocess.run([sys.executable, str(EXAMPLE), "--projects", "30", "--seed", "42"], cwd=tmp_path,
                            env=env, capture_output=True, text=True, timeout=240)
    assert result.returncode == 0, f"{result.stdout[-3000:]}\n{result.stderr[-3000:]}"
    counts = json.loads(result.stdout.strip().splitlines()[-1])["record_counts"]

    seeded = make_sandbox(projects=30, seed=42, daily_quota=None).backend  # the same data, not started
    assert counts == {"projects": len(seeded.projects), "contacts": len(seeded.contacts),
                      "invoices": len(seeded.invoices)}
    assert (tmp_path / ".cache" / "default_cache" / "default_cache.duckdb").is_file()
