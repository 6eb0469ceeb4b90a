"""qbo:in:1 and qbo:in:2 end to end: source-coperniq | destination-quickbooks against both sandboxes."""

from __future__ import annotations

import json
import logging
import os
import re
import subprocess
import threading
import time
from collections import Counter
from decimal import Decimal
from typing import Any

import pytest

from connector_core.runner import Connection, script
from destination_quickbooks.writer import QuickBooksWriter
from mapping.links import invoice_id_from_note, project_id_from_notes
from qbo.client import QuickBooksClient
from sandboxes.coperniq import CoperniqSandbox
from sandboxes.quickbooks import QuickBooksSandbox

WRITE_PATHS = r"/(batch|customer|invoice)$"


def _qbo_config(sandbox: QuickBooksSandbox, **extra: Any) -> dict[str, Any]:
    return {"client_id": sandbox.client_id, "client_secret": sandbox.client_secret,
            "refresh_token": sandbox.current_refresh_token or sandbox.refresh_token, "realm_id": sandbox.realm_id,
            "base_url": sandbox.base_url, "token_url": sandbox.token_url, **extra}


def _connection(coperniq: CoperniqSandbox, quickbooks: QuickBooksSandbox, **extra: Any) -> Connection:
    return Connection(source="source-coperniq",
                      source_config={"api_key": coperniq.api_key, "base_url": coperniq.base_url},
                      destination="destination-quickbooks", destination_config=_qbo_config(quickbooks, **extra))


def _linked_customers(quickbooks: QuickBooksSandbox) -> dict[int, list[dict[str, Any]]]:
    linked: dict[int, list[dict[str, Any]]] = {}
    for customer in quickbooks.backend.customers.values():
        project_id = project_id_from_notes(customer.get("Notes"))
        if project_id is not None:
            linked.setdefault(project_id, []).append(customer)
    return linked


def _linked_invoices(quickbooks: QuickBooksSandbox) -> dict[int, list[dict[str, Any]]]:
    linked: dict[int, list[dict[str, Any]]] = {}
    for invoice in quickbooks.backend.invoices.values():
        if invoice.get("status") == "Deleted":
            continue
        invoice_id = invoice_id_from_note(invoice.get("PrivateNote"))
        if invoice_id is not None:
            linked.setdefault(invoice_id, []).append(invoice)
    return linked


@pytest.fixture
def pair(coperniq_sandbox_factory: Any, qbo_sandbox_factory: Any) -> tuple[CoperniqSandbox, QuickBooksSandbox]:
    return (coperniq_sandbox_factory(projects=90, seed=8, daily_quota=None),
            qbo_sandbox_factory(customers=30, invoices=40, seed=8))


def test_first_sync_makes_every_project_a_customer_and_every_invoice_once_with_the_right_total(
        pair: tuple[CoperniqSandbox, QuickBooksSandbox]) -> None:
    coperniq, quickbooks = pair
    read, write = _connection(coperniq, quickbooks).sync()
    assert read.returncode == 0 and write.returncode == 0, write.stderr[-3000:]
    assert not write.errors, write.errors

    customers = _linked_customers(quickbooks)
    project_json = {p["id"]: p for p in read.records_of("projects")}
    assert set(customers) == set(project_json)
    assert all(len(c) == 1 for c in customers.values()), "a project became two customers"
    titles = Counter(p["title"] for p in project_json.values())
    for project_id, (customer,) in customers.items():
        project = project_json[project_id]
        name = customer["DisplayName"]
        assert name == project["title"] or name.endswith(f"(Coperniq #{project_id})"), name
        if titles[project["title"]] > 1:
            # Shared titles never collide on QuickBooks' unique DisplayName.
            assert name != project["title"] or all(
                c[0]["DisplayName"] != name for pid, c in customers.items() if pid != project_id)
        zips = re.findall(r"\b(\d{5})(?:-\d{4})?\s*$", project["address"][0] if project["address"] else "")
        if zips and customer.get("BillAddr", {}).get("PostalCode"):
            assert customer["BillAddr"]["PostalCode"].startswith(zips[-1])
        assert customer.get("CurrencyRef", {}).get("value", "USD") == "USD"

    contacts = read.records_of("contacts")
    with_contact = [c for c in contacts if c.get("projects")]
    named = sum(1 for (c,) in customers.values() if c.get("FamilyName") or c.get("GivenName"))
    assert named >= min(len(customers), len({p["id"] for c in with_contact for p in c["projects"]})) * 0.9

    invoices = _linked_invoices(quickbooks)
    coperniq_invoices = {i["id"]: i for i in read.records_of("invoices") if i.get("record")}
    assert set(invoices) == set(coperniq_invoices)
    for invoice_id, (invoice,) in invoices.items():
        source = coperniq_invoices[invoice_id]
        assert Decimal(str(invoice["TotalAmt"])) == Decimal(str(source["amount"])).quantize(Decimal("0.01"))
        assert invoice["DocNumber"] == str(source["uid"])
        owner = customers[source["record"]["id"]][0]
        assert invoice["CustomerRef"]["value"] == owner["Id"]


