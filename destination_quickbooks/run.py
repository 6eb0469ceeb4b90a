"""Console script entry point: ``destination-quickbooks spec|check|write``."""

import sys

from destination_quickbooks.destination import DestinationQuickbooks


def run() -> None:
    DestinationQuickbooks().run(sys.argv[1:])
