"""Build the connectors' runtime wheel: the runtime packages and their console scripts, no development tools.

``pip install -e .`` at the repository root installs everything (sandboxes, demo, benchmarks and their
console scripts) for development. The images and ``make wheel`` need only what runs in production: the
packages ``[tool.coperniq-quickbooks.runtime-wheel] packages`` in ``pyproject.toml`` names. setuptools
builds one project per ``pyproject.toml`` and reads no file outside its directory, so this script stages
those packages with a ``pyproject.toml`` derived from the root one (the same name, version and
``dependencies``, so dependency versions have one home; only the scripts whose module is in a runtime
package; no optional dependencies) and lets pip build the wheel there.

    python tools/build_runtime_wheel.py --wheel-dir dist [--offline]
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import tempfile
import tomllib
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
SKIPPED_FILES = shutil.ignore_patterns("__pycache__", "*.py[cod]")


def root_project() -> dict[str, Any]:
    return tomllib.loads((ROOT / "pyproject.toml").read_text())


def runtime_packages(project: dict[str, Any] | None = None) -> list[str]:
    project = project or root_project()
    return list(project["tool"]["coperniq-quickbooks"]["runtime-wheel"]["packages"])


def runtime_scripts(project: dict[str, Any] | None = None) -> dict[str, str]:
    """The console scripts whose module lives in a runtime package."""
    project = project or root_project()
    packages = set(runtime_packages(project))
    return {name: target for name, target in project["project"]["scripts"].items()
            if target.split(".", 1)[0] in packages}


def runtime_pyproject(project: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """The staged project's tables, by their dotted TOML name."""
    fields = {key: value for key, value in project["project"].items()
              if key not in ("optional-dependencies", "scripts")}
    setuptools = project["tool"]["setuptools"]
    return {
        "build-system": project["build-system"],
        "project": fields,
        "project.scripts": runtime_scripts(project),
        "tool.setuptools.packages.find": {"include": [f"{package}*" for package in runtime_packages(project)]},
        "tool.setuptools.package-data": setuptools["package-data"],
    }


def toml_value(value: Any) -> str:
    """Strings, integers, booleans, lists and inline tables: all a pyproject needs (JSON strings are TOML's)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str | int):
        return json.dumps(value)
    if isinstance(value, list):
        return "[" + ", ".join(toml_value(item) for item in value) + "]"
    return "{" + ", ".join(f"{json.dumps(key)} = {toml_value(item)}" for key, item in value.items()) + "}"


def toml_document(tables: dict[str, dict[str, Any]]) -> str:
    return "\n".join(f"[{name}]\n" + "".join(f"{json.dumps(key)} = {toml_value(value)}\n"
                                             for key, value in table.items())
                     for name, table in tables.items())


def stage(destination: Path) -> None:
    """The runtime project's tree: pyproject.toml, its readme and the runtime packages."""
    project = root_project()
    tables = runtime_pyproject(project)
    text = toml_document(tables)
    assert tomllib.loads(text)["project"]["dependencies"] == project["project"]["dependencies"]
    (destination / "pyproject.toml").write_text(text)
    shutil.copy2(ROOT / project["project"]["readme"], destination)
    for package in runtime_packages(project):
        shutil.copytree(ROOT / package, destination / package, ignore=SKIPPED_FILES)


def build(wheel_dir: Path, offline: bool = False) -> Path:
    """Stage and build; the wheel's path. ``offline`` builds with this environment's setuptools."""
    wheel_dir.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="runtime-wheel-") as staging:
        stage(Path(staging))
        command = [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-cache-dir", "--quiet",
                   "--wheel-dir", str(wheel_dir), staging]
        if offline:
            command[4:4] = ["--no-build-isolation", "--no-index"]
        subprocess.run(command, check=True)
    project = root_project()["project"]
    [wheel] = wheel_dir.glob(f"{project['name'].replace('-', '_')}-{project['version']}-*.whl")
    return wheel


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--wheel-dir", type=Path, default=ROOT / "dist")
    parser.add_argument("--offline", action="store_true",
                        help="build with this environment's setuptools, without the package index")
    arguments = parser.parse_args()
    print(f"built {build(arguments.wheel_dir, arguments.offline)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
