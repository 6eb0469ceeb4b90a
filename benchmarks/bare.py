"""The bare baseline of a read: the same pages fetched with ``requests`` and ``json``, no connector.

    python -m benchmarks.bare coperniq   BASE_URL API_KEY UPDATED_BEFORE
    python -m benchmarks.bare quickbooks API_URL TOKEN_URL CLIENT_ID CLIENT_SECRET REFRESH_TOKEN

What a minimal hand-written extractor does: one session, the largest page the API allows, each
page decoded with ``response.json()`` and each record written to standard output as one JSON
line in the shape of an Airbyte RECORD message (a connector has to serialize every record too,
so leaving that out would flatter the baseline). It keeps one page in memory at a time. No
retries, no checkpoints, no schema, no state. Run in a process of its own (via
``benchmarks.meter``) so its memory and time compare with the connector's.
"""

from __future__ import annotations

import json
import sys

import requests

COPERNIQ_PAGE = 100
QBO_PAGE = 1000


def emit(stream: str, rows: list[dict], out) -> None:
    for row in rows:
        out.write(json.dumps({"type": "RECORD", "record": {"stream": stream, "data": row}}))
        out.write("\n")


def coperniq(base_url: str, api_key: str, updated_before: str) -> None:
    """``GET /projects`` pages of 100, archived included, in the connector's window and order."""
    session = requests.Session()
    session.headers.update({"x-api-key": api_key, "Accept": "application/json"})
    page = 1
    while True:
        response = session.get(f"{base_url}/projects", params={
            "page": page, "page_size": COPERNIQ_PAGE, "order_by": "asc", "include_archived": "true",
            "updated_before": updated_before}, timeout=120)
        response.raise_for_status()
        rows = response.json()
        emit("projects", rows, sys.stdout)
        if len(rows) < COPERNIQ_PAGE:
            return
        page += 1


def quickbooks(api_url: str, token_url: str, client_id: str, client_secret: str, refresh_token: str) -> None:
    """Customer pages of 1,000 (QuickBooks' MAXRESULTS ceiling) by the same keyset queries the connector
    sends: ``LastUpdatedTime >=`` the last second read, from STARTPOSITION 1, ids already sent at that
    second dropped. (The same pages, so the sandbox does the same work for both.)"""
    token = requests.post(token_url, auth=(client_id, client_secret), timeout=60,
                          data={"grant_type": "refresh_token", "refresh_token": refresh_token}).json()
    session = requests.Session()
    session.headers.update({"Authorization": f"Bearer {token['access_token']}", "Accept": "application/json",
                            "Content-Type": "application/text"})
    second, seen = None, set()
    while True:
        where = "Active IN (true, false)" + (f" AND MetaData.LastUpdatedTime >= '{second}'" if second else "")
        statement = (f"SELECT * FROM Customer WHERE {where} ORDERBY MetaData.LastUpdatedTime "
                     f"STARTPOSITION 1 MAXRESULTS {QBO_PAGE}")
        response = session.post(f"{api_url}/query", params={"minorversion": "75"}, data=statement, timeout=120)
        response.raise_for_status()
        rows = response.json().get("QueryResponse", {}).get("Customer", [])
        emit("customers", [r for r in rows if r["Id"] not in seen], sys.stdout)
        if len(rows) < QBO_PAGE:
            return
        last = rows[-1]["MetaData"]["LastUpdatedTime"]
        seen = {r["Id"] for r in rows if r["MetaData"]["LastUpdatedTime"] == last} | (seen if last == second else set())
        second = last


def main(argv: list[str]) -> int:
    kind, *args = argv
    {"coperniq": coperniq, "quickbooks": quickbooks}[kind](*args)
    sys.stdout.flush()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
