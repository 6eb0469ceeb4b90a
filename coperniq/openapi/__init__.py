"""Coperniq's published OpenAPI reference, kept in the repository as the source of truth (see README.md here)."""

from pathlib import Path

OPENAPI_PATH = Path(__file__).parent / "coperniq-openapi.yml"
