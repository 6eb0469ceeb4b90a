"""Section "steady": hourly syncs of a 10,000-project company, 1 % of the records changed on each side.

One Coperniq company of N projects, loaded into an empty QuickBooks company (the first sync of both
directions, not measured). Then "hours": before each, people change about 1 % of the records on each
side (``demo.steady_state.People``: renames, addresses, stages reached, contacts, new
projects and invoices in Coperniq; notes, addresses, inactive customers, new, edited and paid invoices
in QuickBooks), and both directions sync once, as a scheduler does. The last hour nobody edits.

Every request both sandboxes answered is counted, per phase (the source's read, the destination's
look-ups and writes) and per stream, and compared with the least the APIs allow:

- reads of each source stream: the pages the changed records fill (100 a page for Coperniq lists,
  1,000 for QuickBooks queries; an empty window still costs a page), target at most that + 2;
- writes: the records the sync changed (compared before and after, timestamps aside), one request
  each for Coperniq (no batch API), batches of 30 for QuickBooks; target at most 1.2 x that;
- a month of hourly syncs: Coperniq requests a day against its 5,000-a-day quota per key, and
  QuickBooks reads (queries, reads by id, CDC: Intuit's metered "CorePlus" calls) a month against the
  500,000 of the free Builder tier. OAuth calls are neither.

QuickBooks enforces Intuit's limits in scaled time (``time_scale``, as ``load`` does) during the hours;
the initial load runs unthrottled to keep the section within a few minutes. After the last hour the
two systems are compared pair by pair (``demo.steady_state.disagreements``).

    python -m benchmarks steady            # this section alone (= --only steady)
"""

from __future__ import annotations

import json
import math
import random
import re
import time
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from benchmarks.common import Row, SectionResult, client_pacing, fmt, frozen_heap, verdict
from connector_core.launcher import PreloadedLauncher
from connector_core.runner import Connection
from demo.flows import QBO_WRITES, TwoWaySync
from demo.steady_state import INVOICE_STAGE, People, Snapshot, disagreements
from sandboxes.coperniq import make_sandbox as make_coperniq
from sandboxes.quickbooks import make_sandbox as make_quickbooks

SECTION = "steady state: hourly syncs, 1 % of records changed on each side"
FULL = (10_000, 3)  # projects, hours with edits (then one quiet hour)
QUICK = (2_000, 2)
SCALE = 0.2
CHANGED_SHARE = 0.01
COPERNIQ_PAGE, QBO_PAGE, QBO_BATCH = 100, 1000, 30
TARGET_READS_EXTRA, TARGET_WRITES_RATIO = 2, 1.2
COPERNIQ_DAILY_QUOTA, QBO_MONTHLY_READS = 5000, 500_000
HOURS_A_DAY, HOURS_A_MONTH = 24, 24 * 30
COPERNIQ_STREAMS, QBO_STREAMS = ("projects", "contacts", "invoices"), ("customers", "invoices")
QBO_STAMPS = ("MetaData", "SyncToken")


@dataclass
class Phase:
    """Requests of one phase of one sync, by API, kind and stream."""

    coperniq: Counter = field(default_factory=Counter)
    quickbooks: Counter = field(default_factory=Counter)


@dataclass
class Hour:
    edits: int
    records: dict[str, int]  # records each source stream read, e.g. "coperniq:projects"
    reads: dict[str, int]  # source read requests by stream
    lookups: dict[str, int]  # destination reads by API
    writes: dict[str, int]  # destination writes by API
    changed: dict[str, int]  # records each destination changed, by API
    totals: dict[str, int]  # every request of the hour, by API
    metered: int  # QuickBooks CorePlus calls (reads) of the hour
    touched: list[int]  # the projects people edited (or whose customers they edited)
    throttled: int  # QuickBooks 429 answers


def _count(coperniq: Any, quickbooks: Any) -> Phase:
    phase = Phase()
    for entry in coperniq.log.entries():
        if not entry.path.startswith("/v1/"):
            continue
        stream = entry.path.split("/")[2]
        if re.match(r"^/v1/projects/(search|\d+/invoices)$", entry.path):
            stream = "invoices"  # source-coperniq's invoices: their projects' stages, and re-sends after a move
        phase.coperniq["read" if entry.method == "GET" else "write", stream] += 1
    for entry in quickbooks.log.entries():
        if not entry.path.startswith("/v3/company/"):
            continue  # OAuth: neither metered nor limited
        if entry.status == 429:
            phase.quickbooks["throttled", "all"] += 1
        if entry.method == "POST" and re.search(QBO_WRITES, entry.path):
            phase.quickbooks["write", "all"] += 1
        else:
            # A query's entity is in its POST body, which is not logged: reads are told apart by path only.
            phase.quickbooks["read", entry.path.rsplit("/", 1)[-1] if "/cdc" in entry.path or "/query" in entry.path
                             else "by id"] += 1
    coperniq.log.clear()
    quickbooks.log.clear()
    return phase


