"""The connector pages read like Airbyte's: a data type map, the errors users meet (quoted from the code),
flow ids only beside their plain names, and a changelog that points at commits."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PAGES = ("source-coperniq", "destination-quickbooks", "source-quickbooks", "destination-coperniq")
FLOW_ID = re.compile(r"qbo:(?:in|out):\d")


def page(name: str) -> str:
    return (ROOT / "docs" / f"{name}.md").read_text()


def section(text: str, heading: str) -> str:
    start = text.index(f"## {heading}\n")
    end = text.find("\n## ", start + 1)
    return text[start:end if end != -1 else None]


def table_rows(text: str) -> list[list[str]]:
    """The body rows of the first markdown table in ``text``, as stripped cells."""
    rows = [line for line in text.splitlines() if line.startswith("|")]
    return [[cell.strip() for cell in re.split(r"(?<!\\)\|", row)[1:-1]] for row in rows[2:]]


def code_span(cell: str) -> str:
    match = re.fullmatch(r"``\s(.+)\s``", cell) or re.fullmatch(r"`([^`]+)`", cell)
    assert match, f"not one code span: {cell!r}"
    return match.group(1).strip()


def shipped_code() -> str:
    """Every Python file a connector runs (tests, sandboxes and benchmarks excluded)."""
    packages = ("connector_core", "coperniq", "qbo", "mapping", "source_coperniq", "source_quickbooks",
                "destination_quickbooks", "destination_coperniq")
    return "\n".join(path.read_text() for package in packages for path in (ROOT / package).rglob("*.py"))


@pytest.mark.parametrize("name", PAGES)
def test_each_page_has_a_data_type_map(name: str) -> None:
    rows = table_rows(section(page(name), "Data type map"))
    assert len(rows) >= 6 and all(len(row) >= 3 and all(row[:2]) for row in rows)


@pytest.mark.parametrize("name", PAGES)
def test_troubleshooting_quotes_messages_the_connector_actually_prints(name: str) -> None:
    rows = table_rows(section(page(name), "Errors and troubleshooting"))
    assert len(rows) >= 6
    code = shipped_code()
    for row in rows:
        assert len(row) == 4 and all(row), row
        assert code_span(row[0]) in code, f"{name}.md quotes a message the code does not print: {row[0]}"


@pytest.mark.parametrize("name", [*PAGES, "packaging"])
def test_flow_ids_appear_only_in_parentheses_beside_a_plain_name(name: str) -> None:
    text = page(name)
    outside = re.sub(r"\([^()]*\)", "", text)
    assert not FLOW_ID.findall(outside), f"{name}.md uses a flow id without its plain name"


@pytest.mark.parametrize("name", PAGES)
def test_the_changelog_names_a_commit_for_every_version(name: str) -> None:
    changelog = section(page(name), "Changelog")
    assert "| Version | Date | Pull request / commit | Subject |" in changelog
    rows = table_rows(changelog[changelog.index("| Version"):])
    assert rows and rows[-1][0] == "0.1.0"
    git = shutil.which("git")
    for version, _, commits, subject in rows:
        hashes = [item.strip() for item in commits.split(",")]
        assert subject and all(re.fullmatch(r"[0-9a-f]{7,40}", item) for item in hashes), (version, commits)
        if git and (ROOT / ".git").exists():
            for item in hashes:
                found = subprocess.run([git, "cat-file", "-e", f"{item}^{{commit}}"], cwd=ROOT, capture_output=True)
                assert found.returncode == 0, f"{name}.md {version}: no commit {item}"
