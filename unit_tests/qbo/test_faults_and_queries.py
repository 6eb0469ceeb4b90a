from __future__ import annotations

import pytest
import requests

from qbo.errors import fault_from_response, parse_fault
from qbo.query import in_list, quote, select


@pytest.mark.parametrize(
    ("value", "literal"),
    [("O'Brien", r"'O\'Brien'"), ("back\\slash", r"'back\\slash'"), ("both\\'", r"'both\\\''"), ("plain", "'plain'")],
)
def test_quote_escapes_backslash_first_then_quote(value: str, literal: str) -> None:
    assert quote(value) == literal


def test_select_builds_the_query_language_subset() -> None:
    assert select("Invoice", ["DocNumber IN ('1', '2')", "Active = true"], "Id", 1, 1000) == \
        "SELECT * FROM Invoice WHERE DocNumber IN ('1', '2') AND Active = true ORDERBY Id " \
        "STARTPOSITION 1 MAXRESULTS 1000"
    assert select("Customer", count=True, max_results=5) == "SELECT COUNT(*) FROM Customer"
    assert in_list(["a'b"]) == r"('a\'b')"


def _response(status: int, text: str) -> requests.Response:
    response = requests.Response()
    response.status_code = status
    response._content = text.encode()
    return response


@pytest.mark.parametrize(
    ("body", "code", "kind"),
    [
        pytest.param('{"Fault": {"Error": [{"Message": "Stale Object Error", "Detail": "x", "code": "5010"}], '
                     '"type": "ValidationFault"}, "time": "t"}', "5010", "ValidationFault", id="json"),
        pytest.param('{"fault": {"error": [{"message": "message=AuthenticationFailed", "code": "3200"}], '
                     '"type": "AUTHENTICATION"}}', "3200", "AUTHENTICATION", id="gateway-lower-case"),
        pytest.param('<?xml version="1.0"?><IntuitResponse xmlns="http://schema.intuit.com/finance/v3">'
                     '<Fault type="SERVICE"><Error code="3001"><Message>ThrottleExceeded</Message>'
                     '<Detail>too many</Detail></Error></Fault></IntuitResponse>', "3001", "SERVICE", id="xml"),
        pytest.param("<html>Bad gateway</html>", "502", "HttpError", id="html"),
    ],
)
def test_faults_are_parsed_from_every_shape_quickbooks_answers_with(body: str, code: str, kind: str) -> None:
    status = 502 if kind == "HttpError" else 400
    fault = fault_from_response(_response(status, body))
    assert fault.code == code and fault.fault_type == kind


def test_a_200_without_fault_parses_to_none() -> None:
    assert parse_fault({"QueryResponse": {}}) is None