def _fingerprints(sync: TwoWaySync, system: str) -> dict[Any, Any]:
    """What each record of one system holds, timestamps aside: a record whose print changed was written."""
    if system == "quickbooks":
        backend = sync.quickbooks.backend
        with backend.lock:
            return {(entity, key): json.dumps({k: v for k, v in record.items() if k not in QBO_STAMPS},
                                              sort_keys=True, default=str)
                    for entity, table in (("customer", backend.customers), ("invoice", backend.invoices))
                    for key, record in table.items()}
    backend = sync.coperniq.backend
    with backend.lock:  # the fields a sync can write, straight from the records (building JSON for all is slow)
        prints: dict[Any, Any] = {("project", p.id): (p.title, tuple(p.address), p.status, tuple(p.contact_ids))
                                  for p in backend.projects.values()}
        prints |= {("contact", c.id): (c.name, tuple(c.emails), tuple(c.phones), tuple(c.project_ids))
                   for c in backend.contacts.values()}
        prints |= {("invoice", i.id): (i.description, i.amount, i.due_date, i.status, i.record_id,
                                       tuple((li.catalog_item_id, li.quantity, li.unit_price) for li in i.line_items))
                   for i in backend.invoices.values()}
    return prints


def _changed(before: dict[Any, Any], after: dict[Any, Any]) -> int:
    return sum(1 for key, value in after.items() if before.get(key) != value)


def _sync(connection: Connection, sync: TwoWaySync) -> tuple[Any, Phase, Phase, int]:
    """One direction: (read result, the read's requests, the write's requests, records the write changed)."""
    read = connection.read()
    if read.returncode or read.errors:
        raise RuntimeError(f"{connection.source} failed: {read.errors or read.stderr[-2000:]}")
    read_phase = _count(sync.coperniq, sync.quickbooks)
    target = "quickbooks" if connection.destination == "destination-quickbooks" else "coperniq"
    before = _fingerprints(sync, target)
    sync.coperniq.log.clear()
    sync.quickbooks.log.clear()
    write = connection.write([json.dumps(m) for m in read.messages if m.get("type") in ("RECORD", "STATE")])
    if write.returncode or write.errors:
        raise RuntimeError(f"{connection.destination} failed: {write.errors or write.stderr[-2000:]}")
    write_phase = _count(sync.coperniq, sync.quickbooks)
    return read, read_phase, write_phase, _changed(before, _fingerprints(sync, target))


def hour(sync: TwoWaySync, edits: int, people: People) -> Hour:
    made = people.work(edits) if edits else []
    sync.coperniq.log.clear()
    sync.quickbooks.log.clear()
    in_read, in_reads, in_writes, qbo_changed = _sync(sync.inbound, sync)
    out_read, out_reads, out_writes, coperniq_changed = _sync(sync.outbound, sync)
    records = {f"coperniq:{s}": len(in_read.records_of(s)) for s in COPERNIQ_STREAMS}
    records |= {f"quickbooks:{s}": len(out_read.records_of(s)) for s in QBO_STREAMS}
    reads = {f"coperniq:{s}": in_reads.coperniq["read", s] for s in COPERNIQ_STREAMS}  # by path
    reads["quickbooks"] = sum(n for (k, _), n in out_reads.quickbooks.items() if k == "read")
    reads |= {f"quickbooks:{kind}": n for (k, kind), n in out_reads.quickbooks.items() if k == "read"}
    phases = (in_reads, in_writes, out_reads, out_writes)
    totals = {"coperniq": sum(sum(p.coperniq.values()) for p in phases),
              "quickbooks": sum(sum(p.quickbooks.values()) for p in phases)}
    metered = sum(n for p in phases for (kind, _), n in p.quickbooks.items() if kind == "read")
    return Hour(
        edits=len(made), touched=sorted({e.project_id for e in made if e.project_id is not None}),
        records=records, reads=reads,
        lookups={"coperniq": sum(n for (k, _), n in out_writes.coperniq.items() if k == "read"),
                 "quickbooks": sum(n for (k, _), n in in_writes.quickbooks.items() if k == "read")},
        writes={"coperniq": sum(n for (k, _), n in out_writes.coperniq.items() if k == "write"),
                "quickbooks": in_writes.quickbooks["write", "all"]},
        changed={"coperniq": coperniq_changed, "quickbooks": qbo_changed}, totals=totals, metered=metered,
        throttled=sum(p.quickbooks["throttled", "all"] for p in phases))


