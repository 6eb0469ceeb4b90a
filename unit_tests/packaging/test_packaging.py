"""Packaging for Airbyte users: metadata.yaml, Dockerfiles, specs ready for the UI, and the wheel the images install.

Four connectors share one distribution. Each has a ``metadata.yaml`` (Airbyte's connector metadata format)
and a ``Dockerfile`` beside its package; the top-level ``metadata.yaml`` only indexes them. Docker cannot run
here, so what an image would do is proved piece by piece: the Dockerfile's base image and entrypoint are
read and checked against the metadata and ``pyproject.toml``, and the entrypoint command each image runs
is run from a clean install of the wheel the Dockerfile builds (the last test).
"""

from __future__ import annotations

import importlib
import importlib.util
import json
import os
import re
import shutil
import subprocess
import sys
import sysconfig
import tomllib
import uuid
import venv
import zipfile
from datetime import date
from pathlib import Path, PurePosixPath
from typing import Any, Literal
from urllib.parse import urlsplit
from xml.etree import ElementTree

import pytest
import yaml
from airbyte_cdk.models import ConnectorSpecificationSerializer
from airbyte_cdk.models.connector_metadata import MetadataFile
from airbyte_cdk.test.standard_tests._spec_lint import find_secret_marking_errors
from pydantic import AnyUrl, BaseModel, ConfigDict, Field

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = ("source_coperniq", "destination_quickbooks", "source_quickbooks", "destination_coperniq")
DOCKER_ORG = "coperniq-quickbooks"
SECRET_NAMES = {"api_key", "client_secret", "refresh_token", "access_token"}
# The keys the project's facts file (Airbyte packaging) lists for every connector's metadata.yaml.
# documentationUrl is left out until the docs have a published https address (docs/packaging.md says why).
REQUIRED_DATA_KEYS = {
    "name", "definitionId", "connectorType", "dockerRepository", "dockerImageTag", "license",
    "githubIssueLabel", "connectorSubtype", "releaseStage", "supportLevel", "connectorBuildOptions", "tags",
    "icon", "maxSecondsBetweenMessages", "connectorTestSuitesOptions",
}


def connector_name(package: str) -> str:
    return package.replace("_", "-")


def connector_params() -> list[Any]:
    return [pytest.param(package, id=connector_name(package)) for package in PACKAGES]


def pyproject() -> dict[str, Any]:
    return tomllib.loads((ROOT / "pyproject.toml").read_text())


def console_scripts() -> dict[str, str]:
    return pyproject()["project"]["scripts"]


def metadata(package: str) -> dict[str, Any]:
    return yaml.safe_load((ROOT / package / "metadata.yaml").read_text())


def index() -> dict[str, Any]:
    return yaml.safe_load((ROOT / "metadata.yaml").read_text())


def require_connector_code(package: str) -> None:
    """source_quickbooks is finished by another developer in parallel: its code checks wait for it."""
    if not (ROOT / package / "run.py").exists() or not (ROOT / package / "spec.json").exists():
        pytest.skip(f"{package}/ has no run.py and spec.json yet (the connector is still being written)")


# -- (1) metadata.yaml -------------------------------------------------------------------------------------------


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class _BuildOptions(_Strict):
    baseImage: str


class _AllowedHosts(BaseModel):
    hosts: list[str] | None = None


class _SuggestedStreams(BaseModel):
    streams: list[str] | None = None


class _TestSuiteOption(_Strict):
    """One entry of connectorTestSuitesOptions, as Airbyte's metadata schema defines it."""

    suite: Literal["unitTests", "integrationTests", "acceptanceTests", "liveTests"]
    testSecrets: list[dict[str, Any]] | None = None
    testConnections: list[dict[str, Any]] | None = None


