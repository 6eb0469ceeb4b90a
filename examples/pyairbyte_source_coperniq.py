"""source-coperniq through PyAirbyte, against the Coperniq sandbox, into PyAirbyte's default DuckDB cache.

    pip install "airbyte>=0.71,<0.72"          # PyAirbyte (Python 3.10-3.12), beside this distribution
    python examples/pyairbyte_source_coperniq.py --projects 40

The sandbox runs in this process on a free port; PyAirbyte runs the installed ``source-coperniq``
console script as a subprocess (``local_executable``), exactly as it would any other connector, and
loads the records into ``.cache/default_cache/default_cache.duckdb`` under the working directory (or
under ``AIRBYTE_PROJECT_DIR``). Against the real API, pass your own ``api_key`` and leave ``base_url`` out.

``source-coperniq`` is not in Airbyte's connector registry, so there is nothing for PyAirbyte to look
up there: ``AIRBYTE_OFFLINE_MODE`` is set (unless you set it yourself), which skips the registry
download and also turns PyAirbyte's anonymous usage reporting off.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
from pathlib import Path

from sandboxes.coperniq import make_sandbox


def console_script(name: str) -> str:
    """The connector's console script: beside this interpreter (same environment), else on PATH."""
    beside = Path(sys.executable).parent / name
    if beside.exists():
        return str(beside)
    found = shutil.which(name)
    if not found:
        raise SystemExit(f"{name} is not installed: pip install the coperniq-quickbooks-connectors distribution")
    return found


def main(argv: list[str] | None = None) -> dict[str, int]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--projects", type=int, default=40, help="projects seeded in the sandbox")
    parser.add_argument("--seed", type=int, default=42)
    args = parser.parse_args(argv)

    os.environ.setdefault("AIRBYTE_OFFLINE_MODE", "1")
    import airbyte as ab  # imported here: PyAirbyte reads AIRBYTE_OFFLINE_MODE when it is imported

    with make_sandbox(projects=args.projects, seed=args.seed, daily_quota=None) as sandbox:
        source = ab.get_source(
            "source-coperniq",
            local_executable=console_script("source-coperniq"),
            config={"api_key": sandbox.api_key, "base_url": sandbox.base_url},
        )
        source.check()
        source.select_all_streams()
        result = source.read()  # into ab.get_default_cache(), a DuckDB file
        counts = {name: len(dataset) for name, dataset in result.streams.items()}

    for name, count in sorted(counts.items()):
        print(f"{name}: {count} records")
    print(json.dumps({"record_counts": counts}))
    return counts


if __name__ == "__main__":
    main()
