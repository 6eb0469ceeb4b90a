"""The benchmarks (not tests): each connector against the local sandboxes, one table, targets beside.

    python -m benchmarks                    # everything, about 14 minutes on 2 cores
    python -m benchmarks --quick            # smaller sizes, under 3 minutes: a smoke run
    python -m benchmarks --only reads peer  # some sections: reads, requests, peer, load, steady, desktop
    python -m benchmarks steady             # the same as --only steady

Sections (what each measures is in its module's docstring and in docs/benchmarks.md):

- ``reads``     source-coperniq and source-quickbooks reads of 1k/10k/50k records against bare
                requests+json: records per second, peak memory, requests;
- ``requests``  requests per 1,000 records written, for each of the four flows;
- ``peer``      source-quickbooks against Airbyte's published QuickBooks source over five years;
- ``load``      a 10,000-customer initial load into QuickBooks under Intuit's limits (scaled time);
- ``steady``    hourly syncs of 10,000 projects with 1 % of the records changed on each side: requests per
                hour per API against the minimum, and a month of them against Coperniq's daily quota and
                Intuit's metered reads;
- ``desktop``   QuickBooks Desktop through the bridge: bridge requests per 1,000 records and qbXML requests
                per Web Connector message set and session.

A full run (all sections, not ``--quick``) also writes the table into docs/benchmarks.md (between
its ``bench:table`` markers) and redraws docs/benchmarks.png; ``python -m benchmarks steady`` alone
writes its own ``bench:steady`` block; ``--no-docs`` leaves them alone.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

from benchmarks import desktop, flows, load, peer, plot, reads, steady
from benchmarks.common import MISS, PASS, SectionResult, format_table

SECTIONS = {"reads": reads.run, "requests": flows.run, "peer": peer.run, "load": load.run, "steady": steady.run,
            "desktop": desktop.run}
ROOT = Path(__file__).resolve().parent.parent
DOC = ROOT / "docs" / "benchmarks.md"
PNG = ROOT / "docs" / "benchmarks.png"
RESULTS = Path(__file__).resolve().parent / ".cache" / "results.json"
BEGIN, END = "<!-- bench:table -->", "<!-- /bench:table -->"
STEADY_BEGIN, STEADY_END = "<!-- bench:steady -->", "<!-- /bench:steady -->"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks", description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="smaller sizes: a smoke run under 3 minutes")
    parser.add_argument("--only", nargs="+", choices=list(SECTIONS), metavar="SECTION",
                        help=f"run only these sections ({', '.join(SECTIONS)})")
    parser.add_argument("sections", nargs="*", choices=[[], *SECTIONS], metavar="SECTION",
                        help="the same as --only SECTION ...")
    parser.add_argument("--no-docs", action="store_true", help="do not update docs/benchmarks.md and .png")
    args = parser.parse_args(argv)
    args.only = [*(args.only or []), *args.sections] or None

    chosen = args.only or list(SECTIONS)
    started = time.perf_counter()
    results: dict[str, SectionResult] = {}
    for name in SECTIONS:
        if name not in chosen:
            continue
        print(f"[{time.perf_counter() - started:5.0f} s] {name} ...", file=sys.stderr, flush=True)
        results[name] = SECTIONS[name](quick=args.quick)
    minutes = (time.perf_counter() - started) / 60

    header = (f"python -m benchmarks{' --quick' if args.quick else ''}"
              f"{' --only ' + ' '.join(args.only) if args.only else ''}: {datetime.now(UTC):%Y-%m-%d}, "
              f"{minutes:.1f} min, Python {platform.python_version()}, {os.cpu_count()} cores")
    rows = [row for result in results.values() for row in result.rows]
    notes = [note for result in results.values() for note in result.notes]
    passed, missed = sum(r.result == PASS for r in rows), sum(r.result == MISS for r in rows)
    report = "\n".join([header, "", format_table(rows), "", f"{passed} targets met, {missed} missed.",
                        *(f"- {note}" for note in notes)])
    print(report)

    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps({name: r.data for name, r in results.items()}, indent=1, default=str))
    if not args.quick and not args.only and not args.no_docs:
        write_docs(report, {name: r.data for name, r in results.items()})
    elif args.only == ["steady"] and not args.quick and not args.no_docs:
        write_block(report, STEADY_BEGIN, STEADY_END)  # the steady state, run alone, has a block of its own
    return 0


def write_block(report: str, begin: str, end: str) -> None:
    text = DOC.read_text() if DOC.exists() else ""
    if begin not in text or end not in text:
        print(f"{DOC.relative_to(ROOT)} has no {begin} block: table not written", file=sys.stderr)
        return
    before, rest = text.split(begin, 1)
    _, after = rest.split(end, 1)
    DOC.write_text(f"{before}{begin}\n```\n{report}\n```\n{end}{after}")
    print(f"table written to {DOC.relative_to(ROOT)}", file=sys.stderr)


def write_docs(report: str, data: dict) -> None:
    write_block(report, BEGIN, END)
    if plot.available():
        plot.plot(data, PNG)
        print(f"plot written to {PNG.relative_to(ROOT)}", file=sys.stderr)
    else:
        print("matplotlib is not installed: no plot (pip install matplotlib)", file=sys.stderr)


if __name__ == "__main__":
    sys.exit(main())
