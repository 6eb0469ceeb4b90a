"""The QuickBooks sandbox driven by real clients: python-quickbooks and intuit-oauth, unchanged
except for being pointed at the sandbox (discovery document URL, API base URL).

Plus focused tests of the query parser, which needs no server.
"""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import threading
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from xml.etree import ElementTree as ET

import pytest
import requests
from intuitlib.client import AuthClient
from intuitlib.exceptions import AuthClientError
from quickbooks.batch import batch_create
from quickbooks.cdc import change_data_capture
from quickbooks.client import QuickBooks
from quickbooks.exceptions import AuthorizationException, QuickbooksException
from quickbooks.objects.base import Address, CustomerMemo, EmailAddress, PhoneNumber
from quickbooks.objects.customer import Customer
from quickbooks.objects.detailline import SalesItemLine, SalesItemLineDetail
from quickbooks.objects.invoice import Invoice
from quickbooks.objects.item import Item

from integration_tests.fixtures_quickbooks import QboSandboxFactory
from sandboxes.quickbooks import ManualClock, QuickBooksSandbox
from sandboxes.quickbooks import query as qbo_query
from sandboxes.quickbooks.errors import QueryParserError, QueryValidationError
from sandboxes.quickbooks.models import PACIFIC, qbo_timestamp

pytestmark = pytest.mark.usefixtures("qbo_insecure_transport")
NS = "{http://schema.intuit.com/finance/v3}"
REDIRECT_URI = "http://localhost:8000/callback"


# --- helpers: real clients pointed at the sandbox --------------------------------------------------------


def auth_client(sandbox: QuickBooksSandbox, refresh_token: str | None = None) -> AuthClient:
    # AuthClient treats an environment that is neither "sandbox" nor "production" as a discovery URL.
    return AuthClient(sandbox.client_id, sandbox.client_secret, REDIRECT_URI, sandbox.discovery_url,
                      refresh_token=refresh_token)


def qb_client(sandbox: QuickBooksSandbox, auth: AuthClient | None = None) -> QuickBooks:
    auth = auth or auth_client(sandbox)
    client = QuickBooks(auth_client=auth, refresh_token=auth.refresh_token or sandbox.current_refresh_token,
                        company_id=sandbox.realm_id, minorversion=75)
    client.api_url_v3 = sandbox.base_url + "/v3"  # the one change: the API host
    return client


def bearer(sandbox: QuickBooksSandbox) -> str:
    response = requests.post(
        sandbox.token_url, auth=(sandbox.client_id, sandbox.client_secret),
        data={"grant_type": "refresh_token", "refresh_token": sandbox.current_refresh_token}, timeout=5,
    )
    assert response.status_code == 200, response.text
    return response.json()["access_token"]


def api(sandbox: QuickBooksSandbox, method: str, path: str, token: str, accept_json: bool = True,
        **kwargs: Any) -> requests.Response:
    headers = {"Authorization": f"Bearer {token}", **kwargs.pop("headers", {})}
    if accept_json:
        headers["Accept"] = "application/json"
    return requests.request(method, f"{sandbox.api_url}/{path}", headers=headers, timeout=5, **kwargs)


def new_customer(name: str, **fields: Any) -> Customer:
    customer = Customer()
    customer.DisplayName = name
    for key, value in fields.items():
        setattr(customer, key, value)
    return customer


def invoice_for(customer: Customer, item: Item, qty: float, price: float, amount: float | None = None) -> Invoice:
    invoice = Invoice()
    line = SalesItemLine()
    line.Amount = round(qty * price, 2) if amount is None else amount
    line.Description = "install"
    line.SalesItemLineDetail = SalesItemLineDetail()
    line.SalesItemLineDetail.ItemRef = item.to_ref()
    line.SalesItemLineDetail.Qty = qty
    line.SalesItemLineDetail.UnitPrice = price
    invoice.Line.append(line)
    invoice.CustomerRef = customer.to_ref()
    return invoice


# --- OAuth ----------------------------------------------------------------------------------------------


def test_refresh_rotates_and_the_old_refresh_token_stops_working(qbo_sandbox: QuickBooksSandbox) -> None:
    auth = auth_client(qbo_sandbox)
    auth.refresh(refresh_token=qbo_sandbox.refresh_token)
    assert auth.access_token and auth.expires_in == 3600
    assert auth.refresh_token != qbo_sandbox.refresh_token
    assert auth.refresh_token == qbo_sandbox.current_refresh_token

    with pytest.raises(AuthClientError) as error:
        auth_client(qbo_sandbox).refresh(refresh_token=qbo_sandbox.refresh_token)
    assert error.value.status_code == 400
    assert json.loads(error.value.content)["error"] == "invalid_grant"

    newest = auth.refresh_token
    auth.refresh()  # the stored (newest) token works and rotates again
    assert auth.refresh_token not in (newest, qbo_sandbox.refresh_token)


def test_server_side_rotation_invalidates_the_stored_token(qbo_sandbox: QuickBooksSandbox) -> None:
    stored = qbo_sandbox.current_refresh_token
    rotated = qbo_sandbox.rotate_refresh_token()
    with pytest.raises(AuthClientError):
        auth_client(qbo_sandbox).refresh(refresh_token=stored)
    auth_client(qbo_sandbox).refresh(refresh_token=rotated)


