"""What the benchmark sections share: result rows and the table, metered runs, configs, bulk data."""

from __future__ import annotations

import contextlib
import gc
import json
import math
import os
import random
import re
import subprocess
import sys
import tempfile
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from connector_core.runner import Connection, script
from sandboxes.quickbooks.models import RealmBackend
from sandboxes.quickbooks.seed import CITIES, FAMILY, GIVEN, STREETS

PASS, MISS, INFO = "PASS", "MISS", ""
API_PATH = r"^/(v1|v3/company)/"  # API calls only: OAuth token calls are neither metered nor limited
FIVE_YEARS = timedelta(days=5 * 365 + 1)


@dataclass
class Row:
    """One line of the table: a measure, our figure, the baseline's, the target and whether it was met."""

    section: str
    measure: str
    ours: str
    baseline: str
    target: str
    result: str = INFO  # PASS, MISS or "" (context, no target)


@dataclass
class SectionResult:
    rows: list[Row] = field(default_factory=list)
    data: dict[str, Any] = field(default_factory=dict)  # raw figures for the plot and the docs
    notes: list[str] = field(default_factory=list)


def verdict(ok: bool) -> str:
    return PASS if ok else MISS


def fmt(value: float, digits: int = 0) -> str:
    return f"{value:,.{digits}f}"


def per_thousand(requests: int, records: int) -> float:
    return requests * 1000 / records if records else math.inf


def format_table(rows: Iterable[Row]) -> str:
    rows = list(rows)
    header = ("measure", "ours", "baseline / naive", "target", "")
    widths = [max(len(header[i]), *(len(_cells(r)[i]) for r in rows)) for i in range(5)]
    lines = ["  ".join(h.ljust(w) for h, w in zip(header, widths, strict=True)).rstrip(),
             "  ".join("-" * w for w in widths)]
    section = None
    for row in rows:
        if row.section != section:
            section = row.section
            lines.append(f"[{section}]")
        cells = _cells(row)
        lines.append("  ".join(c.ljust(w) if i != 1 and i != 2 else c.rjust(w)
                               for i, (c, w) in enumerate(zip(cells, widths, strict=True))).rstrip())
    return "\n".join(lines)


def _cells(row: Row) -> tuple[str, str, str, str, str]:
    return (row.measure, row.ours, row.baseline, row.target, row.result)


@contextlib.contextmanager
def frozen_heap():
    """Keep the collector off what exists now (a sandbox's seeded data, which lives in this process and can
    be millions of objects), so full collections do not pause the sandbox at random during a measurement."""
    gc.collect()
    gc.freeze()
    try:
        yield
    finally:
        gc.unfreeze()
        gc.collect()


@contextlib.contextmanager
def client_pacing(scale: float):
    """``QBO_THROTTLE_SCALE`` for the connectors this process starts: 0 turns their pacing off, 0.2 paces
    them in windows a fifth as long, as a sandbox with ``time_scale=0.2`` enforces."""
    previous = os.environ.get("QBO_THROTTLE_SCALE")
    os.environ["QBO_THROTTLE_SCALE"] = str(scale)
    try:
        yield
    finally:
        if previous is None:
            os.environ.pop("QBO_THROTTLE_SCALE", None)
        else:
            os.environ["QBO_THROTTLE_SCALE"] = previous


# -- running connectors ----------------------------------------------------------------------------


class Workdir:
    """Config, catalog and state files of one benchmark run."""

    def __init__(self) -> None:
        self.path = Path(tempfile.mkdtemp(prefix="bench-"))

    def write(self, name: str, payload: Any) -> str:
        target = self.path / name
        target.write_text(json.dumps(payload))
        return str(target)


