"""The bridge on a real PostgreSQL server: its store, two stores racing for the queue, two bridge processes.

The server is Debian's PostgreSQL (package ``postgresql``, which ``.ci/run`` installs when it is missing),
started for this module in a temporary directory on a free loopback port. PostgreSQL refuses to run as
root, so under root (as in CI) it runs as the ``postgres`` user the package creates. Durability is off
(``fsync``): the data are thrown away. Without the server binaries the module is skipped with the reason
printed, except in CI (``CI`` set), where that is a failure: CI must run these tests.
"""

from __future__ import annotations

import os
import pwd
import shutil
import subprocess
import tempfile
import threading
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import psycopg
import pytest
import sqlalchemy as sa

from connector_core.launcher import PreloadedLauncher
from demo.desktop import PASSWORD, USERNAME, DesktopTwoWaySync
from integration_tests.desktop.test_bridge_killed import _free_port, _start
from integration_tests.desktop.test_desktop_rounds import assert_every_record_once
from quickbooks_desktop_bridge.service import MAX_WRITES, Bridge
from quickbooks_desktop_bridge.store import Store, database_url, jobs
from sandboxes.quickbooks_desktop import DesktopSandbox
from sandboxes.quickbooks_desktop.models import CompanyFile
from sandboxes.quickbooks_desktop.seed import seed_company
from unit_tests.quickbooks_desktop_bridge.test_service import customer_add, session

PRELOADED = ("airbyte_cdk.entrypoint", "source_coperniq.run", "destination_quickbooks_desktop.run",
             "source_quickbooks_desktop.run", "destination_coperniq.run")
DEBIAN_BINARIES = Path("/usr/lib/postgresql")  # Debian's layout: /usr/lib/postgresql/<major>/bin


def server_binaries() -> Path | None:
    """The directory holding initdb and pg_ctl: on PATH, else the newest Debian major version."""
    on_path = shutil.which("pg_ctl")
    if on_path and shutil.which("initdb"):
        return Path(on_path).resolve().parent
    found = sorted(DEBIAN_BINARIES.glob("*/bin/pg_ctl"), key=lambda path: int(path.parts[-3]))
    return found[-1].parent if found else None


