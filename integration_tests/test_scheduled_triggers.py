"""Issue 10, destination side: each trigger fires in scheduled incremental syncs, proven in rounds.

Every test runs syncs as a scheduler does: the state the destination acknowledged and the configs
updated by CONTROL messages are carried from one round to the next, both systems are edited between
rounds, and a quiet round writes nothing. The real sources run: the invoices of source-coperniq carry
``_project_stage`` and those of source-quickbooks ``_coperniq_project_id`` (issue 10's contract).
"""

from __future__ import annotations

import json
from collections import Counter
from typing import Any

import pytest

from connector_core.runner import Connection
from coperniq.records import project_stage
from demo.flows import TwoWaySync, coperniq_config, quickbooks_config
from mapping.addresses import parse_us_address
from mapping.links import invoice_id_from_note, project_id_from_notes, qbo_invoice_id_from_description
from sandboxes.coperniq import CoperniqSandbox
from sandboxes.quickbooks import QuickBooksSandbox

QBO_WRITES = r"/(batch|customer|invoice)$"
COPERNIQ_WRITES = r"^/v1/(projects|contacts|invoices)"
STAGE = "GLASS ON ROOF"


def current_stages(coperniq: CoperniqSandbox) -> dict[int, str | None]:
    backend = coperniq.backend
    return {pid: project_stage(backend.project_json(p)) for pid, p in backend.projects.items()}


def qbo_writes(quickbooks: QuickBooksSandbox) -> int:
    return quickbooks.log.count("POST", QBO_WRITES)


def coperniq_writes(coperniq: CoperniqSandbox) -> int:
    return sum(coperniq.log.count(m, COPERNIQ_WRITES) for m in ("POST", "PATCH", "DELETE"))


def linked_invoices(quickbooks: QuickBooksSandbox) -> Counter[int]:
    return Counter(invoice_id_from_note(i.get("PrivateNote")) for i in quickbooks.backend.invoices.values()
                   if i.get("status") != "Deleted" and invoice_id_from_note(i.get("PrivateNote")) is not None)


def customer_of(quickbooks: QuickBooksSandbox, project_id: int) -> dict[str, Any]:
    (customer,) = [c for c in quickbooks.backend.customers.values()
                   if project_id_from_notes(c.get("Notes")) == project_id]
    return customer


def sync(connection: Connection) -> Any:
    read, write = connection.sync()
    assert read.returncode == 0 and not read.errors, read.errors or read.stderr[-2000:]
    assert write.returncode == 0 and not write.errors, write.errors or write.stderr[-2000:]
    return write


# -- item 1: qbo:in:2, a project reaching the invoice stage ---------------------------------------------


def _stage_ids(coperniq: CoperniqSandbox, name: str) -> dict[int, int]:
    """Workflows 1.0: workflow id -> the id of its stage called ``name``."""
    return {w.id: s.id for w in coperniq.backend.workflows.values() if w.version == 1
            for s in w.stages if s.name == name}


