"""The HTTP layer of the Coperniq sandbox: routes, parameter parsing, auth, rate limits, JSON answers.

Thin by design: it turns a werkzeug request into backend calls and backend results (or typed
errors) into the answers the reference documents. The rules themselves live in
:mod:`sandboxes.coperniq.models`.
"""

from __future__ import annotations

import hmac
import json
from collections.abc import Callable
from datetime import datetime
from http import HTTPStatus
from typing import Any

from werkzeug.exceptions import MethodNotAllowed, NotFound
from werkzeug.routing import Map, Rule
from werkzeug.wrappers import Request, Response

from sandboxes.coperniq.errors import (
    CoperniqError,
    InvalidJsonError,
    MethodNotAllowedError,
    NotFoundError,
    UnauthorizedError,
    ValidationError,
    error_body,
)
from sandboxes.coperniq.models import DEFAULT_PAGE_SIZE, CoperniqBackend, RateLimiter, parse_timestamp

API_PREFIX = "/v1"
JSON_MIMETYPE = "application/json"

ROUTES = Map([
    Rule(f"{API_PREFIX}/projects", endpoint="projects", methods=["GET", "POST"]),
    Rule(f"{API_PREFIX}/projects/search", endpoint="project_search", methods=["GET"]),
    Rule(f"{API_PREFIX}/projects/<record_id>", endpoint="project", methods=["GET", "PATCH", "DELETE"]),
    Rule(f"{API_PREFIX}/contacts", endpoint="contacts", methods=["GET", "POST"]),
    Rule(f"{API_PREFIX}/contacts/<record_id>", endpoint="contact", methods=["GET", "PATCH", "DELETE"]),
    Rule(f"{API_PREFIX}/invoices", endpoint="invoices", methods=["GET", "POST"]),
    Rule(f"{API_PREFIX}/invoices/<record_id>", endpoint="invoice", methods=["GET", "PATCH", "DELETE"]),
    Rule(f"{API_PREFIX}/projects/<record_id>/invoices", endpoint="project_invoices", methods=["GET"]),
    Rule(f"{API_PREFIX}/catalog-items", endpoint="catalog_items", methods=["GET"]),
    Rule(f"{API_PREFIX}/catalog-items/<record_id>", endpoint="catalog_item", methods=["GET"]),
], strict_slashes=False)

# path parameter name of each item route, as the reference spells it (used in error `field`)
ID_FIELDS = {"project": "projectId", "project_invoices": "projectId", "contact": "contactId", "invoice": "invoiceId",
             "catalog_item": "catalogItemId"}


