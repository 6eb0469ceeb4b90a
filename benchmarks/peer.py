"""Section "peer": source-quickbooks against Airbyte's published QuickBooks source, over five years.

One QuickBooks company whose customers and invoices were last updated at moments spread over the
five years before now; both sources read ``customers`` and ``invoices`` from the same start date
five years back, as a first (incremental) sync, pacing off.

The published source (``airbyte-source-quickbooks`` on PyPI, a declarative manifest on an older
``airbyte-cdk``) cannot share the project's environment, so it is installed into a virtual
environment of its own under ``benchmarks/.cache/`` and run from a copy of its manifest in which
only the API host and the OAuth token endpoint point at the sandbox (``benchmarks/peer_source.py``).
If it cannot be installed, the row says why and carries its request count computed from its
documented algorithm instead: 30-day windows from the start date, each paged by 200
(``MAXRESULTS 200``, ``OffsetIncrement`` with ``page_size: 5``: it asks for the next page until one
comes back with fewer than 5 rows).
"""

from __future__ import annotations

import json
import math
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import yaml

from benchmarks.common import (
    FIVE_YEARS,
    Row,
    SectionResult,
    Workdir,
    discovered_catalog,
    fill_customers,
    first_request,
    fmt,
    frozen_heap,
    read_command,
    run_metered,
    verdict,
)
from connector_core.runner import configured_catalog, run_connector
from demo.flows import quickbooks_config
from sandboxes.quickbooks import make_sandbox as make_quickbooks

SECTION = "vs Airbyte's published source-quickbooks (5 years of history)"
PEER_PACKAGE = "airbyte-source-quickbooks==4.0.4"
CACHE = Path(__file__).resolve().parent / ".cache"
PEER_VENV = CACHE / "peer-venv"
PEER_RUNNER = Path(__file__).resolve().parent / "peer_source.py"
STREAMS = {"customers": "Customer", "invoices": "Invoice"}
FULL = {"customers": 2_000, "invoices": 4_000}
QUICK = {"customers": 500, "invoices": 1_000}
WINDOW = timedelta(days=30)
PEER_PAGE, PEER_STOP_BELOW = 200, 5
REQUESTS_TARGET, SPEED_TARGET = 25, 10
QUERY_PATH = r"^/v3/company/[^/]+/query$"
# An assumed round trip to Intuit (network and its own processing) for the second pair of reads; the
# sandbox on this machine answers in about a millisecond, which hides what every request costs.
LATENCY = 0.25


# -- the published source's environment -----------------------------------------------------------


def peer_python(install: bool) -> tuple[Path | None, str]:
    """The Python of the published source's environment, or None and why it is not there."""
    python = PEER_VENV / "bin" / "python"
    if python.exists() and _importable(python):
        return python, ""
    if not install:
        return None, "not installed yet (the full run installs it; --quick does not)"
    CACHE.mkdir(parents=True, exist_ok=True)
    log = CACHE / "peer-install.log"
    with log.open("w") as out:
        steps = [[sys.executable, "-m", "venv", "--clear", str(PEER_VENV)],
                 [str(python), "-m", "pip", "install", "--quiet", PEER_PACKAGE]]
        for step in steps:
            try:
                done = subprocess.run(step, stdout=out, stderr=subprocess.STDOUT, timeout=600)
            except subprocess.TimeoutExpired:
                return None, f"`{' '.join(step[-3:])}` timed out after 600 s"
            if done.returncode != 0:
                lines = [line.strip() for line in log.read_text().splitlines() if line.strip()]
                errors = [line for line in lines if line.startswith("ERROR")] or \
                    [line for line in lines if not line.startswith("WARNING")][-3:]
                return None, f"`pip install {PEER_PACKAGE}` failed ({log.name}): " + " | ".join(errors)
    if not _importable(python):
        return None, f"{PEER_PACKAGE} installed but `import source_quickbooks, airbyte_cdk` fails"
    return python, ""


def _importable(python: Path) -> bool:
    check = subprocess.run([str(python), "-I", "-c", "import source_quickbooks, airbyte_cdk"], capture_output=True)
    return check.returncode == 0


