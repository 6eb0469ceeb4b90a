"""Packaging for Airbyte users: metadata.yaml, the Dockerfile, specs ready for the UI, and the wheel the images install.

Six connectors (four for QuickBooks Online, two for QuickBooks Desktop) and the Desktop bridge share one
distribution. Each connector has a ``metadata.yaml`` (Airbyte's connector metadata format) beside its
package; the top-level ``metadata.yaml`` only indexes them. One parameterised ``Dockerfile`` at the root
builds every image (``--build-arg CONNECTOR=<console script>``, or ``--target bridge``) from the runtime
wheel (``make wheel``: the runtime packages only). Docker cannot run here, so what an image would do is
proved piece by piece: the Dockerfile is evaluated per image as the builder would (``dockerfile.py``) and
checked against the metadata and ``pyproject.toml``; the runtime wheel is built from the Docker build
context and its package list checked; and the entrypoint each image runs is run from a clean install of
that wheel (the last test).
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
from importlib.metadata import entry_points
from pathlib import Path, PurePosixPath
from typing import Any, Literal
from urllib.parse import urlsplit
from xml.etree import ElementTree

import pytest
import yaml
from airbyte_cdk.models import ConnectorSpecificationSerializer
from airbyte_cdk.models.connector_metadata import MetadataFile
from airbyte_cdk.test.standard_tests._spec_lint import find_secret_marking_errors
from packaging.requirements import Requirement
from pydantic import AnyUrl, BaseModel, ConfigDict, Field

from unit_tests.packaging.dockerfile import Dockerfile, Image

ROOT = Path(__file__).resolve().parents[2]
# The QuickBooks Online flows' connectors and the QuickBooks Desktop ones: every test holds all six to the same
# rules (Airbyte's registry keys, icon, docs sections, spec); the two lists only say which system each serves.
PACKAGES = ("source_coperniq", "destination_quickbooks", "source_quickbooks", "destination_coperniq")
DESKTOP_PACKAGES = ("source_quickbooks_desktop", "destination_quickbooks_desktop")
CONNECTORS = PACKAGES + DESKTOP_PACKAGES
BRIDGE = "quickbooks-desktop-bridge"  # a service, not an Airbyte connector: its own image (--target bridge)
RUNTIME_SCRIPTS = {*(package.replace("_", "-") for package in CONNECTORS), BRIDGE}
DEVELOPMENT_SCRIPTS = {"coperniq-sandbox", "quickbooks-sandbox"}
DEVELOPMENT_PACKAGES = {"sandboxes", "demo", "benchmarks", "unit_tests", "integration_tests", "tools", "examples"}
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


def connector_params(packages: tuple[str, ...] = CONNECTORS) -> list[Any]:
    return [pytest.param(package, id=connector_name(package)) for package in packages]


def pyproject() -> dict[str, Any]:
    return tomllib.loads((ROOT / "pyproject.toml").read_text())


def console_scripts() -> dict[str, str]:
    return pyproject()["project"]["scripts"]


def metadata(package: str) -> dict[str, Any]:
    return yaml.safe_load((ROOT / package / "metadata.yaml").read_text())


def index() -> dict[str, Any]:
    return yaml.safe_load((ROOT / "metadata.yaml").read_text())


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
    same_brand = [p for p in CONNECTORS if metadata(p)["data"]["icon"] == icon]
    assert len({(ROOT / p / "icon.svg").read_bytes() for p in same_brand}) == 1, "one icon per brand"


@pytest.mark.parametrize("package", connector_params(CONNECTORS))
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
    assert page.is_file()
    text = page.read_text()
    for section in ("## Overview", "## Prerequisites", "## Setup guide", "## Changelog"):
        assert section in text, f"{page.name} lacks {section}"


LINKED_PAGES = ("source-coperniq", "destination-quickbooks", "source-quickbooks", "destination-coperniq",
                "source-quickbooks-desktop", "destination-quickbooks-desktop", "quickbooks-desktop-bridge", "packaging")


@pytest.mark.parametrize("package", connector_params(CONNECTORS))
def test_docs_config_reference_lists_every_spec_property(package: str) -> None:
    text = (ROOT / "docs" / f"{connector_name(package)}.md").read_text()
    key_cells = re.findall(r"^\| (`\w+`(?:, `\w+`)*) \|", text, re.MULTILINE)  # a row may name several keys
    documented = {key for cell in key_cells for key in re.findall(r"`(\w+)`", cell)}
    spec = json.loads((ROOT / package / "spec.json").read_text())["connectionSpecification"]
    assert set(spec["properties"]) <= documented, f"undocumented: {set(spec['properties']) - documented}"


def github_anchors(markdown: str) -> set[str]:
    """The ids GitHub gives a page's headings: lower case, punctuation dropped, spaces to hyphens."""
    headings = re.findall(r"^#+\s+(.+?)\s*$", markdown, re.MULTILINE)
    return {re.sub(r"[^\w\- ]", "", heading.lower()).replace(" ", "-") for heading in headings}