def test_refresh_grace_lets_the_previous_token_work_briefly(qbo_sandbox_factory: QboSandboxFactory) -> None:
    clock = ManualClock()
    sandbox = qbo_sandbox_factory(clock=clock, refresh_token_grace=30, throttle=False)
    auth = auth_client(sandbox)
    auth.refresh(refresh_token=sandbox.refresh_token)
    auth_client(sandbox).refresh(refresh_token=sandbox.refresh_token)  # within the grace
    clock.advance(31)
    with pytest.raises(AuthClientError):
        auth_client(sandbox).refresh(refresh_token=auth.refresh_token)  # superseded 31 s ago


def test_token_endpoint_rejects_bad_clients_and_grants(qbo_sandbox: QuickBooksSandbox) -> None:
    url = qbo_sandbox.token_url
    data = {"grant_type": "refresh_token", "refresh_token": qbo_sandbox.refresh_token}
    wrong = requests.post(url, auth=(qbo_sandbox.client_id, "nope"), data=data, timeout=5)
    assert (wrong.status_code, wrong.json()) == (401, {"error": "invalid_client"})
    unknown = requests.post(url, auth=(qbo_sandbox.client_id, qbo_sandbox.client_secret),
                            data={"grant_type": "password"}, timeout=5)
    assert (unknown.status_code, unknown.json()["error"]) == (400, "unsupported_grant_type")
    in_body = requests.post(url, data={**data, "client_id": qbo_sandbox.client_id,
                                       "client_secret": qbo_sandbox.client_secret}, timeout=5)
    assert in_body.status_code == 200 and in_body.json()["token_type"] == "bearer"


def test_authorization_code_flow_with_intuit_oauth(qbo_sandbox: QuickBooksSandbox) -> None:
    auth = auth_client(qbo_sandbox)
    consent = requests.get(auth.get_authorization_url([]), allow_redirects=False, timeout=5)
    assert consent.status_code == 302
    redirect = consent.headers["Location"]
    assert redirect.startswith(REDIRECT_URI) and f"realmId={qbo_sandbox.realm_id}" in redirect
    code = re.search(r"code=([^&]+)", redirect)
    assert code is not None
    auth.get_bearer_token(code.group(1), realm_id=qbo_sandbox.realm_id)
    assert auth.access_token and auth.refresh_token
    with pytest.raises(AuthClientError):  # a code is good once
        auth.get_bearer_token(code.group(1))
    auth.get_bearer_token(qbo_sandbox.authorization_code(REDIRECT_URI))


def test_expired_access_token_is_401_then_a_refresh_works(qbo_sandbox: QuickBooksSandbox) -> None:
    auth = auth_client(qbo_sandbox)
    client = qb_client(qbo_sandbox, auth)
    assert Customer.count(qb=client) > 0
    qbo_sandbox.expire_access_tokens()
    with pytest.raises(AuthorizationException) as error:
        Customer.count(qb=client)
    assert error.value.error_code == 401
    fault = json.loads(error.value.detail)["Fault"]
    assert fault["type"] == "AuthenticationFault" and fault["Error"][0]["code"] == "3200"
    auth.refresh()
    assert Customer.count(qb=qb_client(qbo_sandbox, auth)) > 0


def test_access_token_ttl_follows_the_clock(qbo_sandbox_factory: QboSandboxFactory) -> None:
    clock = ManualClock()
    sandbox = qbo_sandbox_factory(clock=clock, access_token_ttl=60, throttle=False)
    token = bearer(sandbox)
    assert api(sandbox, "GET", "companyinfo/" + sandbox.realm_id, token).status_code == 200
    clock.advance(61)
    expired = api(sandbox, "GET", "companyinfo/" + sandbox.realm_id, token)
    assert expired.status_code == 401 and "AuthenticationFailed" in expired.json()["Fault"]["Error"][0]["Message"]


def test_missing_token_unknown_realm_and_gateway_fault_shape(qbo_sandbox_factory: QboSandboxFactory) -> None:
    sandbox = qbo_sandbox_factory(throttle=False, auth_fault_style="gateway")
    no_token = requests.get(sandbox.api_url + "/companyinfo/" + sandbox.realm_id,
                            headers={"Accept": "application/json"}, timeout=5)
    assert no_token.status_code == 401
    assert no_token.json()["fault"]["error"][0]["code"] == "3200"  # lower-case gateway shape
    token = bearer(sandbox)
    unknown = requests.get(f"{sandbox.base_url}/v3/company/123/companyinfo/123",
                           headers={"Authorization": f"Bearer {token}", "Accept": "application/json"}, timeout=5)
    # No such company on this host (a wrong realm id, or the wrong environment): 404, as Intuit answers.
    assert unknown.status_code == 404 and "123" in unknown.json()["Fault"]["Error"][0]["Detail"]


# --- reads -------------------------------------------------------------------------------------------------


def test_company_info_and_paging_with_startposition_maxresults(qbo_sandbox: QuickBooksSandbox) -> None:
    client = qb_client(qbo_sandbox)
    info = client.get_single_object("CompanyInfo", qbo_sandbox.realm_id)["CompanyInfo"]
    assert info["CompanyName"]
    first = Customer.where("", start_position=1, max_results=5, qb=client)
    second = Customer.where("", start_position=6, max_results=5, qb=client)
    ids = [c.Id for c in first + second]
    assert len(first) == 5 and len(set(ids)) == len(ids)
    assert ids == sorted(ids, key=int)  # without ORDERBY: by Id
    everything = Customer.all(max_results=1000, qb=client)
    assert [c.Id for c in everything[:10]] == ids


