"""`make demo`: both sandboxes with seeded data, the connectors run over pipes, and a short summary.

Round 1 loads every Coperniq project, contact and invoice into QuickBooks (qbo:in:1, qbo:in:2).
Then a user edits a few records in Coperniq; round 2 is the incremental sync that carries just
those. Round 3 runs again with nothing changed and must write nothing.
"""

from __future__ import annotations

import argparse
import sys
import time
from dataclasses import dataclass

from connector_core.runner import Connection, RunResult
from sandboxes.coperniq import CoperniqSandbox
from sandboxes.coperniq import make_sandbox as make_coperniq
from sandboxes.quickbooks import QuickBooksSandbox
from sandboxes.quickbooks import make_sandbox as make_quickbooks


@dataclass
class Round:
    name: str
    read: RunResult
    write: RunResult
    coperniq_requests: int
    qbo_reads: int
    qbo_writes: int
    seconds: float

    def summary(self) -> str:
        counts = {s: len(self.read.records_of(s)) for s in ("projects", "contacts", "invoices")}
        written = next((m for m in self.write.logs() if m.startswith("Write summary:")), "Write summary: (none)")
        errors = [e["message"] for e in self.read.errors + self.write.errors]
        lines = [
            f"  read from Coperniq: {counts['projects']} projects, {counts['contacts']} contacts, "
            f"{counts['invoices']} invoices in {self.coperniq_requests} requests",
            f"  QuickBooks requests: {self.qbo_reads} reads (queries), {self.qbo_writes} writes (batches of up to 30)",
            f"  {written}",
            f"  took {self.seconds:.1f}s",
        ]
        lines += [f"  ERROR: {e}" for e in errors]
        return "\n".join(lines)


def qbo_counts(sandbox: QuickBooksSandbox) -> tuple[int, int]:
    reads = sandbox.log.count(None, r"/(query|cdc|companyinfo|customer/\d+|invoice/\d+)$")
    writes = sandbox.log.count("POST", r"/(batch|customer|invoice)$")
    return reads, writes


def run_round(name: str, connection: Connection, coperniq: CoperniqSandbox, quickbooks: QuickBooksSandbox) -> Round:
    coperniq.log.clear()
    quickbooks.log.clear()
    started = time.monotonic()
    read, write = connection.sync()
    reads, writes = qbo_counts(quickbooks)
    return Round(name, read, write, coperniq.log.count("GET"), reads, writes, time.monotonic() - started)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--projects", type=int, default=120)
    parser.add_argument("--seed", type=int, default=42)
    args = parser.parse_args(argv)

    with make_coperniq(projects=args.projects, seed=args.seed) as coperniq, \
            make_quickbooks(customers=40, invoices=60, seed=args.seed) as quickbooks:
        print(f"Coperniq sandbox   {coperniq.base_url}  (api key {coperniq.api_key!r}): "
              f"{len(coperniq.backend.projects)} projects, {len(coperniq.backend.contacts)} contacts, "
              f"{len(coperniq.backend.invoices)} invoices")
        before_customers = len(quickbooks.backend.customers)
        print(f"QuickBooks sandbox {quickbooks.base_url}  (realm {quickbooks.realm_id}): "
              f"{before_customers} customers, {len(quickbooks.backend.invoices)} invoices already on the books")
        connection = Connection(
            source="source-coperniq",
            source_config={"api_key": coperniq.api_key, "base_url": coperniq.base_url},
            destination="destination-quickbooks",
            destination_config={
                "client_id": quickbooks.client_id, "client_secret": quickbooks.client_secret,
                "refresh_token": quickbooks.refresh_token, "realm_id": quickbooks.realm_id,
                "base_url": quickbooks.base_url, "token_url": quickbooks.token_url,
            },
        )
        print("\nRound 1: first sync, Coperniq -> QuickBooks (qbo:in:1 customers, qbo:in:2 invoices)")
        first = run_round("first", connection, coperniq, quickbooks)
        print(first.summary())

        edited = sorted(coperniq.backend.projects)[:3]
        for project_id in edited:
            project = coperniq.backend.projects[project_id]
            coperniq.backend.update_project(project_id, {"title": f"{project.title} (renamed)"})
        print(f"\nA user renames projects {edited} in Coperniq.")
        print("Round 2: incremental sync")
        second = run_round("incremental", connection, coperniq, quickbooks)
        print(second.summary())

        print("\nRound 3: the same sync again, nothing changed")
        third = run_round("quiet", connection, coperniq, quickbooks)
        print(third.summary())

        print(f"\nQuickBooks now holds {len(quickbooks.backend.customers)} customers "
              f"(was {before_customers}) and {len(quickbooks.backend.invoices)} invoices.")
        failed = [r for r in (first, second, third) if r.read.errors or r.write.errors or r.write.returncode]
        if failed:
            print("Some rounds failed; see the errors above.")
            return 1
        if third.qbo_writes:
            print(f"Round 3 wrote {third.qbo_writes} times; it should have written nothing.")
            return 1
        print("Round 3 wrote nothing: the sync is idempotent.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
