"""The bridge's session logic against the company-file model, without HTTP: what a Web Connector session does."""

from __future__ import annotations

from typing import Any

import pytest

from mapping.coperniq_to_qbo import customer_fields
from mapping.qbd import customer_elements, suffixed_desktop_name
from quickbooks_desktop_bridge.api import qwc_file
from quickbooks_desktop_bridge.service import Bridge
from quickbooks_desktop_bridge.store import Store
from sandboxes.quickbooks_desktop.models import CompanyFile
from sandboxes.quickbooks_desktop.seed import seed_company


@pytest.fixture
def bridge() -> Bridge:
    return Bridge(Store("sqlite://"), "qbwc", "secret")


@pytest.fixture
def company() -> CompanyFile:
    return seed_company(CompanyFile(), customers=3, invoices=2, seed=1)


def session(bridge: Bridge, company: CompanyFile, lose_at: int | None = None) -> tuple[int, int]:
    """One Web Connector session; (message sets, qbXML requests)."""
    ticket, verdict = bridge.authenticate("qbwc", "secret")
    assert verdict == ""
    sets = requests = 0
    while True:
        xml = bridge.send_request_xml(ticket)
        if not xml:
            break
        sets += 1
        requests += xml.count("Rq requestID=")
        answer = company.process(xml)
        if sets == lose_at:
            return sets, requests
        if bridge.receive_response_xml(ticket, answer, "", "") >= 100:
            break
    bridge.close_connection(ticket)
    return sets, requests


def customer_add(project_id: int, title: str, **extra: Any) -> dict[str, Any]:
    desired = customer_fields({"id": project_id, "title": title}, None)
    desired.pop("CurrencyRef")
    return {"elements": customer_elements(desired), "project_id": project_id, "desired": desired,
            "alternate_name": suffixed_desktop_name(title, project_id), **extra}


def test_wrong_password_is_nvu(bridge: Bridge) -> None:
    assert bridge.authenticate("qbwc", "wrong") == ["", "nvu"]


def test_the_first_session_mirrors_the_company_inactive_customers_and_names_included(bridge: Bridge,
                                                                                     company: CompanyFile) -> None:
    company.edit_customer(next(iter(company.customers)), IsActive="false")
    sets, requests = session(bridge, company)
    assert (sets, requests) == (1, 7)  # two iterators, three name lists, two deletion queries: one message set
    assert len(bridge.store.changes("customer", 0, 100)) == 3
    assert {r["Name"] for r in bridge.store.changes("name", 0, 100)} == {"Austin Solar Supply", "Dana Whitfield",
                                                                         "Petty Cash"}
    assert session(bridge, company) == (1, 7)
    assert bridge.store.changes("customer", 3, 100) == [], "re-read boundary records get no new sequence number"


