"""The HTTP face of the sandbox: routes, auth, throttling, idempotency and JSON/XML rendering.

Thin on purpose: it parses the request, calls one backend (or OAuth) method and renders the
answer. Rules live in :mod:`.models`, :mod:`.oauth` and :mod:`.query`.
"""

from __future__ import annotations

import json
import re
import secrets
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import urlencode
from xml.etree import ElementTree as ET

from werkzeug.exceptions import MethodNotAllowed, NotFound
from werkzeug.routing import BaseConverter, Map, Rule
from werkzeug.wrappers import Request, Response

from .errors import (
    AuthorizationFailed,
    BusinessValidation,
    CompanyNotFound,
    QBOFault,
    QueryParserError,
    SystemFault,
    ThrottleExceeded,
    UnsupportedOperation,
    UnsupportedProperty,
    fault_for_status,
)
from .models import Clock, RealmBackend, Throttle, qbo_response_time
from .oauth import OAuthError, OAuthServer

TOKEN_PATH = "/oauth2/v1/tokens/bearer"
REVOKE_PATH = "/oauth2/v1/tokens/revoke"
AUTHORIZE_PATH = "/connect/oauth2"
DISCOVERY_PATHS = ("/.well-known/openid_configuration", "/.well-known/openid_sandbox_configuration")
XML_NS = "http://schema.intuit.com/finance/v3"
MAX_BATCH_ITEMS = 30
MAX_REQUEST_ID = 50
WRITABLE = {"customer": "Customer", "invoice": "Invoice"}
READABLE = {"customer": "Customer", "invoice": "Invoice", "item": "Item", "vendor": "Vendor",
            "employee": "Employee", "term": "Term"}
API_PREFIX = "/v3/company/<realm>"


class ResourceName(BaseConverter):
    """One of the names given, in any case: QuickBooks reads ``/Customer`` as ``/customer``."""

    def __init__(self, url_map: Map, *names: str) -> None:
        super().__init__(url_map)
        self.regex = "(?i:" + "|".join(re.escape(name) for name in names) + ")"

    def to_python(self, value: str) -> str:
        return value.lower()


# Every API path is authenticated and throttled before it is routed further, as at Intuit's gateway:
# the last rule catches the paths (and methods) the sandbox does not model, to answer them after that.
ROUTES = Map([
    Rule(TOKEN_PATH, endpoint="token", methods=["POST"]),
    Rule(REVOKE_PATH, endpoint="revoke", methods=["POST"]),
    Rule(AUTHORIZE_PATH, endpoint="authorize", methods=["GET"]),
    *(Rule(path, endpoint="discovery", methods=["GET"]) for path in DISCOVERY_PATHS),
    Rule(f"{API_PREFIX}/<resource(query):resource>", endpoint="query", methods=["GET", "POST"]),
    Rule(f"{API_PREFIX}/<resource(cdc):resource>", endpoint="cdc", methods=["GET"]),
    Rule(f"{API_PREFIX}/<resource(companyinfo):resource>/<entity_id>", endpoint="company_info", methods=["GET"]),
    Rule(f"{API_PREFIX}/<resource(preferences):resource>", endpoint="preferences", methods=["GET"]),
    Rule(f"{API_PREFIX}/<resource({', '.join(READABLE)}):resource>/<entity_id>", endpoint="read", methods=["GET"]),
    Rule(f"{API_PREFIX}/<resource(batch):resource>", endpoint="batch", methods=["POST"]),
    Rule(f"{API_PREFIX}/<resource({', '.join(WRITABLE)}):resource>", endpoint="write", methods=["POST"]),
    Rule(f"{API_PREFIX}/<path:resource>", endpoint="unsupported"),
], converters={"resource": ResourceName}, strict_slashes=False, merge_slashes=False)
OAUTH_ENDPOINTS = frozenset({"token", "revoke", "authorize", "discovery"})


