"""QuickBooks Desktop through the bridge: requests per 1,000 records, and qbXML requests per Web Connector session.

``desktop_benchmark(projects)`` runs one first sync of ``projects`` Coperniq projects (with their contacts
and invoices) through destination-quickbooks-desktop, the bridge and the Web Connector stand-in, then the
outbound read, and reports:

- bridge API requests per 1,000 records written and read (what the connectors cost the bridge);
- qbXML requests per 1,000 records (what QuickBooks answers: reads, writes and re-reads);
- message sets (``sendRequestXML`` calls) per session and qbXML requests per message set and per session:
  the bridge batches up to ``MAX_WRITES`` writes per message set with ``continueOnError``.

``python -m benchmarks desktop`` puts it in the table (``run``);
``python -m benchmarks.desktop`` prints the raw figures.
The baseline is the naive bridge: one API request per record, one qbXML request per ``sendRequestXML``.
"""

from __future__ import annotations

import argparse
import json
from typing import Any

from benchmarks.common import Row, SectionResult, fmt, verdict
from demo.desktop import DesktopTwoWaySync, start_desktop
from quickbooks_desktop_bridge.service import MAX_WRITES


def desktop_benchmark(projects: int = 200, seed: int = 7) -> dict[str, Any]:
    coperniq, desktop, bridge = start_desktop(projects=projects, seed=seed, customers=20, invoices=20)
    counts: dict[str, int] = {"api": 0}
    app = bridge.server.app

    def counting(environ: dict[str, Any], start_response: Any) -> Any:
        if environ.get("PATH_INFO", "").startswith("/api/"):
            counts["api"] += 1
        return app(environ, start_response)

    bridge.server.app = counting
    try:
        sync = DesktopTwoWaySync(coperniq, desktop, bridge.url)
        round_ = sync.round()
        in_read = sum(len(round_.inbound[0].records_of(s)) for s in ("projects", "contacts", "invoices"))
        out_read = sum(len(round_.outbound[0].records_of(s)) for s in ("customers", "invoices"))
        sessions = [s for s in round_.sessions if s.happened]
        message_sets = sum(s.message_sets for s in sessions)
        requests = sum(s.requests for s in sessions)
        records = in_read + out_read
        result = {
            "projects": projects, "records_in": in_read, "records_out": out_read,
            "bridge_api_requests": counts["api"],
            "bridge_api_requests_per_1000_records": round(1000 * counts["api"] / max(records, 1), 1),
            "qbxml_requests": round_.qbxml_requests, "qbxml_writes": round_.qbxml_writes,
            "qbxml_requests_per_1000_records": round(1000 * round_.qbxml_requests / max(records, 1), 1),
            "sessions": len(sessions), "message_sets": message_sets,
            "qbxml_requests_per_session": round(requests / max(len(sessions), 1), 1),
            "qbxml_requests_per_message_set": round(requests / max(message_sets, 1), 1),
            "max_writes_per_message_set": MAX_WRITES, "errors": len(round_.errors),
        }
    finally:
        bridge.server.app = app
        bridge.stop()
        coperniq.stop()
    return result


def run(quick: bool = False) -> SectionResult:
    figures = desktop_benchmark(projects=50 if quick else 200)
    per_1000 = figures["bridge_api_requests_per_1000_records"]
    per_set = figures["qbxml_requests_per_message_set"]
    records = figures["records_in"] + figures["records_out"]
    return SectionResult(rows=[
        Row("desktop", f"bridge API requests per 1,000 records ({records:,} records)", fmt(per_1000, 1),
            "naive 1,000.0", "<= 50 (20 x fewer)", verdict(per_1000 <= 50)),
        Row("desktop", "qbXML requests per message set (sendRequestXML)", fmt(per_set, 1), "naive 1.0",
            ">= 10", verdict(per_set >= 10)),
        Row("desktop", "qbXML requests per Web Connector session / sessions",
            f"{fmt(figures['qbxml_requests_per_session'], 1)} / {figures['sessions']}", "", "context"),
        Row("desktop", "qbXML requests per 1,000 records", fmt(figures["qbxml_requests_per_1000_records"], 1), "",
            "context"),
    ], data={"desktop": figures})


def main() -> None:
    parser = argparse.ArgumentParser(description="QuickBooks Desktop bridge benchmark")
    parser.add_argument("--projects", type=int, default=200)
    print(json.dumps(desktop_benchmark(parser.parse_args().projects), indent=2))


if __name__ == "__main__":
    main()