def test_rerun_and_fresh_start_write_nothing_and_edits_update_exactly_those(
        pair: tuple[CoperniqSandbox, QuickBooksSandbox]) -> None:
    coperniq, quickbooks = pair
    connection = _connection(coperniq, quickbooks)
    first_read, _ = connection.sync()
    quickbooks.log.clear()
    _, write = connection.sync()
    assert quickbooks.log.count("POST", WRITE_PATHS) == 0, write.logs()
    # A sync from scratch (no state, e.g. a reset connection) against books that already agree.
    fresh = _connection(coperniq, quickbooks)
    _, write = fresh.sync()
    assert write.returncode == 0
    assert quickbooks.log.count("POST", WRITE_PATHS) == 0, write.logs()

    edited_projects = sorted(coperniq.backend.projects)[10:13]
    for project_id in edited_projects:
        coperniq.backend.update_project(project_id, {"title": f"Renamed {project_id}"})
    edited_invoice = sorted(i["id"] for i in first_read.records_of("invoices") if i.get("record"))[0]
    coperniq.backend.update_invoice(edited_invoice, {"dueDate": "2031-01-31T00:00:00.000Z"})
    quickbooks.log.clear()
    _, write = connection.sync()
    summary = next(m for m in write.logs() if m.startswith("Write summary"))
    assert "projects: updated 3" in summary and "invoices: updated 1" in summary, summary
    customers = _linked_customers(quickbooks)
    assert {customers[p][0]["DisplayName"] for p in edited_projects} == {f"Renamed {p}" for p in edited_projects}
    assert _linked_invoices(quickbooks)[edited_invoice][0]["DueDate"] == "2031-01-31"
    assert quickbooks.log.count("POST", r"/batch$") == 2  # one batch of customers, one of invoices


def test_faults_mid_sync_lose_nothing_and_duplicate_nothing(
        pair: tuple[CoperniqSandbox, QuickBooksSandbox]) -> None:
    coperniq, quickbooks = pair
    quickbooks.faults.inject(429, count=1, path=r"/batch$")
    quickbooks.faults.inject(503, count=1, path=r"/batch$")
    quickbooks.faults.inject(500, count=1, path=r"/query$")
    quickbooks.faults.drop_connection(count=1, path=r"/batch$")
    _, write = _connection(coperniq, quickbooks).sync()
    assert write.returncode == 0 and not write.errors, write.errors
    assert all(len(c) == 1 for c in _linked_customers(quickbooks).values())
    assert len(_linked_customers(quickbooks)) == len(coperniq.backend.projects)
    assert all(len(i) == 1 for i in _linked_invoices(quickbooks).values())