class AirbyteMetadataData(_Strict):
    """``data`` of Airbyte's ConnectorMetadataDefinitionV0 (airbytehq/airbyte, airbyte-ci metadata_service).

    The CDK ships only a partial model (``airbyte_cdk.models.connector_metadata``: dockerRepository,
    dockerImageTag, tags, build options, all extra keys allowed), so the rules of Airbyte's own
    validator are restated here: the same required fields, enums and formats, and no unknown keys. Its
    optional blocks this project does not use are accepted as-is.
    """

    name: str
    icon: str | None = None
    definitionId: uuid.UUID
    connectorBuildOptions: _BuildOptions | None = None
    connectorType: Literal["destination", "source"]
    dockerRepository: str
    dockerImageTag: str
    license: str
    documentationUrl: AnyUrl | None = None
    githubIssueLabel: str
    connectorSubtype: Literal["api", "database", "datalake", "file", "custom", "message_queue", "unknown",
                              "vectorstore"]
    releaseStage: Literal["alpha", "beta", "generally_available", "custom"]
    supportLevel: Literal["community", "certified", "enterprise", "archived"] | None = None
    tags: list[str] = Field(default_factory=list)
    allowedHosts: _AllowedHosts | None = None
    suggestedStreams: _SuggestedStreams | None = None
    maxSecondsBetweenMessages: int | None = Field(default=None, gt=0)
    releaseDate: date | None = None
    protocolVersion: str | None = None
    erdUrl: str | None = None
    supportsDbt: bool | None = None
    supportsNormalization: bool | None = None
    supportsRefreshes: bool | None = None
    supportsFileTransfer: bool | None = None
    connectorTestSuitesOptions: list[_TestSuiteOption] | None = None
    registryOverrides: dict[str, Any] | None = None
    releases: dict[str, Any] | None = None
    normalizationConfig: dict[str, Any] | None = None
    resourceRequirements: dict[str, Any] | None = None
    ab_internal: dict[str, Any] | None = None
    remoteRegistries: dict[str, Any] | None = None
    generated: dict[str, Any] | None = None


class AirbyteMetadataFile(_Strict):
    metadataSpecVersion: str
    data: AirbyteMetadataData


@pytest.mark.parametrize("package", connector_params())
def test_metadata_validates_against_airbytes_metadata_model(package: str) -> None:
    path = ROOT / package / "metadata.yaml"
    cdk = MetadataFile.from_file(path)  # what the CDK's image build and standard tests read
    assert cdk.data.language.value == "python"
    assert cdk.data.connectorBuildOptions and cdk.data.connectorBuildOptions.baseImage

    raw = metadata(package)
    parsed = AirbyteMetadataFile.model_validate(raw)
    assert parsed.metadataSpecVersion == "1.0"
    assert set(raw["data"]) >= REQUIRED_DATA_KEYS, f"missing: {REQUIRED_DATA_KEYS - set(raw['data'])}"
    # A documentation URL, when there is one, is a page the platform's users can open: https with a host.
    if "documentationUrl" in raw["data"]:
        url = urlsplit(raw["data"]["documentationUrl"])
        assert url.scheme == "https" and url.netloc, "documentationUrl must be a reachable https page"
    suites = [option["suite"] for option in raw["data"]["connectorTestSuitesOptions"]]
    assert suites == ["unitTests", "integrationTests", "acceptanceTests"], "what `make test` runs, no secrets"
    assert 60 <= raw["data"]["maxSecondsBetweenMessages"] <= 86400
    if raw["data"]["connectorType"] == "destination":
        assert raw["data"].get("supportsRefreshes") is True, "upserting destinations take refreshes"
    else:
        assert "supportsRefreshes" not in raw["data"], "a destination-side setting"


@pytest.mark.parametrize("package", connector_params())
def test_metadata_icon_is_an_svg_shipped_beside_it(package: str) -> None:
    """Airbyte's convention: the connector directory's icon.svg, published under the metadata's `icon` name."""
    icon = metadata(package)["data"]["icon"]
    assert re.fullmatch(r"[a-z0-9-]+\.svg", icon)
    root = ElementTree.parse(ROOT / package / "icon.svg").getroot()
    assert root.tag == "{http://www.w3.org/2000/svg}svg" and root.get("viewBox")
    same_brand = [p for p in PACKAGES if metadata(p)["data"]["icon"] == icon]
    assert len({(ROOT / p / "icon.svg").read_bytes() for p in same_brand}) == 1, "one icon per brand"


@pytest.mark.parametrize("package", connector_params())
def test_metadata_names_match_the_package(package: str) -> None:
    name = connector_name(package)
    data = metadata(package)["data"]
    assert data["connectorType"] == name.split("-")[0]
    assert data["dockerRepository"] == f"{DOCKER_ORG}/{name}"
    assert data["githubIssueLabel"] == name
    assert data["dockerImageTag"] == pyproject()["project"]["version"], "images are tagged with the distribution"
    assert data["license"] == "MIT" == pyproject()["project"]["license"]["text"]
    assert data["connectorSubtype"] == "api"
    assert data["releaseStage"] == "alpha"
    assert data["supportLevel"] == "community"
    assert {"language:python", "cdk:python"} <= set(data["tags"])
    if "documentationUrl" in data:
        assert urlsplit(data["documentationUrl"]).path.endswith(f"/docs/{name}.md")


