from destination_quickbooks.destination import DestinationQuickbooks

__all__ = ["DestinationQuickbooks"]
