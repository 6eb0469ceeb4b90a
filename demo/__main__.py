"""`make demo`: both sandboxes with seeded data, all four flows run over pipes, and a short summary.

Round 1 is the first sync in both directions (invoices of projects at the GLASS ON ROOF stage go to
QuickBooks). Round 2 changes nothing and must write nothing. Then people work: a project manager
renames projects in Coperniq and moves another to GLASS ON ROOF without touching its invoices; AR puts
a customer on hold in QuickBooks, issues a new invoice, and bills a customer that did not change and
whose title another project shares. Round 3 carries exactly those changes across, once: the moved
project's invoices reach QuickBooks, the invoice reaches its customer's own project. Round 4 is quiet
again: no write on either side. The seeded company also holds what a bookkeeper checks first
(``demo/bookkeeper_cases.py``: a Canadian home, a business contact, invoices with terms); the final checks
say how each landed in QuickBooks, and the demo exits non-zero if one did not land right.
"""

from __future__ import annotations

import argparse
import sys

from connector_core.runner import RunResult
from demo.bookkeeper_cases import BookkeeperCases, add_bookkeeper_cases, check_bookkeeper_cases
from demo.flows import Round, TwoWaySync
from demo.steady_state import INVOICE_STAGE, Snapshot, disagreements, invoice_stage_move
from mapping.links import (
    clean_display_name,
    invoice_id_from_note,
    project_id_from_display_name,
    project_id_from_notes,
    qbo_invoice_id_from_description,
)
from sandboxes.coperniq import CoperniqSandbox
from sandboxes.coperniq import make_sandbox as make_coperniq
from sandboxes.quickbooks import QuickBooksSandbox
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
        cases = add_bookkeeper_cases(coperniq)
        print(f"Coperniq sandbox   {coperniq.base_url}  api key {coperniq.api_key!r}: "
              f"{len(coperniq.backend.projects)} projects, {len(coperniq.backend.contacts)} contacts, "
              f"{len(coperniq.backend.invoices)} invoices, among them {cases}")
        print(f"QuickBooks sandbox {quickbooks.base_url}  realm {quickbooks.realm_id}: "
              f"{len(quickbooks.backend.customers)} customers and {len(quickbooks.backend.invoices)} invoices "
              "already on the books\n")
        sync = TwoWaySync(coperniq, quickbooks, outbound_config=ON_HOLD,
                          invoice_stages=[INVOICE_STAGE])
        rounds: list[Round] = [sync.round()]
        print(describe("Round 1: first sync, both directions", rounds[-1]))
        rounds.append(sync.round())
        print(describe("\nRound 2: nothing changed", rounds[-1]))
        staged, staged_invoices, shared_invoice = people_work(coperniq, quickbooks,
                                                              {cases.canadian_project, cases.business_project})
        rounds.append(sync.round())
        print(describe("Round 3: the changes cross, once", rounds[-1]))
        crossed = report_triggers(coperniq, quickbooks, staged, staged_invoices, shared_invoice)
        rounds.append(sync.round())
        print(describe("\nRound 4: quiet again", rounds[-1]))
        print(f"\nQuickBooks now holds {len(quickbooks.backend.customers)} customers and "
              f"{len(quickbooks.backend.invoices)} invoices; Coperniq {len(coperniq.backend.projects)} projects "
              f"and {len(coperniq.backend.invoices)} invoices.")
        return 1 if failed_checks(rounds, crossed, Snapshot.of(sync), cases) else 0


def people_work(coperniq: CoperniqSandbox, quickbooks: QuickBooksSandbox, spared: set[int]
                ) -> tuple[int, list[int], dict]:
    """Between rounds 2 and 3: the edits of both teams (``spared``: projects the bookkeeper's cases keep as
    they are). Returns the project moved to the invoice stage, its invoices, and the invoice billed to a
    customer whose title other projects share."""
    renamed = sorted(coperniq.backend.projects)[:2]
    for project_id in renamed:
        project = coperniq.backend.projects[project_id]
        coperniq.backend.update_project(project_id, {"title": f"{project.title} - Phase 2"})
    linked = sorted((c for c in quickbooks.backend.customers.values()
                     if project_id_from_notes(c.get("Notes")) not in (None, *spared)), key=lambda c: int(c["Id"]))
    held, billed = linked[5], linked[6]
    quickbooks.backend.edit_customer(held["Id"], Notes=f"{held['Notes']}\nOn hold: unpaid invoice",
                                     PrimaryPhone={"FreeFormNumber": "(512) 555-0177"})
    new_invoice = quickbooks.backend.add_invoice(billed["Id"], [("1", 1, 4200.0)],
                                                 CustomerMemo={"value": "Main panel upgrade"})
    quickbooks.backend.record_payment(new_invoice["Id"], 1000)
    busy = {*renamed, *spared, project_id_from_notes(held["Notes"]), project_id_from_notes(billed["Notes"])}
    staged, staged_invoices = reach_invoice_stage(coperniq, busy)
    shared, shared_invoice = bill_a_shared_title(coperniq, quickbooks, busy | {staged})
    print(f"\nPeople work: projects {renamed} are renamed in Coperniq and project {staged} reaches "
          f"{INVOICE_STAGE} (its {len(staged_invoices)} invoices untouched); in QuickBooks AR puts customer "
          f"{held['DisplayName']!r} on hold (and updates the phone), bills {billed['DisplayName']!r} "
          f"$4,200.00, $1,000.00 of it paid, and bills {shared_invoice['CustomerRef']['name']!r} (unchanged, a "
          f"title {shared} projects share) ${shared_invoice['TotalAmt']:,.2f}.")
    return staged, staged_invoices, shared_invoice


