"""QuickBooks Online faults as typed exceptions, each carrying the status and body QBO answers with.

Messages and details copy what Intuit's servers have been seen to return (Intuit's "Error codes"
page and responses pasted in public issue threads); where the sandbox had to guess, the README
says so. ``QBOFault.body()`` is the JSON envelope ``{"Fault": {"Error": [...], "type": ...}}``;
the HTTP layer adds ``time`` and renders XML when the client did not ask for JSON.
"""

from __future__ import annotations

from typing import Any


class QBOFault(Exception):
    """One QBO fault: HTTP status, fault type and a single ``Error`` entry."""

    status: int = 400
    fault_type: str = "ValidationFault"
    code: str = "10000"
    message: str = "An application error has occurred while processing your request"

    def __init__(
        self,
        detail: str = "",
        element: str = "",
        *,
        message: str | None = None,
        code: str | None = None,
        status: int | None = None,
        fault_type: str | None = None,
    ) -> None:
        if message is not None:
            self.message = message
        if code is not None:
            self.code = code
        if status is not None:
            self.status = status
        if fault_type is not None:
            self.fault_type = fault_type
        self.detail = detail
        self.element = element
        super().__init__(f"{self.code} {self.message}: {detail}")

    def error(self) -> dict[str, str]:
        return {"Message": self.message, "Detail": self.detail, "code": self.code, "element": self.element}

    def body(self) -> dict[str, Any]:
        return {"Fault": {"Error": [self.error()], "type": self.fault_type}}


# --- authentication and authorization (gateway faults) -------------------------------------------


class AuthenticationFailed(QBOFault):
    """Missing, malformed, unknown or expired bearer token."""

    status = 401
    fault_type = "AuthenticationFault"
    code = "3200"
    message = "message=AuthenticationFailed; errorCode=003200; statusCode=401"


class AuthorizationFailed(QBOFault):
    """A valid token used on a company (realm) it was not issued for, or an unknown realm."""

    status = 403
    fault_type = "AuthorizationFault"
    code = "3100"
    message = "message=ApplicationAuthorizationFailed; errorCode=003100; statusCode=403"


class CompanyNotFound(QBOFault):
    """A realm the host does not have: a wrong company id, or a production company asked for on the
    development sandbox host (or the other way round). Intuit answers these with 404."""

    status = 404
    fault_type = "ValidationFault"
    code = "610"
    message = "Object Not Found"

    def __init__(self, realm_id: str) -> None:
        super().__init__(f"No company with realm ID {realm_id} exists on this host.")


class ThrottleExceeded(QBOFault):
    status = 429
    fault_type = "SERVICE"
    code = "3001"
    message = "message=ThrottleExceeded; errorCode=003001; statusCode=429"

    def __init__(self, detail: str = "The request limit was reached.  Try again later") -> None:
        super().__init__(detail)


# --- validation faults -----------------------------------------------------------------------------


class UnsupportedProperty(QBOFault):
    """2010: unknown property, malformed JSON or a value of the wrong type."""

    code = "2010"
    message = "Request has invalid or unsupported property"

    @classmethod
    def unrecognized(cls, name: str, entity: str) -> UnsupportedProperty:
        return cls(
            f'Property Name:Unrecognized field "{name}" (class com.intuit.schema.finance.v3.{entity}), '
            "not marked as ignorable specified is unsupported or invalid",
            element=name,
        )


class RequiredParamMissing(QBOFault):
    code = "2020"
    message = "Required param missing, need to supply the required value for the API"

    @classmethod
    def of(cls, name: str) -> RequiredParamMissing:
        return cls(f"Required parameter {name} is missing in the request", element=name)


class StringLengthInvalid(QBOFault):
    code = "2050"
    message = "String length is either shorter or longer than supported by specification"

    @classmethod
    def of(cls, name: str, maximum: int, supplied: int) -> StringLengthInvalid:
        return cls(
            f"String length specified does not match the supported length. Min:0 Max:{maximum} "
            f"supplied length:{supplied}",
            element=name,
        )


