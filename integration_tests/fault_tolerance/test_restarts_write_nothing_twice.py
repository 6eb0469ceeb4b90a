"""Issue 10, items 7 and 11: destination-quickbooks killed mid-sync, restarted, then synced from scratch.

- ``requestid``s of ``/batch`` calls are new to each run (a retry within the run reuses its own),
  so a later run never replays an earlier answer; what the killed run wrote before its STATE is
  found again by the look-ups, never written twice.
- Each customer names its own project's primary contact whatever order contacts arrive in (a
  contact primary of one project and secondary of another never speaks for the second), so after a
  kill at any point and a restart, a sync from scratch (an Airbyte reset) writes nothing.
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs

import pytest

from integration_tests.fault_tolerance.conftest import (
    QBO_API,
    QBO_WRITES,
    Intercept,
    Pipe,
    World,
    deliverable,
    kill,
)
from mapping.links import project_id_from_notes

BATCH = QBO_API + r"/batch$"
SMALL_FLUSHES = {"DESTINATION_BUFFER_SIZE": "7"}  # contacts of one project land in different flushes


def request_ids(world: World) -> Counter[str]:
    ids: Counter[str] = Counter()
    for entry in world.quickbooks.log.entries():
        if entry.method == "POST" and entry.path.endswith("/batch"):
            ids.update(parse_qs(entry.query).get("requestid", []))
    return ids


def customer_names(world: World, project_id: int) -> tuple[Any, Any]:
    (customer,) = [c for c in world.quickbooks.backend.customers.values()
                   if project_id_from_notes(c.get("Notes")) == project_id]
    return customer.get("GivenName"), customer.get("FamilyName")


def add_shared_contact(world: World) -> tuple[int, int]:
    """Projects A and B; Pat Shared is A's primary contact and B's second one; Dana Own is B's primary.

    Pat is edited last but one and Dana last, eight other contacts between them, so a sync reads Pat
    first and Dana several flushes later.
    """
    backend = world.coperniq.backend
    a, _ = backend.create_project({"title": "Shared Contact Home A", "address": ["10 Oak St, Austin, TX 78701"]})
    b, _ = backend.create_project({"title": "Shared Contact Home B", "address": ["12 Oak St, Austin, TX 78701"]})
    dana = backend.create_contact({"name": "Dana Own", "emails": ["dana@own.example"], "projectIds": [b["id"]]})
    backend.create_contact({"name": "Pat Shared", "emails": ["pat@shared.example"], "phones": ["(512) 555-0177"],
                            "projectIds": [a["id"], b["id"]]})
    for contact_id in sorted(backend.contacts)[:8]:
        backend.update_contact(contact_id, {"name": backend.contacts[contact_id].name + " "})
    backend.update_contact(dana["id"], {"phones": ["(512) 555-0188"]})
    world.expected |= {a["id"], b["id"]}
    return a["id"], b["id"]


@pytest.mark.parametrize(("nth", "then"), [pytest.param(1, "handle", id="killed-after-batch-1-committed"),
                                           pytest.param(2, "drop", id="killed-during-batch-2-never-arrived")])
def test_killed_restarted_then_synced_from_scratch_writes_nothing_twice(
        world_factory: Any, tmp_path: Path, nth: int, then: str) -> None:
    world: World = world_factory("qbo:in:1", 4, size=40)
    project_a, project_b = add_shared_contact(world)
    read = world.pipe.read()
    assert read.ok(), read.describe()
    with Intercept(world.quickbooks, BATCH, nth, method="POST", before=kill(lambda: world.pipe.destination_process),
                   then=then) as trip:
        killed = world.pipe.write(deliverable(read), env=SMALL_FLUSHES)
    assert trip.fired.is_set() and killed.killed, killed.describe()
    first_ids = request_ids(world)
    world.quickbooks.log.clear()

    retried_read, retried = world.pipe.sync(env=SMALL_FLUSHES)
    assert retried_read.ok() and retried.ok(), retried.describe()
    world.assert_exactly_once(f"killed at batch {nth} ({then})")
    assert not set(first_ids) & set(request_ids(world)), "a new run must not reuse an earlier run's requestids"
    assert customer_names(world, project_a) == ("Pat", "Shared")
    assert customer_names(world, project_b) == ("Dana", "Own")

    # An Airbyte reset: no state, everything read again, contacts in small flushes in their own order.
    fresh = Pipe(world.pipe.source, dict(world.pipe.source_config), world.pipe.destination,
                 dict(world.pipe.destination_config), world.pipe.streams, tmp_path)
    world.quickbooks.log.clear()
    read, write = fresh.sync(env=SMALL_FLUSHES)
    assert read.ok() and write.ok(), write.describe()
    assert world.quickbooks.log.count("POST", QBO_WRITES) == 0, write.logs()
    assert customer_names(world, project_b) == ("Dana", "Own")


def test_a_retried_batch_reuses_its_requestid_and_writes_once(world_factory: Any) -> None:
    world: World = world_factory("qbo:in:1", 5, size=40)
    read = world.pipe.read()
    sent: list[str | None] = []  # every /batch call's requestid, answered or not
    app = world.quickbooks.app
    handler = app.handler

    def spy(request: Any) -> Any:
        if request.method == "POST" and request.path.endswith("/batch"):
            sent.append(request.args.get("requestid"))
        return handler(request)

    app.handler = spy
    try:
        # The first batch is committed but its answer is lost: the client retries the same call.
        with Intercept(world.quickbooks, BATCH, 1, method="POST", then="lose") as trip:
            write = world.pipe.write(deliverable(read))
    finally:
        app.handler = handler
    assert trip.fired.is_set() and write.ok(), write.describe()
    counts = Counter(sent)
    assert None not in counts and counts[sent[0]] == 2 and sum(counts.values()) == len(counts) + 1, counts
    world.assert_exactly_once("first batch answer lost")