@pytest.mark.parametrize("page", LINKED_PAGES)
def test_docs_links_resolve(page: str) -> None:
    path = ROOT / "docs" / f"{page}.md"
    for target in re.findall(r"\]\(([^)\s]+)\)", path.read_text()):
        if re.match(r"[a-z]+:", target):
            continue  # absolute URLs are not fetched here
        file_part, _, anchor = target.partition("#")
        linked = (path.parent / file_part).resolve() if file_part else path
        assert linked.is_file(), f"{page}.md links to missing {target}"
        if anchor:
            assert anchor in github_anchors(linked.read_text()), f"{page}.md links to missing anchor {target}"


def test_definition_ids_are_unique_uuids() -> None:
    ids = [metadata(package)["data"]["definitionId"] for package in CONNECTORS]
    assert all(uuid.UUID(value).version == 4 for value in ids)
    assert len(set(ids)) == len(ids)


def test_top_level_metadata_is_an_index_that_airbyte_tooling_refuses() -> None:
    """The top file names the six connectors and the bridge; it must not read as one connector's metadata."""
    top = index()
    assert "data" not in top and "metadataSpecVersion" not in top
    with pytest.raises(ValueError, match="missing 'data'"):
        MetadataFile.from_file(ROOT / "metadata.yaml")

    project = pyproject()["project"]
    assert top["distribution"] == {"name": project["name"], "version": project["version"], "license": "MIT"}
    assert top["docker"]["organization"] == DOCKER_ORG
    assert top["docker"]["dockerfile"] == "Dockerfile" and top["docker"]["buildContext"] == "."
    assert [entry["name"] for entry in top["connectors"]] == [connector_name(p) for p in CONNECTORS]
    for package, entry in zip(CONNECTORS, top["connectors"], strict=True):
        data = metadata(package)["data"]
        assert entry["metadata"] == f"{package}/metadata.yaml"
        assert entry["buildArgs"] == {"CONNECTOR": connector_name(package)}
        assert entry["connectorType"] == data["connectorType"]
        assert entry["image"] == f"{data['dockerRepository']}:{data['dockerImageTag']}"
        assert entry["consoleScript"] == connector_name(package)
        assert entry["docs"] == f"docs/{connector_name(package)}.md"
        assert top["docker"]["baseImage"] == data["connectorBuildOptions"]["baseImage"]
    [bridge] = top["services"]
    assert bridge == {"name": BRIDGE, "consoleScript": BRIDGE, "target": "bridge", "docs": f"docs/{BRIDGE}.md",
                      "image": f"{DOCKER_ORG}/{BRIDGE}:{project['version']}"}


# -- (2) the Dockerfile ------------------------------------------------------------------------------------------


CONNECTOR_ENTRYPOINT = ["/bin/sh", "-c", 'exec "$AIRBYTE_ENTRYPOINT" "$@"', "--"]


def dockerfile() -> Dockerfile:
    return Dockerfile(ROOT / "Dockerfile")


def connector_image(package: str) -> Image:
    """The image `docker build --build-arg CONNECTOR=<name> .` makes (the default, last stage)."""
    return dockerfile().image({"CONNECTOR": connector_name(package)})


def bridge_image() -> Image:
    return dockerfile().image(target="bridge")


def test_one_dockerfile_builds_every_image() -> None:
    found = []
    for directory, subdirectories, files in os.walk(ROOT):
        subdirectories[:] = [d for d in subdirectories if not d.startswith(".") and d != "__pycache__"]
        found += [(Path(directory) / f).relative_to(ROOT).as_posix() for f in files if f.startswith("Dockerfile")]
    assert found == ["Dockerfile"], "one parameterised Dockerfile at the root, no per-connector copies"
    stages = dockerfile().stages
    assert list(stages) == ["builder", "runtime", "bridge", "connector"], "the connector stage is the default"
    assert dockerfile().global_args["VERSION"] == pyproject()["project"]["version"], "images carry the version"


