"""Benchmark (not a test): destination-quickbooks writing N new projects, against the naive integration.

    .venv/bin/python -m benchmarks.destination_quickbooks [--projects 3000]

Both runs write the same Coperniq projects into a fresh QuickBooks sandbox with the same mapping:
- connector: ``destination-quickbooks write`` fed by ``source-coperniq read``, as a user runs it;
- naive: one ``POST /customer`` per record with bare ``requests`` (what hand-built scripts and
  Zapier-style integrations do), with no lookups at all, so it is a lower bound of the naive cost.
Requests are counted by the sandbox. Throttling is off so the figure is the connector's own
speed; the 500-requests-a-minute wall time is derived from the request counts and printed too.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import time

import requests

from connector_core.runner import Connection
from mapping.coperniq_to_qbo import customer_fields
from mapping.links import clean_display_name, customer_notes_with_link, suffixed_display_name
from sandboxes.coperniq import make_sandbox as make_coperniq
from sandboxes.quickbooks import make_sandbox as make_quickbooks

QBO_REQUESTS_PER_MINUTE = 500


def connector_run(projects: list[dict], lines: list[str], coperniq_config: dict) -> tuple[int, int, float]:
    with make_quickbooks(customers=0, invoices=0, seed=1, throttle=False) as quickbooks:
        connection = Connection("source-coperniq", coperniq_config, "destination-quickbooks", {
            "client_id": quickbooks.client_id, "client_secret": quickbooks.client_secret,
            "refresh_token": quickbooks.refresh_token, "realm_id": quickbooks.realm_id,
            "base_url": quickbooks.base_url, "token_url": quickbooks.token_url}, streams=["projects"])
        connection.catalog()
        started = time.perf_counter()
        # Pacing off on both sides: this measures the connector's own speed (quota time is derived below).
        os.environ["QBO_THROTTLE_SCALE"] = "0"
        result = connection.write(lines)
        elapsed = time.perf_counter() - started
        assert result.returncode == 0 and not result.errors, result.errors
        api = quickbooks.log.count(None, r"/v3/company/")
        created = sum(1 for c in quickbooks.backend.customers.values() if "Coperniq project" in (c.get("Notes") or ""))
        assert created == len(projects), (created, len(projects))
        return api, quickbooks.log.count("POST", r"/batch$"), elapsed


def naive_run(projects: list[dict]) -> tuple[int, float]:
    with make_quickbooks(customers=0, invoices=0, seed=1, throttle=False) as quickbooks:
        token = requests.post(quickbooks.token_url, auth=(quickbooks.client_id, quickbooks.client_secret),
                              data={"grant_type": "refresh_token", "refresh_token": quickbooks.refresh_token},
                              timeout=30).json()["access_token"]
        session = requests.Session()
        session.headers.update({"Authorization": f"Bearer {token}", "Accept": "application/json"})
        started = time.perf_counter()
        for project in projects:
            body = customer_fields(project, None)
            # Always the collision-free name: the naive script gets no lookups to know better.
            body["DisplayName"] = suffixed_display_name(clean_display_name(project.get("title"), project["id"]),
                                                        project["id"])
            body["Notes"] = customer_notes_with_link(None, project["id"])
            response = session.post(f"{quickbooks.api_url}/customer", params={"minorversion": "75"}, json=body,
                                    timeout=30)
            response.raise_for_status()
        elapsed = time.perf_counter() - started
        return quickbooks.log.count(None, r"/v3/company/"), elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description="destination-quickbooks write benchmark")
    parser.add_argument("--projects", type=int, default=3000)
    args = parser.parse_args()
    with make_coperniq(projects=args.projects, seed=5, daily_quota=None) as coperniq:
        config = {"api_key": coperniq.api_key, "base_url": coperniq.base_url}
        reader = Connection("source-coperniq", config, "destination-quickbooks", {}, streams=["projects"])
        read = reader.read()
        lines = [json.dumps(m) for m in read.messages if m["type"] in ("RECORD", "STATE")]
        projects = read.records_of("projects")
    n = len(projects)
    api, batches, elapsed = connector_run(projects, lines, config)
    naive_api, naive_elapsed = naive_run(projects)
    target = 1.2 * math.ceil(n / 30)
    rows = [
        ("records written", n, n, ""),
        ("QuickBooks requests", api, naive_api, f"target <= {target:.0f} (1.2 x ceil(N/30)); {batches} batches"),
        ("requests per 1,000 records", round(api * 1000 / n, 1), round(naive_api * 1000 / n, 1),
         f"{naive_api / api:.1f}x fewer"),
        ("records per second", round(n / elapsed), round(n / naive_elapsed), "connector includes process start"),
        ("minutes under Intuit's limits", round(max(api / QBO_REQUESTS_PER_MINUTE, batches / 40), 2),
         round(naive_api / QBO_REQUESTS_PER_MINUTE, 2), "derived: 500 requests/min, 40 batches/min"),
    ]
    print(f"{'':30} {'connector':>12} {'naive':>12}  note")
    for label, ours, theirs, note in rows:
        print(f"{label:30} {ours!s:>12} {theirs!s:>12}  {note}")
    print("within target" if api <= target else f"MISSED target: {api} > {target:.0f}")


if __name__ == "__main__":
    main()