@pytest.mark.parametrize("package", connector_params())
def test_documentation_page_exists(package: str) -> None:
    page = ROOT / "docs" / f"{connector_name(package)}.md"
    if package == "source_quickbooks" and not page.exists():
        pytest.skip("docs/source-quickbooks.md is written with the connector by another developer")
    assert page.is_file()
    text = page.read_text()
    for section in ("## Overview", "## Prerequisites", "## Setup guide", "## Changelog"):
        assert section in text, f"{page.name} lacks {section}"


MY_PAGES = ("source-coperniq", "destination-quickbooks", "destination-coperniq", "packaging")


@pytest.mark.parametrize("package", [p for p in connector_params() if p.values[0] != "source_quickbooks"])
def test_docs_config_reference_lists_every_spec_property(package: str) -> None:
    text = (ROOT / "docs" / f"{connector_name(package)}.md").read_text()
    documented = set(re.findall(r"^\| `(\w+)` \|", text, re.MULTILINE))
    spec = json.loads((ROOT / package / "spec.json").read_text())["connectionSpecification"]
    assert set(spec["properties"]) <= documented, f"undocumented: {set(spec['properties']) - documented}"


def github_anchors(markdown: str) -> set[str]:
    """The ids GitHub gives a page's headings: lower case, punctuation dropped, spaces to hyphens."""
    headings = re.findall(r"^#+\s+(.+?)\s*$", markdown, re.MULTILINE)
    return {re.sub(r"[^\w\- ]", "", heading.lower()).replace(" ", "-") for heading in headings}


@pytest.mark.parametrize("page", MY_PAGES)
def test_docs_links_resolve(page: str) -> None:
    path = ROOT / "docs" / f"{page}.md"
    for target in re.findall(r"\]\(([^)\s]+)\)", path.read_text()):
        if re.match(r"[a-z]+:", target):
            continue  # absolute URLs are not fetched here
        file_part, _, anchor = target.partition("#")
        linked = (path.parent / file_part).resolve() if file_part else path
        if linked.name == "source-quickbooks.md" and not linked.exists():
            continue  # written with the connector by another developer
        assert linked.is_file(), f"{page}.md links to missing {target}"
        if anchor:
            assert anchor in github_anchors(linked.read_text()), f"{page}.md links to missing anchor {target}"


def test_definition_ids_are_unique_uuids() -> None:
    ids = [metadata(package)["data"]["definitionId"] for package in PACKAGES]
    assert all(uuid.UUID(value).version == 4 for value in ids)
    assert len(set(ids)) == len(ids)


def test_top_level_metadata_is_an_index_that_airbyte_tooling_refuses() -> None:
    """The top file names the four connectors; it must not read as one connector's metadata."""
    top = index()
    assert "data" not in top and "metadataSpecVersion" not in top
    with pytest.raises(ValueError, match="missing 'data'"):
        MetadataFile.from_file(ROOT / "metadata.yaml")

    project = pyproject()["project"]
    assert top["distribution"] == {"name": project["name"], "version": project["version"], "license": "MIT"}
    assert top["docker"]["organization"] == DOCKER_ORG
    assert [entry["name"] for entry in top["connectors"]] == [connector_name(p) for p in PACKAGES]
    for package, entry in zip(PACKAGES, top["connectors"], strict=True):
        data = metadata(package)["data"]
        assert entry["metadata"] == f"{package}/metadata.yaml"
        assert entry["dockerfile"] == f"{package}/Dockerfile"
        assert entry["connectorType"] == data["connectorType"]
        assert entry["image"] == f"{data['dockerRepository']}:{data['dockerImageTag']}"
        assert entry["consoleScript"] == connector_name(package)
        assert entry["docs"] == f"docs/{connector_name(package)}.md"
        assert top["docker"]["baseImage"] == data["connectorBuildOptions"]["baseImage"]


# -- (2) Dockerfiles ---------------------------------------------------------------------------------------------