class InvalidReference(QBOFault):
    code = "2500"
    message = "Invalid Reference Id"

    @classmethod
    def missing(cls, entity: str, ref_id: str, element: str) -> InvalidReference:
        return cls(f"Invalid Reference Id : {entity} {ref_id} does not exist", element=element)

    @classmethod
    def inactive(cls, element: str) -> InvalidReference:
        return cls(
            "Invalid Reference Id : Something you're trying to use has been made inactive. "
            "Check the fields with accounts, customers, items, vendors or employees.",
            element=element,
        )


class ObjectNotFound(QBOFault):
    code = "610"
    message = "Object Not Found"

    def __init__(self, entity: str = "customers") -> None:
        super().__init__(
            "Object Not Found : Something you're trying to use has been made inactive. "
            f"Check the fields with accounts, {entity}, items, vendors or employees."
        )


class QueryParserError(QBOFault):
    code = "4000"
    message = "Error parsing query"

    def __init__(self, detail: str) -> None:
        super().__init__(f"QueryParserError: {detail}")


class QueryValidationError(QBOFault):
    code = "4001"
    message = "Invalid query"

    def __init__(self, detail: str) -> None:
        super().__init__(f"QueryValidationError: {detail}")


class StaleObject(QBOFault):
    code = "5010"
    message = "Stale Object Error"

    def __init__(self, who: str = "Sandbox User") -> None:
        super().__init__(
            f"Stale Object Error : You and {who} were working on this at the same time. "
            f"{who} finished before you did, so your work was not saved."
        )


class BusinessValidation(QBOFault):
    code = "6000"
    message = "A business validation error has occurred while processing your request"

    def __init__(self, detail: str, element: str = "") -> None:
        super().__init__(f"Business Validation Error: {detail}", element=element)


class AmountMismatch(QBOFault):
    code = "6070"
    message = "Amount is not equal to UnitPrice * Qty"

    def __init__(self, amount: str, unit_price: str, qty: str) -> None:
        super().__init__(
            f"Amount is not equal to UnitPrice * Qty. Supplied value:{amount} "
            f"(UnitPrice {unit_price} * Qty {qty})",
            element="Line.Amount",
        )


class DuplicateDocNumber(QBOFault):
    code = "6140"
    message = "Duplicate Document Number Error"

    def __init__(self, doc_number: str, txn_id: str) -> None:
        super().__init__(
            "You must specify a different number. This number has already been used. "
            f"DocNumber={doc_number} is assigned to TxnType=Invoice with TxnId={txn_id}",
            element="DocNumber",
        )


class DuplicateName(QBOFault):
    code = "6240"
    message = "Duplicate Name Exists Error"

    def __init__(self, existing_id: str) -> None:
        super().__init__(f"The name supplied already exists. : Id={existing_id}", element="DisplayName")


class UnsupportedOperation(QBOFault):
    code = "500"
    message = "Unsupported Operation"

    def __init__(self, detail: str) -> None:
        super().__init__(f"Operation {detail} is not supported.")


# --- system faults (what the harness' fault injection answers with) -------------------------------


class SystemFault(QBOFault):
    status = 500
    fault_type = "SystemFault"
    code = "10000"
    message = "An application error has occurred while processing your request"

    def __init__(self, detail: str = "System Failure Error: An unexpected error occurred while accessing or "
                 "saving your data. Please wait a few minutes and try again. If the problem persists, "
                 "contact customer support.", status: int = 500) -> None:
        super().__init__(detail, status=status)


def fault_for_status(status: int) -> QBOFault:
    """The fault QBO answers a given HTTP status with, for injected faults."""
    if status == 401:
        return AuthenticationFailed("Token expired")
    if status == 403:
        return AuthorizationFailed("")
    if status == 429:
        return ThrottleExceeded()
    if status == 400:
        return BusinessValidation("An unexpected error occurred while accessing or saving your data.")
    if status == 503:
        return SystemFault("Service Unavailable: the service is temporarily unavailable, try again later",
                           status=503)
    return SystemFault(status=status)
