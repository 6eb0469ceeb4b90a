import pytest

from connector_core import backoff


@pytest.fixture(autouse=True)
def instant_backoff(monkeypatch: pytest.MonkeyPatch) -> None:
    """Retries keep their count and order but do not sleep for real in unit tests."""
    monkeypatch.setattr(backoff, "BASE_SECONDS", 0.001)
    monkeypatch.setattr(backoff, "CAP_SECONDS", 0.01)