def test_access_token_expiring_mid_sync_is_refreshed_and_the_rotated_token_persisted(
        pair: tuple[CoperniqSandbox, QuickBooksSandbox]) -> None:
    coperniq, quickbooks = pair
    connection = _connection(coperniq, quickbooks)
    first_token = connection.destination_config["refresh_token"]
    _, write = connection.sync()
    assert write.config_updates, "a rotated refresh token must reach the platform as a CONTROL message"
    assert connection.destination_config["refresh_token"] != first_token
    quickbooks.expire_access_tokens()
    coperniq.backend.update_project(sorted(coperniq.backend.projects)[0], {"title": "After expiry"})
    _, write = connection.sync()
    assert write.returncode == 0 and not write.errors, write.errors
    assert any(c[0]["DisplayName"] == "After expiry" for c in _linked_customers(quickbooks).values())


def test_killed_destination_restarted_from_last_state_ends_with_every_record_once(
        pair: tuple[CoperniqSandbox, QuickBooksSandbox]) -> None:
    coperniq, quickbooks = pair
    connection = _connection(coperniq, quickbooks)
    read = connection.read()
    lines = [json.dumps(m) for m in read.messages if m["type"] in ("RECORD", "STATE")]
    config_path = connection._write("destination.json", connection.destination_config)
    catalog_path = connection._write("catalog.json", connection.catalog())
    # Small buffers so the process commits (and acknowledges what it can) several times before it is killed
    # in the middle of the load: after its third write request, whatever it is doing then.
    process = subprocess.Popen([script("destination-quickbooks"), "write", "--config", config_path,
                                "--catalog", catalog_path], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                               stderr=subprocess.DEVNULL, text=True,
                               env={**os.environ, "DESTINATION_BUFFER_SIZE": "10"})
    assert process.stdin and process.stdout

    def kill_after_third_write() -> None:
        deadline = time.monotonic() + 120  # never hang the suite on a pipe
        while process.poll() is None and time.monotonic() < deadline:
            if quickbooks.log.count("POST", WRITE_PATHS) >= 3:
                break
            time.sleep(0.02)
        process.kill()

    killer = threading.Thread(target=kill_after_third_write, daemon=True)
    killer.start()
    try:
        process.stdin.write("".join(line + "\n" for line in lines))
        process.stdin.close()
    except BrokenPipeError:
        pass
    acknowledged: list[dict[str, Any]] = []
    for out in process.stdout:
        message = json.loads(out)
        if message["type"] == "CONTROL":
            connection.destination_config = message["control"]["connectorConfig"]["config"]
        if message["type"] == "STATE":
            acknowledged.append(message["state"])
    process.wait()
    killer.join()
    assert len(_linked_customers(quickbooks)) < len(coperniq.backend.projects), "killed too late to test anything"
    for state in acknowledged:
        connection.state[state["stream"]["stream_descriptor"]["name"]] = {"type": "STREAM", "stream": state["stream"]}
    _, write = connection.sync()
    assert write.returncode == 0 and not write.errors, write.errors
    customers = _linked_customers(quickbooks)
    assert set(customers) == set(coperniq.backend.projects)
    assert all(len(c) == 1 for c in customers.values())
    assert all(len(i) == 1 for i in _linked_invoices(quickbooks).values())


def test_stale_sync_token_is_reread_and_retried_never_overwritten_blindly(
        pair: tuple[CoperniqSandbox, QuickBooksSandbox]) -> None:
    coperniq, quickbooks = pair
    _connection(coperniq, quickbooks).sync()
    project_id = sorted(coperniq.backend.projects)[0]
    customer = _linked_customers(quickbooks)[project_id][0]
    client = QuickBooksClient(_qbo_config(quickbooks))
    writer = QuickBooksWriter(client, {}, logging.getLogger("test"))
    writer.quickbooks_view()  # the writer has read the customer...
    quickbooks.backend.edit_customer(customer["Id"], Notes=customer["Notes"] + "\nOn hold: unpaid invoice")
    project = coperniq.backend.project_json(coperniq.backend.projects[project_id])
    writer.add("projects", {**project, "title": "Renamed while someone edited the customer"})
    writer.flush()  # ...and someone else changed it before the write
    fresh = quickbooks.backend.customers[customer["Id"]]
    assert fresh["DisplayName"] == "Renamed while someone edited the customer"
    assert "On hold: unpaid invoice" in fresh["Notes"], "the other edit was overwritten"
    assert writer.report.counts[("projects", "updated")] == 1


