"""The bridge's HTTP face: ``/qbwc`` (SOAP, for the Web Connector), ``/qwc`` (the file a bookkeeper adds to the
Web Connector) and ``/api/v1/*`` (JSON, for the connectors, with the ``x-api-key`` header).

JSON API:
- ``GET  /qwc?api_key=...``: the Web Connector's application file;
- ``GET  /api/v1/status``: Web Connector's last contact, open/failed job counts, mirror sizes;
- ``GET  /api/v1/records/{customers|invoices|names}?after_seq=N&limit=M``: mirror rows changed after ``seq`` N;
- ``POST /api/v1/jobs``: queue writes ``{"jobs": [{idempotency_key, kind, link, payload, depends_on}]}``;
  a key already known returns its job unchanged (nothing is queued twice);
- ``GET  /api/v1/jobs?status=pending,sent&unreported=true``: jobs and QuickBooks' answers;
- ``POST /api/v1/jobs/acknowledge``: ``{"ids": [...]}``: failures a sync has reported.
"""

from __future__ import annotations

import hmac
import json
import time
import uuid
from typing import Any

import sqlalchemy as sa
from werkzeug.exceptions import HTTPException, NotFound, Unauthorized
from werkzeug.routing import Map, Rule
from werkzeug.wrappers import Request, Response

from quickbooks_desktop_bridge.service import Bridge
from quickbooks_desktop_bridge.soap import soap_application
from quickbooks_desktop_bridge.store import Store, jobs, mirror

ENTITIES = {"customers": "customer", "invoices": "invoice", "names": "name"}
JOB_KINDS = ("CustomerAdd", "CustomerMod", "InvoiceAdd", "InvoiceMod")
MAX_LIMIT = 1000


def qwc_file(app_url: str, username: str, owner_id: str, file_id: str, minutes: int = 15) -> str:
    """The Web Connector's application file (Intuit's sample ``.qwc`` fields); https except for localhost."""
    support = app_url.rsplit("/qbwc", 1)[0] + "/"
    return f"""<?xml version="1.0"?>
<QBWCXML>
  <AppName>Coperniq QuickBooks Desktop bridge</AppName>
  <AppID></AppID>
  <AppURL>{app_url}</AppURL>
  <AppDescription>Syncs customers and invoices between Coperniq and this company file</AppDescription>
  <AppSupport>{support}</AppSupport>
  <UserName>{username}</UserName>
  <OwnerID>{{{owner_id}}}</OwnerID>
  <FileID>{{{file_id}}}</FileID>
  <QBType>QBFS</QBType>
  <Style>Document</Style>
  <AuthFlags>0xF</AuthFlags>
  <Scheduler><RunEveryNMinutes>{minutes}</RunEveryNMinutes></Scheduler>
  <IsReadOnly>false</IsReadOnly>
</QBWCXML>
"""