@pytest.mark.parametrize("package", connector_params(CONNECTORS))
def test_dockerfile_uses_the_metadata_base_image(package: str) -> None:
    base_image = metadata(package)["data"]["connectorBuildOptions"]["baseImage"]
    assert re.fullmatch(r"docker\.io/airbyte/python-connector-base:\d+\.\d+\.\d+@sha256:[0-9a-f]{64}", base_image)
    assert dockerfile().global_args["BASE_IMAGE"] == base_image
    image = connector_image(package)
    assert image.base == base_image and image.stages == ["runtime", "connector"]
    assert dockerfile().stages["builder"].base == "${BASE_IMAGE}", "the wheel is built on the same Python"
    assert bridge_image().base == base_image == index()["docker"]["baseImage"]


@pytest.mark.parametrize("package", connector_params(CONNECTORS))
def test_dockerfile_entrypoint_is_the_console_script(package: str) -> None:
    name = connector_name(package)
    image = connector_image(package)
    assert image.entrypoint == CONNECTOR_ENTRYPOINT, "exec: the console script is the main process"
    assert image.env["AIRBYTE_ENTRYPOINT"] == name
    data = metadata(package)["data"]
    assert image.labels == {"io.airbyte.name": data["dockerRepository"], "io.airbyte.version": data["dockerImageTag"]}
    assert image.user == "airbyte"
    assert f'test -n "{name}" && command -v "{name}"' in image.runs, "the build fails on a wrong CONNECTOR"
    assert not image.volumes and not image.exposed, "a connector image has none of the bridge's service set-up"

    scripts = console_scripts()
    assert name in scripts, f"pyproject.toml [project.scripts] has no {name}"
    module_name, _, function = scripts[name].partition(":")
    assert module_name.split(".")[0] == package
    assert callable(getattr(importlib.import_module(module_name), function))


def test_a_connector_image_without_a_connector_name_fails_to_build() -> None:
    image = dockerfile().image()
    assert 'test -n "" && command -v ""' in image.runs and image.env["AIRBYTE_ENTRYPOINT"] == ""


def test_the_bridge_image_serves_the_web_connector_from_a_volume() -> None:
    image = bridge_image()
    assert image.stages == ["runtime", "bridge"] and image.entrypoint == [BRIDGE]
    assert image.labels == {"io.airbyte.name": f"{DOCKER_ORG}/{BRIDGE}",
                            "io.airbyte.version": pyproject()["project"]["version"]}
    assert image.user == "airbyte" and image.volumes == ["/data"] and image.exposed == [image.env["QBD_BRIDGE_PORT"]]
    assert image.env["QBD_BRIDGE_HOST"] == "0.0.0.0"
    assert image.env["QBD_BRIDGE_DATABASE"] == "sqlite:////data/bridge.db"
    assert "mkdir /data && chown airbyte /data" in image.runs
    assert console_scripts()[BRIDGE] == "quickbooks_desktop_bridge.cli:main"


@pytest.mark.parametrize("image", [*(pytest.param(connector_name(p), id=connector_name(p)) for p in CONNECTORS),
                                   pytest.param(BRIDGE, id=BRIDGE)])
def test_the_image_ships_its_documentation_page(image: str) -> None:
    """The docs travel with the image (docs/ and mapping/README.md), wherever documentationUrl points."""
    built = bridge_image() if image == BRIDGE else dockerfile().image({"CONNECTOR": image})
    assert ["docs/", "./docs/"] in built.copies and built.workdir == "/airbyte/integration_code"
    assert ["mapping/README.md", "./mapping/README.md"] in built.copies
    assert (ROOT / "docs" / f"{image}.md").is_file()


def test_dockerfile_installs_the_runtime_wheel_from_the_lock() -> None:
    [build] = dockerfile().image(target="builder").runs
    assert build.startswith("python tools/build_runtime_wheel.py --wheel-dir /tmp/wheels ")
    assert "pip install --no-cache-dir --constraint requirements.lock /tmp/wheels/" in build
    for image in (connector_image("source_coperniq"), bridge_image()):
        assert ["--from=builder", "/usr/local", "/usr/local"] in image.copies, "only the installed Python, no sources"


