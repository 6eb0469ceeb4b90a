"""Durable state of the bridge, in SQLAlchemy Core so SQLite (one process) and PostgreSQL (several) both work.

- ``jobs``: the queue of writes, one row per idempotency key, with QuickBooks' answer;
- ``mirror``: customers, invoices and other names (vendors, employees, other names) as QuickBooks last
  returned them, each change stamped with a growing ``seq`` that the source reads incrementally;
- ``sessions``: one row per Web Connector session (ticket), with what is in flight;
- ``meta``: read cursors (``TimeModified`` of the last complete read per list) and the ``seq`` counter.

Several bridge processes may share one PostgreSQL database (behind one load balancer, a Web Connector
session's calls land on any of them), so every write that two processes could race on is one statement
the database arbitrates: inserts are ``INSERT ... ON CONFLICT``, a queued job is handed out by a
conditional ``UPDATE`` (:meth:`Store.claim_job`), the ``seq`` counter is a row lock held to commit (so
``seq`` order is commit order and a reader never skips a late commit), and the tables are created under
an advisory lock.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection, Engine

metadata = sa.MetaData()

jobs = sa.Table(
    "jobs", metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("idempotency_key", sa.String(200), nullable=False, unique=True),
    sa.Column("kind", sa.String(40), nullable=False),  # CustomerAdd | CustomerMod | InvoiceAdd | InvoiceMod
    sa.Column("link", sa.String(100), nullable=False, index=True),  # e.g. project:42, invoice:7
    sa.Column("payload", sa.Text, nullable=False),  # JSON: elements, desired (Online fields), alternate_name...
    sa.Column("depends_on", sa.String(200)),  # idempotency key of the job that creates the object referred to
    sa.Column("status", sa.String(20), nullable=False, index=True),  # pending sent stale done failed superseded
    sa.Column("attempts", sa.Integer, nullable=False, default=0),
    sa.Column("code", sa.Integer),
    sa.Column("message", sa.Text),
    sa.Column("result_id", sa.String(40)),
    sa.Column("reported", sa.Boolean, nullable=False, default=False),
    sa.Column("created_at", sa.Float, nullable=False),
    sa.Column("updated_at", sa.Float, nullable=False),
)

mirror = sa.Table(
    "mirror", metadata,
    sa.Column("entity", sa.String(20), primary_key=True),  # customer | invoice | name
    sa.Column("object_id", sa.String(40), primary_key=True),  # ListID / TxnID
    sa.Column("data", sa.Text, nullable=False),
    sa.Column("time_modified", sa.String(40)),
    sa.Column("deleted_at", sa.String(40)),
    sa.Column("seq", sa.Integer, nullable=False, index=True),
)

sessions = sa.Table(
    "sessions", metadata,
    sa.Column("ticket", sa.String(64), primary_key=True),
    sa.Column("state", sa.Text, nullable=False),
    sa.Column("last_error", sa.Text),
    sa.Column("created_at", sa.Float, nullable=False),
    sa.Column("closed", sa.Boolean, nullable=False, default=False),
)

meta = sa.Table(
    "meta", metadata,
    sa.Column("key", sa.String(60), primary_key=True),
    sa.Column("value", sa.Text),
)

counters = sa.Table(
    "counters", metadata,
    sa.Column("name", sa.String(30), primary_key=True),
    sa.Column("value", sa.Integer, nullable=False),
)

OPEN = ("pending", "sent", "stale")
DIALECTS = {"sqlite": sqlite, "postgresql": postgresql}  # the dialects whose INSERT ... ON CONFLICT the store uses
SCHEMA_LOCK = 0x51424442  # pg_advisory_xact_lock key: bridges starting together create the tables once


def database_url(value: str) -> str:
    """A SQLAlchemy URL; a bare path means a SQLite file, and PostgreSQL goes through psycopg 3 (the driver shipped)."""
    if "://" not in value:
        return f"sqlite:///{value}"
    scheme, _, rest = value.partition("://")
    return f"postgresql+psycopg://{rest}" if scheme in ("postgres", "postgresql") else value


def _insert(conn: Connection, table: sa.Table) -> Any:
    """The dialect's INSERT, which has ``on_conflict_do_nothing`` / ``on_conflict_do_update``."""
    return DIALECTS[conn.dialect.name].insert(table)


