"""`make demo`: both sandboxes with seeded data, all four flows run over pipes, and a short summary.

Round 1 is the first sync in both directions. Round 2 changes nothing and must write nothing.
Then people work: a project manager renames projects in Coperniq, AR puts a customer on hold in
QuickBooks and issues a new invoice. Round 3 carries exactly those changes across, once. Round 4
is quiet again: no write on either side.
"""

from __future__ import annotations

import argparse
import sys

from connector_core.runner import RunResult
from demo.flows import Round, TwoWaySync
from sandboxes.coperniq import make_sandbox as make_coperniq
from sandboxes.quickbooks import make_sandbox as make_quickbooks

ON_HOLD = {"customer_filter_field": "Notes", "customer_filter_value": "on hold",
           "customer_filter_match": "contains", "matched_project_status": "ON_HOLD",
           "unlinked_customers": "report"}


def _write_summary(result: RunResult) -> str:
    line = next((m for m in result.logs() if m.startswith("Write summary:")), "Write summary: (none)")
    return line.removeprefix("Write summary: ")


def _skipped(result: RunResult) -> int:
    return sum(1 for m in result.logs("WARN") if m.startswith("Skipped"))


def describe(name: str, round_: Round) -> str:
    (in_read, in_write), (out_read, out_write) = round_.inbound, round_.outbound
    i, o = round_.inbound_traffic, round_.outbound_traffic
    counts = {s: len(in_read.records_of(s)) for s in ("projects", "contacts", "invoices")}
    lines = [
        f"{name}",
        f"  Coperniq -> QuickBooks: read {counts['projects']} projects, {counts['contacts']} contacts, "
        f"{counts['invoices']} invoices ({i.coperniq_reads} Coperniq requests)",
        f"    QuickBooks requests: {i.qbo_reads} reads, {i.qbo_writes} writes (batches of up to 30)",
        f"    written: {_write_summary(in_write)}",
        f"  QuickBooks -> Coperniq: read {len(out_read.records_of('customers'))} customers, "
        f"{len(out_read.records_of('invoices'))} invoices ({o.qbo_reads} QuickBooks requests)",
        f"    Coperniq requests: {o.coperniq_reads} reads, {o.coperniq_writes} writes",
        f"    written: {_write_summary(out_write)}",
    ]
    skipped = _skipped(in_write) + _skipped(out_write)
    if skipped:
        lines.append(f"  {skipped} records skipped with a reason (see the connectors' WARN logs)")
    lines += [f"  ERROR: {e['message']}" for e in round_.errors]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--projects", type=int, default=120)
    parser.add_argument("--seed", type=int, default=42)
    args = parser.parse_args(argv)

    # Intuit may keep answering a superseded refresh token for up to a day; the two QuickBooks
    # connectors of the demo share one app authorization, so the sandbox is given that grace.
    with make_coperniq(projects=args.projects, seed=args.seed) as coperniq, \
            make_quickbooks(customers=40, invoices=60, seed=args.seed, refresh_token_grace=86400) as quickbooks:
        print(f"Coperniq sandbox   {coperniq.base_url}  api key {coperniq.api_key!r}: "
              f"{len(coperniq.backend.projects)} projects, {len(coperniq.backend.contacts)} contacts, "
              f"{len(coperniq.backend.invoices)} invoices")
        print(f"QuickBooks sandbox {quickbooks.base_url}  realm {quickbooks.realm_id}: "
              f"{len(quickbooks.backend.customers)} customers and {len(quickbooks.backend.invoices)} invoices "
              "already on the books\n")
        sync = TwoWaySync(coperniq, quickbooks, outbound_config=ON_HOLD)
        rounds: list[Round] = []

        rounds.append(sync.round())
        print(describe("Round 1: first sync, both directions", rounds[-1]))
        rounds.append(sync.round())
        print(describe("\nRound 2: nothing changed", rounds[-1]))

        renamed = sorted(coperniq.backend.projects)[:2]
        for project_id in renamed:
            project = coperniq.backend.projects[project_id]
            coperniq.backend.update_project(project_id, {"title": f"{project.title} - Phase 2"})
        linked = [c for c in quickbooks.backend.customers.values() if "Coperniq project #" in (c.get("Notes") or "")]
        held = sorted(linked, key=lambda c: int(c["Id"]))[5]
        quickbooks.backend.edit_customer(held["Id"], Notes=f"{held['Notes']}\nOn hold: unpaid invoice",
                                         PrimaryPhone={"FreeFormNumber": "(512) 555-0177"})
        billed = sorted(linked, key=lambda c: int(c["Id"]))[6]
        new_invoice = quickbooks.backend.add_invoice(billed["Id"], [("1", 1, 4200.0)],
                                                     CustomerMemo={"value": "Main panel upgrade"})
        quickbooks.backend.record_payment(new_invoice["Id"], 1000)
        print(f"\nPeople work: projects {renamed} are renamed in Coperniq; in QuickBooks AR puts customer "
              f"{held['DisplayName']!r} on hold (and updates the phone) and bills {billed['DisplayName']!r} "
              f"$4,200.00, $1,000.00 of it paid.")
        rounds.append(sync.round())
        print(describe("Round 3: the changes cross, once", rounds[-1]))
        rounds.append(sync.round())
        print(describe("\nRound 4: quiet again", rounds[-1]))

        failed = [r for r in rounds if r.errors]
        quiet = [r.writes for r in (rounds[1], rounds[3])]
        print(f"\nQuickBooks now holds {len(quickbooks.backend.customers)} customers and "
              f"{len(quickbooks.backend.invoices)} invoices; Coperniq {len(coperniq.backend.projects)} projects "
              f"and {len(coperniq.backend.invoices)} invoices.")
        if failed:
            print("Some rounds reported errors; see above.")
            return 1
        if any(q != (0, 0) for q in quiet):
            print(f"The quiet rounds wrote {quiet} (QuickBooks, Coperniq); they should have written nothing.")
            return 1
        print("Rounds 2 and 4 wrote nothing on either side: the two-way sync is idempotent and loop-safe.")
    return 0


if __name__ == "__main__":
    sys.exit(main())

