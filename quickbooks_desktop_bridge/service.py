"""What the bridge does for each Web Connector call: plan a session, build qbXML batches, apply answers.

A session (one ticket) runs in two phases:

1. **read**: in the first ``sendRequestXML`` the bridge asks for everything changed since its cursors,
   several requests in one message set: customers and invoices through iterators (``iterator="Start"``,
   then ``"Continue"`` while ``iteratorRemainingCount`` > 0), vendor, employee and other names (for
   QuickBooks' name uniqueness), and deletions (``ListDeletedQuery`` / ``TxnDeletedQuery``). A cursor
   moves only when its read completed, so a session cut short is simply read again.
2. **write**: queued jobs, up to ``MAX_WRITES`` per message set with ``continueOnError``. A job whose
   previous attempt got no answer (a lost response, a killed session) is first looked for in the fresh
   mirror by its link marker, so an Add is never made twice. A ``*Mod`` refused with 3200 (EditSequence
   out of date) is re-read and recomputed from its desired fields, never re-sent blindly.

``receiveResponseXML`` returns 100 when nothing is left, else a percentage below 100 so the Web
Connector asks again (Intuit's QBWC programmer's guide).
"""

from __future__ import annotations

import hmac
import json
import logging
import secrets
import time
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from mapping.links import invoice_id_from_note, project_id_from_notes
from mapping.qbd import customer_element_changes, invoice_element_changes
from qbd import qbxml
from quickbooks_desktop_bridge.store import Store, jobs, mirror, sessions

logger = logging.getLogger("quickbooks_desktop_bridge")

MAX_WRITES = 50  # write requests per message set: QuickBooks answers them one by one, within QBWC's timeout
PAGE_SIZE = 100  # MaxReturned of each iterator page
MAX_ATTEMPTS = 5  # a job refused as locked (3170-3180) this many times is reported as failed
MAX_BATCHES = 500  # a guard: one session never loops for ever
NAME_LISTS = (("VendorQuery", "VendorRet"), ("EmployeeQuery", "EmployeeRet"), ("OtherNameQuery", "OtherNameRet"))
ITERATED = {"customers": "CustomerQuery", "invoices": "InvoiceQuery"}
ENTITY = {"customers": "customer", "invoices": "invoice"}
ID_KEY = {"customer": "ListID", "invoice": "TxnID"}
SERVER_VERSION = "quickbooks-desktop-bridge 0.1.0"


_later = qbxml.later_time


