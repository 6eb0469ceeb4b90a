"""Issue 10, Proof: both directions on a schedule for many rounds, with people editing both systems.

Each round runs Coperniq -> QuickBooks (source-coperniq | destination-quickbooks) and then QuickBooks ->
Coperniq (source-quickbooks | destination-coperniq), with the state and CONTROL-updated configs of the
previous round, as a scheduler does. Between rounds people edit both systems at random (seeded, see
``demo/steady_state.py``); every other round nobody edits anything. After every round:

- every linked pair agrees field by field, in the mapping's own terms, and so does every invoice;
- every edit is still there (it crossed; nothing undid it);
- a round with no edits wrote nothing on either side (write requests counted by the sandboxes);
- at the end, a sync from scratch (state reset, as an Airbyte reset or refresh does) writes nothing.

The connectors run as their console scripts' entry points, each run a process forked from one that
imported them once (``connector_core.launcher``), which keeps 3 seeds x 9 rounds within a minute.
``STEADY_STATE_FULL=1`` adds a larger variant: 150 projects, 16 rounds, each connector a subprocess of
its console script (about 5 minutes).
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from typing import Any

import pytest

from connector_core.launcher import PreloadedLauncher
from connector_core.runner import run_connector
from demo.flows import TwoWaySync
from demo.steady_state import COPERNIQ_EDITS, INVOICE_STAGE, QUICKBOOKS_EDITS, SteadyState, describe

ROUNDS = 9  # the first sync, then four times: a round after edits, a quiet round
LARGER_VARIANT = "STEADY_STATE_FULL"


@pytest.fixture(scope="module")
def launcher() -> Iterator[PreloadedLauncher]:
    yield PreloadedLauncher()


def _two_way(coperniq_sandbox_factory: Any, qbo_sandbox_factory: Any, seed: int, projects: int,
             launcher: Any) -> TwoWaySync:
    # Intuit may keep answering a superseded refresh token for up to a day; the two QuickBooks
    # connectors here share one app authorization, so the sandbox is given that grace.
    return TwoWaySync(coperniq_sandbox_factory(projects=projects, seed=seed, daily_quota=None),
                      qbo_sandbox_factory(customers=6, invoices=8, seed=seed, throttle=False,
                                          refresh_token_grace=86400),
                      invoice_stages=[INVOICE_STAGE], launcher=launcher)


@pytest.mark.parametrize("seed", [101, 202, 303])
def test_both_directions_agree_after_every_round_and_quiet_rounds_write_nothing(
        coperniq_sandbox_factory: Any, qbo_sandbox_factory: Any, launcher: PreloadedLauncher, seed: int) -> None:
    steady = SteadyState(_two_way(coperniq_sandbox_factory, qbo_sandbox_factory, seed, 24, launcher), seed=seed)
    steady.run(ROUNDS)
    reports = [*steady.reports, steady.from_scratch()]
    assert len(reports) == ROUNDS + 1
    assert not any(report.problems for report in reports), "\n" + describe(reports)
    kinds = {(edit.side, edit.kind) for report in reports for edit in report.edits}
    assert len(kinds) == len(COPERNIQ_EDITS) + len(QUICKBOOKS_EDITS), kinds  # every kind of edit was made


@pytest.mark.slow
@pytest.mark.skipif(not os.environ.get(LARGER_VARIANT), reason=f"runs with {LARGER_VARIANT}=1 (about 5 minutes)")
def test_larger_company_for_sixteen_rounds_with_the_console_scripts(
        coperniq_sandbox_factory: Any, qbo_sandbox_factory: Any) -> None:
    """The same with more data and more edits, each connector a subprocess of its console script."""
    steady = SteadyState(_two_way(coperniq_sandbox_factory, qbo_sandbox_factory, 404, 150, run_connector),
                         seed=404, edits_per_round=14)
    reports = steady.run(16)
    assert not any(report.problems for report in reports), "\n" + describe(reports)
