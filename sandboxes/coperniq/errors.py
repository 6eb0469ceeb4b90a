"""Typed errors of the Coperniq sandbox backend, each carrying its HTTP status and error body.

The body is Coperniq's documented error shape ``{"message", "code"}`` plus ``field`` on
validation errors. The reference attaches one ``code`` enum per operation to every error status
of that operation (so a 401 of ``GET /projects/{id}`` is typed ``NOT_FOUND``); the sandbox sends
the code that matches the status instead, from the vocabulary the reference and Coperniq's SDK use.
"""

from __future__ import annotations

from http import HTTPStatus
from typing import Any

# Status -> code. 401/404/429/500/502 are values of the reference's own code enums; 400's
# VALIDATION_ERROR / INVALID_JSON come from Coperniq's SDK (the reference has no 400 value).
STATUS_CODES: dict[int, str] = {
    400: "VALIDATION_ERROR",
    401: "UNAUTHORIZED",
    403: "FORBIDDEN",
    404: "NOT_FOUND",
    405: "METHOD_NOT_ALLOWED",
    409: "CONFLICT",
    429: "RATE_LIMIT_EXCEEDED",
    500: "INTERNAL_SERVER_ERROR",
    502: "BAD_GATEWAY",
    503: "SERVICE_UNAVAILABLE",
    504: "GATEWAY_TIMEOUT",
}


def code_for_status(status: int) -> str:
    """The error ``code`` the sandbox sends with ``status``."""
    if status in STATUS_CODES:
        return STATUS_CODES[status]
    try:
        return HTTPStatus(status).name
    except ValueError:
        return "ERROR"


def error_body(status: int, message: str, code: str | None = None, field: str | None = None) -> dict[str, Any]:
    body: dict[str, Any] = {"message": message, "code": code or code_for_status(status)}
    if field is not None:
        body["field"] = field
    return body


class CoperniqError(Exception):
    """An API error: raised by the backend, turned into a JSON answer by the HTTP layer."""

    status: int = 500

    def __init__(self, message: str, *, code: str | None = None, field: str | None = None,
                 headers: dict[str, str] | None = None):
        super().__init__(message)
        self.message = message
        self.code = code or code_for_status(self.status)
        self.field = field
        self.headers = headers or {}

    def body(self) -> dict[str, Any]:
        return error_body(self.status, self.message, self.code, self.field)


class ValidationError(CoperniqError):
    """400: a parameter or a body field is missing, malformed or breaks a rule."""

    status = 400


class InvalidJsonError(ValidationError):
    """400: the request body is not JSON."""

    def __init__(self, message: str = "Request body is not valid JSON"):
        super().__init__(message, code="INVALID_JSON")


class UnauthorizedError(CoperniqError):
    """401: missing or wrong ``x-api-key``."""

    status = 401


class NotFoundError(CoperniqError):
    """404: no record with that id (or an unknown route)."""

    status = 404

    @classmethod
    def record(cls, kind: str, record_id: object) -> NotFoundError:
        return cls(f"{kind} {record_id} not found")


class MethodNotAllowedError(CoperniqError):
    status = 405


class RateLimitError(CoperniqError):
    """429: the per-second limit or the daily quota of the key is spent."""

    status = 429

    def __init__(self, message: str, retry_after: int):
        super().__init__(message, headers={"Retry-After": str(retry_after)})
        self.retry_after = retry_after
