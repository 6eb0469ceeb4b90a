"""Section "load": a 10,000-customer initial load into QuickBooks (qbo:in:1) under Intuit's limits.

10,000 Coperniq projects (and their contacts) go through ``source-coperniq | destination-quickbooks``
into an empty QuickBooks company whose sandbox enforces the documented per-company limits: 500
requests a minute, 10 a second, 40 batch calls a minute. Waiting out real minutes would take the
whole budget, so the sandbox's windows are shrunk by ``time_scale`` (0.2: a "minute" lasts 12 s)
and the connector's own pacing by the same factor through ``QBO_THROTTLE_SCALE``. Reported:

- the measured seconds: the Coperniq read in real time (Coperniq's limits are not scaled) and the
  QuickBooks write in scaled time;
- the equivalent real minutes: read + write / scale. This over-states the real time a little, since
  the connector's own computing (not scaled) is counted at 1 / scale too;
- the floor the limits allow: ceil(N / 30) batches at 40 a minute (the 500-a-minute limit binds
  only below about 12 items a batch);
- the naive integration (one POST per customer), computed from the same limits: N requests at
  500 a minute. It is not run: it would take 4 minutes of benchmark time at this scale.
"""

from __future__ import annotations

import json
import math
import resource
import time

from benchmarks.common import API_PATH, Row, SectionResult, client_pacing, frozen_heap, verdict
from connector_core.runner import Connection
from demo.flows import coperniq_config, quickbooks_config
from sandboxes.coperniq import make_sandbox as make_coperniq
from sandboxes.quickbooks import make_sandbox as make_quickbooks

SECTION = "initial load into QuickBooks under Intuit's limits (scaled time)"
FULL = (10_000, 0.2)
QUICK = (2_000, 0.1)
PER_MINUTE, PER_SECOND, BATCHES_PER_MINUTE, BATCH = 500, 10, 40, 30
PER_SECOND_WINDOW = 1.0
TARGET_RATIO = 1.1


def floor_minutes(requests: int, batches: int) -> float:
    """The least real time Intuit's limits allow for these calls."""
    return max(requests / PER_MINUTE, batches / BATCHES_PER_MINUTE, requests / PER_SECOND / 60)


def measure(projects: int, scale: float) -> dict:
    with make_coperniq(projects=projects, seed=41, daily_quota=None) as coperniq, \
            make_quickbooks(customers=0, invoices=0, seed=41, throttle=True, time_scale=scale) as qbo, \
            frozen_heap():
        connection = Connection("source-coperniq", coperniq_config(coperniq), "destination-quickbooks",
                                quickbooks_config(qbo), streams=["projects", "contacts"])
        connection.catalog()
        started = time.perf_counter()
        read = connection.read()
        read_seconds = time.perf_counter() - started
        if read.returncode or read.errors:
            raise RuntimeError(f"source-coperniq failed: {read.errors or read.stderr[-2000:]}")
        lines = [json.dumps(m) for m in read.messages if m.get("type") in ("RECORD", "STATE")]
        qbo.log.clear()
        with client_pacing(scale):
            before = resource.getrusage(resource.RUSAGE_CHILDREN)
            started = time.perf_counter()
            write = connection.write(lines)
            write_seconds = time.perf_counter() - started
            after = resource.getrusage(resource.RUSAGE_CHILDREN)
        if write.returncode or write.errors:
            raise RuntimeError(f"destination-quickbooks failed: {write.errors or write.stderr[-2000:]}")
        created = sum(1 for c in qbo.backend.customers.values() if "Coperniq project #" in (c.get("Notes") or ""))
        entries = [e for e in qbo.log.entries() if e.path.startswith("/v3/company/")]
        summary = next((m for m in write.logs() if m.startswith("Write summary:")), "")
        return {"projects": projects, "scale": scale, "created": created, "read_seconds": read_seconds,
                "write_seconds": write_seconds,
                "write_cpu": (after.ru_utime + after.ru_stime) - (before.ru_utime + before.ru_stime),
                "requests": qbo.log.count(None, API_PATH), "batches": qbo.log.count("POST", r"/batch$"),
                **throttled(entries, scale), "summary": summary.removeprefix("Write summary: "),
                "coperniq_requests": coperniq.log.count(None, API_PATH)}


