"""The ``--fault-full`` option and ``fault_full`` marker, registered from the root conftest.

Registered there (not in this folder's conftest) so that ``pytest --fault-full`` works from any
directory: pytest parses options before it reaches a sub-folder's conftest.
"""

from __future__ import annotations

import pytest

FULL_OPTION = "--fault-full"
FULL_MARK = "fault_full"
FULL_SKIP_REASON = "full fault matrix: run with --fault-full"


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.getgroup("fault tolerance").addoption(
        FULL_OPTION, action="store_true", default=False,
        help="run the full fault-tolerance matrix (more seeds and faults, every flow; slow)")


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", f"{FULL_MARK}: the slow full fault-tolerance matrix (needs {FULL_OPTION})")


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    # getoption's default: when pytest starts elsewhere this conftest may load after option parsing.
    if config.getoption(FULL_OPTION, default=False):
        return
    skip = pytest.mark.skip(reason=FULL_SKIP_REASON)
    for item in items:
        if item.get_closest_marker(FULL_MARK) is not None:
            item.add_marker(skip)
