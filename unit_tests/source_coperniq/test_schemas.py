"""The committed stream schemas are exactly what the OpenAPI document produces (no silent drift)."""

import json

import pytest

from source_coperniq.schemas.generate import HERE, build_schemas, render


@pytest.mark.parametrize("stream", ["projects", "contacts", "invoices"])
def test_committed_schema_matches_the_openapi_document(stream: str) -> None:
    assert (HERE / f"{stream}.json").read_text() == render(build_schemas()[stream]), \
        "run `python -m source_coperniq.schemas.generate` after updating the OpenAPI document"


def test_contacts_schema_fills_the_documented_gap() -> None:
    contacts = json.loads((HERE / "contacts.json").read_text())
    assert {"id", "createdAt", "updatedAt", "companyId"} <= set(contacts["properties"])