@dataclass(frozen=True)
class Route:
    """Where a request was routed: the endpoint and the path's parts (``resource`` in lower case)."""

    endpoint: str
    realm: str = ""
    resource: str = ""
    entity_id: str = ""


def route(request: Request) -> Route | None:
    """The request's :class:`Route`; None for a path outside OAuth and the company API."""
    try:
        endpoint, arguments = ROUTES.bind_to_environ(request.environ).match()
    except (NotFound, MethodNotAllowed):
        return None
    return Route(str(endpoint), arguments.get("realm", ""), arguments.get("resource", "").strip("/").lower(),
                 arguments.get("entity_id", ""))


@dataclass
class Answer:
    """An API answer before rendering: the JSON payload (without ``time``) and its status."""

    payload: dict[str, Any]
    status: int = 200


@dataclass
class IdempotencyCache:
    """First successful answer per ``requestid`` (per realm and endpoint) for ``ttl`` seconds.

    A per-key lock makes a concurrent duplicate wait for the first and then get its answer,
    so "same requestid twice" is one write even when the two race.
    """

    clock: Clock
    ttl: float = 3600.0
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _answers: dict[tuple[str, ...], tuple[datetime, Answer]] = field(default_factory=dict)
    _key_locks: dict[tuple[str, ...], threading.Lock] = field(default_factory=dict)

    def run(self, key: tuple[str, ...], action: Callable[[], Answer]) -> Answer:
        with self._lock:
            key_lock = self._key_locks.setdefault(key, threading.Lock())
        with key_lock:
            now = self.clock.now()
            with self._lock:
                stored = self._answers.get(key)
                if stored is not None and stored[0] + timedelta(seconds=self.ttl) > now:
                    return stored[1]
            answer = action()
            if 200 <= answer.status < 300:
                with self._lock:
                    self._answers[key] = (now, answer)
                    if len(self._answers) > 10_000:
                        self._prune(now)
            return answer

    def _prune(self, now: datetime) -> None:
        expired = [k for k, (at, _) in self._answers.items() if at + timedelta(seconds=self.ttl) <= now]
        for key in expired:
            del self._answers[key]
            self._key_locks.pop(key, None)


@dataclass
class ApiSettings:
    throttle_xml: bool = True  # QBO has answered 429 in XML even to JSON requests
    throttle_retry_after: int | None = None  # QBO does not promise Retry-After
    auth_fault_style: str = "v3"  # or "gateway": the lower-case {"fault": {"error": [...]}} shape


