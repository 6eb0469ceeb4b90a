"""destination-quickbooks rules that need no sandbox: stages, requestids, dry runs, inactive customers."""

from __future__ import annotations

import logging
from collections.abc import Iterator, Mapping, Sequence
from typing import Any

from connector_core.destination import run_write
from destination_quickbooks.writer import QuickBooksWriter


class FakeQuickBooks:
    """Just enough of QuickBooksClient: customers and invoices in memory, every batch remembered."""

    def __init__(self, customers: Sequence[dict[str, Any]] = ()) -> None:
        self.customers = {str(c["Id"]): dict(c) for c in customers}
        self.invoices: dict[str, dict[str, Any]] = {}
        self.batches: list[tuple[str | None, list[Mapping[str, Any]]]] = []

    def query_entities(self, entity: str, where: Sequence[str] = (), order_by: str | None = None) -> Iterator[list]:
        yield list(self.customers.values()) if entity == "Customer" else []

    def preferences(self) -> dict[str, Any]:
        return {"CurrencyPrefs": {"HomeCurrency": {"value": "USD"}, "MultiCurrencyEnabled": False},
                "SalesFormsPrefs": {"CustomTxnNumbers": True}}

    def query(self, statement: str) -> dict[str, Any]:
        return {"Item": [{"Id": "1", "Name": "Services"}]} if "FROM Item" in statement else {}

    def batch(self, items: Sequence[Mapping[str, Any]], request_id: str | None = None) -> dict[str, dict[str, Any]]:
        self.batches.append((request_id, list(items)))
        answers = {}
        for item in items:
            entity = "Customer" if "Customer" in item else "Invoice"
            table = self.customers if entity == "Customer" else self.invoices
            body = dict(item[entity])
            body.setdefault("Id", str(len(self.customers) + len(self.invoices) + 100))
            body["SyncToken"] = "1"
            table[body["Id"]] = {**table.get(body["Id"], {}), **body}
            answers[item["bId"]] = {"bId": item["bId"], entity: table[body["Id"]]}
        return answers


def writer(client: FakeQuickBooks, **config: Any) -> QuickBooksWriter:
    return QuickBooksWriter(client, config, logging.getLogger("test"))  # type: ignore[arg-type]


def invoice(invoice_id: int, project_id: int, stage: Any = "absent", **extra: Any) -> dict[str, Any]:
    record = {"id": invoice_id, "uid": 1000 + invoice_id, "amount": 100.0, "status": "SENT",
              "record": {"id": project_id, "title": f"Project {project_id}"}, **extra}
    if stage != "absent":
        record["_project_stage"] = stage
    return record


def test_an_invoice_whose_project_is_in_the_stage_is_written_with_its_customer_without_the_project() -> None:
    client = FakeQuickBooks()
    w = writer(client, invoice_stages=["Glass on Roof"])
    w.add("invoices", invoice(1, 7, "GLASS ON ROOF"))
    w.add("invoices", invoice(2, 8, "Permitting"))
    w.add("invoices", invoice(3, 9))  # an older source: stage unknown
    w.flush(final=True)
    assert [c["DisplayName"] for c in client.customers.values()] == ["Project 7"]
    assert [i["DocNumber"] for i in client.invoices.values()] == ["1001"]
    assert w.report.counts[("invoices", "filtered")] == 2


def test_the_stage_of_the_project_record_in_the_same_sync_wins_over_the_invoice_field() -> None:
    client = FakeQuickBooks()
    w = writer(client, invoice_stages=["GLASS ON ROOF"])
    w.add("projects", {"id": 7, "title": "Project 7", "stage": {"name": "Inspection"}})
    w.add("invoices", invoice(1, 7, "GLASS ON ROOF"))
    w.flush(final=True)
    assert client.invoices == {}


def test_each_run_has_its_own_requestids_even_for_identical_batches() -> None:
    ids = []
    for _ in range(2):
        client = FakeQuickBooks()
        w = writer(client)
        w.add("projects", {"id": 7, "title": "Project 7"})
        w.flush(final=True)
        ids += [request_id for request_id, _ in client.batches]
    assert len(ids) == 2 and ids[0] != ids[1] and all(len(i) <= 36 for i in ids)


def test_a_dry_run_writes_nothing_emits_no_state_and_shows_planned_writes() -> None:
    from airbyte_cdk.models import AirbyteMessage, AirbyteRecordMessage, AirbyteStateMessage, Type

    client = FakeQuickBooks()
    w = writer(client, dry_run=True)
    messages = [AirbyteMessage(type=Type.RECORD, record=AirbyteRecordMessage(
        stream="projects", data={"id": n, "title": f"Project {n}"}, emitted_at=0)) for n in range(1, 13)]
    messages.append(AirbyteMessage(type=Type.RECORD, record=AirbyteRecordMessage(
        stream="invoices", data=invoice(1, 3), emitted_at=0)))
    messages.append(AirbyteMessage(type=Type.STATE, state=AirbyteStateMessage(data={"cursor": 1})))
    out = list(run_write(w, messages, logging.getLogger("test")))
    assert client.batches == [] and not [m for m in out if m.type == Type.STATE]
    logs = [m.log.message for m in out if m.type == Type.LOG]
    assert "Dry run, projects: 12 would create (the first 10 below)" in logs
    assert sum(1 for line in logs if line.startswith("  would create (projects record")) == 10
    # The invoice of a customer the run would create is planned too, not skipped for want of a customer.
    assert any(line.startswith("  would create (invoices record 1): create Invoice") for line in logs)
    assert any("no STATE was emitted" in line for line in logs)


def test_an_inactive_customer_is_compared_by_its_own_name_and_gets_no_invoice() -> None:
    client = FakeQuickBooks([{"Id": "5", "SyncToken": "3", "DisplayName": "Project 7 (deleted)", "Active": False,
                              "Notes": "Coperniq project #7"}])
    w = writer(client)
    w.add("projects", {"id": 7, "title": "Project 7"})
    w.add("invoices", invoice(1, 7))
    w.flush(final=True)
    assert client.batches == []
    (issue,) = w.report.issues
    assert "is inactive in QuickBooks" in issue.reason and "'Project 7'" in issue.reason
