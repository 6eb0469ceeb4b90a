from source_coperniq.source import SourceCoperniq

__all__ = ["SourceCoperniq"]