def test_the_dockerfile_reader_follows_docker_scoping(tmp_path: Path) -> None:
    (tmp_path / "Dockerfile").write_text(
        "ARG BASE=debian:12\nARG TAG=1\nFROM ${BASE} AS one\nARG TAG\nENV A=$TAG B=\"x y\"\nLABEL base=\"${BASE}\"\n"
        "FROM one AS two\nLABEL tag=\"${TAG}\"\nARG LOCAL=l\nRUN echo $LOCAL \\\n  done\n"
        "FROM ${BASE} AS three\nLABEL tag=\"${TAG}\"\n")
    parsed = Dockerfile(tmp_path / "Dockerfile")
    image = parsed.image({"TAG": "2"}, target="two")
    assert (image.base, image.stages, image.env) == ("debian:12", ["one", "two"], {"A": "2", "B": "x y"})
    assert image.labels == {"base": "", "tag": "2"}, "a global ARG needs redeclaring; a child stage inherits"
    assert image.runs == ["echo l    done"]
    assert parsed.image({"TAG": "2"}).labels == {"tag": ""}, "the last stage by default; no ARG TAG in it"


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


@pytest.mark.parametrize("package", connector_params(CONNECTORS))
def test_spec_is_complete_for_the_airbyte_ui(package: str) -> None:
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


# -- (4) the runtime wheel the images install --------------------------------------------------------------------------


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


@pytest.fixture(scope="module")
def runtime_wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The runtime wheel as the Dockerfile's builder stage makes it: tools/build_runtime_wheel.py run in a copy
    of the Docker build context (the repository minus ``.dockerignore``), so a file the image build would not
    see, or package data ``pyproject.toml`` forgot (spec.json, stream schemas, the OpenAPI document), shows up
    here. Without network access it builds with this environment's setuptools (``--offline``); the image
    build lets pip fetch the pinned one."""
    context, wheels = tmp_path_factory.mktemp("context"), tmp_path_factory.mktemp("wheels")
    copy_build_context(context)
    command: list[str | Path] = [sys.executable, context / "tools" / "build_runtime_wheel.py", "--wheel-dir", wheels]
    if importlib.util.find_spec("setuptools") is not None:
        command.append("--offline")
    run(command, cwd=context)
    [wheel] = wheels.glob("coperniq_quickbooks_connectors-*.whl")
    return wheel


def test_the_runtime_wheel_holds_only_the_runtime_packages_and_their_console_scripts(runtime_wheel: Path) -> None:
    """What `make wheel` builds and the images install: no sandboxes, demo, benchmarks, tests or tools."""
    with zipfile.ZipFile(runtime_wheel) as wheel:
        names = wheel.namelist()
        [entry_points] = [name for name in names if name.endswith(".dist-info/entry_points.txt")]
        scripts = dict(re.findall(r"^(\S+) = (\S+)$", wheel.read(entry_points).decode(), re.MULTILINE))
    top_level = {name.split("/", 1)[0] for name in names if not name.split("/", 1)[0].endswith(".dist-info")}
    runtime = set(pyproject()["tool"]["coperniq-quickbooks"]["runtime-wheel"]["packages"])
    assert top_level == runtime, f"non-runtime packages: {sorted(top_level - runtime)}"
    assert not DEVELOPMENT_PACKAGES & top_level
    assert runtime == set(CONNECTORS) | {"quickbooks_desktop_bridge", "connector_core", "coperniq", "qbo", "qbd",
                                         "mapping"}
    assert scripts == {name: console_scripts()[name] for name in RUNTIME_SCRIPTS}, "and no sandbox's script"
    for package in CONNECTORS:
        for data_file in (ROOT / package).rglob("*.json"):
            relative = data_file.relative_to(ROOT).as_posix()
            if "__pycache__" not in relative:
                assert relative in names, f"the wheel lacks {relative}"
    assert "coperniq/openapi/coperniq-openapi.yml" in names and "mapping/README.md" in names
    with zipfile.ZipFile(runtime_wheel) as wheel:
        [wheel_metadata] = [name for name in names if name.endswith(".dist-info/METADATA")]
        requires = re.findall(r"^Requires-Dist: (.+)$", wheel.read(wheel_metadata).decode(), re.MULTILINE)
    assert [Requirement(text) for text in requires] == [Requirement(text)
                                                       for text in pyproject()["project"]["dependencies"]], \
        "the runtime wheel's dependencies are pyproject.toml's, not a copy"


def test_the_development_install_keeps_every_console_script() -> None:
    """`pip install -e .` still installs the sandboxes' console scripts the README and the tests use."""
    installed = {entry.name for entry in entry_points(group="console_scripts")
                 if entry.dist is not None and entry.dist.name == pyproject()["project"]["name"]}
    assert installed == set(console_scripts()) == RUNTIME_SCRIPTS | DEVELOPMENT_SCRIPTS