def test_a_name_held_by_a_vendor_gets_the_collision_free_name(
        pair: tuple[CoperniqSandbox, QuickBooksSandbox]) -> None:
    coperniq, quickbooks = pair
    project_id = sorted(coperniq.backend.projects)[0]
    title = coperniq.backend.projects[project_id].title
    quickbooks.backend.add_vendor(title)
    _, write = _connection(coperniq, quickbooks).sync()
    assert not write.errors
    customer = _linked_customers(quickbooks)[project_id][0]
    assert customer["DisplayName"] == f"{title} (Coperniq #{project_id})"


def test_dry_run_reports_and_writes_nothing(pair: tuple[CoperniqSandbox, QuickBooksSandbox]) -> None:
    coperniq, quickbooks = pair
    _, write = _connection(coperniq, quickbooks, dry_run=True).sync()
    assert quickbooks.log.count("POST", WRITE_PATHS) == 0
    summary = next(m for m in write.logs() if m.startswith("Write summary"))
    assert "would_create" in summary
    assert _linked_customers(quickbooks) == {}


def test_a_vendor_created_after_the_lookup_is_resolved_by_the_duplicate_name_fault(
        pair: tuple[CoperniqSandbox, QuickBooksSandbox]) -> None:
    coperniq, quickbooks = pair
    writer = QuickBooksWriter(QuickBooksClient(_qbo_config(quickbooks)), {}, logging.getLogger("test"))
    writer.quickbooks_view()
    project_id = sorted(coperniq.backend.projects)[0]
    project = coperniq.backend.project_json(coperniq.backend.projects[project_id])
    quickbooks.backend.add_vendor(project["title"])  # appears between our lookup and our write (fault 6240)
    writer.add("projects", project)
    writer.flush()
    customer = _linked_customers(quickbooks)[project_id][0]
    assert customer["DisplayName"] == f"{project['title']} (Coperniq #{project_id})"
    assert writer.report.issues == []


def test_a_customer_the_bookkeeper_already_had_is_adopted_not_duplicated(
        pair: tuple[CoperniqSandbox, QuickBooksSandbox]) -> None:
    coperniq, quickbooks = pair
    titles = Counter(p.title for p in coperniq.backend.projects.values())
    project_id = next(i for i, p in sorted(coperniq.backend.projects.items()) if titles[p.title] == 1)
    title = coperniq.backend.projects[project_id].title
    existing = quickbooks.backend.add_customer(DisplayName=title, Notes="Met at the home show")
    _, write = _connection(coperniq, quickbooks).sync()
    assert not write.errors
    customer = _linked_customers(quickbooks)[project_id]
    assert [c["Id"] for c in customer] == [existing["Id"]]
    assert customer[0]["Notes"].startswith("Met at the home show")


