"""qbXML 13.0 builders and parsers: element order, envelopes, status codes, iterators."""

from __future__ import annotations

import pytest
from lxml import etree

from qbd import qbxml


def _children(xml: str, path: str) -> list[str]:
    root = etree.fromstring(xml.split("?>", 2)[-1].encode())
    return [child.tag for child in root.find(path)]


def test_customer_add_follows_the_xsd_order_whatever_the_dict_order() -> None:
    request = qbxml.Request("CustomerAdd", "j:1", {"Notes": "n", "Email": "a@b.co", "Name": "Smith",
                                                   "BillAddress": {"City": "Austin", "Addr1": "1 Main St"},
                                                   "FirstName": "Ann", "Phone": "(512) 555-0142"})
    xml = qbxml.request_document([request])
    assert xml.startswith('<?xml version="1.0" encoding="utf-8"?><?qbxml version="13.0"?>')
    assert _children(xml, "QBXMLMsgsRq/CustomerAddRq/CustomerAdd") == ["Name", "FirstName", "BillAddress", "Phone",
                                                                       "Email", "Notes"]
    assert _children(xml, "QBXMLMsgsRq/CustomerAddRq/CustomerAdd/BillAddress") == ["Addr1", "City"]
    assert 'onError="continueOnError"' in xml and 'requestID="j:1"' in xml


def test_invoice_mod_puts_ids_first_and_lines_last() -> None:
    body = {"InvoiceLineMod": [{"Amount": "10.00", "ItemRef": {"FullName": "Services"}, "TxnLineID": "-1"}],
            "Memo": "m", "RefNumber": "1001", "EditSequence": "17", "TxnID": "1A-1", "DueDate": "2026-01-02"}
    xml = qbxml.request_document([qbxml.Request("InvoiceMod", "j:2", body)])
    assert _children(xml, "QBXMLMsgsRq/InvoiceModRq/InvoiceMod") == ["TxnID", "EditSequence", "RefNumber", "DueDate",
                                                                     "Memo", "InvoiceLineMod"]
    assert _children(xml, "QBXMLMsgsRq/InvoiceModRq/InvoiceMod/InvoiceLineMod") == ["TxnLineID", "ItemRef", "Amount"]


def test_queries_page_with_iterators_and_include_inactive() -> None:
    start = qbxml.list_query("CustomerQuery", "r:customers", iterator="Start", max_returned=100,
                             from_modified="2026-01-02T10:00:00-06:00")
    xml = qbxml.request_document([start, qbxml.invoice_query("r:invoices", iterator="Continue", iterator_id="{abc}")])
    root = etree.fromstring(xml.split("?>", 2)[-1].encode())
    customer_rq = root.find("QBXMLMsgsRq/CustomerQueryRq")
    assert customer_rq.get("iterator") == "Start"
    assert [c.tag for c in customer_rq] == ["MaxReturned", "ActiveStatus", "FromModifiedDate"]
    assert customer_rq.findtext("ActiveStatus") == "All"
    invoice_rq = root.find("QBXMLMsgsRq/InvoiceQueryRq")
    assert (invoice_rq.get("iterator"), invoice_rq.get("iteratorID")) == ("Continue", "{abc}")
    assert invoice_rq.findtext("IncludeLineItems") == "true"


def test_by_id_queries_take_no_filter() -> None:
    request = qbxml.list_query("CustomerQuery", "v:3", list_ids=["80000001-1", "80000002-1"])
    assert request.body == {"ListID": ["80000001-1", "80000002-1"]} and not request.attributes


def test_request_ids_longer_than_50_characters_are_refused() -> None:
    with pytest.raises(ValueError, match="50"):
        qbxml.Request("CustomerQuery", "x" * 51).element()


RESPONSE = """<?xml version="1.0"?><?qbxml version="13.0"?><QBXML><QBXMLMsgsRs>
<CustomerQueryRs requestID="r:customers" statusCode="0" statusSeverity="Info" statusMessage="Status OK"
  retCount="1" iteratorRemainingCount="4" iteratorID="{it-1}">
  <CustomerRet><ListID>80000003-1446676743</ListID><EditSequence>1446676750</EditSequence>
   <TimeModified>2015-11-04T14:39:10-08:00</TimeModified><Name>Smith</Name>
   <BillAddress><Addr1>1 Main St</Addr1></BillAddress></CustomerRet></CustomerQueryRs>
<CustomerModRs requestID="j:4" statusCode="3200" statusSeverity="Error"
  statusMessage="The provided edit sequence &quot;1&quot; is out-of-date."/>
<InvoiceQueryRs requestID="v:5" statusCode="1" statusSeverity="Info" statusMessage="No match"/>
<InvoiceAddRs requestID="j:6" statusCode="0" statusSeverity="Info" statusMessage="Status OK">
  <InvoiceRet><TxnID>1A2-1</TxnID><InvoiceLineRet><Amount>5.00</Amount></InvoiceLineRet></InvoiceRet></InvoiceAddRs>
</QBXMLMsgsRs></QBXML>"""


@pytest.mark.parametrize(("index", "request_id", "code", "ok", "records", "remaining"), [
    (0, "r:customers", 0, True, 1, 4),
    (1, "j:4", qbxml.STALE_EDIT_SEQUENCE, False, 0, 0),
    (2, "v:5", qbxml.NO_MATCH, True, 0, 0),  # "no match" is an empty answer, not an error
    (3, "j:6", 0, True, 1, 0),
])
def test_responses_parse_status_records_and_iterators(index: int, request_id: str, code: int, ok: bool,
                                                       records: int, remaining: int) -> None:
    answer = qbxml.parse_response(RESPONSE)[index]
    assert (answer.request_id, answer.status_code, answer.ok, len(answer.records), answer.remaining) == (
        request_id, code, ok, records, remaining)


def test_ret_elements_become_dicts_with_lines_always_lists() -> None:
    answers = qbxml.parse_response(RESPONSE)
    assert answers[0].records[0]["BillAddress"] == {"Addr1": "1 Main St"}
    assert answers[0].iterator_id == "{it-1}"
    assert answers[3].records[0]["InvoiceLineRet"] == [{"Amount": "5.00"}]


def test_a_request_round_trips_through_the_parser_quickbooks_uses() -> None:
    request = qbxml.list_query("CustomerQuery", "v:1", list_ids=["80000001-1"])
    on_error, parsed = qbxml.parse_request(qbxml.request_document([request], on_error="stopOnError"))
    assert on_error == "stopOnError" and parsed[0].body == {"ListID": ["80000001-1"]}


def test_malformed_xml_is_a_qbxml_error() -> None:
    with pytest.raises(qbxml.QbXmlError):
        qbxml.parse_response("<QBXML><oops")


@pytest.mark.parametrize(("a", "b", "later"), [
    ("2015-11-04T14:39:10-08:00", "2015-11-04T16:39:09-06:00", "2015-11-04T14:39:10-08:00"),
    (None, "2015-11-04T14:39:10-08:00", "2015-11-04T14:39:10-08:00"),
    ("2015-11-04T14:39:10-08:00", None, "2015-11-04T14:39:10-08:00"),
])
def test_later_time_compares_instants_not_strings(a: str | None, b: str | None, later: str) -> None:
    assert qbxml.later_time(a, b) == later