class QuickBooksApp:
    """``Request -> Response`` handler for :class:`sandboxes.harness.SandboxApp`."""

    def __init__(
        self,
        backends: dict[str, RealmBackend],
        oauth: OAuthServer,
        throttle: Throttle,
        clock: Clock,
        settings: ApiSettings | None = None,
        requestid_ttl: float = 3600.0,
    ) -> None:
        self.backends = backends
        self.oauth = oauth
        self.throttle = throttle
        self.clock = clock
        self.settings = settings or ApiSettings()
        self.idempotency = IdempotencyCache(clock, requestid_ttl)
        self._oauth_endpoints: dict[str, Callable[[Request], Response]] = {
            "token": self._token, "revoke": self._revoke, "authorize": self._authorize, "discovery": self._discovery,
        }
        self._api_endpoints: dict[str, Callable[[Request, RealmBackend, Route], Answer]] = {
            "query": self._query, "cdc": self._cdc, "company_info": self._company_info,
            "preferences": self._preferences, "read": self._read, "batch": self._batch,
            "write": self._write, "unsupported": self._unsupported,
        }

    # -- entry points ----------------------------------------------------------------------------------

    def __call__(self, request: Request) -> Response:
        target = route(request)
        if target is not None and target.endpoint in OAUTH_ENDPOINTS:
            return self._oauth_endpoints[target.endpoint](request)
        wants_json = "json" in request.headers.get("Accept", "").lower()
        if target is None:
            return self.render(Answer(UnsupportedOperation(f"{request.method} {request.path}").body(), 404),
                               wants_json)
        try:
            answer = self._api(request, target)
        except QBOFault as fault:
            if isinstance(fault, ThrottleExceeded):
                return self.throttled(wants_json)
            answer = Answer(self._fault_body(fault), fault.status)
        return self.render(answer, wants_json)

    def fault_response(self, status: int, headers: dict[str, str]) -> Response:
        """The harness' ``fault_responder``: QBO's own fault body for an injected status."""
        if status == 429:
            response = self.throttled(False)
        else:
            fault = fault_for_status(status)
            response = self.render(Answer(self._fault_body(fault), status), True)
        response.headers.update(headers)
        return response

    def throttled(self, wants_json: bool) -> Response:
        fault = ThrottleExceeded()
        response = self.render(Answer(fault.body(), 429), wants_json and not self.settings.throttle_xml)
        if self.settings.throttle_retry_after is not None:
            response.headers["Retry-After"] = str(self.settings.throttle_retry_after)
        return response

    # -- OAuth -------------------------------------------------------------------------------------------

    def _token(self, request: Request) -> Response:
        try:
            body = self.oauth.token(dict(request.form), request.headers.get("Authorization"))
        except OAuthError as error:
            return _json(error.body(), error.status)
        return _json(body, 200, {"Cache-Control": "no-store", "Pragma": "no-cache"})

    def _revoke(self, request: Request) -> Response:
        data = request.get_json(silent=True) or dict(request.form)
        try:
            self.oauth.revoke(str(data.get("token", "")), request.headers.get("Authorization"))
        except OAuthError as error:
            return _json(error.body(), error.status)
        return Response("", status=200)

    def _authorize(self, request: Request) -> Response:
        """The consent screen, consenting at once for the sandbox's first company."""
        args = request.args
        client_id, redirect_uri = args.get("client_id", ""), args.get("redirect_uri", "")
        if not self.oauth.is_client(client_id) or not redirect_uri or args.get("response_type") != "code":
            return Response("invalid authorization request", status=400, mimetype="text/plain")
        realm_id = args.get("realm_id") or next(iter(self.backends))
        code = self.oauth.create_authorization_code(realm_id, client_id, redirect_uri, args.get("scope", ""))
        query = {"code": code, "realmId": realm_id}
        if "state" in args:
            query["state"] = args["state"]
        separator = "&" if "?" in redirect_uri else "?"
        return Response("", status=302, headers={"Location": f"{redirect_uri}{separator}{urlencode(query)}"})

    def _discovery(self, request: Request) -> Response:
        """An OpenID discovery document pointing at this server (intuit-oauth reads one)."""
        root = request.host_url.rstrip("/")
        return _json({
            "issuer": root,
            "authorization_endpoint": root + AUTHORIZE_PATH,
            "token_endpoint": root + TOKEN_PATH,
            "userinfo_endpoint": root + "/v1/openid_connect/userinfo",
            "revocation_endpoint": root + REVOKE_PATH,
            "jwks_uri": root + "/oauth2/v1/keys",
            "response_types_supported": ["code"],
            "scopes_supported": ["com.intuit.quickbooks.accounting", "openid", "profile", "email"],
        })

    # -- the API -----------------------------------------------------------------------------------------

    def _api(self, request: Request, target: Route) -> Answer:
        """Authentication, company and throttling first, whatever the path; then the endpoint, once per
        ``requestid`` for a POST."""
        header = request.headers.get("Authorization", "")
        bearer = header[7:].strip() if header.lower().startswith("bearer ") else None
        token = self.oauth.authenticate(bearer)
        backend = self.backends.get(target.realm)
        if backend is None:
            raise CompanyNotFound(target.realm)
        if token.realm_id != target.realm:
            raise AuthorizationFailed(f"The access token is not authorized for company {target.realm}")
        self.throttle.check(target.realm, is_batch=target.resource == "batch")
        endpoint = self._api_endpoints[target.endpoint]
        # minorversion is accepted and ignored: the sandbox answers as minor version 75 does.
        request_id = request.args.get("requestid") if request.method == "POST" else None
        if request_id is None:
            return endpoint(request, backend, target)
        if len(request_id) > MAX_REQUEST_ID:
            raise BusinessValidation(
                f"You cannot enter more than {MAX_REQUEST_ID} characters in the request_id field. "
                f"You tried entering {request_id[:10]}..., which is {len(request_id)} characters."
            )
        key = (target.realm, target.resource, request.args.get("operation", ""), request_id)
        return self.idempotency.run(key, lambda: endpoint(request, backend, target))

    @staticmethod
    def _query(request: Request, backend: RealmBackend, target: Route) -> Answer:
        text = request.get_data(as_text=True) if request.method == "POST" else request.args.get("query", "")
        return Answer({"QueryResponse": _query_response(backend, text)})

    @staticmethod
    def _cdc(request: Request, backend: RealmBackend, target: Route) -> Answer:
        entities = [e for e in request.args.get("entities", "").split(",") if e.strip()]
        answer = backend.cdc(entities, request.args.get("changedSince", ""))
        return Answer({"CDCResponse": [{"QueryResponse": answer}]})

    @staticmethod
    def _company_info(request: Request, backend: RealmBackend, target: Route) -> Answer:
        return Answer({"CompanyInfo": backend.get_company_info(target.entity_id)})

    @staticmethod
    def _preferences(request: Request, backend: RealmBackend, target: Route) -> Answer:
        return Answer({"Preferences": backend.preferences()})

    @staticmethod
    def _read(request: Request, backend: RealmBackend, target: Route) -> Answer:
        entity = READABLE[target.resource]
        return Answer({entity: backend.get(entity, target.entity_id)})

    @staticmethod
    def _write(request: Request, backend: RealmBackend, target: Route) -> Answer:
        entity = WRITABLE[target.resource]
        return Answer({entity: backend.write(entity, request.args.get("operation"), _json_body(request))})

    @staticmethod
    def _unsupported(request: Request, backend: RealmBackend, target: Route) -> Answer:
        raise UnsupportedOperation(f"{request.method} {target.resource} (not modelled by the sandbox)")

    def _batch(self, request: Request, backend: RealmBackend, target: Route) -> Answer:
        body = _json_body(request)
        items = body.get("BatchItemRequest") if isinstance(body, dict) else None
        if not isinstance(items, list) or not items:
            raise UnsupportedProperty("Property Name:BatchItemRequest specified value is not supported",
                                      "BatchItemRequest")
        if len(items) > MAX_BATCH_ITEMS:
            raise BusinessValidation(
                f"A batch request can contain at most {MAX_BATCH_ITEMS} BatchItemRequest items; "
                f"this one has {len(items)}",
                "BatchItemRequest",
            )
        responses: list[dict[str, Any]] = []
        with backend.batch_scope():
            for item in items:
                responses.append(self._batch_item(backend, item))
        return Answer({"BatchItemResponse": responses})

    def _batch_item(self, backend: RealmBackend, item: Any) -> dict[str, Any]:
        b_id = str(item.get("bId", "")) if isinstance(item, dict) else ""
        try:
            if not isinstance(item, dict) or not b_id:
                raise UnsupportedProperty("Property Name:bId specified value is not supported", "bId")
            if "Query" in item:
                return {"bId": b_id, "QueryResponse": _query_response(backend, str(item["Query"]))}
            entity = next((WRITABLE[k.lower()] for k in item if k.lower() in WRITABLE), None)
            if entity is None:
                raise UnsupportedOperation(f"batch item {b_id} (no Customer, Invoice or Query)")
            operation = str(item.get("operation", "")).lower()
            if operation not in ("create", "update", "delete"):
                raise UnsupportedOperation(f"{operation or '(none)'} in batch")
            return {"bId": b_id, entity: backend.write(entity, operation, item[entity])}
        except QBOFault as fault:
            return {"bId": b_id, **fault.body()}

    # -- rendering -----------------------------------------------------------------------------------------

    def _fault_body(self, fault: QBOFault) -> dict[str, Any]:
        if fault.status in (401, 403) and self.settings.auth_fault_style == "gateway":
            # The shape Intuit's gateway has answered auth failures with (seen in public issue threads).
            error = {"message": fault.message, "detail": fault.detail, "code": fault.code, "element": None}
            kind = "AUTHENTICATION" if fault.status == 401 else "SERVICE"
            return {
                "warnings": None, "intuitObject": None, "fault": {"error": [error], "type": kind},
                "report": None, "queryResponse": None, "batchItemResponse": [], "attachableResponse": [],
                "syncErrorResponse": None, "requestId": None, "status": None, "cdcresponse": [],
            }
        return fault.body()

    def render(self, answer: Answer, wants_json: bool) -> Response:
        now = self.clock.now()
        headers = {"intuit_tid": "1-" + secrets.token_hex(12)}
        if wants_json or "fault" in answer.payload:
            payload = dict(answer.payload)
            payload["time"] = (int(now.timestamp() * 1000) if "fault" in payload else qbo_response_time(now))
            return _json(payload, answer.status, headers)
        root = ET.Element("IntuitResponse", {"xmlns": XML_NS, "time": qbo_response_time(now)})
        for key, value in answer.payload.items():
            _xml_value(root, key, value)
        body = b'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n' + ET.tostring(root, encoding="utf-8")
        return Response(body, status=answer.status, headers=headers, content_type="application/xml;charset=UTF-8")