def test_invoice_stages_filter_writes_only_invoices_of_projects_in_those_stages(
        coperniq_sandbox_factory: Any, qbo_sandbox_factory: Any) -> None:
    coperniq = coperniq_sandbox_factory(projects=150, seed=4, daily_quota=None)
    quickbooks = qbo_sandbox_factory(customers=5, invoices=5, seed=4)
    connection = _connection(coperniq, quickbooks, invoice_stages=["glass on roof"])
    read, write = connection.sync()
    assert not write.errors
    stage_of = {p["id"]: ((p.get("stage") or p.get("phase") or {}).get("name") or "").casefold()
                for p in read.records_of("projects")}
    expected = {i["id"] for i in read.records_of("invoices")
                if i.get("record") and stage_of.get(i["record"]["id"]) == "glass on roof"}
    assert expected, "the seed should put some projects at GLASS ON ROOF"
    assert set(_linked_invoices(quickbooks)) == expected
    # An invoice edited later, without its project in the sync, still updates its QuickBooks copy.
    invoice_id = sorted(expected)[0]
    coperniq.backend.update_invoice(invoice_id, {"dueDate": "2032-02-02T00:00:00.000Z"})
    _, write = connection.sync()
    assert _linked_invoices(quickbooks)[invoice_id][0]["DueDate"] == "2032-02-02"
    assert set(_linked_invoices(quickbooks)) == expected


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        pytest.param({"client_secret": "wrong-secret"}, "client_secret", id="wrong-client-secret"),
        pytest.param({"refresh_token": "revoked-token"}, "reconnect quickbooks", id="dead-refresh-token"),
        pytest.param({"realm_id": "123"}, "realm_id", id="unknown-company"),
        pytest.param({"base_url": "http://127.0.0.1:9"}, "reached", id="unreachable"),
        pytest.param({"base_url": "http://quickbooks.example.com"}, "https", id="plain-http"),
    ],
)
def test_check_explains_failures_in_plain_words(qbo_sandbox: QuickBooksSandbox, tmp_path: Any,
                                                change: dict[str, Any], expected: str) -> None:
    from connector_core.runner import run_connector

    config = {**_qbo_config(qbo_sandbox), **change}
    path = tmp_path / "config.json"
    path.write_text(json.dumps(config))
    result = run_connector([script("destination-quickbooks"), "check", "--config", str(path)])
    status = result.of_type("CONNECTION_STATUS")[0]["connectionStatus"]
    assert status["status"] == "FAILED"
    assert expected.lower() in status["message"].lower()
    assert "Traceback" not in status["message"]
    for secret in ("wrong-secret", "revoked-token"):
        assert secret not in json.dumps(result.messages)


def test_check_succeeds_with_good_credentials(qbo_sandbox: QuickBooksSandbox, tmp_path: Any) -> None:
    from connector_core.runner import run_connector

    path = tmp_path / "config.json"
    path.write_text(json.dumps(_qbo_config(qbo_sandbox)))
    result = run_connector([script("destination-quickbooks"), "check", "--config", str(path)])
    assert result.of_type("CONNECTION_STATUS")[0]["connectionStatus"]["status"] == "SUCCEEDED"


def test_a_contact_that_is_not_the_projects_primary_never_overwrites_its_customer(
        pair: tuple[CoperniqSandbox, QuickBooksSandbox]) -> None:
    """Contacts come a stream after their project, often in another flush: only the primary one speaks."""
    coperniq, quickbooks = pair
    _connection(coperniq, quickbooks).sync()
    backend = coperniq.backend
    project = next(p for p in backend.projects.values() if len(p.contact_ids) >= 2)
    primary, other = (backend.contact_json(backend.contacts[i]) for i in project.contact_ids[:2])
    before = dict(_linked_customers(quickbooks)[project.id][0])
    assert (before.get("PrimaryEmailAddr") or {}).get("Address") in primary["emails"]

    def write(*records: tuple[str, dict[str, Any]]) -> QuickBooksWriter:
        writer = QuickBooksWriter(QuickBooksClient(_qbo_config(quickbooks)), {}, logging.getLogger("test"),
                                  streams=["projects", "contacts"])
        for stream, record in records:
            writer.add(stream, record)
        writer.flush(final=True)
        return writer

    # The project, then (another flush, as on a load) the other contact renamed: the customer keeps its person.
    project_json = backend.project_json(project)
    writer = write(("projects", project_json))
    writer.add("contacts", {**other, "name": "Someone Else Entirely"})
    writer.flush(final=True)
    # An incremental sync that brings only the other contact: still not the customer's person.
    write(("contacts", {**other, "name": "Someone Else Entirely"}))
    after = _linked_customers(quickbooks)[project.id][0]
    assert (after.get("GivenName"), after.get("FamilyName")) == (before.get("GivenName"), before.get("FamilyName"))
    # The primary contact renamed, alone: it updates the customer.
    write(("contacts", {**primary, "name": "Renamed Primary"}))
    after = _linked_customers(quickbooks)[project.id][0]
    assert (after.get("GivenName"), after.get("FamilyName")) == ("Renamed", "Primary")
