"""Concern 1: a connector killed at a random point, then the sync retried from the last acknowledged state.

For each flow and seed, ``random.Random`` picks where the process dies:

- the source: right after its k-th RECORD. The platform hands the destination what the source
  emitted before dying, keeps the states the destination acknowledged, and retries the sync.
- the destination: while its k-th write request is in flight (the sandbox then either commits that
  request, so the write happened but was never acknowledged, or never sees it), or right after it
  acknowledged its j-th STATE; its buffer size is random too. The platform retries the sync
  (a new read from the acknowledged state and a new write).

Either way the target must end with every record exactly once: nothing lost, nothing duplicated.
"""

from __future__ import annotations

import random
from typing import Any

import pytest

from integration_tests.fault_tolerance.conftest import (
    FLOWS,
    Intercept,
    World,
    after_records,
    after_states,
    deliverable,
    kill,
)

SEEDS = (1, 2, 3, 4, 5, 6, 7, 8)
# The fast subset kills each of the four connectors once (source-coperniq in qbo:in:1, source-quickbooks
# in qbo:out:2, destination-quickbooks in qbo:in:2, destination-coperniq in qbo:out:1); --fault-full
# runs every flow with every seed for both kinds of kill.
FAST_SOURCE_KILLS = {("qbo:in:1", 1), ("qbo:out:2", 1)}
FAST_DESTINATION_KILLS = {("qbo:in:2", 2), ("qbo:out:1", 2)}


def cases(fast: set[tuple[str, int]]) -> list[Any]:
    return [pytest.param(flow, seed, id=f"{flow}-seed{seed}",
                         marks=[] if (flow, seed) in fast else [pytest.mark.fault_full])
            for flow in FLOWS for seed in SEEDS]


@pytest.mark.parametrize(("flow", "seed"), cases(FAST_SOURCE_KILLS))
def test_source_killed_after_a_random_record_resumes_and_lands_every_record_once(
        flow: str, seed: int, world_factory: Any) -> None:
    world: World = world_factory(flow, seed)
    rng = random.Random(f"kill-source/{flow}/{seed}")
    k = rng.randint(1, len(world.expected) - 1)
    killed = world.pipe.read(stop=after_records(k))
    assert killed.cut, f"the source sent fewer than {k} records: {killed.describe()}"
    # The platform hands the destination what the source emitted before it died.
    partial = world.pipe.write(deliverable(killed))
    assert partial.ok(), partial.describe()
    read, write = world.pipe.sync()
    assert read.ok(), read.describe()
    assert write.ok(), write.describe()
    world.assert_exactly_once(f"source killed after record {k} of {len(killed.records)} sent, "
                              f"{len(partial.states)} states acknowledged")


@pytest.mark.parametrize(("flow", "seed"), cases(FAST_DESTINATION_KILLS))
def test_destination_killed_at_a_random_write_resumes_and_lands_every_record_once(
        flow: str, seed: int, world_factory: Any) -> None:
    world: World = world_factory(flow, seed)
    rng = random.Random(f"kill-destination/{flow}/{seed}")
    read = world.pipe.read()
    assert read.ok(), read.describe()
    buffer = rng.choice((5, 10, 30))
    env = {"DESTINATION_BUFFER_SIZE": str(buffer)}
    modes = ["in-flight, committed", "in-flight, never arrived"]
    if len(read.states) >= 2:
        modes.append("after an acknowledged state")
    mode = rng.choice(modes)
    if mode == "after an acknowledged state":
        j = rng.randint(1, len(read.states) - 1)
        where = f"after acknowledged state {j}"
        killed = world.pipe.write(deliverable(read), stop=after_states(j), env=env)
    else:
        nth = rng.randint(1, max(1, world.min_writes - 1))
        where = f"during write request {nth} ({mode})"
        with Intercept(world.target_api, world.write_path, nth, method=world.write_methods,
                       before=kill(lambda: world.pipe.destination_process),
                       then="handle" if mode.endswith("committed") else "drop") as trip:
            killed = world.pipe.write(deliverable(read), env=env)
        assert trip.fired.is_set() and killed.killed, f"never killed {where}: {killed.describe()}"
    context = f"destination killed {where}, buffer {buffer}, {len(killed.states)} states acknowledged"
    retried_read, retried_write = world.pipe.sync()
    assert retried_read.ok(), retried_read.describe()
    assert retried_write.ok(), f"{context}: {retried_write.describe()}"
    world.assert_exactly_once(context)
