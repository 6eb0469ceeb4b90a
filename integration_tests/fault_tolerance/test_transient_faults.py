"""Concern 2: transient faults at random on both APIs; the sync completes and nothing is lost or doubled.

For each flow and seed, ``random.Random`` picks one to three faults, at least one on each API
(the source's and the target's), each on a random request of a kind the flow is sure to make
(QuickBooks' OAuth token endpoint included):

- ``429`` with ``Retry-After: 1``, ``500``, ``502``, ``503``: the sandbox's own error answer;
- ``delay``: a slow answer (well inside the client timeout);
- ``drop``: the connection breaks before the request reaches the API;
- ``lost``: the API handles the request, then the connection breaks before the answer (a commit
  the client never hears of; not on the token endpoint, where a lost answer means a rotated
  refresh token the connector never received, which only Intuit's grace period can cover).

Faults are counted per matching request, so the n-th request of that kind gets it; a retried
request counts again. Every planned fault must have happened.
"""

from __future__ import annotations

import random
import time
from contextlib import ExitStack
from typing import Any

import pytest

from integration_tests.fault_tolerance.conftest import (
    FLOW_ENDPOINTS,
    FLOWS,
    QBO_API,
    QBO_TOKEN,
    Endpoint,
    Intercept,
    World,
    matrix,
)

KINDS = ("429", "500", "502", "503", "delay", "drop", "lost")
FAST_SEEDS = (11,)
FULL_SEEDS = (12, 13, 14, 15, 16, 17, 18, 19)


def plan(world: World, rng: random.Random) -> list[tuple[Endpoint, str, int]]:
    """One to three (endpoint, kind, n-th request) faults, the first on the source's API, the second on the target's."""
    endpoints = FLOW_ENDPOINTS[world.flow]
    source_api = "coperniq" if world.inbound else "quickbooks"
    by_side = [[e for e in endpoints if e.api == source_api], [e for e in endpoints if e.api != source_api]]
    chosen = [rng.choice(by_side[0]), rng.choice(by_side[1])]
    chosen += [rng.choice(endpoints) for _ in range(rng.randint(0, 1))]
    faults = []
    for endpoint in chosen:
        kinds = [k for k in KINDS if not (k == "lost" and endpoint.path == QBO_TOKEN)]
        nth = rng.randint(1, endpoint.sure)
        faults.append((endpoint, rng.choice(kinds), nth))
    return faults


def intercept(world: World, endpoint: Endpoint, kind: str, nth: int, rng: random.Random) -> Intercept:
    sandbox = world.api(endpoint.api)
    if kind == "delay":
        seconds = round(rng.uniform(0.3, 1.5), 2)
        return Intercept(sandbox, endpoint.path, nth, method=endpoint.method, before=lambda: time.sleep(seconds))
    if kind in ("drop", "lost"):
        return Intercept(sandbox, endpoint.path, nth, method=endpoint.method, then="lose" if kind == "lost" else "drop")
    status = int(kind)
    headers = {"Retry-After": "1"} if status == 429 else {}
    return Intercept(sandbox, endpoint.path, nth, method=endpoint.method,
                     then=lambda: sandbox.app.fault_responder(status, headers))


@pytest.mark.parametrize("seed", matrix(FAST_SEEDS, FULL_SEEDS, name=lambda s: f"seed{s}"))
@pytest.mark.parametrize("flow", FLOWS)
def test_random_transient_faults_on_both_apis_lose_and_double_nothing(flow: str, seed: int,
                                                                       world_factory: Any) -> None:
    world: World = world_factory(flow, seed)
    rng = random.Random(f"faults/{flow}/{seed}")
    faults = plan(world, rng)
    described = [f"{kind} on {e.api} {e.method} {e.path} request {nth}" for e, kind, nth in faults]
    with ExitStack() as stack:
        intercepts = [stack.enter_context(intercept(world, e, kind, nth, rng)) for e, kind, nth in faults]
        read, write = world.pipe.sync()
    missed = [d for d, i in zip(described, intercepts, strict=True) if not i.fired.is_set()]
    assert not missed, f"planned faults that never happened: {missed}"
    assert read.ok(), f"{described}: {read.describe()}"
    assert write.ok(), f"{described}: {write.describe()}"
    world.assert_exactly_once(f"faults: {described}")


LOST_WRITES = [
    pytest.param("qbo:in:2", QBO_API + r"/batch$", "POST", 2, id="qbo:in:2-quickbooks-batch-create",
                 marks=pytest.mark.fault_full),
    pytest.param("qbo:out:2", r"^/v1/invoices$", "POST", 3, id="qbo:out:2-coperniq-invoice-create"),
    pytest.param("qbo:in:1", QBO_API + r"/batch$", "POST", 1, id="qbo:in:1-quickbooks-batch-create",
                 marks=pytest.mark.fault_full),
    pytest.param("qbo:out:1", r"^/v1/projects/\d+$", "PATCH", 5, id="qbo:out:1-coperniq-project-update",
                 marks=pytest.mark.fault_full),
    pytest.param("qbo:out:1", r"^/v1/contacts/\d+$", "PATCH", 3, id="qbo:out:1-coperniq-contact-update",
                 marks=pytest.mark.fault_full),
    pytest.param("qbo:out:1", r"^/v1/contacts$", "POST", 1, id="qbo:out:1-coperniq-contact-create",
                 marks=pytest.mark.fault_full),
]


@pytest.mark.parametrize(("flow", "path", "method", "nth"), LOST_WRITES)
def test_an_answer_lost_after_the_api_committed_a_write_does_not_write_it_twice(
        flow: str, path: str, method: str, nth: int, world_factory: Any) -> None:
    """The connection breaks after the API committed the write: the client retries a write that happened."""
    world: World = world_factory(flow, 21)
    with Intercept(world.target_api, path, nth, method=method, then="lose") as lost:
        read, write = world.pipe.sync()
    assert lost.fired.is_set()
    assert read.ok(), read.describe()
    assert write.ok(), write.describe()
    world.assert_exactly_once(f"the answer to {method} {path} request {nth} was lost after the commit")
