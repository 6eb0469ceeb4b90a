"""Console script entry point: ``source-quickbooks spec|check|discover|read``."""

import sys

from airbyte_cdk.entrypoint import launch

from source_quickbooks.source import SourceQuickbooks


def run() -> None:
    launch(SourceQuickbooks(), sys.argv[1:])