@dataclass
class Metered:
    """One measured process (see ``benchmarks.meter``)."""

    records: int
    first_record: float | None
    last_record: float | None
    started: float
    ended: float
    max_rss_kb: int
    cpu_seconds: float
    returncode: int
    stderr: str

    @property
    def wall(self) -> float:
        return self.ended - self.started

    @property
    def rss_mb(self) -> float:
        return self.max_rss_kb / 1024

    def read_seconds(self, first_request: float | None) -> float:
        """From the first API request the sandbox served to the last record printed: the read itself,
        without interpreter start, imports, config checks or the OAuth call."""
        start = first_request if first_request is not None else self.started
        end = self.last_record if self.last_record is not None else self.ended
        return max(end - start, 1e-6)


def run_metered(command: list[str], env: Mapping[str, str] | None = None, timeout: float = 900) -> Metered:
    """Run ``command`` under ``benchmarks.meter`` (a process of its own) and return its measurements."""
    process = subprocess.run([sys.executable, "-m", "benchmarks.meter", "--", *command], capture_output=True,
                             text=True, timeout=timeout, env={**os.environ, **(env or {})},
                             cwd=Path(__file__).resolve().parent.parent)
    if process.returncode != 0 or not process.stdout.strip():
        raise RuntimeError(f"meter failed: {process.stderr[-2000:]}")
    result = Metered(**json.loads(process.stdout.strip().splitlines()[-1]))
    if result.returncode != 0:
        raise RuntimeError(f"{command[0]} exited {result.returncode}: {result.stderr[-2000:]}")
    return result


def first_request(log: Any, path: str = API_PATH) -> float | None:
    """``time.monotonic()`` of the first API request in a sandbox's log (system-wide clock)."""
    pattern = re.compile(path)
    times = [e.started_at for e in log.entries() if pattern.search(e.path)]
    return min(times) if times else None


def discovered_catalog(source: str, config: dict[str, Any], streams: list[str]) -> dict[str, Any]:
    return Connection(source, config, "none", {}, streams=streams).catalog()


def read_command(source: str, workdir: Workdir, config: dict[str, Any], catalog: dict[str, Any]) -> list[str]:
    return [script(source), "read", "--config", workdir.write(f"{source}.json", config),
            "--catalog", workdir.write(f"{source}-catalog.json", catalog)]


# -- bulk QuickBooks data --------------------------------------------------------------------------


def fill_customers(backend: RealmBackend, count: int, seed: int, history: timedelta = FIVE_YEARS,
                   invoices: int = 0) -> None:
    """``count`` customers (unique names, so any count works) and ``invoices`` one-line invoices, each
    backdated to a moment spread evenly at random over ``history`` before now.

    The sandbox's own seed draws names from a small pool and runs out of free DisplayNames past
    about 10,000 customers; a benchmark needs 50,000.
    """
    rng = random.Random(seed)
    now = backend.clock.now()
    span = history.total_seconds() - 3600

    def moment() -> datetime:
        return now - history + timedelta(seconds=rng.uniform(0, span))

    ids = []
    for number in range(1, count + 1):
        given, family = rng.choice(GIVEN), rng.choice(FAMILY)
        city, state, postal = rng.choice(CITIES)
        customer = backend.add_customer(
            DisplayName=f"{given} {family} {number:05d}", GivenName=given, FamilyName=family,
            PrimaryEmailAddr={"Address": f"customer{number}@example.com"},
            PrimaryPhone={"FreeFormNumber": f"(512) 555-{number % 10000:04d}"},
            BillAddr={"Line1": f"{rng.randint(10, 9899)} {rng.choice(STREETS)}", "City": city,
                      "CountrySubDivisionCode": state, "PostalCode": postal, "Country": "USA"})
        backend.backdate("Customer", customer["Id"], moment(), created=True)
        ids.append(customer["Id"])
    item = next(i["Id"] for i in backend.items.values() if i["Active"] and i["Name"] != "Services")
    for _ in range(invoices):
        invoice = backend.add_invoice(rng.choice(ids), [(item, 1, float(rng.randint(500, 25000)))])
        backend.backdate("Invoice", invoice["Id"], moment(), created=True)
