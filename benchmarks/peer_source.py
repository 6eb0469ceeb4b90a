"""Runs Airbyte's published QuickBooks source from a copy of its manifest.

    PEER_PYTHON benchmarks/peer_source.py MANIFEST.yaml read --config ... --catalog ...

Executed by the Python of the separate virtual environment the published source is installed in
(``benchmarks.peer`` creates it), so it imports only what that environment has: its own
``airbyte_cdk`` and PyYAML. The manifest is the published one, copied with only the API host and
the token endpoint pointed at the sandbox.
"""

from __future__ import annotations

import sys

import yaml
from airbyte_cdk.entrypoint import launch
from airbyte_cdk.sources.declarative.manifest_declarative_source import ManifestDeclarativeSource


def main() -> None:
    manifest_path, *args = sys.argv[1:]
    with open(manifest_path, encoding="utf-8") as handle:
        manifest = yaml.safe_load(handle)
    launch(ManifestDeclarativeSource(source_config=manifest), args)


if __name__ == "__main__":
    main()
