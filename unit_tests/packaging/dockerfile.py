"""What ``docker build`` would make of the root Dockerfile for given build-args and target, without Docker.

Docker cannot run here, so the packaging tests read the Dockerfile the way the builder does: instructions
with continuation lines joined and comments dropped; stages (``FROM ... AS name``) chained to the one a
``--target`` names (the last by default); ARGs before the first FROM are global (seen in a stage only
where it declares them again); an ARG inside a stage is in scope from that line on, in that stage and the
stages built FROM it, taking its ``--build-arg`` value, else the default given, else the global default;
``${VAR}``/``$VAR`` are replaced in the instructions Docker replaces them in
(FROM, ENV, LABEL, USER, WORKDIR, COPY, EXPOSE, VOLUME). RUN lines are kept with their ARGs replaced, as
the shell running them would see them. ENTRYPOINT is not expanded (Docker does not).
"""

from __future__ import annotations

import json
import re
import shlex
from dataclasses import dataclass, field
from pathlib import Path

EXPANDED = {"FROM", "ENV", "LABEL", "USER", "WORKDIR", "COPY", "EXPOSE", "VOLUME"}
VARIABLE = re.compile(r"\$\{(\w+)\}|\$(\w+)")


def instructions(path: Path) -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) pairs, comments dropped and continuation lines joined."""
    text = re.sub(r"\\\n", " ", path.read_text())
    found = []
    for line in text.splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            keyword, _, rest = line.partition(" ")
            found.append((keyword.upper(), rest.strip()))
    return found


def expand(text: str, variables: dict[str, str]) -> str:
    return VARIABLE.sub(lambda match: variables.get(match[1] or match[2], ""), text)


def pairs(text: str) -> dict[str, str]:
    """``KEY=value KEY2="value 2"`` (ENV, LABEL) as a dict."""
    return dict(word.split("=", 1) for word in shlex.split(text))


@dataclass
class Stage:
    name: str
    base: str  # an image reference or the name of an earlier stage
    body: list[tuple[str, str]] = field(default_factory=list)


@dataclass
class Image:
    """The parts of an image's config the tests check, and the RUN lines that built it."""

    base: str = ""  # the external image at the root of the stage chain
    stages: list[str] = field(default_factory=list)
    env: dict[str, str] = field(default_factory=dict)
    labels: dict[str, str] = field(default_factory=dict)
    user: str = "root"
    workdir: str = "/"
    entrypoint: list[str] = field(default_factory=list)
    copies: list[list[str]] = field(default_factory=list)
    runs: list[str] = field(default_factory=list)
    volumes: list[str] = field(default_factory=list)
    exposed: list[str] = field(default_factory=list)


class Dockerfile:
    def __init__(self, path: Path):
        self.global_args: dict[str, str] = {}
        self.stages: dict[str, Stage] = {}
        for kind, rest in instructions(path):
            if kind == "FROM":
                words = rest.split()
                name = words[2] if len(words) == 3 and words[1].upper() == "AS" else str(len(self.stages))
                self.stages[name] = Stage(name, words[0])
            elif not self.stages:
                assert kind == "ARG", f"only ARG may come before the first FROM, not {kind}"
                name, _, default = rest.partition("=")
                self.global_args[name] = default
            else:
                list(self.stages.values())[-1].body.append((kind, rest))

    def chain(self, target: str | None) -> list[Stage]:
        stage = self.stages[target] if target else list(self.stages.values())[-1]
        chain = [stage]
        while chain[0].base in self.stages:
            chain.insert(0, self.stages[chain[0].base])
        return chain

    def image(self, build_args: dict[str, str] | None = None, target: str | None = None) -> Image:
        build_args = build_args or {}
        globals_ = {name: build_args.get(name, default) for name, default in self.global_args.items()}
        chain = self.chain(target)
        image = Image(base=expand(chain[0].base, globals_), stages=[stage.name for stage in chain])
        in_scope: dict[str, str] = {}  # a stage built FROM another inherits its ARGs (BuildKit)
        for stage in chain:
            for kind, rest in stage.body:
                variables = {**in_scope, **image.env}  # ENV wins over an ARG of the same name
                text = expand(rest, variables) if kind in EXPANDED or kind == "RUN" else rest
                if kind == "ARG":
                    name, has_default, default = rest.partition("=")
                    in_scope[name] = build_args.get(name, default if has_default else globals_.get(name, ""))
                else:
                    self._apply(image, kind, text)
        return image

    @staticmethod
    def _apply(image: Image, kind: str, text: str) -> None:
        if kind == "ENV":
            image.env.update(pairs(text))
        elif kind == "LABEL":
            image.labels.update(pairs(text))
        elif kind == "USER":
            image.user = text
        elif kind == "WORKDIR":
            image.workdir = text
        elif kind == "ENTRYPOINT":
            image.entrypoint = json.loads(text)
        elif kind == "COPY":
            image.copies.append(text.split())
        elif kind == "RUN":
            image.runs.append(text)
        elif kind == "VOLUME":
            image.volumes += json.loads(text) if text.startswith("[") else text.split()
        elif kind == "EXPOSE":
            image.exposed += text.split()