@pytest.mark.timeout(900)  # several rounds of two or four connector processes each
def test_invoices_reach_quickbooks_when_their_project_reaches_the_stage_and_only_once(
        coperniq_sandbox_factory: Any, qbo_sandbox_factory: Any) -> None:
    coperniq = coperniq_sandbox_factory(projects=60, seed=21, daily_quota=None)
    quickbooks = qbo_sandbox_factory(customers=2, invoices=2, seed=21, throttle=False)
    backend = coperniq.backend
    # Only invoices: the project records are never in these syncs, so the invoice's own
    # `_project_stage` decides, and the customer is created from the invoice when missing.
    connection = Connection("source-coperniq", coperniq_config(coperniq), "destination-quickbooks",
                                    quickbooks_config(quickbooks, invoice_stages=[STAGE.lower()]),
                                    streams=["invoices"])
    sync(connection)
    stages = current_stages(coperniq)
    billable = {i.id for i in backend.invoices.values() if i.record_id in backend.projects and i.amount >= 0}
    in_stage = {i for i in billable if stage_of(backend, i, stages) == STAGE}
    assert set(linked_invoices(quickbooks)) == in_stage

    glass, inspection = _stage_ids(coperniq, STAGE), _stage_ids(coperniq, "Inspection")
    movers = sorted({backend.invoices[i].record_id for i in billable - in_stage
                     if backend.projects[backend.invoices[i].record_id].workflow_id in glass})[:8]
    assert len(movers) >= 4, "the seed should have Workflows 1.0 projects before the stage, with invoices"
    for project_id in movers:
        backend.update_project(project_id, {"stageId": glass[backend.projects[project_id].workflow_id]})
    quickbooks.log.clear()
    sync(connection)  # no invoice changed: the projects' stage did
    moved_invoices = {i for i in billable if backend.invoices[i].record_id in movers}
    landed = linked_invoices(quickbooks)
    assert moved_invoices <= set(landed), f"missing: {sorted(moved_invoices - set(landed))}"
    assert all(landed[i] == 1 for i in landed), "an invoice was written twice"
    for project_id in movers:  # customers that did not exist were created from the invoice
        assert customer_of(quickbooks, project_id)["DisplayName"]

    quickbooks.log.clear()
    sync(connection)
    assert qbo_writes(quickbooks) == 0, "a quiet round must write nothing"

    # Two projects leave the stage: nothing to write. An invoice of one of them edited meanwhile still
    # updates its QuickBooks copy (it was billed). Back in the stage: nothing is written twice.
    leavers = movers[:2]
    for project_id in leavers:
        backend.update_project(project_id, {"stageId": inspection[backend.projects[project_id].workflow_id]})
    quickbooks.log.clear()
    sync(connection)
    assert qbo_writes(quickbooks) == 0
    edited = min(i for i in moved_invoices if backend.invoices[i].record_id == leavers[0])
    backend.update_invoice(edited, {"dueDate": "2033-03-03T00:00:00.000Z"})
    sync(connection)
    copy = next(i for i in quickbooks.backend.invoices.values() if invoice_id_from_note(i.get("PrivateNote")) == edited)
    assert copy["DueDate"] == "2033-03-03"
    for project_id in leavers:
        backend.update_project(project_id, {"stageId": glass[backend.projects[project_id].workflow_id]})
    quickbooks.log.clear()
    sync(connection)
    assert qbo_writes(quickbooks) == 0, "re-entering the stage must change nothing twice"
    assert linked_invoices(quickbooks) == landed


def stage_of(backend: Any, invoice_id: int, stages: dict[int, str | None]) -> str | None:
    return stages.get(backend.invoices[invoice_id].record_id)


# -- item 2: qbo:out:2, invoices of customers that did not change ----------------------------------------


@pytest.fixture
def two_way(coperniq_sandbox_factory: Any, qbo_sandbox_factory: Any) -> TwoWaySync:
    return TwoWaySync(coperniq_sandbox_factory(projects=30, seed=23, daily_quota=None),
                              qbo_sandbox_factory(customers=4, invoices=4, seed=23, throttle=False,
                                                  refresh_token_grace=86400))


def _round(two_way: TwoWaySync) -> tuple[int, int]:
    result = two_way.round()
    assert not result.errors, result.errors
    return result.writes


def _unique_titled(two_way: TwoWaySync) -> list[int]:
    projects = two_way.coperniq.backend.projects
    titles = Counter(p.title for p in projects.values())
    return sorted(pid for pid, p in projects.items() if titles[p.title] == 1 and p.title and ":" not in p.title)


@pytest.mark.timeout(900)  # several rounds of two or four connector processes each
def test_an_invoice_of_an_unchanged_linked_customer_lands_on_its_project_even_when_its_title_is_shared(
        two_way: TwoWaySync) -> None:
    _round(two_way)
    project_id, other_id = _unique_titled(two_way)[:2]
    title = two_way.coperniq.backend.projects[project_id].title
    two_way.coperniq.backend.update_project(other_id, {"title": title})  # now two projects share the title
    _round(two_way)
    assert _round(two_way) == (0, 0)
    customer = customer_of(two_way.quickbooks, project_id)
    assert customer["DisplayName"] == title  # the plain title: only its Notes tell the two projects apart
    billed = [two_way.quickbooks.backend.add_invoice(customer["Id"], [("1", 1, 100.0 + n)])["Id"] for n in range(3)]
    _round(two_way)  # the customer did not change: only its invoices are in this sync
    copies = Counter(qbo_invoice_id_from_description(i.description) for i in two_way.coperniq.backend.invoices.values()
                     if i.record_id == project_id)
    assert all(copies[qbo_id] == 1 for qbo_id in billed), copies
    assert not [i for i in two_way.coperniq.backend.invoices.values()
                if i.record_id == other_id and qbo_invoice_id_from_description(i.description)]
    assert _round(two_way) == (0, 0)


