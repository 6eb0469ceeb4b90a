"""Console script entry point: ``source-coperniq spec|check|discover|read``."""

import sys

from airbyte_cdk.entrypoint import launch

from source_coperniq.source import SourceCoperniq


def run() -> None:
    launch(SourceCoperniq(), sys.argv[1:])