class PostgresServer:
    """A throw-away PostgreSQL cluster on 127.0.0.1, trust authentication, user ``postgres``."""

    def __init__(self, binaries: Path):
        self.binaries = binaries
        self.port = _free_port()
        self.user = "postgres" if os.geteuid() == 0 else None  # the server will not run as root
        self.directory = Path(tempfile.mkdtemp(prefix="bridge-postgresql-"))
        if self.user:
            account = pwd.getpwnam(self.user)
            os.chown(self.directory, account.pw_uid, account.pw_gid)
        self.data = self.directory / "data"

    def _run(self, tool: str, *arguments: str) -> None:
        result = subprocess.run([str(self.binaries / tool), *arguments], user=self.user, capture_output=True,
                                text=True, timeout=60, cwd=self.directory)
        assert result.returncode == 0, f"{tool} failed:\n{result.stdout[-2000:]}\n{result.stderr[-2000:]}"

    def start(self) -> PostgresServer:
        self._run("initdb", "-D", str(self.data), "-U", "postgres", "-A", "trust", "-E", "UTF8", "--locale=C",
                  "--no-sync", "--no-instructions")
        options = f"-p {self.port} -k {self.directory} -c listen_addresses=127.0.0.1 -c fsync=off " \
                  "-c synchronous_commit=off -c full_page_writes=off"
        self._run("pg_ctl", "-D", str(self.data), "-l", str(self.directory / "server.log"), "-o", options,
                  "-w", "-t", "60", "start")
        return self

    def stop(self) -> None:
        self._run("pg_ctl", "-D", str(self.data), "-m", "immediate", "-w", "stop")
        shutil.rmtree(self.directory, ignore_errors=True)

    def new_database(self) -> str:
        """A fresh, empty database; its SQLAlchemy URL as the bridge's ``--database`` takes it."""
        name = f"bridge_{uuid.uuid4().hex[:12]}"
        with psycopg.connect(host="127.0.0.1", port=self.port, user="postgres", dbname="postgres",
                             autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
        return f"postgresql://postgres@127.0.0.1:{self.port}/{name}"


@pytest.fixture(scope="module")
def postgres() -> Iterator[PostgresServer]:
    binaries = server_binaries()
    if binaries is None:
        reason = ("PostgreSQL server binaries (initdb, pg_ctl) not found: install Debian's `postgresql` package "
                  "(`.ci/run` does) to run the bridge's PostgreSQL tests")
        if os.environ.get("CI"):
            pytest.fail(reason)
        pytest.skip(reason)
    server = PostgresServer(binaries).start()
    yield server
    server.stop()


@pytest.fixture
def bridge_db(postgres: PostgresServer) -> str:
    """Overrides the Desktop fixtures' SQLite file: every bridge of a test shares one PostgreSQL database."""
    return postgres.new_database()


def test_the_store_on_postgresql_keeps_one_row_per_key_and_a_new_seq_only_on_change(bridge_db: str) -> None:
    store = Store(bridge_db)
    assert store.engine.dialect.name == "postgresql" and store.engine.driver == "psycopg"
    first, created = store.enqueue("k1", "CustomerAdd", "project:1", customer_add(1, "Okafor Residence"))
    again, created_again = store.enqueue("k1", "CustomerAdd", "project:1", customer_add(1, "Other"))
    assert (created, created_again) == (True, False) and again == first
    with store.begin() as conn:
        assert store.upsert(conn, "customer", "80000001-1", {"Name": "A", "TimeModified": "t1"})
        assert not store.upsert(conn, "customer", "80000001-1", {"Name": "A", "TimeModified": "t1"})
        assert store.upsert(conn, "customer", "80000001-1", {"Name": "B", "TimeModified": "t2"})
        store.set_meta(conn, "cursor:customers", "t1")
        store.set_meta(conn, "cursor:customers", "t2")
        assert store.get_meta(conn, "cursor:customers") == "t2"
        assert store.claim_job(conn, first["id"]) and not store.claim_job(conn, first["id"])
    assert [(r["Name"], r["_bridge_seq"]) for r in store.changes("customer", 0, 10)] == [("B", 2)]
    assert Store(bridge_db).list_jobs(("sent",))[0]["attempts"] == 1, "a second store sees the same state"


def test_web_connector_sessions_on_postgresql_write_each_job_once(bridge_db: str) -> None:
    bridge = Bridge(Store(bridge_db), "qbwc", "secret")
    company = seed_company(CompanyFile(), customers=3, invoices=2, seed=1)
    bridge.store.enqueue("k4", "CustomerAdd", "project:42", customer_add(42, "Okafor Residence"))
    session(bridge, company, lose_at=2)  # QuickBooks applied the write, the answer was lost
    session(bridge, company)
    job = bridge.store.list_jobs()[0]
    assert job["status"] == "done" and job["message"] == "found in QuickBooks after its answer was lost"
    assert sum("Coperniq project #42" in (c.get("Notes") or "") for c in company.customers.values()) == 1


def handed_out(request_xml: str) -> set[int]:
    """The job ids a message set carries (their requestIDs are ``j:<id>``)."""
    return {int(part.split('"', 1)[0]) for part in request_xml.split('requestID="j:')[1:]}


def meet_after_reading_the_queue(store: Store, barrier: threading.Barrier) -> None:
    """Make this store wait, right after reading the pending jobs, until the other one has read them too."""
    read = store.list_jobs

    def list_jobs(statuses: tuple[str, ...] | None = None, unreported: bool = False, conn: Any = None) -> Any:
        found = read(statuses, unreported, conn)
        if statuses == ("pending",):
            barrier.wait(timeout=30)
        return found
    store.list_jobs = list_jobs  # type: ignore[method-assign]


def test_two_stores_racing_for_the_queue_never_hand_out_the_same_job(bridge_db: str) -> None:
    """The Web Connector repeats a sendRequestXML that timed out while the first is still running, and the
    two land on two bridge processes: both read the same pending jobs; each job still goes out once."""
    first, second = Bridge(Store(bridge_db), "qbwc", "secret"), Bridge(Store(bridge_db), "qbwc", "secret")
    company = seed_company(CompanyFile(), customers=2, invoices=0, seed=3)
    total = 3 * MAX_WRITES
    for project in range(1, total + 1):
        first.store.enqueue(f"k{project}", "CustomerAdd", f"project:{project}",
                            customer_add(project, f"Residence {project}"))
    ticket, _ = first.authenticate("qbwc", "secret")
    second.receive_response_xml(ticket, company.process(first.send_request_xml(ticket)), "", "")  # the read
    opening = second.send_request_xml(ticket)  # the first writes (and the check for lost answers)
    assert len(handed_out(opening)) == MAX_WRITES
    first.receive_response_xml(ticket, company.process(opening), "", "")

    barrier = threading.Barrier(2)
    for bridge in (first, second):
        meet_after_reading_the_queue(bridge.store, barrier)
    batches: dict[str, str] = {}
    racers = [threading.Thread(target=lambda b=bridge, n=name: batches.__setitem__(n, b.send_request_xml(ticket)))
              for name, bridge in (("first", first), ("second", second))]
    for racer in racers:
        racer.start()
    for racer in racers:
        racer.join(timeout=60)
    for bridge in (first, second):
        del bridge.store.list_jobs  # the race is over: the stores read the queue as before
    raced = [handed_out(batches["first"]), handed_out(batches["second"])]
    assert not raced[0] & raced[1], "a job handed out by both processes would be written twice"
    assert len(raced[0] | raced[1]) == total - MAX_WRITES, "between them they hand out everything left"
    with first.store.begin() as conn:
        attempts = conn.execute(sa.select(jobs.c.attempts)).scalars().all()
    assert sorted(set(attempts)) == [1], "each job was counted as sent once"

    # The Web Connector got the second answer only: the first batch's jobs are reconciled next session.
    first.receive_response_xml(ticket, company.process(batches["second"]), "", "")
    first.close_connection(ticket)
    session(second, company)
    assert {job["status"] for job in first.store.list_jobs()} == {"done"}
    assert len([c for c in company.customers.values() if "Coperniq project #" in (c.get("Notes") or "")]) == total


def test_two_bridge_processes_on_one_database_carry_the_rounds(
        coperniq_sandbox_factory: Callable[..., Any], bridge_db: str) -> None:
    """The connectors talk to one bridge process, the Web Connector to another; both started at once
    (creating the tables together), both on one PostgreSQL database."""
    ports = [_free_port(), _free_port()]
    processes: list[subprocess.Popen[bytes]] = []
    starting = [threading.Thread(target=lambda p=port: processes.append(_start(p, bridge_db))) for port in ports]
    try:
        for thread in starting:
            thread.start()
        for thread in starting:
            thread.join(timeout=120)
        assert len(processes) == 2, "both bridges started on the same database"
        coperniq = coperniq_sandbox_factory(projects=6, seed=7, daily_quota=None)
        sync = DesktopTwoWaySync(coperniq, DesktopSandbox(customers=2, invoices=2, seed=7),
                                 f"http://127.0.0.1:{ports[0]}")
        sync.desktop.connect(f"http://127.0.0.1:{ports[1]}", USERNAME, PASSWORD)
        launcher = PreloadedLauncher(preload=PRELOADED)  # the connectors' imports once, not eight times
        sync.inbound.launcher = sync.outbound.launcher = launcher
        first = sync.round()
        assert not first.errors, first.errors
        assert first.qbxml_writes > 0
        assert_every_record_once(sync)
        quiet = sync.round()
        assert not quiet.errors and quiet.writes == (0, 0), "a quiet round writes nothing on either side"
    finally:
        for process in processes:
            process.kill()
            process.wait()


def test_database_urls_name_sqlite_or_postgresql_through_psycopg() -> None:
    assert database_url("bridge.db") == "sqlite:///bridge.db"
    assert database_url("postgres://u:p@db/bridge") == database_url("postgresql://u:p@db/bridge") == \
        "postgresql+psycopg://u:p@db/bridge"
    assert database_url("postgresql+psycopg://u@db/bridge") == "postgresql+psycopg://u@db/bridge"
    with pytest.raises(ValueError, match="SQLite or PostgreSQL, not mysql"):
        Store("mysql://u@db/bridge")
