from destination_coperniq.destination import DestinationCoperniq

__all__ = ["DestinationCoperniq"]
