"""requirements.lock pins every runtime dependency at the version the tests ran with, and nothing else."""

from __future__ import annotations

import importlib.util
import sys
from importlib import metadata
from pathlib import Path

from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

ROOT = Path(__file__).resolve().parents[2]
spec = importlib.util.spec_from_file_location("lock_dependencies", ROOT / "tools" / "lock_dependencies.py")
assert spec and spec.loader
lock_dependencies = importlib.util.module_from_spec(spec)
sys.modules["lock_dependencies"] = lock_dependencies
spec.loader.exec_module(lock_dependencies)

DEV_ONLY = {"pytest", "requests-mock", "ruff", "openapi-core", "python-quickbooks", "intuit-oauth", "airbyte",
            "matplotlib", "pytest-timeout"}


def locked() -> dict[str, str]:
    return lock_dependencies.read_lock((ROOT / "requirements.lock").read_text())


def test_the_lock_covers_every_runtime_dependency_transitively() -> None:
    pins = locked()
    closure = lock_dependencies.runtime_closure()
    assert set(closure) <= set(pins), f"not locked: {sorted(set(closure) - set(pins))}"
    for requirement in lock_dependencies.runtime_requirements():
        name = canonicalize_name(requirement.name)
        assert requirement.specifier.contains(pins[name], prereleases=True), (
            f"{name}=={pins[name]} is outside pyproject.toml's {requirement}")


def test_the_lock_is_what_this_environment_runs_and_holds_no_dev_tools() -> None:
    """So the image gets the versions the tests passed with; `make lock` refreshes it after an upgrade."""
    pins = locked()
    for name, version in pins.items():
        assert metadata.version(name) == version, f"{name}: locked {version}, installed {metadata.version(name)}"
    assert not DEV_ONLY & set(pins), f"dev-only packages locked: {sorted(DEV_ONLY & set(pins))}"
    assert (ROOT / "requirements.lock").read_text() == lock_dependencies.render(lock_dependencies.runtime_closure())


def test_the_closure_follows_extras_and_skips_other_platforms_and_extras() -> None:
    requests = metadata.distribution("requests")
    wanted = {canonicalize_name(Requirement(text).name) for text in requests.requires or []
              if Requirement(text).marker is None}
    assert wanted <= set(lock_dependencies.runtime_closure())
    assert "pysocks" not in lock_dependencies.runtime_closure(), "requests[socks] is not asked for"