def _versions(python: Path) -> str:
    code = ("import importlib.metadata as m; "
            "print(', '.join(f'{p} {m.version(p)}' for p in ('airbyte-source-quickbooks', 'airbyte-cdk')))")
    return subprocess.run([str(python), "-I", "-c", code], capture_output=True, text=True).stdout.strip()


def manifest_copy(python: Path, base_url: str, token_url: str, workdir: Workdir) -> str:
    """The published manifest with only the API host and the token endpoint replaced."""
    where = subprocess.run([str(python), "-I", "-c", "import os, source_quickbooks as s; "
                            "print(os.path.join(os.path.dirname(s.__file__), 'manifest.yaml'))"],
                           capture_output=True, text=True, check=True).stdout.strip()
    manifest = yaml.safe_load(Path(where).read_text())
    requester = manifest["definitions"]["base_requester"]
    requester["url_base"] = base_url
    requester["authenticator"]["token_refresh_endpoint"] = token_url
    text = yaml.safe_dump(manifest, sort_keys=False)
    if "intuit.com" in text:  # a host copied into a stream would be missed: refuse rather than call out
        raise RuntimeError("the published manifest names Intuit's hosts outside base_requester; update manifest_copy")
    target = workdir.path / "peer-manifest.yaml"
    target.write_text(text)
    return str(target)


# -- the published algorithm, computed -------------------------------------------------------------


def computed_peer_requests(times: list[datetime], start: datetime, end: datetime) -> int:
    """Requests of 30-day windows over [start, end] (``> start AND <= end``), each paged by 200 until a
    page holds fewer than 5 rows."""
    requests, low = 0, start
    stamps = sorted(times)
    while low < end:
        high = min(low + WINDOW, end)
        rows = sum(1 for t in stamps if low < t <= high)
        requests += 1 if rows < PEER_STOP_BELOW else (rows - PEER_STOP_BELOW) // PEER_PAGE + 2
        low = high
    return requests


def ours_minimum(counts: dict[str, int]) -> int:
    return sum(math.ceil(n / 1000) for n in counts.values())


# -- the comparison --------------------------------------------------------------------------------


def compare(counts: dict[str, int], install: bool, latency: bool = True) -> dict:
    python, reason = peer_python(install)
    now = datetime.now(UTC).replace(microsecond=0)
    start = now - FIVE_YEARS - timedelta(days=1)
    start_date = start.strftime("%Y-%m-%dT%H:%M:%SZ")
    figures: dict = {"counts": counts, "start_date": start_date, "peer_reason": reason,
                     "peer_versions": _versions(python) if python is not None else ""}
    with make_quickbooks(customers=0, invoices=0, seed=31, throttle=False, refresh_token_grace=86400) as sandbox:
        fill_customers(sandbox.backend, counts["customers"], seed=31, invoices=counts["invoices"])
        end = datetime.now(UTC)
        times = {name: [datetime.fromisoformat(r["MetaData"]["LastUpdatedTime"])
                        for r in sandbox.backend.table(entity).values()]
                 for name, entity in STREAMS.items()}
        figures["peer_computed"] = sum(computed_peer_requests(t, start, end) for t in times.values())
        workdir = Workdir()
        config = {**quickbooks_config(sandbox), "start_date": start_date}
        catalog = discovered_catalog("source-quickbooks", config, list(STREAMS))
        ours = read_command("source-quickbooks", workdir, config, catalog)
        peer = _peer_command(python, sandbox, start_date, workdir) if python is not None else None
        with frozen_heap():
            for suffix, delay in (("", 0.0), ("_latency", LATENCY))[:2 if latency else 1]:
                if delay:  # every API call answered LATENCY seconds later, as over the internet
                    sandbox.faults.delay(delay, count=10**9, path=r"^/v3/company/")
                sandbox.log.clear()
                figures["ours" + suffix] = _figures(run_metered(ours, env={"QBO_THROTTLE_SCALE": "0"}), sandbox)
                if peer is not None:
                    sandbox.log.clear()
                    figures["peer" + suffix] = _figures(run_metered(peer), sandbox)
                sandbox.faults.clear()
    expected = sum(counts.values())
    for who in ("ours", "peer", "ours_latency", "peer_latency"):
        if who in figures and figures[who]["records"] != expected:
            raise RuntimeError(f"{who} read {figures[who]['records']} records of {expected}")
    return figures