def test_inactive_customers_are_hidden_unless_the_query_names_active(qbo_sandbox: QuickBooksSandbox) -> None:
    backend = qbo_sandbox.backend
    target = next(c for c in backend.customers.values() if c["Active"])
    name = target["DisplayName"]
    backend.deactivate_customer(target["Id"])
    client = qb_client(qbo_sandbox)
    total = len(backend.customers)
    inactive = sum(1 for c in backend.customers.values() if not c["Active"])
    assert Customer.count(qb=client) == total - inactive
    assert Customer.count("Active IN (true, false)", qb=client) == total
    assert Customer.count("Active = false", qb=client) == inactive
    hidden = Customer.where(f"Id = '{target['Id']}'", qb=client)
    assert hidden == []
    shown = Customer.where(f"Id = '{target['Id']}' AND Active = false", qb=client)
    assert shown[0].DisplayName == name + " (deleted)"  # QBO suffixes inactive names


def test_query_filters_escapes_like_in_and_dates(qbo_sandbox: QuickBooksSandbox) -> None:
    backend = qbo_sandbox.backend
    obrien = backend.add_customer(DisplayName="Seán O'Brien", PrimaryEmailAddr={"Address": "sean@example.com"})
    client = qb_client(qbo_sandbox)
    found = Customer.filter(DisplayName="Seán O'Brien", qb=client)  # python-quickbooks escapes the quote
    assert [c.Id for c in found] == [obrien["Id"]]
    assert Customer.where("DisplayName LIKE 'seán%'", qb=client)[0].Id == obrien["Id"]  # case-insensitive
    assert Customer.where("PrimaryEmailAddr = 'sean@example.com'", qb=client)[0].Id == obrien["Id"]
    ids = [c["Id"] for c in list(backend.customers.values())[:3] if c["Active"]]
    assert sorted(c.Id for c in Customer.choose(ids, qb=client)) == sorted(ids)
    since = qbo_timestamp(datetime.now(UTC) - timedelta(minutes=5))
    recent = Customer.where(f"MetaData.LastUpdatedTime >= '{since}'", qb=client)
    assert obrien["Id"] in [c.Id for c in recent]
    utc_since = (datetime.now(UTC) - timedelta(minutes=5)).strftime("%Y-%m-%dT%H:%M:%SZ")
    assert len(Customer.where(f"MetaData.LastUpdatedTime >= '{utc_since}'", qb=client)) == len(recent)
    invoices = Invoice.where(f"CustomerRef = '{next(iter(backend.invoices.values()))['CustomerRef']['value']}'",
                             order_by="TxnDate DESC", qb=client)
    dates = [i.TxnDate for i in invoices]
    assert dates and dates == sorted(dates, reverse=True)


def test_query_errors_are_qbo_faults(qbo_sandbox: QuickBooksSandbox) -> None:
    client = qb_client(qbo_sandbox)
    cases = {
        "SELECT * FROM Customer WHERE DisplayName = 'a' OR DisplayName = 'b'": 4000,
        "SELECT * FROM Customer WHERE DisplayName != 'a'": 4000,
        "SELECT * FROM Customer WHERE Id > '3'": 4001,
        "SELECT * FROM Customer WHERE Shoe = 'x'": 4001,
        "SELECT * FROM Customer MAXRESULTS 1001": 4001,
    }
    for text, code in cases.items():
        with pytest.raises(QuickbooksException) as error:
            client.query(text)
        assert error.value.error_code == code, text


def test_count_star(qbo_sandbox: QuickBooksSandbox) -> None:
    token = bearer(qbo_sandbox)
    response = api(qbo_sandbox, "POST", "query", token, data="SELECT COUNT(*) FROM Invoice",
                   headers={"Content-Type": "application/text"})
    assert response.json()["QueryResponse"] == {"totalCount": len(qbo_sandbox.backend.invoices)}
    empty = api(qbo_sandbox, "GET", "query", token, params={"query": "select * from Customer where Id = '99999'"})
    assert empty.json()["QueryResponse"] == {}  # the entity key is omitted when nothing matches
    assert "time" in empty.json()


def test_xml_unless_json_is_asked_for(qbo_sandbox: QuickBooksSandbox) -> None:
    token = bearer(qbo_sandbox)
    response = api(qbo_sandbox, "GET", "query", token, accept_json=False,
                   params={"query": "SELECT * FROM Customer MAXRESULTS 2"})
    assert response.status_code == 200 and response.headers["Content-Type"].startswith("application/xml")
    root = ET.fromstring(response.content)
    assert root.tag == NS + "IntuitResponse" and root.get("time")
    page = root.find(NS + "QueryResponse")
    assert page is not None and page.get("maxResults") == "2"
    assert len(page.findall(NS + "Customer")) == 2
    fault = api(qbo_sandbox, "GET", "query", token, accept_json=False,
                params={"query": "SELECT * FROM Customer WHERE Active = true OR Id = '1'"})
    error = ET.fromstring(fault.content).find(f"{NS}Fault/{NS}Error")
    assert fault.status_code == 400 and error is not None and error.get("code") == "4000"
    assert error.findtext(NS + "Message") == "Error parsing query"


# --- customer writes ------------------------------------------------------------------------------------