def test_an_invoice_whose_customer_is_not_linked_is_reported_never_put_on_a_project_by_a_shared_title(
        two_way: TwoWaySync, tmp_path: Any) -> None:
    from connector_core.runner import run_connector, script

    _round(two_way)
    project_id, other_id = _unique_titled(two_way)[:2]
    title = two_way.coperniq.backend.projects[project_id].title
    two_way.coperniq.backend.update_project(other_id, {"title": title})
    template = next(iter(two_way.quickbooks.backend.invoices.values()))
    stranger = {**template, "Id": "990001", "PrivateNote": None, "CustomerRef": {"value": "990002", "name": title}}
    lines = [json.dumps({"type": "RECORD", "record": {"stream": "invoices", "data": record, "emitted_at": 0}})
             for record in ({**stranger, "_coperniq_project_id": None},  # the contract: linked to nothing
                            {**stranger, "Id": "990003"})]  # an older source: no link field, a shared title
    config, catalog = tmp_path / "config.json", tmp_path / "catalog.json"
    config.write_text(json.dumps(coperniq_config(two_way.coperniq)))
    catalog.write_text(json.dumps(two_way.outbound.catalog()))
    two_way.coperniq.log.clear()
    result = run_connector([script("destination-coperniq"), "write", "--config", str(config), "--catalog",
                            str(catalog)], lines)
    assert result.returncode == 0 and coperniq_writes(two_way.coperniq) == 0
    warnings = result.logs("WARN")
    first = next(w for w in warnings if "990001" in w)
    assert "linked to no Coperniq project" in first and "Coperniq project #<project id>" in first
    second = next(w for w in warnings if "990003" in w)
    assert f"{min(project_id, other_id)}, {max(project_id, other_id)}" in second and "share its title" in second


# -- item 5: dry runs -----------------------------------------------------------------------------------


@pytest.mark.timeout(900)  # several rounds of two or four connector processes each
def test_a_dry_run_reports_the_plan_and_the_next_real_sync_writes_all_of_it(
        coperniq_sandbox_factory: Any, qbo_sandbox_factory: Any) -> None:
    coperniq = coperniq_sandbox_factory(projects=50, seed=25, daily_quota=None)
    quickbooks = qbo_sandbox_factory(customers=0, invoices=0, seed=25, throttle=False)
    inbound = Connection("source-coperniq", coperniq_config(coperniq), "destination-quickbooks",
                                 quickbooks_config(quickbooks, dry_run=True), streams=["projects", "contacts"])
    write = sync(inbound)
    assert qbo_writes(quickbooks) == 0 and write.states == [] and inbound.state == {}
    logs = write.logs()
    assert any("no STATE was emitted" in line for line in logs)
    assert f"projects: {len(coperniq.backend.projects)} would create" in "\n".join(logs)
    sample = [line for line in logs if line.strip().startswith("would create (projects record")]
    assert 0 < len(sample) <= 10 and all("DisplayName=" in line for line in sample)
    inbound.destination_config = {**inbound.destination_config, "dry_run": False}
    sync(inbound)
    linked = Counter(project_id_from_notes(c.get("Notes")) for c in quickbooks.backend.customers.values())
    assert set(linked) - {None} == set(coperniq.backend.projects) and max(linked.values()) == 1

    # destination-coperniq: the same, with bookkeeper edits in QuickBooks.
    outbound = Connection("source-quickbooks", quickbooks_config(quickbooks), "destination-coperniq",
                                  coperniq_config(coperniq), streams=["customers"])
    sync(outbound)  # the echo of the customers just created: nothing to write
    assert outbound.state
    outbound.destination_config = {**outbound.destination_config, "dry_run": True}
    edited = sorted(quickbooks.backend.customers, key=int)[:5]
    for n, customer_id in enumerate(edited):
        quickbooks.backend.edit_customer(customer_id, PrimaryPhone={"FreeFormNumber": f"(737) 555-01{n:02d}"})
    before = dict(outbound.state)
    coperniq.log.clear()
    write = sync(outbound)
    assert coperniq_writes(coperniq) == 0 and write.states == [] and outbound.state == before
    assert any(line.strip().startswith("would update contact (customers record") for line in write.logs())
    outbound.destination_config = {**outbound.destination_config, "dry_run": False}
    sync(outbound)
    for n, customer_id in enumerate(edited):
        project_id = project_id_from_notes(quickbooks.backend.customers[customer_id]["Notes"])
        phones = [p for c in coperniq.backend.contacts.values() if project_id in c.project_ids for p in c.phones]
        assert f"(737) 555-01{n:02d}" in phones, (customer_id, phones)


# -- item 6: inactive customers -------------------------------------------------------------------------