class BridgeApp:
    def __init__(self, store: Store, username: str, password: str, api_key: str, public_url: str | None = None):
        self.store = store
        self.bridge = Bridge(store, username, password)
        self.api_key = api_key
        self.username = username
        self.public_url = public_url
        self.soap = soap_application(self.bridge)
        self.urls = Map([
            Rule("/qwc", endpoint="qwc"),
            Rule("/api/v1/status", endpoint="status"),
            Rule("/api/v1/records/<stream>", endpoint="records"),
            Rule("/api/v1/jobs", endpoint="jobs", methods=["GET", "POST"]),
            Rule("/api/v1/jobs/acknowledge", endpoint="acknowledge", methods=["POST"]),
        ])

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Any:
        if environ.get("PATH_INFO", "").rstrip("/") == "/qbwc":
            return self.soap(environ, start_response)
        request = Request(environ)
        try:
            endpoint, args = self.urls.bind_to_environ(environ).match()
            self._authorize(request)
            response = getattr(self, f"on_{endpoint}")(request, **args)
        except HTTPException as error:
            response = Response(json.dumps({"error": error.description}), status=error.code,
                                mimetype="application/json")
        return response(environ, start_response)

    def _authorize(self, request: Request) -> None:
        # The .qwc file is fetched from a browser, so it also takes the key as ?api_key= (it names the
        # Web Connector's user, which is nobody else's business).
        given = request.headers.get("x-api-key") or request.args.get("api_key", "")
        if not hmac.compare_digest(given, self.api_key):
            raise Unauthorized("missing or wrong x-api-key")

    @staticmethod
    def _json(payload: Any, status: int = 200) -> Response:
        return Response(json.dumps(payload), status=status, mimetype="application/json")

    def on_qwc(self, request: Request) -> Response:
        base = self.public_url or request.host_url.rstrip("/")
        with self.store.begin() as conn:
            owner = self.store.get_meta(conn, "owner_id")
            if owner is None:
                owner = str(uuid.uuid4()).upper()
                self.store.set_meta(conn, "owner_id", owner)
                self.store.set_meta(conn, "file_id", str(uuid.uuid4()).upper())
            file_id = self.store.get_meta(conn, "file_id") or ""
        body = qwc_file(f"{base}/qbwc", self.username, owner, file_id)
        return Response(body, mimetype="application/xml",
                        headers={"Content-Disposition": 'attachment; filename="coperniq-bridge.qwc"'})

    def on_status(self, request: Request) -> Response:
        with self.store.begin() as conn:
            contact = self.store.get_meta(conn, "last_contact")
            counts = dict(conn.execute(sa.select(jobs.c.status, sa.func.count()).group_by(jobs.c.status)).all())
            sizes = dict(conn.execute(sa.select(mirror.c.entity, sa.func.count()).group_by(mirror.c.entity)).all())
        return self._json({"last_contact": float(contact) if contact else None,
                           "seconds_since_contact": time.time() - float(contact) if contact else None,
                           "jobs": counts, "mirror": sizes})

    def on_records(self, request: Request, stream: str) -> Response:
        if stream not in ENTITIES:
            raise NotFound(f"no stream {stream!r}")
        try:
            after = int(request.args.get("after_seq", 0))
            limit = max(1, min(MAX_LIMIT, int(request.args.get("limit", MAX_LIMIT))))
        except ValueError as error:
            return self._json({"error": f"bad paging parameter: {error}"}, 400)
        records = self.store.changes(ENTITIES[stream], after, limit)
        return self._json({"records": records, "last_seq": records[-1]["_bridge_seq"] if records else after,
                           "has_more": len(records) == limit})

    def on_jobs(self, request: Request) -> Response:
        if request.method == "GET":
            statuses = tuple(s for s in request.args.get("status", "").split(",") if s) or None
            unreported = request.args.get("unreported") == "true"
            return self._json({"jobs": self.store.list_jobs(statuses, unreported)})
        body = request.get_json(silent=True) or {}
        results = []
        for item in body.get("jobs") or []:
            if not isinstance(item, dict) or item.get("kind") not in JOB_KINDS or not item.get("idempotency_key") \
                    or not isinstance(item.get("payload"), dict) or "elements" not in item["payload"]:
                return self._json({"error": f"a job needs idempotency_key, kind in {JOB_KINDS}, and payload.elements:"
                                            f" {str(item)[:200]}"}, 400)
            job, created = self.store.enqueue(str(item["idempotency_key"]), item["kind"], str(item.get("link", "")),
                                              item["payload"], item.get("depends_on"))
            results.append({**job, "created": created})
        return self._json({"jobs": results}, 201 if any(r["created"] for r in results) else 200)

    def on_acknowledge(self, request: Request) -> Response:
        ids = [int(i) for i in (request.get_json(silent=True) or {}).get("ids") or []]
        self.store.acknowledge(ids)
        return self._json({"acknowledged": len(ids)})


__all__ = ["BridgeApp", "qwc_file"]