def _query_response(backend: RealmBackend, text: str) -> dict[str, Any]:
    if not text or not text.strip():
        raise QueryParserError("The query provided was empty")
    result = backend.query(text)
    if result.count is not None:
        return {"totalCount": result.count}
    response: dict[str, Any] = {}
    if result.rows:
        response[result.entity] = result.rows
        response["startPosition"] = result.start_position
        response["maxResults"] = len(result.rows)
    return response


def _json_body(request: Request) -> Any:
    content_type = request.headers.get("Content-Type", "").lower()
    if "xml" in content_type:
        raise SystemFault(
            "The sandbox accepts JSON request bodies only (XML request bodies are a documented gap)", status=415
        )
    raw = request.get_data(as_text=True)
    try:
        return json.loads(raw)
    except json.JSONDecodeError as error:
        raise UnsupportedProperty(f"Property Name:{error.msg} (line {error.lineno}, column {error.colno}) "
                                  "specified is unsupported or invalid") from None


def _json(body: Any, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    return Response(json.dumps(body, ensure_ascii=False), status=status, headers=headers,
                    content_type="application/json;charset=UTF-8")


# XML: members QBO writes as attributes, and reference types (value as text, name/type as attributes).
_ATTRIBUTES = {"domain", "sparse", "startPosition", "maxResults", "totalCount", "bId", "type", "code",
               "element", "status"}


def _xml_value(parent: ET.Element, tag: str, value: Any) -> None:
    if isinstance(value, list):
        for member in value:
            _xml_value(parent, tag, member)
        return
    if isinstance(value, dict):
        if (tag.endswith("Ref") and "value" in value and set(value) <= {"value", "name", "type"}) or set(value) == {
            "value"
        }:
            node = ET.SubElement(parent, tag, {k: str(v) for k, v in value.items() if k != "value"})
            node.text = str(value["value"])
            return
        node = ET.SubElement(parent, tag)
        for key, member in value.items():
            if key in _ATTRIBUTES and not isinstance(member, dict | list):
                node.set(key, _xml_text(member))
            else:
                _xml_value(node, key, member)
        return
    ET.SubElement(parent, tag).text = _xml_text(value)


def _xml_text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return "" if value is None else str(value)