@pytest.mark.timeout(900)  # several rounds of two or four connector processes each
def test_inactive_customers_never_lend_their_deleted_suffix_and_do_what_the_config_says(
        two_way: TwoWaySync) -> None:
    two_way.outbound.destination_config["inactive_customer_project_status"] = "ON_HOLD"
    _round(two_way)
    qbo = two_way.quickbooks.backend
    projects = _unique_titled(two_way)[:4]
    customers = [customer_of(two_way.quickbooks, pid) for pid in projects]
    names = {c["Id"]: c["DisplayName"] for c in customers}
    for customer in customers[:3]:
        qbo.deactivate_customer(customer["Id"])
    assert all(qbo.customers[c["Id"]]["DisplayName"].endswith(" (deleted)") for c in customers[:3])
    _round(two_way)
    assert _round(two_way) == (0, 0)
    titles = [p.title for p in two_way.coperniq.backend.projects.values()]
    assert not [t for t in titles if t.endswith("(deleted)")]
    statuses = {pid: two_way.coperniq.backend.get_project(pid)["status"] for pid in projects}
    assert [statuses[pid] for pid in projects[:3]] == ["ON_HOLD"] * 3 and statuses[projects[3]] != "ON_HOLD"

    # A project renamed while its customer is inactive: the customer's own name follows, once.
    two_way.coperniq.backend.update_project(projects[0], {"title": "Adeyemi Residence"})
    assert _round(two_way) == (1, 0)
    assert qbo.customers[customers[0]["Id"]]["DisplayName"] == "Adeyemi Residence (deleted)"
    names[customers[0]["Id"]] = "Adeyemi Residence"

    # Without the config key, a deactivation is reported and changes nothing.
    two_way.outbound.destination_config.pop("inactive_customer_project_status")
    qbo.deactivate_customer(customers[3]["Id"])
    result = two_way.round()
    assert result.writes == (0, 0), "the echo of the rename, and a reported deactivation, write nothing"
    assert any("is inactive in QuickBooks" in w for w in result.outbound[1].logs("WARN"))

    for customer in customers:  # reactivation: each customer's own name, and no write
        qbo.edit_customer(customer["Id"], Active=True)
    assert _round(two_way) == (0, 0)
    assert {c["Id"]: qbo.customers[c["Id"]]["DisplayName"] for c in customers} == names
    assert not [p.title for p in two_way.coperniq.backend.projects.values() if p.title.endswith("(deleted)")]


# -- item 8: unlinked customers are never merged by a title ---------------------------------------------


def test_upsert_never_merges_a_customer_into_a_project_by_title_alone_or_an_ambiguous_match(
        coperniq_sandbox_factory: Any, qbo_sandbox_factory: Any) -> None:
    coperniq = coperniq_sandbox_factory(projects=30, seed=27, daily_quota=None)
    quickbooks = qbo_sandbox_factory(customers=0, invoices=0, seed=27, throttle=False)
    backend, qbo = coperniq.backend, quickbooks.backend
    outbound = Connection("source-quickbooks", quickbooks_config(quickbooks), "destination-coperniq",
                                  {**coperniq_config(coperniq), "unlinked_customers": "upsert", "match_by": "title"},
                                  streams=["customers"])
    titles = Counter(p.title for p in backend.projects.values())
    project_id = min(pid for pid, p in backend.projects.items() if titles[p.title] == 1 and p.title)
    title = backend.projects[project_id].title
    # A bookkeeper's customer that happens to share a project's title, and one no project resembles.
    stranger = qbo.add_customer(DisplayName=title, BillAddr={"Line1": "1 Unrelated Way", "City": "Austin",
                                                             "CountrySubDivisionCode": "TX", "PostalCode": "78702"})
    qbo.add_customer(DisplayName="Brand New Homeowner", BillAddr={
        "Line1": "12 Elm St", "City": "Austin", "CountrySubDivisionCode": "TX", "PostalCode": "78702"})
    before = backend.get_project(project_id)
    write = sync(outbound)
    hint = next(w for w in write.logs("WARN") if f"customers record {stranger['Id']}:" in w)
    assert f"project(s) {project_id}" in hint and "Coperniq project #<project id>" in hint
    assert backend.get_project(project_id) == before, "merged into a stranger's project"
    assert [p.title for p in backend.projects.values()].count("Brand New Homeowner") == 1

    # match_by address: two projects at one address is ambiguous: reported, nothing merged or created.
    by_address = Counter(p.address[0] for p in backend.projects.values() if p.address and p.is_active)
    address = next(a for a, n in sorted(by_address.items()) if n >= 2 and parse_us_address(a).get("City"))
    outbound.destination_config["match_by"] = "address"
    count = len(backend.projects)
    twin = qbo.add_customer(DisplayName="Twin Address Customer", BillAddr=parse_us_address(address))
    write = sync(outbound)
    hint = next(w for w in write.logs("WARN") if f"customers record {twin['Id']}:" in w)
    assert "ambiguous" in hint and "Coperniq project #<project id>" in hint
    assert len(backend.projects) == count
