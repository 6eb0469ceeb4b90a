"""mapping/README.md names the function of every mapping row: each name must import, so a rename breaks this test.

A row's ``function`` cell holds only backticked ``module.function`` names (modules of ``mapping/`` without the
package, others by their full path), or the words ``not mapped``. Every other backticked dotted name in the
README that starts with such a module must import too.
"""

from __future__ import annotations

import importlib
import pkgutil
import re
from pathlib import Path
from typing import Any

import pytest

import mapping

README = Path(mapping.__file__).with_name("README.md")
_REFERENCE = re.compile(r"[a-z_][a-z0-9_]*(?:\.[A-Za-z_][A-Za-z0-9_]*)+")
_FILE_SUFFIXES = (".py", ".psv", ".md", ".yml", ".yaml", ".json")
MAPPING_MODULES = frozenset(info.name for info in pkgutil.iter_modules(mapping.__path__))
ROOT_PACKAGES = frozenset({"qbo", "coperniq", "qbd", "connector_core"})


def _table_rows(text: str) -> list[tuple[str, dict[str, str]]]:
    """(section heading, {column: cell}) for every body row of every table that has a ``function`` column."""
    rows: list[tuple[str, dict[str, str]]] = []
    heading, header = "", None
    for line in text.splitlines():
        if line.startswith("#"):
            heading, header = line.strip("# "), None
        if not line.startswith("|"):
            header = None
            continue
        cells = [cell.strip() for cell in line.strip().strip("|").split("|")]
        if header is None:
            header = cells
        elif not set(line) <= set("|-: ") and "function" in header:
            rows.append((heading, dict(zip(header, cells, strict=True))))
    return rows


def resolve(reference: str) -> Any:
    """The object a README name stands for: ``people.split_name`` is ``mapping.people.split_name``."""
    parts = reference.split(".")
    package = "mapping." if parts[0] in MAPPING_MODULES else ""
    for cut in range(len(parts), 0, -1):
        try:
            found: Any = importlib.import_module(package + ".".join(parts[:cut]))
        except ModuleNotFoundError:
            continue
        for attribute in parts[cut:]:
            found = getattr(found, attribute)
        return found
    raise ModuleNotFoundError(reference)


TEXT = README.read_text(encoding="utf-8")
ROWS = _table_rows(TEXT)
FUNCTION_CELLS = [(heading, row["function"], row) for heading, row in ROWS]


def test_both_directions_tables_are_found() -> None:
    headings = {heading for heading, _ in ROWS}
    assert {"Coperniq -> QuickBooks (qbo:in:1, qbo:in:2)", "QuickBooks -> Coperniq (qbo:out:1, qbo:out:2)"} <= headings
    assert len(ROWS) >= 30  # the seed's twelve rows each way, and the fields mapped beside them


@pytest.mark.parametrize(("heading", "cell", "row"), FUNCTION_CELLS, ids=[f"{h[:20]}-{i}" for i, (h, _, _) in
                                                                          enumerate(FUNCTION_CELLS)])
def test_every_row_names_functions_that_import(heading: str, cell: str, row: dict[str, str]) -> None:
    if cell == "not mapped":
        return
    names = re.findall(r"`([^`]*)`", cell)
    assert names, f"{heading}: the row {row} names no function"
    assert re.sub(r"`[^`]*`", "", cell).strip(" ,") == "", f"{heading}: {cell!r} holds more than names"
    for name in names:
        assert _REFERENCE.fullmatch(name), f"{heading}: {name!r} is not a module.function name"
        assert callable(resolve(name)), f"{heading}: {name} is not a function"


def _prose_references(text: str) -> list[str]:
    found = []
    for name in re.findall(r"`([^`\s]+)`", text):
        if _REFERENCE.fullmatch(name) and not name.endswith(_FILE_SUFFIXES) \
                and name.split(".")[0] in MAPPING_MODULES | ROOT_PACKAGES:
            found.append(name)
    return sorted(set(found))


@pytest.mark.parametrize("name", _prose_references(TEXT))
def test_every_name_in_the_prose_imports(name: str) -> None:
    assert resolve(name) is not None


def test_a_renamed_function_is_caught() -> None:
    with pytest.raises(AttributeError):
        resolve("people.split_names")
    with pytest.raises(ModuleNotFoundError):
        resolve("nowhere.split_name")