def test_create_customer_then_read_it_back(qbo_sandbox: QuickBooksSandbox) -> None:
    client = qb_client(qbo_sandbox)
    customer = new_customer("Zoë Nguyễn Solar", GivenName="Zoë", FamilyName="Nguyễn")
    customer.BillAddr = Address()
    customer.BillAddr.Line1, customer.BillAddr.City = "12 Juniper Way", "Reno"
    customer.BillAddr.CountrySubDivisionCode, customer.BillAddr.PostalCode = "NV", "89501"
    customer.PrimaryPhone = PhoneNumber()
    customer.PrimaryPhone.FreeFormNumber = "(775) 555-0100"
    customer.PrimaryEmailAddr = EmailAddress()
    customer.PrimaryEmailAddr.Address = "zoe@example.com"
    saved = customer.save(qb=client)
    read = Customer.get(saved.Id, qb=client)
    assert (read.DisplayName, read.SyncToken, read.BillAddr.City) == ("Zoë Nguyễn Solar", "0", "Reno")
    assert read.PrimaryEmailAddr.Address == "zoe@example.com" and read.Active is True
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d[-+]\d\d:\d\d", read.MetaData["CreateTime"])
    derived = Customer()
    derived.GivenName, derived.FamilyName = "Ada", "Quill"
    assert derived.save(qb=client).DisplayName == "Ada Quill"  # QBO builds DisplayName from the names
    with pytest.raises(QuickbooksException) as error:
        Customer().save(qb=client)
    assert error.value.error_code == 2020


def test_sparse_update_changes_only_what_is_sent(qbo_sandbox: QuickBooksSandbox) -> None:
    client = qb_client(qbo_sandbox)
    original = next(c for c in qbo_sandbox.backend.customers.values() if c["Active"] and c.get("PrimaryPhone"))
    body = {"Id": original["Id"], "SyncToken": original["SyncToken"], "sparse": True, "Notes": "Gate code 4411"}
    updated = client.update_object("Customer", json.dumps(body))["Customer"]
    assert updated["Notes"] == "Gate code 4411" and updated["PrimaryPhone"] == original["PrimaryPhone"]
    assert int(updated["SyncToken"]) == int(original["SyncToken"]) + 1
    assert updated["MetaData"]["LastUpdatedTime"] >= original["MetaData"]["LastUpdatedTime"]


def test_full_update_clears_omitted_fields(qbo_sandbox: QuickBooksSandbox) -> None:
    client = qb_client(qbo_sandbox)
    original = next(c for c in qbo_sandbox.backend.customers.values() if c["Active"] and c.get("PrimaryPhone"))
    body = {"Id": original["Id"], "SyncToken": original["SyncToken"], "DisplayName": original["DisplayName"]}
    updated = client.update_object("Customer", json.dumps(body))["Customer"]
    assert "PrimaryPhone" not in updated and "BillAddr" not in updated
    missing_name = {"Id": original["Id"], "SyncToken": updated["SyncToken"], "Notes": "x"}
    with pytest.raises(QuickbooksException) as error:  # a full update is not a blind merge
        client.update_object("Customer", json.dumps(missing_name))
    assert error.value.error_code == 2020


def test_python_quickbooks_get_modify_save_round_trip(qbo_sandbox: QuickBooksSandbox) -> None:
    client = qb_client(qbo_sandbox)
    customer = Customer.all(max_results=1, qb=client)[0]
    customer.GivenName = "Renamed"
    saved = customer.save(qb=client)  # a full update carrying everything it read
    assert saved.GivenName == "Renamed" and saved.BillAddr.Line1 == customer.BillAddr.Line1


def test_stale_sync_token_is_fault_5010(qbo_sandbox: QuickBooksSandbox) -> None:
    client = qb_client(qbo_sandbox)
    first = Customer.all(max_results=1, qb=client)[0]
    second = Customer.get(first.Id, qb=client)
    first.Notes = "edited by the first"
    first.save(qb=client)
    second.Notes = "edited by the second"
    with pytest.raises(QuickbooksException) as error:
        second.save(qb=client)
    assert error.value.error_code == 5010 and error.value.message == "Stale Object Error"


def test_duplicate_display_name_across_customers_vendors_and_inactive(qbo_sandbox: QuickBooksSandbox) -> None:
    client = qb_client(qbo_sandbox)
    backend = qbo_sandbox.backend
    existing = next(c for c in backend.customers.values() if c["Active"])
    with pytest.raises(QuickbooksException) as error:
        new_customer(existing["DisplayName"].upper()).save(qb=client)  # case-insensitive
    assert error.value.error_code == 6240 and f"Id={existing['Id']}" in error.value.detail

    vendor = next(v for v in backend.vendors.values() if v["DisplayName"] == "Maria Garcia")
    with pytest.raises(QuickbooksException) as error:
        new_customer("Maria Garcia").save(qb=client)
    assert error.value.detail == f"The name supplied already exists. : Id={vendor['Id']}"

    employee = next(iter(backend.employees.values()))
    with pytest.raises(QuickbooksException):
        new_customer(employee["DisplayName"]).save(qb=client)

    gone = backend.add_customer(DisplayName="Former Client")
    backend.deactivate_customer(gone["Id"])
    with pytest.raises(QuickbooksException) as error:
        new_customer("Former Client").save(qb=client)
    assert f"Id={gone['Id']}" in error.value.detail


def test_customers_cannot_be_deleted_and_field_rules(qbo_sandbox: QuickBooksSandbox) -> None:
    client = qb_client(qbo_sandbox)
    customer = Customer.all(max_results=1, qb=client)[0]
    with pytest.raises(QuickbooksException) as error:
        client.delete_object("Customer", json.dumps({"Id": customer.Id, "SyncToken": customer.SyncToken}))
    assert error.value.error_code == 500
    with pytest.raises(QuickbooksException) as error:
        client.create_object("Customer", json.dumps({"DisplayName": "x", "Shoe": "42"}))
    assert error.value.error_code == 2010
    with pytest.raises(QuickbooksException) as error:
        client.create_object("Customer", json.dumps({"DisplayName": "y" * 501}))
    assert error.value.error_code == 2050
    with pytest.raises(QuickbooksException) as error:
        client.create_object("Customer", json.dumps({"DisplayName": "z", "Notes": "n" * 4001}))
    assert error.value.error_code == 2050
    with pytest.raises(QuickbooksException) as error:
        Customer.get("99999", qb=client)
    assert error.value.error_code == 610


