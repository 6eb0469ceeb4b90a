"""Pytest fixtures of the Coperniq sandbox (loaded as a plugin by the root conftest).

- ``coperniq_sandbox``: a fresh, started sandbox per test, with a small seeded company.
- ``coperniq_sandbox_factory``: builds and starts sandboxes with chosen sizes and options
  (the arguments of :func:`sandboxes.coperniq.make_sandbox`); all are stopped after the test.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest

from sandboxes.coperniq import CoperniqSandbox, make_sandbox

SMALL_PROJECTS = 25
SMALL_SEED = 7

SandboxFactory = Callable[..., CoperniqSandbox]


@pytest.fixture
def coperniq_sandbox_factory() -> Iterator[SandboxFactory]:
    started: list[CoperniqSandbox] = []

    def build(**options: Any) -> CoperniqSandbox:
        sandbox = make_sandbox(**options).start()
        started.append(sandbox)
        return sandbox

    yield build
    for sandbox in started:
        sandbox.stop()


@pytest.fixture
def coperniq_sandbox(coperniq_sandbox_factory: SandboxFactory) -> CoperniqSandbox:
    return coperniq_sandbox_factory(projects=SMALL_PROJECTS, seed=SMALL_SEED)