class Store:
    def __init__(self, url: str):
        url = database_url(url)
        backend = sa.engine.make_url(url).get_backend_name()
        if backend not in DIALECTS:
            raise ValueError(f"the bridge keeps its state in SQLite or PostgreSQL, not {backend}")
        kwargs: dict[str, Any] = {"future": True}
        if url.startswith("sqlite"):
            kwargs["connect_args"] = {"check_same_thread": False, "timeout": 30}
            if url in ("sqlite://", "sqlite:///:memory:"):
                kwargs["poolclass"] = sa.pool.StaticPool  # one in-memory database shared by every thread
        else:
            kwargs["pool_pre_ping"] = True  # an always-on service outlives database restarts and idle timeouts
        self.engine: Engine = sa.create_engine(url, **kwargs)
        if url.startswith("sqlite"):
            @sa.event.listens_for(self.engine, "connect")
            def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
                cursor = dbapi_connection.cursor()
                cursor.execute("PRAGMA journal_mode=WAL")  # readers do not block the Web Connector's writes
                cursor.execute("PRAGMA synchronous=FULL")  # an answer acknowledged is on disk
                cursor.close()
        with self.begin() as conn:
            if conn.dialect.name == "postgresql":
                conn.execute(sa.select(sa.func.pg_advisory_xact_lock(SCHEMA_LOCK)))
            metadata.create_all(conn)
            conn.execute(_insert(conn, counters).values(name="seq", value=0).on_conflict_do_nothing())

    @contextmanager
    def begin(self) -> Iterator[Connection]:
        with self.engine.begin() as conn:
            yield conn

    # -- counters and meta -------------------------------------------------------------------

    @staticmethod
    def next_seq(conn: Connection) -> int:
        conn.execute(counters.update().where(counters.c.name == "seq").values(value=counters.c.value + 1))
        return int(conn.execute(sa.select(counters.c.value).where(counters.c.name == "seq")).scalar_one())

    @staticmethod
    def get_meta(conn: Connection, key: str) -> str | None:
        return conn.execute(sa.select(meta.c.value).where(meta.c.key == key)).scalar_one_or_none()

    @staticmethod
    def set_meta(conn: Connection, key: str, value: str | None) -> None:
        conn.execute(_insert(conn, meta).values(key=key, value=value)
                     .on_conflict_do_update(index_elements=[meta.c.key], set_={"value": value}))

    # -- mirror ------------------------------------------------------------------------------

    def upsert(self, conn: Connection, entity: str, object_id: str, data: dict[str, Any],
               deleted_at: str | None = None) -> bool:
        """Store what QuickBooks returned; a new ``seq`` only when something changed (re-reads cost nothing)."""
        text = json.dumps(data, sort_keys=True)
        row = conn.execute(sa.select(mirror.c.data, mirror.c.deleted_at).where(
            mirror.c.entity == entity, mirror.c.object_id == object_id)).first()
        if row is not None and row.data == text and row.deleted_at == deleted_at:
            return False
        values = {"data": text, "time_modified": data.get("TimeModified"), "deleted_at": deleted_at,
                  "seq": self.next_seq(conn)}
        conn.execute(_insert(conn, mirror).values(entity=entity, object_id=object_id, **values)
                     .on_conflict_do_update(index_elements=[mirror.c.entity, mirror.c.object_id], set_=values))
        return True

    def mark_deleted(self, conn: Connection, entity: str, object_id: str, deleted_at: str,
                     data: dict[str, Any] | None = None) -> None:
        row = conn.execute(sa.select(mirror.c.data, mirror.c.deleted_at).where(
            mirror.c.entity == entity, mirror.c.object_id == object_id)).first()
        if row is not None and row.deleted_at:
            return
        current = json.loads(row.data) if row is not None else (data or {})
        self.upsert(conn, entity, object_id, current, deleted_at=deleted_at)

    @staticmethod
    def get_record(conn: Connection, entity: str, object_id: str) -> dict[str, Any] | None:
        row = conn.execute(sa.select(mirror.c.data, mirror.c.deleted_at).where(
            mirror.c.entity == entity, mirror.c.object_id == object_id)).first()
        if row is None or row.deleted_at:
            return None
        return json.loads(row.data)

    def changes(self, entity: str, after_seq: int, limit: int) -> list[dict[str, Any]]:
        """Mirror rows changed after ``after_seq``, in ``seq`` order, as records with ``_bridge_seq``."""
        with self.begin() as conn:
            rows = conn.execute(sa.select(mirror).where(mirror.c.entity == entity, mirror.c.seq > after_seq)
                                .order_by(mirror.c.seq).limit(limit)).all()
        result = []
        for row in rows:
            record = json.loads(row.data)
            record["_bridge_seq"] = row.seq
            if row.deleted_at:
                record["_ab_cdc_deleted_at"] = row.deleted_at
            result.append(record)
        return result

    # -- jobs --------------------------------------------------------------------------------

    @staticmethod
    def job_dict(row: Any) -> dict[str, Any]:
        return {"id": row.id, "idempotency_key": row.idempotency_key, "kind": row.kind, "link": row.link,
                "payload": json.loads(row.payload), "depends_on": row.depends_on, "status": row.status,
                "attempts": row.attempts, "code": row.code, "message": row.message, "result_id": row.result_id,
                "reported": row.reported}

    def enqueue(self, key: str, kind: str, link: str, payload: dict[str, Any],
                depends_on: str | None = None) -> tuple[dict[str, Any], bool]:
        """Queue a write once per idempotency key: (the job, True when it is new)."""
        now = time.time()
        with self.begin() as conn:
            inserted = conn.execute(
                _insert(conn, jobs).values(idempotency_key=key, kind=kind, link=link, payload=json.dumps(payload),
                                           depends_on=depends_on, status="pending", attempts=0, reported=False,
                                           created_at=now, updated_at=now)
                .on_conflict_do_nothing(index_elements=[jobs.c.idempotency_key]).returning(jobs.c.id)).first()
            row = conn.execute(sa.select(jobs).where(jobs.c.idempotency_key == key)).first()
        return self.job_dict(row), inserted is not None

    @staticmethod
    def update_job(conn: Connection, job_id: int, **values: Any) -> None:
        if "payload" in values:
            values["payload"] = json.dumps(values["payload"])
        conn.execute(jobs.update().where(jobs.c.id == job_id).values(updated_at=time.time(), **values))

    @staticmethod
    def claim_job(conn: Connection, job_id: int) -> bool:
        """Hand a pending job out (``sent``, one more attempt); False when another process handed it out first.

        One conditional UPDATE: on PostgreSQL a second transaction waits for the first one's row lock and
        then finds the job no longer pending; on SQLite the database lock orders them the same way.
        """
        claimed = conn.execute(jobs.update().where(jobs.c.id == job_id, jobs.c.status == "pending").values(
            status="sent", attempts=jobs.c.attempts + 1, updated_at=time.time()))
        return claimed.rowcount == 1

    def list_jobs(self, statuses: tuple[str, ...] | None = None, unreported: bool = False,
                  conn: Connection | None = None) -> list[dict[str, Any]]:
        """Jobs in queue order; within ``conn``'s transaction when given (so its own changes are seen)."""
        query = sa.select(jobs).order_by(jobs.c.id)
        if statuses:
            query = query.where(jobs.c.status.in_(statuses))
        if unreported:
            query = query.where(jobs.c.reported.is_(False))
        if conn is not None:
            return [self.job_dict(row) for row in conn.execute(query).all()]
        with self.begin() as own:
            return [self.job_dict(row) for row in own.execute(query).all()]

    def acknowledge(self, job_ids: list[int]) -> None:
        with self.begin() as conn:
            conn.execute(jobs.update().where(jobs.c.id.in_(job_ids)).values(reported=True))
