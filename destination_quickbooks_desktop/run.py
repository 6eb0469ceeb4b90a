"""Console script entry point: ``destination-quickbooks-desktop spec|check|write``."""

import sys

from destination_quickbooks_desktop.destination import DestinationQuickbooksDesktop


def run() -> None:
    DestinationQuickbooksDesktop().run(sys.argv[1:])