def image_entrypoint_command(name: str) -> list[str]:
    """What `docker run IMAGE ...` executes for the connector (CONNECTOR=name) or the bridge image."""
    return bridge_image().entrypoint if name == BRIDGE else dockerfile().image({"CONNECTOR": name}).entrypoint


@pytest.mark.slow
def test_each_image_entrypoint_runs_from_a_clean_install_of_the_built_wheel(runtime_wheel: Path,
                                                                             tmp_path: Path) -> None:
    """Install only the runtime wheel, then run every image's entrypoint as the image would.

    How, and why this is honest yet takes seconds instead of minutes:

    - The wheel is installed with ``--no-deps`` into a brand-new virtual environment, so the project's
      sources and its editable install are out of reach (the sandboxes, demo and benchmarks too). The
      dependencies, which the image gets from the package index, are borrowed from this test's own
      environment through a ``.pth`` line that appends its site-packages after the new environment's own
      (a ``.pth`` path line does not run the editable-install hook that lives there), instead of installing
      airbyte-cdk & co. again.
    - Each connector image's ENTRYPOINT (``sh -c 'exec "$AIRBYTE_ENTRYPOINT" "$@"'``) then runs ``spec``
      with ``AIRBYTE_ENTRYPOINT`` as the image sets it, the new environment's ``bin/`` first on PATH, the
      working directory elsewhere and no PYTHONPATH, and must print exactly one SPEC message equal to the
      package's spec.json; the bridge image's entrypoint answers ``--help``.
    """
    environment = tmp_path / "venv"
    venv.EnvBuilder(with_pip=False).create(environment)
    python = environment / "bin" / "python"
    purelib = "import sysconfig; print(sysconfig.get_paths()['purelib'])"
    site_packages = Path(run([python, "-c", purelib]).stdout.strip())
    borrowed = dict.fromkeys([sysconfig.get_paths()["purelib"], sysconfig.get_paths()["platlib"]])
    (site_packages / "zz_borrowed_dependencies.pth").write_text("".join(f"{path}\n" for path in borrowed))
    run([sys.executable, "-m", "pip", "--python", python, "install", "--no-deps", "--no-index", "--quiet",
         runtime_wheel])

    clean_env = {key: value for key, value in os.environ.items() if key not in ("PYTHONPATH", "PYTHONHOME")}
    clean_env["PATH"] = f"{environment / 'bin'}{os.pathsep}{clean_env.get('PATH', '')}"
    where = run([python, "-c", "import source_coperniq, quickbooks_desktop_bridge, psycopg; "
                 "print(source_coperniq.__file__)"], cwd=tmp_path, env=clean_env).stdout.strip()
    assert Path(where).is_relative_to(site_packages), where
    missing = subprocess.run([python, "-c", "import sandboxes"], cwd=tmp_path, env=clean_env, capture_output=True)
    assert missing.returncode != 0, "the sandboxes are development tools: not in the runtime install"

    for package in CONNECTORS:
        name = connector_name(package)
        result = run([*image_entrypoint_command(name), "spec"], cwd=tmp_path,
                     env={**clean_env, "AIRBYTE_ENTRYPOINT": name})
        messages = [json.loads(line) for line in result.stdout.splitlines() if line.startswith("{")]
        specs = [message["spec"] for message in messages if message.get("type") == "SPEC"]
        assert len(specs) == 1, result.stdout[-2000:]
        expected = json.loads((ROOT / package / "spec.json").read_text())
        assert specs[0]["connectionSpecification"] == expected["connectionSpecification"]
    bridge = run([*image_entrypoint_command(BRIDGE), "--help"], cwd=tmp_path, env=clean_env)
    assert "--database" in bridge.stdout and "postgresql" in bridge.stdout