def _figures(run, sandbox) -> dict:
    seconds = run.read_seconds(first_request(sandbox.log))
    return {"records": run.records, "seconds": seconds, "rate": run.records / seconds, "wall": run.wall,
            "rss_mb": run.rss_mb, "requests": sandbox.log.count(None, r"^/v3/company/"),
            "queries": sandbox.log.count(None, QUERY_PATH)}


def _peer_command(python: Path, sandbox, start_date: str, workdir: Workdir) -> list[str]:
    """``read`` of the published source, customers and invoices, incremental, from a copy of its manifest."""
    manifest = manifest_copy(python, sandbox.base_url, sandbox.token_url, workdir)
    config = {"realm_id": sandbox.realm_id, "client_id": sandbox.client_id, "client_secret": sandbox.client_secret,
              "refresh_token": sandbox.current_refresh_token or sandbox.refresh_token, "access_token": "",
              "token_expiry_date": "2000-01-01T00:00:00Z", "start_date": start_date, "sandbox": False}
    config_path = workdir.write("peer-config.json", config)
    command = [str(python), "-I", str(PEER_RUNNER), manifest]  # -I: nothing of this repository on its path
    discovered = run_connector([*command, "discover", "--config", config_path])
    catalogs = discovered.of_type("CATALOG")
    if not catalogs:
        raise RuntimeError(f"the published source's discover failed: {discovered.stderr[-2000:]}")
    catalog = configured_catalog(catalogs[0]["catalog"], incremental=True, streams=list(STREAMS))
    return [*command, "read", "--config", config_path, "--catalog", workdir.write("peer-catalog.json", catalog)]


def run(quick: bool = False) -> SectionResult:
    counts = QUICK if quick else FULL
    figures = compare(counts, install=not quick, latency=not quick)
    result = SectionResult(data=figures)
    ours = figures["ours"]
    size = f"{counts['customers']:,} customers + {counts['invoices']:,} invoices"
    peer = figures.get("peer")
    computed = figures["peer_computed"]
    if peer is not None:
        theirs = f"{peer['requests']:,} (computed {computed:,})"
        ratio = peer["requests"] / ours["requests"]
    else:
        theirs = f"{computed:,} computed, not measured"
        ratio = computed / ours["requests"]
    result.rows.append(Row(SECTION, f"requests to read {size}", f"{ours['requests']:,}", theirs,
                           f">= {REQUESTS_TARGET} x fewer (got {ratio:.1f} x)", verdict(ratio >= REQUESTS_TARGET)))
    if peer is not None:
        for suffix, label in (("", "records/s over the same history, localhost"),
                              ("_latency", f"records/s, {LATENCY * 1000:.0f} ms per request (simulated)")):
            if "ours" + suffix not in figures:
                continue
            mine, theirs_ = figures["ours" + suffix], figures["peer" + suffix]
            speed = mine["rate"] / theirs_["rate"]
            result.rows.append(Row(SECTION, label, fmt(mine["rate"]), fmt(theirs_["rate"]),
                                   f">= {SPEED_TARGET} x (got {speed:.1f} x)", verdict(speed >= SPEED_TARGET)))
    else:
        result.rows.append(Row(SECTION, "records/s over the same history", fmt(ours["rate"]),
                               "not measured", f">= {SPEED_TARGET} x", "n/a"))
        result.notes.append(f"Airbyte's published source was not run: {figures['peer_reason']}.")
    if peer is not None:
        result.notes.append(f"Airbyte's published source: {figures['peer_versions']}, in its own virtual environment, "
                            f"from a copy of its manifest with only the API host and token endpoint replaced.")
    result.notes.append(
        f"Our {ours['requests']:,} requests: {ours['queries']:,} queries, of which one COUNT(*) per stream for the "
        f"progress estimate; the API's minimum for these records is {ours_minimum(counts):,} pages of 1,000.")
    return result


if __name__ == "__main__":  # one section alone, for debugging: python -m benchmarks.peer [--quick]
    print(json.dumps(compare(QUICK if "--quick" in sys.argv else FULL, install=True), indent=1, default=str))