# --- invoices ---------------------------------------------------------------------------------------------


def test_invoice_totals_are_computed_not_taken(qbo_sandbox: QuickBooksSandbox) -> None:
    client = qb_client(qbo_sandbox)
    customer = Customer.all(max_results=1, qb=client)[0]
    solar = Item.filter(Name="Solar Panel Installation", qb=client)[0]
    permit = Item.filter(Name="Permit Fee", qb=client)[0]
    invoice = invoice_for(customer, solar, 2, 18500.10)
    extra = invoice_for(customer, permit, 3, 33.333, amount=100.0)
    invoice.Line.append(extra.Line[0])
    invoice.TotalAmt = 1  # read-only: ignored
    invoice.CustomerMemo = CustomerMemo()
    invoice.CustomerMemo.value = "Thanks!"
    saved = invoice.save(qb=client)
    assert saved.TotalAmt == 37100.20 and saved.Balance == 37100.20
    assert saved.DocNumber and saved.CustomerMemo.value == "Thanks!"
    sales = [line for line in saved.Line if line.DetailType == "SalesItemLineDetail"]
    assert [line.Id for line in sales] == ["1", "2"] and [line.LineNum for line in sales] == [1, 2]
    assert saved.Line[-1].DetailType == "SubTotalLineDetail"
    qbo_sandbox.backend.record_payment(saved.Id, 100.20)
    assert Invoice.get(saved.Id, qb=client).Balance == 37000.0


def test_invoice_validation_faults(qbo_sandbox: QuickBooksSandbox) -> None:
    client = qb_client(qbo_sandbox)
    customer = Customer.all(max_results=1, qb=client)[0]
    item = Item.filter(Name="HVAC Tune-up", qb=client)[0]

    def code_of(invoice: Invoice | dict[str, Any]) -> int:
        with pytest.raises(QuickbooksException) as error:
            if isinstance(invoice, dict):
                client.create_object("Invoice", json.dumps(invoice))
            else:
                invoice.save(qb=client)
        return int(error.value.error_code)

    assert code_of(invoice_for(customer, item, 2, 189, amount=400)) == 6070
    no_customer = invoice_for(customer, item, 1, 189)
    no_customer.CustomerRef = None
    assert code_of(no_customer) == 2020
    ghost = invoice_for(customer, item, 1, 189)
    ghost.CustomerRef.value = "99999"
    assert code_of(ghost) == 2500
    bad_item = invoice_for(customer, item, 1, 189)
    bad_item.Line[0].SalesItemLineDetail.ItemRef.value = "99999"
    assert code_of(bad_item) == 2500
    long_doc = invoice_for(customer, item, 1, 189)
    long_doc.DocNumber = "D" * 22
    assert code_of(long_doc) == 2050
    assert code_of({"CustomerRef": {"value": customer.Id}, "Line": []}) == 2020
    unknown_field = {"CustomerRef": {"value": customer.Id}, "Line": [{"DetailType": "SalesItemLineDetail",
                     "Amount": 1, "SalesItemLineDetail": {"ItemRef": {"value": item.Id}}}], "Colour": "red"}
    assert code_of(unknown_field) == 2010


def test_invoice_sparse_and_full_updates_and_custom_fields(qbo_sandbox: QuickBooksSandbox) -> None:
    client = qb_client(qbo_sandbox)
    customer = Customer.all(max_results=1, qb=client)[0]
    item = Item.filter(Name="Roof Inspection", qb=client)[0]
    created = invoice_for(customer, item, 1, 350)
    created.PrivateNote = "ladder needed"
    saved = created.save(qb=client)
    sparse = {"Id": saved.Id, "SyncToken": saved.SyncToken, "sparse": True,
              "CustomField": [{"DefinitionId": "2", "Type": "StringType", "StringValue": "PO-7781"}]}
    updated = client.update_object("Invoice", json.dumps(sparse))["Invoice"]
    assert updated["PrivateNote"] == "ladder needed" and updated["TotalAmt"] == 350
    po = next(f for f in updated["CustomField"] if f["DefinitionId"] == "2")
    assert po == {"DefinitionId": "2", "Name": "PO Number", "Type": "StringType", "StringValue": "PO-7781"}
    full = {"Id": saved.Id, "SyncToken": updated["SyncToken"], "CustomerRef": {"value": customer.Id},
            "Line": [line for line in updated["Line"] if line["DetailType"] != "SubTotalLineDetail"]}
    cleared = client.update_object("Invoice", json.dumps(full))["Invoice"]
    assert "PrivateNote" not in cleared and "DocNumber" not in cleared
    assert [line["Id"] for line in cleared["Line"][:-1]] == ["1"]
    undefined = {**sparse, "SyncToken": cleared["SyncToken"],
                 "CustomField": [{"DefinitionId": "4", "Type": "StringType", "StringValue": "x"}]}
    with pytest.raises(QuickbooksException) as error:
        client.update_object("Invoice", json.dumps(undefined))
    assert error.value.error_code == 6000