class Bridge:
    def __init__(self, store: Store, username: str, password: str):
        self.store = store
        self.username = username
        self.password = password

    # -- the Web Connector's calls -----------------------------------------------------------

    def authenticate(self, username: str, password: str) -> list[str]:
        """[ticket, ""] to work with the open company file; ["", "nvu"] for a wrong user or password."""
        if not (hmac.compare_digest(username or "", self.username) and hmac.compare_digest(password or "",
                                                                                          self.password)):
            logger.warning("Web Connector login refused (wrong user name or password).")
            return ["", "nvu"]
        ticket = secrets.token_hex(16)  # random: a guessed ticket must not read another session's data
        state = {"phase": "read", "started": False, "iterators": {}, "in_flight": {}, "tries": {}, "batches": 0,
                 "requests": 0}
        with self.store.begin() as conn:
            conn.execute(sessions.insert().values(ticket=ticket, state=json.dumps(state), created_at=time.time(),
                                                  closed=False))
            self.store.set_meta(conn, "last_contact", str(time.time()))
        return [ticket, ""]

    def _session(self, conn: Connection, ticket: str) -> dict[str, Any] | None:
        row = conn.execute(sa.select(sessions.c.state).where(sessions.c.ticket == ticket,
                                                             sessions.c.closed.is_(False))).first()
        return json.loads(row.state) if row is not None else None

    @staticmethod
    def _save(conn: Connection, ticket: str, state: dict[str, Any], error: str | None = None) -> None:
        values: dict[str, Any] = {"state": json.dumps(state)}
        if error is not None:
            values["last_error"] = error
        conn.execute(sessions.update().where(sessions.c.ticket == ticket).values(**values))

    def send_request_xml(self, ticket: str) -> str:
        with self.store.begin() as conn:
            state = self._session(conn, ticket)
            if state is None:
                return ""
            requests = self._next_batch(conn, state)
            state["batches"] += 1
            state["requests"] += len(requests)
            self._save(conn, ticket, state)
        return qbxml.request_document(requests) if requests else ""

    def receive_response_xml(self, ticket: str, response: str, hresult: str, message: str) -> int:
        with self.store.begin() as conn:
            state = self._session(conn, ticket)
            if state is None:
                return -1
            if hresult:
                # QuickBooks did not process the message set: nothing in it was done.
                self._requeue_in_flight(conn, state, executed=False)
                state["iterators"] = {}
                state["phase"] = "read"
                state["started"] = False
                self._save(conn, ticket, state, error=f"QuickBooks could not process the request ({hresult}): "
                                                      f"{message}")
                return -1
            try:
                answers = qbxml.parse_response(response)
            except qbxml.QbXmlError as error:
                self._requeue_in_flight(conn, state, executed=None)
                self._save(conn, ticket, state, error=str(error))
                return -1
            for answer in answers:
                self._apply(conn, state, answer)
            self._requeue_in_flight(conn, state, executed=None)  # asked but not answered: outcome unknown
            more = self._has_more(conn, state)
            self._save(conn, ticket, state)
            self.store.set_meta(conn, "last_contact", str(time.time()))
        return 50 if more else 100

    def connection_error(self, ticket: str, hresult: str, message: str) -> str:
        """QuickBooks could not be opened: nothing was sent, so nothing is lost; stop this session."""
        with self.store.begin() as conn:
            state = self._session(conn, ticket) or {}
            if state:
                self._requeue_in_flight(conn, state, executed=False)
                self._save(conn, ticket, state, error=f"{hresult}: {message}")
            self.store.set_meta(conn, "last_connection_error", f"{hresult}: {message}")
        return "done"

    def get_last_error(self, ticket: str) -> str:
        with self.store.begin() as conn:
            error = conn.execute(sa.select(sessions.c.last_error).where(sessions.c.ticket == ticket)).scalar()
        return error or ""

    def close_connection(self, ticket: str) -> str:
        with self.store.begin() as conn:
            state = self._session(conn, ticket)
            if state is not None:
                self._requeue_in_flight(conn, state, executed=None)
                conn.execute(sessions.update().where(sessions.c.ticket == ticket).values(
                    closed=True, state=json.dumps(state)))
        return "OK"

    # -- planning ----------------------------------------------------------------------------

    def _next_batch(self, conn: Connection, state: dict[str, Any]) -> list[qbxml.Request]:
        requests: list[qbxml.Request] = []
        state["in_flight"] = {}
        if state["batches"] >= MAX_BATCHES:
            return requests
        if not state["started"]:
            state["started"] = True
            for stream, kind in ITERATED.items():
                cursor = self.store.get_meta(conn, f"cursor:{stream}")
                state["iterators"][stream] = {"id": None, "done": False, "max": cursor, "from": cursor}
                requests.append(self._page(stream, kind, "Start", None, cursor))
            names_cursor = self.store.get_meta(conn, "cursor:names")
            for kind, _ret in NAME_LISTS:
                requests.append(qbxml.list_query(kind, f"n:{kind}", max_returned=10_000, from_modified=names_cursor,
                                                 extra={"IncludeRetElement": ["ListID", "Name", "IsActive",
                                                                              "TimeModified"]}))
            state["names_max"] = names_cursor
            deleted_cursor = self.store.get_meta(conn, "cursor:deleted")
            requests.append(qbxml.deleted_query("ListDeletedQuery", "d:Customer", "Customer", deleted_cursor))
            requests.append(qbxml.deleted_query("TxnDeletedQuery", "d:Invoice", "Invoice", deleted_cursor))
            state["deleted_max"] = deleted_cursor
        else:
            for stream, kind in ITERATED.items():
                iterator = state["iterators"].get(stream)
                if iterator and not iterator["done"]:
                    requests.append(self._page(stream, kind, "Continue", iterator["id"], iterator["from"]))
        if requests:
            state["in_flight"] = {request.request_id: None for request in requests}
            return requests
        state["phase"] = "write"
        if not state.get("reconciled"):
            state["reconciled"] = True
            self._reconcile_unanswered(conn)
        for job in self.store.list_jobs(("stale",), conn=conn):
            requests.append(self._reread(job))
        budget = MAX_WRITES
        for job in self.store.list_jobs(("pending",), conn=conn):
            if budget <= 0:
                break
            if state["tries"].get(str(job["id"]), 0) >= 2:
                continue  # refused twice this session as locked: the next session tries again
            request = self._write_request(conn, job)
            if request is None or not self.store.claim_job(conn, job["id"]):
                continue  # waiting for its customer, or another bridge process handed it out meanwhile
            requests.append(request)
            state["tries"][str(job["id"])] = state["tries"].get(str(job["id"]), 0) + 1
            budget -= 1
        state["in_flight"] = {request.request_id: None for request in requests}
        return requests

    @staticmethod
    def _page(stream: str, kind: str, iterator: str, iterator_id: str | None, cursor: str | None) -> qbxml.Request:
        request_id = f"r:{stream}"
        if stream == "invoices":
            return qbxml.invoice_query(request_id, iterator=iterator, iterator_id=iterator_id, max_returned=PAGE_SIZE,
                                       from_modified=cursor)
        return qbxml.list_query(kind, request_id, iterator=iterator, iterator_id=iterator_id, max_returned=PAGE_SIZE,
                                from_modified=cursor)

    @staticmethod
    def _reread(job: dict[str, Any]) -> qbxml.Request:
        payload = job["payload"]
        if job["kind"].startswith("Customer"):
            return qbxml.list_query("CustomerQuery", f"v:{job['id']}", list_ids=[payload["ListID"]])
        return qbxml.invoice_query(f"v:{job['id']}", txn_ids=[payload["TxnID"]])

    def _dependency(self, conn: Connection, job: dict[str, Any]) -> tuple[str, dict[str, Any] | None]:
        """("ready", record) / ("wait", None) / ("failed", None) for the job that creates what ``job`` refers to."""
        if not job["depends_on"]:
            return "ready", None
        row = conn.execute(sa.select(jobs).where(jobs.c.idempotency_key == job["depends_on"])).first()
        if row is None or row.status == "failed":
            return "failed", None
        if row.status != "done" or not row.result_id:
            return "wait", None
        entity = "customer" if row.kind.startswith("Customer") else "invoice"
        return "ready", self.store.get_record(conn, entity, row.result_id)

    def _write_request(self, conn: Connection, job: dict[str, Any]) -> qbxml.Request | None:
        status, record = self._dependency(conn, job)
        if status == "wait":
            return None
        if status == "failed" or (job["depends_on"] and record is None):
            self.store.update_job(conn, job["id"], status="failed", code=qbxml.INVALID_REFERENCE,
                                  message="the customer it belongs to was not created in QuickBooks")
            return None
        payload = job["payload"]
        elements = dict(payload["elements"])
        if job["kind"] == "InvoiceAdd" and record is not None:
            elements["CustomerRef"] = {"ListID": record["ListID"]}
        elif job["kind"].endswith("Mod"):
            id_key = "ListID" if job["kind"] == "CustomerMod" else "TxnID"
            if record is not None:  # a Mod of what a queued Add created: its id and EditSequence are known now
                payload = {**payload, id_key: record[id_key], "EditSequence": record["EditSequence"]}
                self.store.update_job(conn, job["id"], payload=payload, depends_on=None)
            elements = {id_key: payload[id_key], "EditSequence": payload["EditSequence"], **elements}
        return qbxml.Request(job["kind"], f"j:{job['id']}", elements)

    def _reconcile_unanswered(self, conn: Connection) -> None:
        """Jobs sent in an earlier session whose answer never came: done if the fresh mirror shows them."""
        unanswered = self.store.list_jobs(("sent",), conn=conn)
        if not unanswered:
            return
        customers, invoices = {}, {}
        for row in conn.execute(sa.select(mirror.c.entity, mirror.c.object_id, mirror.c.data).where(
                mirror.c.deleted_at.is_(None), mirror.c.entity.in_(("customer", "invoice")))).all():
            data = json.loads(row.data)
            if row.entity == "customer" and (project := project_id_from_notes(data.get("Notes"))) is not None:
                customers[project] = row.object_id
            elif row.entity == "invoice" and (invoice := invoice_id_from_note(data.get("Memo"))) is not None:
                invoices[invoice] = row.object_id
        for job in unanswered:
            payload = job["payload"]
            found = customers.get(payload.get("project_id")) if job["kind"] == "CustomerAdd" else \
                invoices.get(payload.get("invoice_id")) if job["kind"] == "InvoiceAdd" else None
            if found is not None:
                self.store.update_job(conn, job["id"], status="done", code=0, result_id=found,
                                      message="found in QuickBooks after its answer was lost")
            else:
                # Not there (never executed), or a Mod: sending it again is safe (a Mod that did run now
                # carries an old EditSequence, gets 3200 and is recomputed to nothing).
                self.store.update_job(conn, job["id"], status="pending")

    def _requeue_in_flight(self, conn: Connection, state: dict[str, Any], executed: bool | None) -> None:
        """Requests of the last batch left without an answer.

        ``executed=False``: QuickBooks certainly did nothing: back to pending. ``None``: unknown: the job
        stays ``sent`` and is reconciled at the next session's write phase.
        """
        for request_id in state.get("in_flight", {}):
            if request_id.startswith("j:") and executed is False:
                self.store.update_job(conn, int(request_id[2:]), status="pending")
            elif request_id.startswith("r:"):
                state["iterators"].pop(request_id[2:], None)
        state["in_flight"] = {}

    def _has_more(self, conn: Connection, state: dict[str, Any]) -> bool:
        if state["batches"] >= MAX_BATCHES:
            return False
        if not state["started"] or any(not it["done"] for it in state["iterators"].values()):
            return True  # the read is not complete
        # From here on, only work that a message set would carry: never an empty sendRequestXML, whose
        # meaning Intuit's sample and other implementations disagree on ("done" vs. an error).
        if not state.get("reconciled") and conn.execute(sa.select(jobs.c.id).where(jobs.c.status == "sent")).first():
            return True
        statuses = dict(conn.execute(sa.select(jobs.c.idempotency_key, jobs.c.status).where(
            jobs.c.status.in_(("pending", "stale", "done")))).all())
        for row in conn.execute(sa.select(jobs.c.id, jobs.c.status, jobs.c.depends_on).where(
                jobs.c.status.in_(("pending", "stale")))):
            if row.status == "stale":
                return True
            ready = not row.depends_on or statuses.get(row.depends_on) in ("pending", "stale", "done")
            if ready and state["tries"].get(str(row.id), 0) < 2:
                return True
        return False

    # -- answers -----------------------------------------------------------------------------

    def _apply(self, conn: Connection, state: dict[str, Any], answer: qbxml.Response) -> None:
        request_id = answer.request_id
        if request_id not in state.get("in_flight", {}):
            logger.warning(f"Ignored an answer to request {request_id!r} that this session did not send.")
            return
        del state["in_flight"][request_id]
        prefix, _, name = request_id.partition(":")
        if prefix == "r":
            self._apply_page(conn, state, name, answer)
        elif prefix == "n":
            for record in answer.records if answer.ok else []:
                self.store.upsert(conn, "name", record.get("ListID", record.get("Name", "")),
                                  {**record, "list": name.removesuffix("Query")})
                state["names_max"] = _later(state.get("names_max"), record.get("TimeModified"))
            if answer.ok:
                self.store.set_meta(conn, "cursor:names", state.get("names_max"))
        elif prefix == "d":
            entity = "customer" if name == "Customer" else "invoice"
            for record in answer.records if answer.ok else []:
                object_id = record.get("ListID") or record.get("TxnID")
                if object_id:
                    self.store.mark_deleted(conn, entity, object_id, record.get("TimeDeleted", ""),
                                            {ID_KEY[entity]: object_id})
                    state["deleted_max"] = _later(state.get("deleted_max"), record.get("TimeDeleted"))
            if answer.ok and name == "Invoice":
                self.store.set_meta(conn, "cursor:deleted", state.get("deleted_max"))
        elif prefix == "v":
            self._apply_reread(conn, int(name), answer)
        elif prefix == "j":
            self._apply_write(conn, state, int(name), answer)

    def _apply_page(self, conn: Connection, state: dict[str, Any], stream: str, answer: qbxml.Response) -> None:
        iterator = state["iterators"].get(stream)
        if iterator is None:
            return
        if not answer.ok:
            # An expired iterator (3391) or another refusal: this list is read again next session.
            logger.warning(f"Reading {stream} stopped: {answer.status_code} {answer.message}")
            iterator["done"] = True
            return
        entity = ENTITY[stream]
        for record in answer.records:
            self.store.upsert(conn, entity, record[ID_KEY[entity]], record)
            iterator["max"] = _later(iterator["max"], record.get("TimeModified"))
        iterator["id"] = answer.iterator_id or iterator["id"]
        if answer.remaining <= 0:
            iterator["done"] = True
            self.store.set_meta(conn, f"cursor:{stream}", iterator["max"])

    def _apply_write(self, conn: Connection, state: dict[str, Any], job_id: int, answer: qbxml.Response) -> None:
        row = conn.execute(sa.select(jobs).where(jobs.c.id == job_id)).first()
        if row is None:
            return
        job = self.store.job_dict(row)
        entity = "customer" if job["kind"].startswith("Customer") else "invoice"
        if answer.ok and answer.records:
            record = answer.records[0]
            self.store.upsert(conn, entity, record[ID_KEY[entity]], record)
            self.store.update_job(conn, job_id, status="done", code=answer.status_code, message=answer.message,
                                  result_id=record[ID_KEY[entity]])
            return
        payload = job["payload"]
        code = answer.status_code
        if code == qbxml.NAME_IN_USE and payload.get("alternate_name") and "Name" in payload["elements"]:
            # Someone took the name meanwhile (a vendor, an employee, another customer): the suffixed name.
            payload = {**payload, "elements": {**payload["elements"], "Name": payload["alternate_name"]},
                       "alternate_name": None}
            self.store.update_job(conn, job_id, status="pending", payload=payload, code=code, message=answer.message)
            state["tries"][str(job_id)] = 0
            return
        if code == qbxml.STALE_EDIT_SEQUENCE and job["kind"].endswith("Mod"):
            self.store.update_job(conn, job_id, status="stale", code=code, message=answer.message)
            return
        if code in qbxml.RETRYABLE and job["attempts"] < MAX_ATTEMPTS:
            self.store.update_job(conn, job_id, status="pending", code=code, message=answer.message)
            return
        self.store.update_job(conn, job_id, status="failed", code=code, message=answer.message)

    def _apply_reread(self, conn: Connection, job_id: int, answer: qbxml.Response) -> None:
        """A 3200 answered by re-reading the object and recomputing the change from the job's desired fields."""
        row = conn.execute(sa.select(jobs).where(jobs.c.id == job_id)).first()
        if row is None:
            return
        job = self.store.job_dict(row)
        if not answer.ok or not answer.records:
            self.store.update_job(conn, job_id, status="failed", code=answer.status_code or qbxml.NOT_FOUND,
                                  message=f"re-read after 3200 failed: {answer.message}")
            return
        fresh = answer.records[0]
        payload = job["payload"]
        if job["kind"] == "CustomerMod":
            self.store.upsert(conn, "customer", fresh["ListID"], fresh)
            elements = customer_element_changes(fresh, payload["desired"], payload.get("project_id"))
        else:
            self.store.upsert(conn, "invoice", fresh["TxnID"], fresh)
            elements = invoice_element_changes(fresh, payload["desired"])
        if not elements:
            self.store.update_job(conn, job_id, status="done", code=0, result_id=fresh.get(
                "ListID") or fresh.get("TxnID"), message="nothing left to change after a re-read")
            return
        payload = {**payload, "elements": elements, "EditSequence": fresh["EditSequence"]}
        self.store.update_job(conn, job_id, status="pending", payload=payload)
