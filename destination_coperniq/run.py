"""Console script entry point: ``destination-coperniq spec|check|write``."""

import sys

from destination_coperniq.destination import DestinationCoperniq


def run() -> None:
    DestinationCoperniq().run(sys.argv[1:])