def test_invoice_for_an_inactive_customer_is_refused(qbo_sandbox: QuickBooksSandbox) -> None:
    client = qb_client(qbo_sandbox)
    customer = Customer.all(max_results=1, qb=client)[0]
    qbo_sandbox.backend.deactivate_customer(customer.Id)
    with pytest.raises(QuickbooksException) as error:
        invoice_for(customer, Item.all(max_results=1, qb=client)[0], 1, 10).save(qb=client)
    assert error.value.error_code == 2500 and "inactive" in error.value.detail


def test_deleted_invoice_is_gone_and_comes_back_in_cdc(qbo_sandbox: QuickBooksSandbox) -> None:
    client = qb_client(qbo_sandbox)
    customer = Customer.all(max_results=1, qb=client)[0]
    invoice = invoice_for(customer, Item.all(max_results=1, qb=client)[0], 1, 99).save(qb=client)
    doomed = invoice_for(customer, Item.all(max_results=1, qb=client)[0], 1, 42).save(qb=client)
    doomed.delete(qb=client)
    with pytest.raises(QuickbooksException) as error:
        Invoice.get(doomed.Id, qb=client)
    assert error.value.error_code == 610
    since = datetime.now(PACIFIC) - timedelta(minutes=10)
    changes = change_data_capture([Invoice, Customer], since.isoformat(timespec="seconds"), qb=client)
    by_id = {i.Id: i for i in changes.Invoice}
    assert by_id[doomed.Id].status == "Deleted" and by_id[invoice.Id].TotalAmt == 99
    assert not hasattr(changes, "Customer") or all(c.Id for c in changes.Customer)
    with pytest.raises(QuickbooksException):
        change_data_capture([Invoice], (datetime.now(UTC) - timedelta(days=31)).isoformat(), qb=client)


# --- batch, requestid ------------------------------------------------------------------------------------


def test_batch_of_thirty_succeeds_and_items_fail_independently(qbo_sandbox: QuickBooksSandbox) -> None:
    client = qb_client(qbo_sandbox)
    result = batch_create([new_customer(f"Batch Customer {n}") for n in range(30)], qb=client)
    assert len(result.successes) == 30 and not result.faults
    assert qbo_sandbox.log.count("POST", r"/batch$") == 1
    taken = next(c for c in qbo_sandbox.backend.customers.values() if c["Active"])["DisplayName"]
    mixed = batch_create([new_customer("Batch Fresh A"), new_customer(taken), new_customer("Batch Fresh B")],
                         qb=client)
    assert len(mixed.successes) == 2 and mixed.faults[0].Error[0].code == "6240"


def test_batch_over_thirty_is_rejected_whole(qbo_sandbox: QuickBooksSandbox) -> None:
    client = qb_client(qbo_sandbox)
    before = len(qbo_sandbox.backend.customers)
    items = [{"bId": f"b{n}", "operation": "create", "Customer": {"DisplayName": f"Too Many {n}"}}
             for n in range(31)]
    with pytest.raises(QuickbooksException) as error:
        client.batch_operation(json.dumps({"BatchItemRequest": items}))
    assert error.value.error_code == 6000 and len(qbo_sandbox.backend.customers) == before


def test_batch_items_cannot_use_what_the_batch_creates(qbo_sandbox: QuickBooksSandbox) -> None:
    client = qb_client(qbo_sandbox)
    next_id = str(max(int(i) for i in qbo_sandbox.backend.customers) + 1)
    item_id = next(iter(qbo_sandbox.backend.items))
    line = {"DetailType": "SalesItemLineDetail", "Amount": 10, "SalesItemLineDetail": {"ItemRef": {"value": item_id}}}
    answer = client.batch_operation(json.dumps({"BatchItemRequest": [
        {"bId": "c", "operation": "create", "Customer": {"DisplayName": "Made In Batch"}},
        {"bId": "i", "operation": "create", "Invoice": {"CustomerRef": {"value": next_id}, "Line": [line]}},
        {"bId": "q", "Query": "SELECT COUNT(*) FROM Customer"},
    ]}))
    by_id = {item["bId"]: item for item in answer["BatchItemResponse"]}
    assert by_id["c"]["Customer"]["Id"] == next_id
    assert by_id["i"]["Fault"]["Error"][0]["code"] == "2500"
    assert "totalCount" in by_id["q"]["QueryResponse"]


def test_requestid_makes_a_post_idempotent(qbo_sandbox: QuickBooksSandbox) -> None:
    client = qb_client(qbo_sandbox)
    request_id = str(uuid.uuid4())
    before = qbo_sandbox.backend.counts()
    first = new_customer("Idempotent Ida").save(qb=client, request_id=request_id)
    again = new_customer("Idempotent Ida, different body").save(qb=client, request_id=request_id)
    assert first.Id == again.Id and again.DisplayName == "Idempotent Ida"
    after = qbo_sandbox.backend.counts()
    assert after["customers"] == before["customers"] + 1 and after["writes"] == before["writes"] + 1
    assert qbo_sandbox.log.count("POST", r"/customer$") == 2


