"""Section "reads": source-coperniq and source-quickbooks against a bare requests+json reader.

For each size, one sandbox holds the records; the connector reads them as a user runs it (the
console script, an incremental first sync of one stream) and the bare baseline fetches the same
pages (``benchmarks.bare``). Both run under ``benchmarks.meter``: a process of its own, peak RSS
from ``wait4``, and records per second from the first API request to the last record printed.
Pacing and rate limits are off on both sides: this measures the code, not the quota.
"""

from __future__ import annotations

import math
import sys
from datetime import UTC, datetime

from benchmarks.common import (
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
from demo.flows import coperniq_config, quickbooks_config
from sandboxes.coperniq import make_sandbox as make_coperniq
from sandboxes.quickbooks import make_sandbox as make_quickbooks

SECTION = "reads"
FULL_SIZES = (1_000, 10_000, 50_000)
QUICK_SIZES = (1_000, 5_000)
SPEED_RATIO = 0.7
MEMORY_RATIO = 1.2
EXTRA_REQUESTS = 2
NO_PACING = {"QBO_THROTTLE_SCALE": "0"}


def _measure(source: str, sandbox, config: dict, stream: str, bare_args: list[str], path: str,
             repeats: int) -> dict:
    workdir = Workdir()
    catalog = discovered_catalog(source, config, [stream])
    figures: dict = {}
    commands = {"bare": [sys.executable, "-m", "benchmarks.bare", *bare_args],
                "ours": read_command(source, workdir, config, catalog)}
    with frozen_heap():
        # Alternating, each against a freshly cleared request log; the best of the repeats is kept
        # (the sandbox shares two cores with the reader, so single runs are noisy).
        for _ in range(repeats):
            for who, command in commands.items():
                sandbox.log.clear()
                run = run_metered(command, env=NO_PACING)
                seconds = run.read_seconds(first_request(sandbox.log))
                figure = {"records": run.records, "seconds": seconds, "rate": run.records / seconds,
                          "rss_mb": run.rss_mb, "wall": run.wall, "cpu": run.cpu_seconds,
                          "requests": sandbox.log.count(None, path)}
                if who in figures:  # best speed, worst memory
                    figure["rss_mb"] = max(figure["rss_mb"], figures[who]["rss_mb"])
                    if figures[who]["rate"] > figure["rate"]:
                        figure = {**figures[who], "rss_mb": figure["rss_mb"]}
                figures[who] = figure
    return figures


def repeats(size: int) -> int:
    # A 1k read lasts about 0.1 s, so a scheduling hiccup moves it by tens of percent: more tries there.
    return 5 if size <= 1_000 else 3 if size <= 10_000 else 1


def coperniq_sizes(sizes: tuple[int, ...]) -> dict[int, dict]:
    results = {}
    for size in sizes:
        with make_coperniq(projects=size, seed=11, daily_quota=None, per_second_limit=None) as sandbox:
            before = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"
            results[size] = _measure("source-coperniq", sandbox, coperniq_config(sandbox), "projects",
                                     ["coperniq", sandbox.base_url, sandbox.api_key, before], r"^/v1/projects$",
                                     repeats(size))
            results[size]["page"] = 100
        _check(results[size], size)
    return results


def quickbooks_sizes(sizes: tuple[int, ...]) -> dict[int, dict]:
    results = {}
    for size in sizes:
        # The bare reader spends the first refresh token, and Intuit rotates it; the grace lets the
        # connector start from the same configured token.
        with make_quickbooks(customers=0, invoices=0, seed=11, throttle=False, refresh_token_grace=86400) as sandbox:
            fill_customers(sandbox.backend, size, seed=11)
            bare = ["quickbooks", sandbox.api_url, sandbox.token_url, sandbox.client_id, sandbox.client_secret,
                    sandbox.refresh_token]
            results[size] = _measure("source-quickbooks", sandbox, quickbooks_config(sandbox), "customers",
                                     bare, r"^/v3/company/[^/]+/query$", repeats(size))
            results[size]["page"] = 1000
        _check(results[size], size)
    return results


def _check(figures: dict, size: int) -> None:
    for who in ("bare", "ours"):
        if figures[who]["records"] != size:
            raise RuntimeError(f"{who} read {figures[who]['records']} records of {size}")


def _rows(label: str, unit: str, results: dict[int, dict]) -> list[Row]:
    rows = []
    sizes = sorted(results)
    for size in sizes:
        ours, bare = results[size]["ours"], results[size]["bare"]
        rows.append(Row(SECTION, f"{label} {size // 1000}k {unit}: records/s", fmt(ours["rate"]),
                        fmt(bare["rate"]), f">= {SPEED_RATIO} x bare ({fmt(SPEED_RATIO * bare['rate'])})",
                        verdict(ours["rate"] >= SPEED_RATIO * bare["rate"])))
    small, large = results[sizes[0]], results[sizes[-1]]
    slash = " / ".join
    rows.append(Row(SECTION, f"{label} peak RSS MB at {slash(f'{s // 1000}k' for s in sizes)}",
                    slash(fmt(results[s]["ours"]["rss_mb"]) for s in sizes),
                    slash(fmt(results[s]["bare"]["rss_mb"]) for s in sizes),
                    f"{sizes[-1] // 1000}k <= {MEMORY_RATIO} x {sizes[0] // 1000}k",
                    verdict(large["ours"]["rss_mb"] <= MEMORY_RATIO * small["ours"]["rss_mb"])))
    minimum = {s: math.ceil(s / results[s]["page"]) for s in sizes}
    rows.append(Row(SECTION, f"{label} requests at {slash(f'{s // 1000}k' for s in sizes)}",
                    slash(str(results[s]["ours"]["requests"]) for s in sizes),
                    slash(str(results[s]["bare"]["requests"]) for s in sizes),
                    f"<= min pages + {EXTRA_REQUESTS} ({slash(str(minimum[s] + EXTRA_REQUESTS) for s in sizes)})",
                    verdict(all(results[s]["ours"]["requests"] <= minimum[s] + EXTRA_REQUESTS for s in sizes))))
    big = large["ours"], large["bare"]
    rows.append(Row(SECTION, f"{label} CPU ms per 1,000 records at {sizes[-1] // 1000}k",
                    fmt(big[0]["cpu"] * 1000 / (sizes[-1] / 1000)), fmt(big[1]["cpu"] * 1000 / (sizes[-1] / 1000)),
                    "context: the process's own CPU, start-up included"))
    return rows


def run(quick: bool = False) -> SectionResult:
    sizes = QUICK_SIZES if quick else FULL_SIZES
    coperniq = coperniq_sizes(sizes)
    quickbooks = quickbooks_sizes(sizes)
    result = SectionResult(data={"coperniq": coperniq, "quickbooks": quickbooks})
    result.rows += _rows("source-coperniq", "projects", coperniq)
    result.rows += _rows("source-quickbooks", "customers", quickbooks)
    return result