def json_answer(body: Any, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    return Response(json.dumps(body, ensure_ascii=False), status=status, headers=headers,
                    mimetype=JSON_MIMETYPE)


def fault_response(status: int, headers: dict[str, str]) -> Response:
    """An injected fault, in Coperniq's error shape (``{"message", "code"}``) for any status."""
    try:
        phrase = HTTPStatus(status).phrase
    except ValueError:
        phrase = "Error"
    return json_answer(error_body(status, f"{phrase} (sandbox fault)"), status=status, headers=headers)


# -- parameter parsing -----------------------------------------------------------------------------


def _int_param(request: Request, name: str, default: int) -> int:
    raw = request.args.get(name)
    if raw is None or raw == "":
        return default
    try:
        return int(raw)
    except ValueError:
        raise ValidationError(f"{name} must be an integer", field=name) from None


def _bool_param(request: Request, name: str) -> bool:
    raw = request.args.get(name)
    if raw is None or raw == "":
        return False
    if raw.lower() in ("true", "1"):
        return True
    if raw.lower() in ("false", "0"):
        return False
    raise ValidationError(f"{name} must be true or false", field=name)


def _time_param(request: Request, name: str) -> datetime | None:
    raw = request.args.get(name)
    return None if raw is None or raw == "" else parse_timestamp(raw, name)


def _window_params(request: Request) -> dict[str, Any]:
    return {
        "page": _int_param(request, "page", 1),
        "page_size": _int_param(request, "page_size", DEFAULT_PAGE_SIZE),
        "updated_after": _time_param(request, "updated_after"),
        "updated_before": _time_param(request, "updated_before"),
        "order_by": request.args.get("order_by") or "asc",
    }


def _record_id(raw: str, field_name: str) -> int:
    if not raw.isdigit():
        raise ValidationError(f"{field_name} must be an integer", field=field_name)
    return int(raw)


def _json_body(request: Request) -> Any:
    data = request.get_data(cache=True)
    if not data.strip():
        raise ValidationError("Request body is required")
    try:
        return json.loads(data)
    except (ValueError, UnicodeDecodeError):
        raise InvalidJsonError() from None


# -- the handler -----------------------------------------------------------------------------------


class CoperniqApi:
    """The WSGI-style handler (``Request -> Response``) that :class:`SandboxApp` wraps."""

    def __init__(self, backend: CoperniqBackend, api_key: str, rate_limiter: RateLimiter):
        self.backend = backend
        self.api_key = api_key
        self.rate_limiter = rate_limiter
        self._endpoints: dict[str, Callable[[Request, int | None], Response]] = {
            "projects": self.projects, "project": self.project, "contacts": self.contacts,
            "contact": self.contact, "invoices": self.invoices, "invoice": self.invoice,
            "catalog_items": self.catalog_items, "catalog_item": self.catalog_item,
            "project_invoices": self.project_invoices, "project_search": self.project_search,
        }

    def __call__(self, request: Request) -> Response:
        # Authentication comes first, as at an API gateway: an unknown path without a key is a 401.
        key = request.headers.get("x-api-key")
        if not key or not hmac.compare_digest(key.encode(), self.api_key.encode()):
            error = UnauthorizedError("Invalid API key" if key else "Missing x-api-key header")
            return json_answer(error.body(), status=error.status)
        try:
            limit_headers = self.rate_limiter.hit(key)
        except CoperniqError as error:
            return json_answer(error.body(), status=error.status, headers=error.headers)
        try:
            response = self._dispatch(request)
        except CoperniqError as error:
            response = json_answer(error.body(), status=error.status, headers=error.headers)
        for name, value in limit_headers.items():
            response.headers[name] = value
        return response

    def _dispatch(self, request: Request) -> Response:
        adapter = ROUTES.bind_to_environ(request.environ)
        try:
            endpoint, arguments = adapter.match()
        except MethodNotAllowed:
            raise MethodNotAllowedError(f"{request.method} is not allowed on {request.path}") from None
        except NotFound:
            raise NotFoundError(f"No route for {request.method} {request.path}") from None
        record_id = None
        if "record_id" in arguments:
            record_id = _record_id(arguments["record_id"], ID_FIELDS[str(endpoint)])
        return self._endpoints[str(endpoint)](request, record_id)

    # -- projects ---------------------------------------------------------------------------------

    def projects(self, request: Request, _: int | None) -> Response:
        backend = self.backend
        if request.method == "GET":
            args = request.args
            return json_answer(backend.list_projects(
                **_window_params(request), include_archived=_bool_param(request, "include_archived"),
                q=args.get("q"), title=args.get("title"), address=args.get("address"),
                primary_name=args.get("primaryName"), primary_phone=args.get("primaryPhone"),
                primary_email=args.get("primaryEmail"),
            ))
        body = _json_body(request)
        project, created = backend.create_project(
            body, match_by=request.args.get("match_by") or "title",
            match_found_strategy=request.args.get("match_found_strategy") or "skip",
        )
        # 201 for a new project, 200 when an existing one matched (the reference documents only 200)
        return json_answer(project, status=201 if created else 200)

    def project_search(self, request: Request, _: int | None) -> Response:
        args = request.args
        for required in ("prop1", "op1", "value1"):
            if not args.get(required):
                raise ValidationError(f"{required} is required", field=required)
        return json_answer(self.backend.search_projects(
            args["prop1"], args["op1"], args["value1"], logic=(args.get("logic") or "and").lower(),
            prop2=args.get("prop2"), op2=args.get("op2"), value2=args.get("value2"),
            page=_int_param(request, "page", 1), page_size=_int_param(request, "page_size", DEFAULT_PAGE_SIZE),
            order_by=args.get("order_by") or "asc", include_archived=_bool_param(request, "include_archived"),
        ))

    def project(self, request: Request, project_id: int | None) -> Response:
        assert project_id is not None
        if request.method == "GET":
            return json_answer(self.backend.get_project(
                project_id, include_archived=_bool_param(request, "include_archived")))
        if request.method == "PATCH":
            return json_answer(self.backend.update_project(project_id, _json_body(request)))
        self.backend.delete_project(project_id)
        return _no_content()

    # -- contacts ---------------------------------------------------------------------------------

    def contacts(self, request: Request, _: int | None) -> Response:
        if request.method == "GET":
            return json_answer(self.backend.list_contacts(**_window_params(request), q=request.args.get("q")))
        return json_answer(self.backend.create_contact(_json_body(request)), status=201)

    def contact(self, request: Request, contact_id: int | None) -> Response:
        assert contact_id is not None
        if request.method == "GET":
            return json_answer(self.backend.get_contact(contact_id))
        if request.method == "PATCH":
            return json_answer(self.backend.update_contact(contact_id, _json_body(request)))
        self.backend.delete_contact(contact_id)
        return _no_content()

    # -- invoices ---------------------------------------------------------------------------------

    def invoices(self, request: Request, _: int | None) -> Response:
        if request.method == "GET":
            return json_answer(self.backend.list_invoices(**_window_params(request)))
        return json_answer(self.backend.create_invoice(_json_body(request)), status=201)

    def project_invoices(self, request: Request, project_id: int | None) -> Response:
        assert project_id is not None
        self.backend.get_project(project_id, include_archived=True)  # 404 for an unknown project
        return json_answer(self.backend.list_invoices(record_id=project_id, **_window_params(request)))

    def invoice(self, request: Request, invoice_id: int | None) -> Response:
        assert invoice_id is not None
        if request.method == "GET":
            return json_answer(self.backend.get_invoice(invoice_id))
        if request.method == "PATCH":
            return json_answer(self.backend.update_invoice(invoice_id, _json_body(request)))
        self.backend.delete_invoice(invoice_id)
        return _no_content()

    # -- catalog items ----------------------------------------------------------------------------

    def catalog_items(self, request: Request, _: int | None) -> Response:
        return json_answer(self.backend.list_catalog_items())

    def catalog_item(self, request: Request, catalog_item_id: int | None) -> Response:
        assert catalog_item_id is not None
        return json_answer(self.backend.get_catalog_item(catalog_item_id))


def _no_content() -> Response:
    """DELETE: the reference documents a bare 200 "Successful response" without a body."""
    return Response(b"", status=200)