def _as_if_long_ago(backend: Any, age: timedelta) -> None:
    """Move what the initial load wrote an hour back, as if it had run long before the hours measured.

    The hours here are a minute or two apart, and source-quickbooks' CDC call for deletions overlaps the
    previous one by ten minutes: left as it is, the 10,000 customers of the load fall in that overlap and
    cost ten CDC pages an hour, which no real hourly schedule would see.
    """
    for entity, table in (("Customer", backend.customers), ("Invoice", backend.invoices)):
        for record_id, record in list(table.items()):
            stamped = datetime.fromisoformat(record["MetaData"]["LastUpdatedTime"])
            backend.backdate(entity, record_id, stamped - age)


def measure(projects: int, hours: int) -> dict[str, Any]:
    with make_coperniq(projects=projects, seed=61, daily_quota=None, per_second_limit=None) as coperniq, \
            make_quickbooks(customers=0, invoices=0, seed=61, throttle=False, time_scale=SCALE,
                            refresh_token_grace=86400) as quickbooks, frozen_heap():
        sync = TwoWaySync(coperniq, quickbooks, invoice_stages=[INVOICE_STAGE],
                          launcher=PreloadedLauncher())
        started = time.perf_counter()
        with client_pacing(0):
            first = hour(sync, 0, People(sync, random.Random(0)))
        load_seconds = time.perf_counter() - started
        _as_if_long_ago(quickbooks.backend, timedelta(hours=1))
        quickbooks.throttle.enabled = True  # Intuit's limits from here on, in scaled time
        people = People(sync, random.Random(61))
        edits = round(2 * CHANGED_SHARE * projects)  # about 1 % on each side
        measured: list[Hour] = []
        with client_pacing(SCALE):
            # The first hour after a load is not steady yet (e.g. source-quickbooks checks the late window
            # of the load's last second once): it runs, and is not measured.
            warm_up = hour(sync, edits, people)
            for number in range(hours + 1):
                measured.append(hour(sync, edits if number < hours else 0, people))
        # Every pair people touched, and as many others at random (comparing all 10,000 takes a minute).
        touched = {p for h in (warm_up, *measured) for p in h.touched}
        others = sorted(set(coperniq.backend.projects) - touched)
        sample = touched | set(random.Random(7).sample(others, min(len(others), len(touched))))
        problems = disagreements(Snapshot.of(sync), only=sample)
    return {"projects": projects, "hours": [vars(h) for h in measured], "first_sync": vars(first),
            "warm_up": vars(warm_up), "compared_pairs": len(sample),
            "load_seconds": load_seconds, "disagreements": problems,
            "edits_per_hour": edits}


