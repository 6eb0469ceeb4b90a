"""Pytest fixtures of the QuickBooks Online sandbox (loaded as a plugin by the root conftest).

- ``qbo_sandbox``: a fresh, started sandbox per test with a small seeded company
  (12 customers, 20 invoices, seed 7) and **throttling off**, so ordinary tests never see a 429.
- ``qbo_sandbox_factory``: builds and starts sandboxes with the arguments of
  :func:`sandboxes.quickbooks.make_sandbox` (throttling on unless ``throttle=False``, as QBO);
  all are stopped after the test.

Clients that use requests-oauthlib (python-quickbooks does) refuse plain-HTTP URLs unless
``OAUTHLIB_INSECURE_TRANSPORT`` is set; ``qbo_insecure_transport`` sets it for one test.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest

from sandboxes.quickbooks import QuickBooksSandbox, make_sandbox

SMALL_CUSTOMERS = 12
SMALL_INVOICES = 20
SMALL_SEED = 7

QboSandboxFactory = Callable[..., QuickBooksSandbox]


@pytest.fixture
def qbo_sandbox_factory() -> Iterator[QboSandboxFactory]:
    started: list[QuickBooksSandbox] = []

    def build(**options: Any) -> QuickBooksSandbox:
        options.setdefault("customers", SMALL_CUSTOMERS)
        options.setdefault("invoices", SMALL_INVOICES)
        options.setdefault("seed", SMALL_SEED)
        sandbox = make_sandbox(**options).start()
        started.append(sandbox)
        return sandbox

    yield build
    for sandbox in started:
        sandbox.stop()


@pytest.fixture
def qbo_sandbox(qbo_sandbox_factory: QboSandboxFactory) -> QuickBooksSandbox:
    return qbo_sandbox_factory(throttle=False)


@pytest.fixture
def qbo_insecure_transport(monkeypatch: pytest.MonkeyPatch) -> None:
    """Let requests-oauthlib send bearer tokens to the sandbox's http:// URL."""
    monkeypatch.setenv("OAUTHLIB_INSECURE_TRANSPORT", "1")
