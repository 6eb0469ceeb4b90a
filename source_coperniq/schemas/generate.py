"""Derive the stream JSON schemas from Coperniq's OpenAPI document.

Run ``python -m source_coperniq.schemas.generate`` after updating the document; a unit test
fails when the committed schemas drift from what this produces.
"""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import yaml

from coperniq.openapi import OPENAPI_PATH

HERE = Path(__file__).parent

# Stream name -> the OpenAPI component its records are.
STREAM_COMPONENTS = {"projects": "Project", "contacts": "Contact", "invoices": "Invoice"}

# The `Contact` component lists no id or timestamps, yet the API filters contacts on
# `updated_after` and addresses them by id; Coperniq's own SDK types them (MISSION.md, known gaps).
CONTACT_GAP_FIELDS = {
    "id": {"type": "integer",
           "description": "Contact identifier (missing from the reference; typed by Coperniq's SDK)"},
    "companyId": {"type": ["integer", "null"], "description": "Company identifier (typed by Coperniq's SDK)"},
    "createdAt": {"type": "string", "format": "date-time", "description": "Creation timestamp"},
    "updatedAt": {"type": "string", "format": "date-time", "description": "Last update timestamp"},
}

# Workflows 1.0 projects carry these beside `stage` (the reference names them in `stage`'s description).
PROJECT_STAGE_FIELDS = {
    "stageId": {"type": ["integer", "null"], "description": "Current stage id (Workflows 1.0 only)"},
    "timeInStageDays": {"type": ["integer", "null"], "description": "Days in the current stage (Workflows 1.0 only)"},
    "slaStatus": {"type": ["string", "null"], "description": "SLA status of the stage (Workflows 1.0 only)"},
}

# Added by the source (not a Coperniq field): the stage/phase of the invoice's project at read time,
# so a destination can route an invoice on its project's stage (flow qbo:in:2).
INVOICE_SOURCE_FIELDS = {
    "_project_stage": {"type": ["string", "null"],
                       "description": "Name of the current stage (Workflows 1.0) or phase (2.0) of the invoice's "
                                      "project (`record.id`) when read; null without a project or without either. "
                                      "Added by source-coperniq."},
}


def _resolve(node: Any, components: dict[str, Any]) -> Any:
    """Inline every ``$ref`` (the component graph of these three is acyclic)."""
    if isinstance(node, dict):
        if "$ref" in node:
            target = components[node["$ref"].rsplit("/", 1)[-1]]
            merged = {**_resolve(copy.deepcopy(target), components),
                      **{k: v for k, v in node.items() if k != "$ref"}}
            return _resolve(merged, components)
        return {k: _resolve(v, components) for k, v in node.items() if k != "title"}
    if isinstance(node, list):
        return [_resolve(v, components) for v in node]
    return node


def build_schemas(openapi_path: Path = OPENAPI_PATH) -> dict[str, dict[str, Any]]:
    document = yaml.load(openapi_path.read_text(), Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))
    components = document["components"]["schemas"]
    schemas: dict[str, dict[str, Any]] = {}
    for stream, component in STREAM_COMPONENTS.items():
        schema = _resolve(copy.deepcopy(components[component]), components)
        if stream == "contacts":
            schema["properties"] = {**CONTACT_GAP_FIELDS, **schema["properties"]}
        if stream == "projects":
            # `stage` and `phase` are omitted, not null, on the other workflow engine; both stay optional.
            schema["properties"].update(PROJECT_STAGE_FIELDS)
        if stream == "invoices":
            schema["properties"].update(INVOICE_SOURCE_FIELDS)
        schema["required"] = sorted(set(schema.get("required", [])) | {"id", "updatedAt"})
        schemas[stream] = {"$schema": "http://json-schema.org/draft-07/schema#", "additionalProperties": True,
                           **schema}
    return schemas


def render(schema: dict[str, Any]) -> str:
    return json.dumps(schema, indent=2, sort_keys=True, ensure_ascii=False) + "\n"


def main() -> None:
    for stream, schema in build_schemas().items():
        (HERE / f"{stream}.json").write_text(render(schema))
        print(f"wrote {stream}.json")


if __name__ == "__main__":
    main()
