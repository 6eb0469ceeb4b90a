from source_quickbooks.source import SourceQuickbooks

__all__ = ["SourceQuickbooks"]
