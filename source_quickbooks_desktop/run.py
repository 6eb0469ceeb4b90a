"""Console script entry point: ``source-quickbooks-desktop spec|check|discover|read``."""

import sys

from airbyte_cdk.entrypoint import launch

from source_quickbooks_desktop.source import SourceQuickbooksDesktop


def run() -> None:
    launch(SourceQuickbooksDesktop(), sys.argv[1:])