def failed_checks(rounds: list[Round], crossed: bool, snapshot: Snapshot, cases: BookkeeperCases) -> bool:
    """Prints every check (errors, triggers, field-by-field agreement, the bookkeeper's cases, quiet rounds);
    True when any failed."""
    failed = [r for r in rounds if r.errors]
    quiet = [r.writes for r in (rounds[1], rounds[3])]
    problems = disagreements(snapshot)
    cases_seen = check_bookkeeper_cases(cases, snapshot)
    if failed:
        print("Some rounds reported errors; see above.")
    if not crossed:
        print("Round 3 did not carry every change across (see above).")
    if problems:
        print(f"The two systems disagree on {len(problems)} fields of linked records, e.g.:")
        print("\n".join(f"  {line}" for line in problems[:10]))
    else:
        print("Every linked project and customer, and every invoice, agree field by field.")
    print("What the bookkeeper sees of the Canadian home, the business contact and the invoices with terms:")
    print("\n".join(f"  {'right' if right else 'WRONG'}  {line}" for right, line in cases_seen))
    if any(q != (0, 0) for q in quiet):
        print(f"The quiet rounds wrote {quiet} (QuickBooks, Coperniq); they should have written nothing.")
    else:
        print("Rounds 2 and 4 wrote nothing on either side: the two-way sync is idempotent and loop-safe.")
    return bool(failed or not crossed or problems or not all(right for right, _ in cases_seen)
                or any(q != (0, 0) for q in quiet))


def reach_invoice_stage(coperniq: CoperniqSandbox, busy: set) -> tuple[int, list[int]]:
    """A project with invoices moves to the invoice stage; its invoices are not touched (qbo:in:2)."""
    backend = coperniq.backend
    invoices: dict[int, list[int]] = {}
    for invoice in backend.invoices.values():
        if not qbo_invoice_id_from_description(invoice.description):
            invoices.setdefault(invoice.record_id, []).append(invoice.id)
    for project_id in sorted(invoices):
        project = backend.projects.get(project_id)
        move = invoice_stage_move(backend, project_id) if project and project.is_active else None
        if move is not None and project_id not in busy:
            backend.update_project(project_id, move[1])
            return project_id, sorted(invoices[project_id])
    raise RuntimeError("no project with invoices can reach the invoice stage")


def bill_a_shared_title(coperniq: CoperniqSandbox, quickbooks: QuickBooksSandbox, busy: set) -> tuple[int, dict]:
    """AR bills the customer that holds a title other projects share (no ``(Coperniq #id)`` in its name)."""
    titles: dict[str, list[int]] = {}
    for project in coperniq.backend.projects.values():
        if project.is_active:
            titles.setdefault(clean_display_name(project.title, project.id), []).append(project.id)
    for customer in sorted(quickbooks.backend.customers.values(), key=lambda c: int(c["Id"])):
        project_id = project_id_from_notes(customer.get("Notes"))
        sharing = titles.get(customer["DisplayName"], [])
        if project_id in sharing and len(sharing) > 1 and not project_id_from_display_name(customer["DisplayName"]) \
                and not busy & set(sharing):
            item = next(i["Id"] for i in quickbooks.backend.items.values() if i["Name"] == "Solar Panel Installation")
            invoice = quickbooks.backend.add_invoice(customer["Id"], [(item, 1, 2750.0)],
                                                     CustomerMemo={"value": "Annual system inspection"})
            return len(sharing), invoice
    raise RuntimeError("no linked customer has a title another project shares")


def report_triggers(coperniq: CoperniqSandbox, quickbooks: QuickBooksSandbox, staged: int, staged_invoices: list[int],
                    shared_invoice: dict) -> bool:
    """Print whether round 3 fired both triggers whose event lives in another record; True if both did."""
    in_quickbooks = {invoice_id_from_note(i.get("PrivateNote")) for i in quickbooks.backend.invoices.values()}
    delivered = [i for i in staged_invoices if i in in_quickbooks]
    copies = [i for i in coperniq.backend.invoices.values()
              if qbo_invoice_id_from_description(i.description) == shared_invoice["Id"]]
    customer = quickbooks.backend.customers[shared_invoice["CustomerRef"]["value"]]
    own = project_id_from_notes(customer.get("Notes"))
    stage_ok = len(delivered) == len(staged_invoices)
    shared_ok = len(copies) == 1 and copies[0].record_id == own
    print(f"\n  Project {staged} reached {INVOICE_STAGE}: {len(delivered)} of its {len(staged_invoices)} invoices are "
          f"in QuickBooks {'(crossed)' if stage_ok else '(did NOT cross)'}.")
    where = f"on project {copies[0].record_id}" if copies else "not in Coperniq"
    print(f"  QuickBooks invoice {shared_invoice['Id']} of {customer['DisplayName']!r}: {where}, the customer's own "
          f"project being {own} {'(crossed)' if shared_ok else '(did NOT cross)'}.")
    return stage_ok and shared_ok


if __name__ == "__main__":
    sys.exit(main())