def test_requestid_on_batch_and_under_concurrency(qbo_sandbox: QuickBooksSandbox) -> None:
    token = bearer(qbo_sandbox)
    body = {"BatchItemRequest": [{"bId": "1", "operation": "create", "Customer": {"DisplayName": "Racer"}}]}
    before = len(qbo_sandbox.backend.customers)
    answers: list[dict[str, Any]] = []

    def post() -> None:
        answers.append(api(qbo_sandbox, "POST", "batch", token, params={"requestid": "race-1"}, json=body).json())

    threads = [threading.Thread(target=post) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(qbo_sandbox.backend.customers) == before + 1
    assert len({a["BatchItemResponse"][0]["Customer"]["Id"] for a in answers}) == 1


# --- throttling ----------------------------------------------------------------------------------------


def test_throttle_per_second_and_per_minute(qbo_sandbox_factory: QboSandboxFactory) -> None:
    clock = ManualClock()
    sandbox = qbo_sandbox_factory(clock=clock, requests_per_second=3, requests_per_minute=5)
    token = bearer(sandbox)
    path = "companyinfo/" + sandbox.realm_id
    assert [api(sandbox, "GET", path, token).status_code for _ in range(3)] == [200, 200, 200]
    throttled = api(sandbox, "GET", path, token)
    assert throttled.status_code == 429 and "Retry-After" not in throttled.headers
    error = ET.fromstring(throttled.content).find(f"{NS}Fault/{NS}Error")  # XML even though JSON was asked
    assert error is not None and error.get("code") == "3001"
    clock.advance(1.0)
    assert [api(sandbox, "GET", path, token).status_code for _ in range(3)] == [200, 200, 429]  # 5 a minute
    clock.advance(59.0)
    assert api(sandbox, "GET", path, token).status_code == 200


def test_throttle_time_scale_and_batch_limit(qbo_sandbox_factory: QboSandboxFactory) -> None:
    clock = ManualClock()
    sandbox = qbo_sandbox_factory(clock=clock, time_scale=0.1, batches_per_minute=2, throttle_retry_after=60)
    token = bearer(sandbox)
    body = {"BatchItemRequest": [{"bId": "q", "Query": "SELECT COUNT(*) FROM Customer"}]}
    codes = [api(sandbox, "POST", "batch", token, json=body).status_code for _ in range(3)]
    assert codes == [200, 200, 429]
    assert api(sandbox, "POST", "batch", token, json=body).headers["Retry-After"] == "60"
    clock.advance(6.0)  # a scaled minute
    assert api(sandbox, "POST", "batch", token, json=body).status_code == 200


# --- harness: faults and log, console script ------------------------------------------------------------


def test_injected_faults_answer_with_qbo_bodies_and_are_logged(qbo_sandbox: QuickBooksSandbox) -> None:
    client = qb_client(qbo_sandbox)
    qbo_sandbox.log.clear()
    qbo_sandbox.faults.inject(503, path=r"/query$")
    with pytest.raises(QuickbooksException) as error:
        Customer.all(qb=client)
    assert error.value.error_code == 10000
    assert len(Customer.all(max_results=3, qb=client)) == 3
    entries = [e for e in qbo_sandbox.log.entries() if e.path.endswith("/query")]
    assert [(e.status, e.fault) for e in entries] == [(503, True), (200, False)]
    admin = requests.get(qbo_sandbox.base_url + "/_sandbox/requests", timeout=5).json()
    assert admin["count"] == len(qbo_sandbox.log.entries())


def test_console_script_starts_and_answers(tmp_path: Path) -> None:
    script = Path(sys.executable).with_name("quickbooks-sandbox")
    command = [str(script)] if script.exists() else [sys.executable, "-m", "sandboxes.quickbooks.cli"]
    process = subprocess.Popen(
        [*command, "--port", "0", "--customers", "5", "--invoices", "3", "--refresh-token", "cli-token"],
        stdout=subprocess.PIPE, text=True, env={**os.environ, "PYTHONUNBUFFERED": "1"},
        cwd=Path(__file__).resolve().parents[1],
    )
    try:
        assert process.stdout is not None
        lines = [process.stdout.readline() for _ in range(4)]
        base = re.search(r"API base URL:\s+(\S+)", "".join(lines))
        token_url = re.search(r"token URL:\s+(\S+)", "".join(lines))
        assert base and token_url, lines
        token = requests.post(token_url.group(1), auth=("sandbox-client", "sandbox-secret"),
                              data={"grant_type": "refresh_token", "refresh_token": "cli-token"}, timeout=5)
        access = token.json()["access_token"]
        answer = requests.get(base.group(1) + "/v3/company/9130357/query",
                              params={"query": "select count(*) from Customer where Active in (true, false)"},
                              headers={"Authorization": f"Bearer {access}", "Accept": "application/json"}, timeout=5)
        assert answer.json()["QueryResponse"]["totalCount"] == 5
    finally:
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=10) == 0


def test_minorversion_is_accepted(qbo_sandbox: QuickBooksSandbox) -> None:
    token = bearer(qbo_sandbox)
    for version in ("75", "65", "999"):
        response = api(qbo_sandbox, "GET", "companyinfo/" + qbo_sandbox.realm_id, token,
                       params={"minorversion": version})
        assert response.status_code == 200