def throttled(entries: list, scale: float) -> dict:
    """The 429 answers, which limit each hit (from the accepted calls before it), and the time from each
    429 to the next call: the connector's backoff, which is real seconds, not scaled."""
    accepted = [e for e in entries if e.status != 429]
    by_second = by_batches = 0
    backoff = 0.0
    for index, entry in enumerate(entries):
        if entry.status != 429:
            continue
        at = entry.started_at
        if sum(1 for e in accepted if at - PER_SECOND_WINDOW * scale < e.started_at <= at) >= PER_SECOND:
            by_second += 1
        elif sum(1 for e in accepted if e.path.endswith("/batch") and at - 60 * scale < e.started_at <= at) \
                >= BATCHES_PER_MINUTE:
            by_batches += 1
        if index + 1 < len(entries):
            backoff += entries[index + 1].started_at - (entry.started_at + entry.duration)
    count = sum(1 for e in entries if e.status == 429)
    batch_calls = sum(1 for e in entries if e.status == 429 and e.path.endswith("/batch"))
    return {"throttled": count, "throttled_batch_calls": batch_calls, "throttled_per_second": by_second,
            "throttled_batches": by_batches,
            "throttled_other": count - by_second - by_batches, "backoff_seconds": backoff}


def run(quick: bool = False) -> SectionResult:
    projects, scale = QUICK if quick else FULL
    figures = measure(projects, scale)
    if figures["created"] != projects:
        raise RuntimeError(f"{figures['created']} customers created of {projects}")
    read, write, cpu, backoff = (figures[k] for k in ("read_seconds", "write_seconds", "write_cpu", "backoff_seconds"))
    # The sandbox's windows and the connector's pacing shrink with the scale; its computing and its backoff
    # after a 429 (real seconds) do not, so write / scale over-states the real time (upper bound), while the
    # limits alone, for the calls the sandbox accepted, cannot be beaten (lower bound).
    upper = (read + write / scale) / 60
    lower = read / 60 + floor_minutes(figures["requests"] - figures["throttled"],
                                      figures["batches"] - figures["throttled_batch_calls"])
    best = floor_minutes(math.ceil(projects / BATCH), math.ceil(projects / BATCH))
    naive = floor_minutes(projects, 0)
    figures.update(real_minutes=upper, lower_minutes=lower, floor_minutes=best, naive_minutes=naive)
    result = SectionResult(data=figures)
    result.rows.append(Row(
        SECTION, f"{projects:,} projects -> customers: real minutes",
        f"{lower:.1f} to {upper:.1f} (measured {write:.0f} s at x{scale})", f"naive {naive:.1f} (computed)",
        f"<= {TARGET_RATIO} x API floor {best:.1f}", verdict(upper <= TARGET_RATIO * best)))
    result.rows.append(Row(
        SECTION, "QuickBooks calls / 429 answers",
        f"{figures['requests']:,} / {figures['throttled']}", f"naive {projects:,} / -", "no 429",
        verdict(figures["throttled"] == 0)))
    result.notes.append(
        f"Load of {projects:,} projects: Coperniq read {read:.1f} s real ({figures['coperniq_requests']:,} requests); "
        f"QuickBooks write {write:.1f} s at time scale {scale}, of which {cpu:.1f} s the destination's CPU and "
        f"{backoff:.1f} s backing off after {figures['throttled']} x 429 ({figures['throttled_per_second']} on the "
        f"10-a-second window, {figures['throttled_batches']} on 40 batches a minute, "
        f"{figures['throttled_other']} other). Real minutes: at least {lower:.1f} (the read, then Intuit's limits "
        f"for the calls accepted), at most {upper:.1f} (read + write / {scale}: the CPU and the backoff, which do "
        f"not shrink with the scale, counted 1 / {scale} times). Writes: {figures['summary']}: "
        f"{figures['batches']:,} batch calls where {math.ceil(projects / BATCH):,} would carry one write per "
        f"customer ({best:.1f} minutes under the limits). Naive: {projects:,} POSTs at {PER_MINUTE} a minute = "
        f"{naive:.1f} minutes.")
    return result


if __name__ == "__main__":
    import sys

    print(json.dumps(measure(*(QUICK if "--quick" in sys.argv else FULL)), indent=1))