def test_iterators_page_until_nothing_remains(bridge: Bridge, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("quickbooks_desktop_bridge.service.PAGE_SIZE", 2)
    company = seed_company(CompanyFile(), customers=5, invoices=0, seed=2)
    sets, _ = session(bridge, company)
    assert sets == 3 and len(bridge.store.changes("customer", 0, 100)) == 5


def test_a_taken_name_falls_back_to_the_suffixed_name(bridge: Bridge, company: CompanyFile) -> None:
    company.add_name("Vendor", "Okafor Residence")
    bridge.store.enqueue("k1", "CustomerAdd", "project:42", customer_add(42, "Okafor Residence"))
    session(bridge, company)
    job = bridge.store.list_jobs()[0]
    assert job["status"] == "done"
    assert company.customers[job["result_id"]]["Name"] == "Okafor Residence (Coperniq #42)"


def test_an_out_of_date_edit_sequence_is_reread_and_recomputed(bridge: Bridge, company: CompanyFile) -> None:
    session(bridge, company)
    list_id, current = next(iter(company.customers.items()))
    desired = {"DisplayName": "Renamed Residence"}
    bridge.store.enqueue("k2", "CustomerMod", "project:7", {
        "elements": {"Name": "Renamed Residence"}, "desired": desired, "project_id": 7,
        "ListID": list_id, "EditSequence": current["EditSequence"]})
    company.edit_customer(list_id, Phone="(512) 555-0177")  # the bookkeeper, meanwhile
    session(bridge, company)
    assert company.customers[list_id]["Name"] == "Renamed Residence"
    assert company.customers[list_id]["Phone"] == "(512) 555-0177"
    assert bridge.store.list_jobs()[0]["status"] == "done"


def test_a_mod_already_applied_is_recomputed_to_nothing(bridge: Bridge, company: CompanyFile) -> None:
    session(bridge, company)
    list_id, current = next(iter(company.customers.items()))
    bridge.store.enqueue("k3", "CustomerMod", "project:7", {
        "elements": {"Name": "Same"}, "desired": {"DisplayName": "Same"}, "project_id": 7,
        "ListID": list_id, "EditSequence": current["EditSequence"]})
    company.edit_customer(list_id, Name="Same")
    writes = company.writes()
    session(bridge, company)
    assert company.writes() == writes + 1  # the refused Mod; the re-read finds nothing left to send
    assert bridge.store.list_jobs()[0]["message"] == "nothing left to change after a re-read"


def test_a_lost_answer_is_found_by_its_marker_and_never_added_twice(bridge: Bridge, company: CompanyFile) -> None:
    bridge.store.enqueue("k4", "CustomerAdd", "project:42", customer_add(42, "Okafor Residence"))
    session(bridge, company, lose_at=2)
    assert bridge.store.list_jobs()[0]["status"] == "sent"
    session(bridge, company)
    job = bridge.store.list_jobs()[0]
    assert job["status"] == "done" and job["message"] == "found in QuickBooks after its answer was lost"
    assert sum("Coperniq project #42" in (c.get("Notes") or "") for c in company.customers.values()) == 1


def test_an_invoice_waits_for_the_customer_it_belongs_to(bridge: Bridge, company: CompanyFile) -> None:
    bridge.store.enqueue("c", "CustomerAdd", "project:42", customer_add(42, "Okafor Residence"))
    bridge.store.enqueue("i", "InvoiceAdd", "invoice:5", {"invoice_id": 5, "elements": {
        "RefNumber": "1001", "Memo": "Coperniq invoice #5",
        "InvoiceLineAdd": [{"ItemRef": {"FullName": "Services"}, "Amount": "100.00"}]}}, depends_on="c")
    session(bridge, company)
    customer_job, invoice_job = bridge.store.list_jobs()
    assert invoice_job["status"] == "done"
    assert company.invoices[invoice_job["result_id"]]["CustomerRef"]["ListID"] == customer_job["result_id"]


def test_a_refused_message_set_leaves_the_jobs_pending(bridge: Bridge, company: CompanyFile) -> None:
    bridge.store.enqueue("k5", "CustomerAdd", "project:43", customer_add(43, "Rossi Residence"))
    ticket, _ = bridge.authenticate("qbwc", "secret")
    bridge.receive_response_xml(ticket, company.process(bridge.send_request_xml(ticket)), "", "")
    bridge.send_request_xml(ticket)
    assert bridge.receive_response_xml(ticket, "", "0x80040400", "parse error") < 0
    assert "0x80040400" in bridge.get_last_error(ticket)
    assert bridge.store.list_jobs()[0]["status"] == "pending"


def test_the_qwc_file_names_the_service_and_the_user() -> None:
    text = qwc_file("https://bridge.example.com/qbwc", "qbwc", "OWNER", "FILE")
    assert "<AppURL>https://bridge.example.com/qbwc</AppURL>" in text and "<UserName>qbwc</UserName>" in text
    assert "<OwnerID>{OWNER}</OwnerID>" in text and "<QBType>QBFS</QBType>" in text


def test_the_api_and_the_qwc_file_need_the_api_key() -> None:
    from werkzeug.test import Client

    from quickbooks_desktop_bridge.api import BridgeApp

    client = Client(BridgeApp(Store("sqlite://"), "qbwc", "secret", "key-1"))
    assert client.get("/api/v1/status").status_code == 401
    assert client.get("/api/v1/status", headers={"x-api-key": "key-1"}).status_code == 200
    assert client.get("/qwc").status_code == 401
    qwc = client.get("/qwc?api_key=key-1")
    assert qwc.status_code == 200 and "<AppURL>http://localhost/qbwc</AppURL>" in qwc.get_data(as_text=True)
    wsdl = client.get("/qbwc?wsdl").get_data(as_text=True)
    assert 'targetNamespace="http://developer.intuit.com/"' in wsdl
    for operation in ("serverVersion", "clientVersion", "authenticate", "sendRequestXML", "receiveResponseXML",
                      "connectionError", "getLastError", "closeConnection"):
        assert f'<wsdl:operation name="{operation}"' in wsdl


def test_deletions_reach_the_mirror_as_cdc_records_once(bridge: Bridge, company: CompanyFile) -> None:
    session(bridge, company)
    seq = max(r["_bridge_seq"] for r in bridge.store.changes("customer", 0, 100))
    list_id = next(iter(company.customers))
    txn_id = next(iter(company.invoices))
    company.delete_invoice(txn_id)
    company.delete_customer(list_id)
    session(bridge, company)
    changed = bridge.store.changes("customer", seq, 100)
    assert [(r["ListID"], bool(r.get("_ab_cdc_deleted_at"))) for r in changed] == [(list_id, True)]
    assert any(r["TxnID"] == txn_id and r.get("_ab_cdc_deleted_at") for r in bridge.store.changes("invoice", 0, 100))
    last = max(r["_bridge_seq"] for r in changed)
    session(bridge, company)
    assert bridge.store.changes("customer", last, 100) == [], "a deletion read again is not a new change"


def test_terms_and_items_are_referenced_by_full_name(bridge: Bridge, company: CompanyFile) -> None:
    customer = next(iter(company.customers))
    line = {"ItemRef": {"FullName": "Services"}, "Amount": "100.00"}
    bridge.store.enqueue("t1", "InvoiceAdd", "invoice:8", {"invoice_id": 8, "elements": {
        "CustomerRef": {"ListID": customer}, "TermsRef": {"FullName": "Net 30"}, "InvoiceLineAdd": [line]}})
    bridge.store.enqueue("t2", "InvoiceAdd", "invoice:9", {"invoice_id": 9, "elements": {
        "CustomerRef": {"ListID": customer}, "TermsRef": {"FullName": "Net 45"}, "InvoiceLineAdd": [line]}})
    session(bridge, company)
    done, refused = bridge.store.list_jobs()
    assert company.invoices[done["result_id"]]["TermsRef"]["FullName"] == "Net 30"
    assert (refused["status"], refused["code"]) == ("failed", 3140) and "Net 45" in refused["message"]