def run(quick: bool = False) -> SectionResult:
    projects, hours = QUICK if quick else FULL
    started = time.perf_counter()
    data = measure(projects, hours)
    data["seconds"] = time.perf_counter() - started
    result = SectionResult(data=data)
    busy = [Hour(**h) for h in data["hours"][:-1]]
    quiet = Hour(**data["hours"][-1])
    label = f"{projects:,} projects, {data['edits_per_hour']} edits an hour, mean of {len(busy)} hours"

    def mean(values: list[float]) -> float:
        return sum(values) / len(values)

    def limit(h: Hour, api: str, streams: tuple[str, ...], page: int) -> int:
        return sum(max(1, math.ceil(h.records[f"{api}:{s}"] / page)) + TARGET_READS_EXTRA for s in streams)

    # Coperniq per stream (each has its own path); QuickBooks queries carry their entity in the POST body,
    # which the sandbox does not log, so its two streams are counted together against the sum of their limits.
    groups = [("coperniq", (s,), COPERNIQ_PAGE) for s in COPERNIQ_STREAMS] + [("quickbooks", QBO_STREAMS, QBO_PAGE)]
    for api, streams, page in groups:
        key = f"{api}:{streams[0]}" if api == "coperniq" else api
        ours = mean([h.reads[key] for h in busy])
        ok = all(h.reads[key] <= limit(h, api, streams, page) for h in busy)
        records = " + ".join(fmt(mean([h.records[f"{api}:{s}"] for h in busy])) for s in streams)
        name = "Coperniq" if api == "coperniq" else "QuickBooks"
        split = "" if api == "coperniq" else " (" + ", ".join(
            f"{kind} {fmt(mean([h.reads.get(f'quickbooks:{kind}', 0) for h in busy]), 1)}"
            for kind in ("query", "cdc", "by id") if any(h.reads.get(f"quickbooks:{kind}") for h in busy)) + ")"
        result.rows.append(Row(
            SECTION, f"{name} source reads per hour, {' + '.join(streams)} ({records} records)",
            fmt(ours, 1) + split, "",
            f"<= changed pages + 2 per stream ({fmt(mean([limit(h, api, streams, page) for h in busy]), 1)})",
            verdict(ok)))
    for api, name in (("quickbooks", "QuickBooks"), ("coperniq", "Coperniq")):
        writes = mean([h.writes[api] for h in busy])
        changed = mean([h.changed[api] for h in busy])
        minimum = [math.ceil(h.changed[api] / QBO_BATCH) if api == "quickbooks" else h.changed[api] for h in busy]
        ok = all(h.writes[api] <= TARGET_WRITES_RATIO * m for h, m in zip(busy, minimum, strict=True))
        result.rows.append(Row(
            SECTION, f"{name} writes per hour ({fmt(changed, 1)} records changed)",
            fmt(writes, 1), f"naive {fmt(changed, 1)}",
            f"<= {TARGET_WRITES_RATIO} x minimum {fmt(mean(minimum), 1)}", verdict(ok)))
    lookups = " / ".join(fmt(mean([h.lookups[a] for h in busy]), 1) for a in ("quickbooks", "coperniq"))
    result.rows.append(Row(SECTION, "destination look-ups per hour (QuickBooks / Coperniq)", lookups, "", "context"))
    coperniq_day = mean([h.totals["coperniq"] for h in busy]) * HOURS_A_DAY
    result.rows.append(Row(
        SECTION, "Coperniq requests a day, hourly", f"{fmt(coperniq_day)} ({coperniq_day / COPERNIQ_DAILY_QUOTA:.0%})",
        "", f"<= quota {COPERNIQ_DAILY_QUOTA:,} a day", verdict(coperniq_day <= COPERNIQ_DAILY_QUOTA)))
    metered_month = mean([h.metered for h in busy]) * HOURS_A_MONTH
    result.rows.append(Row(
        SECTION, "QuickBooks metered reads a month, hourly",
        f"{fmt(metered_month)} ({metered_month / QBO_MONTHLY_READS:.1%})", "",
        f"<= Builder tier {QBO_MONTHLY_READS:,}", verdict(metered_month <= QBO_MONTHLY_READS)))
    throttled = sum(h.throttled for h in [*busy, quiet])
    result.rows.append(Row(SECTION, "QuickBooks 429 answers (Intuit's limits, scaled time)", fmt(throttled), "", "0",
                           verdict(throttled == 0)))
    result.rows.append(Row(
        SECTION, "quiet hour: writes (QuickBooks / Coperniq)",
        f"{quiet.writes['quickbooks']} / {quiet.writes['coperniq']}", "", "0 / 0",
        verdict(not any(quiet.writes.values()))))
    result.rows.append(Row(
        SECTION, f"after the hours: disagreeing fields ({data['compared_pairs']:,} pairs compared)",
        fmt(len(data["disagreements"])), "", "0",
        verdict(not data["disagreements"])))
    result.notes.append(
        f"Steady state ({label}): per hour Coperniq {fmt(mean([h.totals['coperniq'] for h in busy]), 1)} requests, "
        f"QuickBooks {fmt(mean([h.totals['quickbooks'] for h in busy]), 1)} ({fmt(mean([h.metered for h in busy]), 1)} "
        f"metered reads); a quiet hour: Coperniq {quiet.totals['coperniq']}, QuickBooks {quiet.totals['quickbooks']} "
        f"({quiet.metered} metered). A month of hourly syncs: {fmt(coperniq_day)} Coperniq requests a day of "
        f"{COPERNIQ_DAILY_QUOTA:,}, {fmt(metered_month)} QuickBooks reads of {QBO_MONTHLY_READS:,}. Initial load "
        f"(not measured) {data['load_seconds']:.0f} s; section {data['seconds']:.0f} s.")
    if data["disagreements"]:
        kinds = Counter(line.split("[")[-1].rstrip("]") if line.endswith("]") else "other"
                        for line in data["disagreements"])
        result.notes.append("Disagreements after the hours, by issue item: "
                            + ", ".join(f"{k}: {n}" for k, n in sorted(kinds.items()))
                            + f"; first: {data['disagreements'][0]}")
    return result


if __name__ == "__main__":
    import sys

    print(json.dumps(measure(*(QUICK if "--quick" in sys.argv else FULL)), indent=1, default=str))
