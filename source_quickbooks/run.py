"""Console script entry point: ``source-quickbooks spec|check|discover|read``."""

from __future__ import annotations

import sys

import orjson
from airbyte_cdk.entrypoint import AirbyteEntrypoint
from airbyte_cdk.logger import PRINT_BUFFER

from source_quickbooks.source import SourceQuickbooks
from source_quickbooks.streams import PROJECT_ID

RECORD = '{"type":"RECORD",'


def with_null_project_id(line: str) -> str:
    """An invoice record line that says ``"_coperniq_project_id": null`` instead of leaving it out.

    The CDK's serializer drops null values from record data; this field's contract is "present on
    every invoice, integer or null", so a reader can tell an unlinked invoice from a source that
    does not send the field.
    """
    if not line.startswith(RECORD) or '"stream":"invoices"' not in line[:120] or f'"{PROJECT_ID}":' in line:
        return line
    message = orjson.loads(line)
    message["record"]["data"][PROJECT_ID] = None
    return orjson.dumps(message).decode()


def run() -> None:
    # airbyte_cdk.entrypoint.launch, with the invoice lines completed.
    entrypoint = AirbyteEntrypoint(SourceQuickbooks())
    parsed_args = entrypoint.parse_args(sys.argv[1:])
    with PRINT_BUFFER:
        for message in entrypoint.run(parsed_args):
            print(f"{with_null_project_id(message)}\n", end="")