def dockerfile_instructions(package: str) -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) pairs, comments dropped and continuation lines joined."""
    text = re.sub(r"\\\n", " ", (ROOT / package / "Dockerfile").read_text())
    instructions = []
    for line in text.splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            keyword, _, rest = line.partition(" ")
            instructions.append((keyword.upper(), rest.strip()))
    return instructions


@pytest.mark.parametrize("package", connector_params())
def test_dockerfile_uses_the_metadata_base_image(package: str) -> None:
    base_image = metadata(package)["data"]["connectorBuildOptions"]["baseImage"]
    assert re.fullmatch(r"docker\.io/airbyte/python-connector-base:\d+\.\d+\.\d+@sha256:[0-9a-f]{64}", base_image)
    instructions = dockerfile_instructions(package)
    args = dict(arg.split("=", 1) for kind, arg in instructions if kind == "ARG" and "=" in arg)
    froms = [arg.split()[0] for kind, arg in instructions if kind == "FROM"]
    assert froms, "no FROM"
    for image in froms:
        assert image in ("${BASE_IMAGE}", base_image), image
        if image == "${BASE_IMAGE}":
            assert args.get("BASE_IMAGE") == base_image


@pytest.mark.parametrize("package", connector_params())
def test_dockerfile_entrypoint_is_the_console_script(package: str) -> None:
    name = connector_name(package)
    instructions = dockerfile_instructions(package)
    entrypoints = [json.loads(arg) for kind, arg in instructions if kind == "ENTRYPOINT"]
    assert entrypoints == [[name]], "one exec-form ENTRYPOINT running the console script"
    envs = [arg for kind, arg in instructions if kind == "ENV" and arg.startswith("AIRBYTE_ENTRYPOINT")]
    assert envs == [f'AIRBYTE_ENTRYPOINT="{name}"']
    labels = " ".join(arg for kind, arg in instructions if kind == "LABEL")
    data = metadata(package)["data"]
    assert f'io.airbyte.name="{data["dockerRepository"]}"' in labels
    assert f'io.airbyte.version="{data["dockerImageTag"]}"' in labels
    assert ("USER", "airbyte") in instructions

    require_connector_code(package)
    scripts = console_scripts()
    assert name in scripts, f"pyproject.toml [project.scripts] has no {name}"
    module_name, _, function = scripts[name].partition(":")
    assert module_name.split(".")[0] == package
    assert callable(getattr(importlib.import_module(module_name), function))


@pytest.mark.parametrize("package", connector_params())
def test_the_image_ships_its_documentation_page(package: str) -> None:
    """The docs travel with the image (docs/ and mapping/README.md), wherever documentationUrl points."""
    workdirs = [arg for kind, arg in dockerfile_instructions(package) if kind == "WORKDIR"]
    copies = [arg.split() for kind, arg in dockerfile_instructions(package) if kind == "COPY"]
    assert ["docs/", "./docs/"] in copies and workdirs[-1] == "/airbyte/integration_code"


@pytest.mark.parametrize("package", connector_params())
def test_dockerfile_installs_from_the_lock(package: str) -> None:
    runs = " ".join(arg for kind, arg in dockerfile_instructions(package) if kind == "RUN")
    assert "pip install --no-cache-dir --constraint requirements.lock /tmp/wheels/" in runs


# -- (3) specs for the Airbyte UI --------------------------------------------------------------------------------


def spec_problems(schema: dict[str, Any], where: str = "") -> list[str]:
    """Every property titled and described, unique `order`s per object, secrets marked; recursively."""
    problems: list[str] = []
    properties = schema.get("properties") or {}
    orders = [prop["order"] for prop in properties.values() if isinstance(prop, dict) and "order" in prop]
    if len(orders) != len(set(orders)):
        problems.append(f"{where or '/'}: duplicate order values {sorted(orders)}")
    for name, prop in properties.items():
        path = f"{where}/{name}"
        for key in ("title", "description"):
            if not (isinstance(prop.get(key), str) and prop[key].strip()):
                problems.append(f"{path}: no {key}")
        if "order" in prop and not isinstance(prop["order"], int):
            problems.append(f"{path}: order is not an integer")
        if name in SECRET_NAMES and prop.get("airbyte_secret") is not True:
            problems.append(f"{path}: a secret without airbyte_secret: true")
        problems += spec_problems(prop, path)
        for keyword in ("oneOf", "anyOf", "allOf"):
            for i, variant in enumerate(prop.get(keyword) or []):
                problems += spec_problems(variant, f"{path}/{keyword}/{i}")
        if isinstance(prop.get("items"), dict):
            problems += spec_problems(prop["items"], f"{path}/items")
    return problems


@pytest.mark.parametrize("package", connector_params())
def test_spec_is_complete_for_the_airbyte_ui(package: str) -> None:
    require_connector_code(package)
    spec = json.loads((ROOT / package / "spec.json").read_text())
    parsed = ConnectorSpecificationSerializer.load(spec)  # the protocol model the platform reads
    connection = spec["connectionSpecification"]
    assert connection.get("type") == "object" and connection.get("title")
    assert spec_problems(connection) == []
    assert find_secret_marking_errors(connection) == []  # the CDK standard tests' own secret rules
    assert set(connection.get("required", [])) <= set(connection["properties"])
    if package.startswith("destination_"):
        assert parsed.supported_destination_sync_modes, "a destination declares its sync modes"


def test_spec_checks_catch_what_the_ui_needs() -> None:
    bad = {"properties": {
        "api_key": {"type": "string", "title": "Key", "description": "d", "order": 0},
        "base_url": {"type": "string", "title": "URL", "order": 0},
    }}
    assert spec_problems(bad) == [
        "/: duplicate order values [0, 0]",
        "/api_key: a secret without airbyte_secret: true",
        "/base_url: no description",
    ]


# -- (4) the wheel the images install ----------------------------------------------------------------------------


def dockerignore_rules() -> list[tuple[bool, re.Pattern[str]]]:
    """The top-level .dockerignore as (exclude?, regex) rules, in Docker's semantics.

    Patterns are relative to the context root; ``*`` and ``?`` stay within one path segment, ``**``
    spans any number of segments, ``!`` re-includes, and the last matching rule wins. A rule that
    matches a directory excludes everything under it.
    """
    rules = []
    for line in (ROOT / ".dockerignore").read_text().splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        exclude = not line.startswith("!")
        pattern = line.lstrip("!").strip("/")
        regex = ""
        for part in re.split(r"(\*\*/?)", pattern):
            regex += ("(?:.*/)?" if part == "**/" else ".*") if part.startswith("**") else glob_regex(part)
        rules.append((exclude, re.compile(regex + r"\Z")))
    return rules


def glob_regex(glob: str) -> str:
    """One segment-bound glob (Go's filepath.Match, which Docker uses) as a regex."""
    regex, i = "", 0
    while i < len(glob):
        char = glob[i]
        if char == "*":
            regex += "[^/]*"
        elif char == "?":
            regex += "[^/]"
        elif char == "[" and "]" in glob[i + 1:]:
            end = glob.index("]", i + 1)
            regex += "[" + glob[i + 1:end].replace("!", "^", 1) + "]"
            i = end
        else:
            regex += re.escape(char)
        i += 1
    return regex


def ignored(relative: PurePosixPath, rules: list[tuple[bool, re.Pattern[str]]]) -> bool:
    candidates = [str(relative), *(str(parent) for parent in relative.parents if str(parent) != ".")]
    verdict = False
    for exclude, rule in rules:
        if any(rule.match(candidate) for candidate in candidates):
            verdict = exclude
    return verdict


def copy_build_context(destination: Path) -> None:
    """What `docker build ... .` sends from the repository root, after .dockerignore."""
    rules = dockerignore_rules()
    for directory, subdirectories, files in os.walk(ROOT):
        here = PurePosixPath(Path(directory).relative_to(ROOT).as_posix())
        subdirectories[:] = [d for d in subdirectories if not ignored(here / d, rules)]
        for file in files:
            if not ignored(here / file, rules):
                target = destination / here / file
                target.parent.mkdir(parents=True, exist_ok=True)
                shutil.copy2(Path(directory) / file, target)


def test_dockerignore_keeps_sources_and_drops_local_state() -> None:
    rules = dockerignore_rules()
    for kept in ("pyproject.toml", "README.md", "source_coperniq/spec.json", "coperniq/openapi/x.yml",
                 "docs/source-coperniq.md", "mapping/README.md", "sandboxes/coperniq/app.py"):
        assert not ignored(PurePosixPath(kept), rules), kept
    for dropped in (".venv/bin/python", "unit_tests/x.py", "integration_tests/standard/source_coperniq/secrets/c.json",
                    "mapping/__pycache__/a.cpython-311.pyc", "coperniq_quickbooks_connectors.egg-info/PKG-INFO",
                    "build/lib/x.py", ".git/HEAD", ".pytest_cache/v", "source_coperniq/Dockerfile",
                    "benchmarks/.cache/peer-venv/pyvenv.cfg", ".cache/default_cache/default_cache.duckdb"):
        assert ignored(PurePosixPath(dropped), rules), dropped


def run(command: list[str | Path], **kwargs: Any) -> subprocess.CompletedProcess[str]:
    result = subprocess.run([str(part) for part in command], capture_output=True, text=True, timeout=240, **kwargs)
    assert result.returncode == 0, f"{command} failed:\n{result.stdout[-3000:]}\n{result.stderr[-3000:]}"
    return result


@pytest.mark.slow
def test_each_image_entrypoint_runs_from_a_clean_install_of_the_built_wheel(tmp_path: Path) -> None:
    """Build the wheel as the Dockerfiles do, install only it, and run every connector's ``spec``.

    How, and why this is honest yet takes about 15 s instead of minutes:

    - The wheel is built from a copy of the Docker build context (the repository minus ``.dockerignore``),
      with ``pip wheel --no-deps`` as in the Dockerfiles, so a file the image build would not see, or
      package data ``pyproject.toml`` forgot (spec.json, stream schemas, the OpenAPI document), shows up
      here. Without network access the build reuses this environment's setuptools
      (``--no-build-isolation``) when it has one; the Dockerfile build lets pip fetch the pinned one.
    - The wheel is installed with ``--no-deps`` into a brand-new virtual environment, so the project's
      sources and its editable install are out of reach. The dependencies, which the image gets from
      the package index, are borrowed from this test's own environment through a ``.pth`` line that
      appends its site-packages after the new environment's own (a ``.pth`` path line does not run the
      editable-install hook that lives there), instead of installing airbyte-cdk & co. again.
    - Each console script the images use as ENTRYPOINT then runs ``spec`` from that environment's
      ``bin/`` with the working directory elsewhere and no PYTHONPATH, and must print exactly one SPEC
      message equal to the package's spec.json; the modules must come from the new environment.
    """
    context, wheels, environment = tmp_path / "context", tmp_path / "wheels", tmp_path / "venv"
    copy_build_context(context)
    build = [sys.executable, "-m", "pip", "wheel", "--no-deps", "--wheel-dir", wheels, context]
    if importlib.util.find_spec("setuptools") is not None:
        build[4:4] = ["--no-build-isolation", "--no-index"]  # offline: this environment's setuptools builds it
    run(build)
    [wheel] = wheels.glob("coperniq_quickbooks_connectors-*.whl")

    names = set(zipfile.ZipFile(wheel).namelist())
    for package in PACKAGES:
        for data_file in (ROOT / package).rglob("*.json"):
            relative = data_file.relative_to(ROOT).as_posix()
            if "__pycache__" not in relative:
                assert relative in names, f"the wheel lacks {relative}"

    venv.EnvBuilder(with_pip=False).create(environment)
    python = environment / "bin" / "python"
    purelib = "import sysconfig; print(sysconfig.get_paths()['purelib'])"
    site_packages = Path(run([python, "-c", purelib]).stdout.strip())
    borrowed = dict.fromkeys([sysconfig.get_paths()["purelib"], sysconfig.get_paths()["platlib"]])
    (site_packages / "zz_borrowed_dependencies.pth").write_text("".join(f"{path}\n" for path in borrowed))
    run([sys.executable, "-m", "pip", "--python", python, "install", "--no-deps", "--no-index", "--quiet", wheel])

    clean_env = {key: value for key, value in os.environ.items() if key not in ("PYTHONPATH", "PYTHONHOME")}
    where = run([python, "-c", "import source_coperniq, connector_core; print(source_coperniq.__file__)"],
                cwd=tmp_path, env=clean_env).stdout.strip()
    assert Path(where).is_relative_to(site_packages), where

    scripts = console_scripts()
    ran = []
    for package in PACKAGES:
        if not (ROOT / package / "run.py").exists():
            continue  # still being written (source_quickbooks); its Dockerfile test says so
        name = connector_name(package)
        assert name in scripts
        result = run([environment / "bin" / name, "spec"], cwd=tmp_path, env=clean_env)
        messages = [json.loads(line) for line in result.stdout.splitlines() if line.startswith("{")]
        specs = [message["spec"] for message in messages if message.get("type") == "SPEC"]
        assert len(specs) == 1, result.stdout[-2000:]
        expected = json.loads((ROOT / package / "spec.json").read_text())
        assert specs[0]["connectionSpecification"] == expected["connectionSpecification"]
        ran.append(name)
    assert {"source-coperniq", "destination-quickbooks", "destination-coperniq"} <= set(ran)