def test_void_xml_body_gap_reset_and_second_company(qbo_sandbox: QuickBooksSandbox) -> None:
    client = qb_client(qbo_sandbox)
    customer = Customer.all(max_results=1, qb=client)[0]
    invoice = invoice_for(customer, Item.all(max_results=1, qb=client)[0], 1, 75).save(qb=client)
    voided = invoice.void(qb=client)["Invoice"]
    assert (voided["TotalAmt"], voided["Balance"], voided["PrivateNote"]) == (0, 0, "Voided")
    token = bearer(qbo_sandbox)
    xml = api(qbo_sandbox, "POST", "customer", token, data="<Customer/>", headers={"Content-Type": "application/xml"})
    assert xml.status_code == 415 and xml.json()["Fault"]["type"] == "SystemFault"
    names = {c["DisplayName"] for c in qbo_sandbox.backend.customers.values()}
    qbo_sandbox.backend.add_customer(DisplayName="Before Reset")
    qbo_sandbox.reset()
    assert {c["DisplayName"] for c in qbo_sandbox.backend.customers.values()} == names
    other = qbo_sandbox.add_company("4620816365", customers=3)
    other_token = requests.post(
        qbo_sandbox.token_url, auth=(qbo_sandbox.client_id, qbo_sandbox.client_secret), timeout=5,
        data={"grant_type": "refresh_token", "refresh_token": qbo_sandbox.refresh_token_for("4620816365")},
    ).json()["access_token"]
    count = requests.get(
        f"{qbo_sandbox.base_url}/v3/company/4620816365/query", timeout=5,
        params={"query": "SELECT COUNT(*) FROM Customer WHERE Active IN (true, false)"},
        headers={"Authorization": f"Bearer {other_token}", "Accept": "application/json"},
    )
    assert count.json()["QueryResponse"]["totalCount"] == len(other.customers) == 3
    assert api(qbo_sandbox, "GET", "companyinfo/" + qbo_sandbox.realm_id, other_token).status_code == 403


# --- the query parser on its own ------------------------------------------------------------------------

RECORDS = [
    {"Id": "1", "DisplayName": "O'Brien Roofing", "Active": True, "Balance": 10.5,
     "PrimaryEmailAddr": {"Address": "a@x.com"}, "MetaData": {"LastUpdatedTime": "2024-05-01T10:00:00-07:00"}},
    {"Id": "2", "DisplayName": "back\\slash", "Active": True, "Balance": 0,
     "MetaData": {"LastUpdatedTime": "2024-05-01T18:00:00+00:00"}},
    {"Id": "10", "DisplayName": "Zed", "Active": False, "Balance": 99,
     "MetaData": {"LastUpdatedTime": "2023-01-01T00:00:00-08:00"}},
]


def run(text: str) -> list[str]:
    result = qbo_query.execute(qbo_query.parse(text), RECORDS, PACIFIC)
    return [row["Id"] for row in result.rows]


@pytest.mark.parametrize(
    ("text", "ids"),
    [
        pytest.param(r"SELECT * FROM Customer WHERE DisplayName = 'O\'Brien Roofing'", ["1"], id="quote-escape"),
        pytest.param(r"select * from customer where displayname = 'back\\slash'", ["2"], id="backslash-escape"),
        pytest.param("SELECT * FROM Customer WHERE Id IN ('1', '10') AND Active IN (true, false)", ["1", "10"],
                     id="in"),
        pytest.param("SELECT * FROM Customer WHERE DisplayName LIKE '%roof%'", ["1"], id="like"),
        pytest.param("SELECT * FROM Customer WHERE PrimaryEmailAddr = 'A@X.COM'", ["1"], id="dotted-email"),
        pytest.param("SELECT * FROM Customer WHERE Balance >= 0 ORDERBY Balance DESC", ["1", "2"], id="orderby"),
        pytest.param("SELECT * FROM Customer WHERE Active = false", ["10"], id="inactive"),
        pytest.param("SELECT * FROM Customer ORDER BY DisplayName DESC STARTPOSITION 2 MAXRESULTS 1", ["2"],
                     id="paging"),
        # 17:00 UTC is 10:00 PDT: offsets are compared as instants.
        pytest.param("SELECT * FROM Customer WHERE MetaData.LastUpdatedTime > '2024-05-01T17:00:00Z'", ["2"],
                     id="instant"),
        pytest.param("SELECT * FROM Customer WHERE MetaData.LastUpdatedTime <= '2024-05-01T10:00:00'", ["1"],
                     id="naive-is-pacific"),
    ],
)
def test_query_parser_evaluates(text: str, ids: list[str]) -> None:
    assert run(text) == ids


@pytest.mark.parametrize(
    ("text", "fault"),
    [
        pytest.param("SELECT * FROM Customer WHERE Active = true OR Id = '1'", QueryParserError, id="or"),
        pytest.param("SELECT * FROM Customer WHERE Id <> '1'", QueryParserError, id="not-equal"),
        pytest.param("SELECT * FROM Customer WHERE DisplayName = 'open", QueryParserError, id="unterminated"),
        pytest.param("SELECT * FROM Customer WHERE DisplayName = \"x\"", QueryParserError, id="double-quotes"),
        pytest.param("SELECT * FROM Customer;", QueryParserError, id="semicolon"),
        pytest.param("", QueryParserError, id="empty"),
        pytest.param("SELECT * FROM Customer WHERE Id LIKE '1%'", QueryValidationError, id="id-like"),
        pytest.param("SELECT * FROM Customer WHERE Balance = 'lots'", QueryValidationError, id="bad-number"),
        pytest.param("SELECT * FROM Customer ORDERBY Shoe", QueryValidationError, id="order-unknown"),
        pytest.param("SELECT * FROM Customer STARTPOSITION 0", QueryValidationError, id="start-zero"),
        pytest.param("SELECT * FROM Payment", QueryValidationError, id="not-modelled"),
    ],
)
def test_query_parser_faults(text: str, fault: type[Exception]) -> None:
    with pytest.raises(fault):
        qbo_query.execute(qbo_query.parse(text), RECORDS, PACIFIC)


def test_escape_literal_round_trips() -> None:
    value = "Bob's \\ shop"
    parsed = qbo_query.parse(f"SELECT * FROM Customer WHERE DisplayName = {qbo_query.escape_literal(value)}")
    assert parsed.where[0].values == (value,)
    assert qbo_query.parse("SELECT *, Sku FROM Item").fields is None
    assert qbo_query.parse("SELECT COUNT(*) FROM Invoice").count
