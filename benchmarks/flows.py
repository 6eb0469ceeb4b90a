"""Section "requests": API requests per 1,000 records written, for each of the four flows.

One Coperniq company of N projects and an empty QuickBooks company, then the flows in the order a
new customer of the connectors would see them, each a sync over pipes (source | destination):

- qbo:in:1  projects and contacts -> QuickBooks customers (all N are new);
- qbo:in:2  Coperniq invoices -> QuickBooks invoices (all new);
- (the first QuickBooks -> Coperniq sync: nothing changed, so the minimum is 0 writes; reported in
  the notes, not as a flow);
- qbo:out:1 AR corrects the job site address (ShipAddr) of every linked customer -> the projects' addresses;
- qbo:out:2 AR issues one invoice to every linked customer -> new Coperniq invoices.

Every request both sandboxes answered during the sync is counted (reads and writes, both APIs;
OAuth token calls excluded). The minimum is what the APIs allow at best: the read pages at the
largest page size (100 for Coperniq lists, 1,000 for QuickBooks queries), QuickBooks writes in
batches of 30, and one Coperniq request per changed record (Coperniq has no batch API). The naive
integration is one write request per record, counting none of its reads (a lower bound).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from benchmarks.common import API_PATH, Row, SectionResult, client_pacing, fmt, frozen_heap, per_thousand, verdict
from connector_core.runner import Connection
from demo.flows import coperniq_config, quickbooks_config
from sandboxes.coperniq import CoperniqSandbox
from sandboxes.coperniq import make_sandbox as make_coperniq
from sandboxes.quickbooks import QuickBooksSandbox
from sandboxes.quickbooks import make_sandbox as make_quickbooks

SECTION = "requests per 1,000 records written"
FULL_PROJECTS = 1_000
QUICK_PROJECTS = 300
TARGET_RATIO = 1.2
COPERNIQ_PAGE, QBO_PAGE, QBO_BATCH = 100, 1000, 30


@dataclass
class FlowCount:
    flow: str
    unit: str  # what was written, e.g. "customers created"
    written: int
    read: int
    coperniq: int  # requests, reads and writes
    quickbooks: int
    minimum: int
    minimum_how: str

    @property
    def total(self) -> int:
        return self.coperniq + self.quickbooks


def _sync(connection: Connection, coperniq: CoperniqSandbox, quickbooks: QuickBooksSandbox):
    coperniq.log.clear()
    quickbooks.log.clear()
    read, write = connection.sync()
    errors = read.errors + write.errors
    if read.returncode or write.returncode or errors:
        raise RuntimeError(f"{connection.source} | {connection.destination} failed: {errors or write.stderr[-2000:]}")
    return read, write, coperniq.log.count(None, API_PATH), quickbooks.log.count(None, API_PATH)


def _summary(connection: Connection, write) -> str:
    line = next((m for m in write.logs() if m.startswith("Write summary:")), "Write summary: none")
    return f"{connection.source} {'+'.join(connection.streams or [])}: {line.removeprefix('Write summary: ')}"


def run_flows(projects: int) -> tuple[list[FlowCount], dict]:
    counts: list[FlowCount] = []
    notes: dict = {"summaries": []}
    with make_coperniq(projects=projects, seed=21, daily_quota=None, per_second_limit=None) as coperniq, \
            make_quickbooks(customers=0, invoices=0, seed=21, throttle=False, refresh_token_grace=86400) as qbo, \
            client_pacing(0), frozen_heap():
        inbound = Connection("source-coperniq", coperniq_config(coperniq), "destination-quickbooks",
                             quickbooks_config(qbo), streams=["projects", "contacts"])
        read, write, c, q = _sync(inbound, coperniq, qbo)
        notes["summaries"].append(_summary(inbound, write))
        created = sum(1 for x in qbo.backend.customers.values() if "Coperniq project #" in (x.get("Notes") or ""))
        p, k = len(read.records_of("projects")), len(read.records_of("contacts"))
        counts.append(FlowCount("qbo:in:1", "customers created", created, p + k, c, q,
                                math.ceil(p / COPERNIQ_PAGE) + math.ceil(k / COPERNIQ_PAGE)
                                + math.ceil(created / QBO_BATCH),
                                f"{p:,} projects + {k:,} contacts / 100, {created:,} customers / 30"))

        invoices = Connection("source-coperniq", coperniq_config(coperniq), "destination-quickbooks",
                              quickbooks_config(qbo), streams=["invoices"])
        read, write, c, q = _sync(invoices, coperniq, qbo)
        notes["summaries"].append(_summary(invoices, write))
        created = sum(1 for x in qbo.backend.invoices.values() if "Coperniq invoice #" in (x.get("PrivateNote") or ""))
        n = len(read.records_of("invoices"))
        counts.append(FlowCount("qbo:in:2", "invoices created", created, n, c, q,
                                math.ceil(n / COPERNIQ_PAGE) + math.ceil(created / QBO_BATCH),
                                f"{n:,} invoices / 100, {created:,} invoices / 30"))

        outbound = Connection("source-quickbooks", quickbooks_config(qbo), "destination-coperniq",
                              coperniq_config(coperniq), streams=["customers", "invoices"])
        read, write, c, q = _sync(outbound, coperniq, qbo)
        notes["summaries"].append(_summary(outbound, write))
        notes["first_outbound"] = {"customers": len(read.records_of("customers")),
                                   "invoices": len(read.records_of("invoices")), "coperniq": c, "quickbooks": q,
                                   "coperniq_writes": _coperniq_writes(coperniq)}

        linked = [x for x in qbo.backend.customers.values() if "Coperniq project #" in (x.get("Notes") or "")]
        for customer in linked:  # AR corrects every linked customer's address, the job site (mapping/job_site.py)
            address = dict(customer.get("ShipAddr") or customer.get("BillAddr") or {
                "City": "Austin", "CountrySubDivisionCode": "TX", "PostalCode": "78701", "Country": "USA"})
            address["Line1"] = f"{100 + int(customer['Id'])} Corrected Street"
            qbo.backend.edit_customer(customer["Id"], BillAddr=address, ShipAddr=address)
        read, write, c, q = _sync(outbound, coperniq, qbo)
        notes["summaries"].append(_summary(outbound, write))
        updated = coperniq.log.count("PATCH", r"^/v1/projects/\d+$")
        n = len(read.records_of("customers"))
        counts.append(FlowCount("qbo:out:1", "projects updated", updated, n, c, q,
                                math.ceil(n / QBO_PAGE) + updated,
                                f"{n:,} customers / 1,000, 1 per project updated"))

        item = next(i["Id"] for i in qbo.backend.items.values() if i["Active"] and i["Name"] != "Services")
        for number, customer in enumerate(linked):  # AR bills every linked customer once
            qbo.backend.add_invoice(customer["Id"], [(item, 1, 1000.0 + number)])
        read, write, c, q = _sync(outbound, coperniq, qbo)
        notes["summaries"].append(_summary(outbound, write))
        created = coperniq.log.count("POST", r"^/v1/invoices$")
        n = len(read.records_of("invoices"))
        counts.append(FlowCount("qbo:out:2", "invoices created", created, n, c, q,
                                math.ceil(n / QBO_PAGE) + created,
                                f"{n:,} invoices / 1,000, 1 per invoice created"))
    return counts, notes


def _coperniq_writes(coperniq: CoperniqSandbox) -> int:
    return sum(coperniq.log.count(m, r"^/v1/") for m in ("POST", "PATCH", "PUT", "DELETE"))


def run(quick: bool = False) -> SectionResult:
    counts, notes = run_flows(QUICK_PROJECTS if quick else FULL_PROJECTS)
    result = SectionResult(data={"flows": [vars(c) for c in counts], **notes})
    for count in counts:
        if not count.written:
            raise RuntimeError(f"{count.flow} wrote nothing")
        ours = per_thousand(count.total, count.written)
        minimum = per_thousand(count.minimum, count.written)
        result.rows.append(Row(
            SECTION, f"{count.flow} ({count.written:,} {count.unit})",
            f"{fmt(ours, 1)} (Coperniq {count.coperniq:,} + QBO {count.quickbooks:,})",
            "naive 1,000.0",
            f"<= {TARGET_RATIO} x minimum {fmt(minimum, 1)}",
            verdict(ours <= TARGET_RATIO * minimum)))
    first = notes["first_outbound"]
    result.notes.append(
        f"First QuickBooks -> Coperniq sync after qbo:in:1/2 (nothing changed, {first['customers']:,} customers and "
        f"{first['invoices']:,} invoices read): {first['coperniq']:,} Coperniq requests "
        f"({first['coperniq_writes']:,} writes) and {first['quickbooks']:,} QuickBooks requests.")
    result.notes += [f"Flows, write summary: {line}" for line in notes["summaries"]]
    return result
