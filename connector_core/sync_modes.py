"""The sync modes the destinations honour: Append + Deduped, and nothing that promises a delete.

Both destinations write into business applications: each record creates or updates one object,
found again by its link, and nothing is ever deleted (QuickBooks customers cannot be deleted at all,
Coperniq projects are never removed by a sync). That is Airbyte's *Append + Deduped* (the latest
version of each record, once); *Append* (keep every version), *Overwrite* (delete what the sync did
not send) and *Soft delete* would be promises the connectors cannot keep, so a configured catalog that
asks for them fails at once, before anything is read or written.

The protocol also has a destination-side ``discover`` (a ``DESTINATION_CATALOG`` of objects, each with
the modes ``append``, ``append_dedup``, ``update`` or ``soft_delete``), which Airbyte's platform uses for
"data activation" destinations. The installed CDK has the models but neither the verb in its Python
``Destination`` nor the message in its ``AirbyteMessage``; docs/packaging.md says why these
destinations stay classic ones and what the platform would do otherwise.
"""

from __future__ import annotations

import logging

from airbyte_cdk.models import ConfiguredAirbyteCatalog, DestinationSyncMode

from connector_core.config import config_error

HONOURED_MODES = (DestinationSyncMode.append_dedup,)
MODE_NAMES = {
    DestinationSyncMode.append: "Append",
    DestinationSyncMode.append_dedup: "Append + Deduped",
    DestinationSyncMode.overwrite: "Overwrite",
    DestinationSyncMode.update: "Update",
    DestinationSyncMode.soft_delete: "Soft delete",
}


def mode_name(mode: DestinationSyncMode | str) -> str:
    value = mode if isinstance(mode, DestinationSyncMode) else DestinationSyncMode(mode)
    return f"{MODE_NAMES.get(value, value.value)} ({value.value})"


def require_honoured_modes(catalog: ConfiguredAirbyteCatalog, connector: str, logger: logging.Logger) -> None:
    """A config error naming every stream whose destination sync mode this destination cannot honour."""
    wrong = [(s.stream.name, s.destination_sync_mode) for s in catalog.streams
             if s.destination_sync_mode not in HONOURED_MODES]
    if wrong:
        asked = "; ".join(f"stream {name!r} asks for {mode_name(mode)}" for name, mode in wrong)
        raise config_error(
            f"{connector} supports only the sync mode {mode_name(DestinationSyncMode.append_dedup)}: it creates or "
            f"updates each record's object, found again by its link, and never deletes anything, so Append (keep "
            f"every version), Overwrite and Soft delete cannot be honoured. {asked}. In the connection, set every "
            f"stream to Incremental | Append + Deduped.")
    for configured in catalog.streams:
        generation, minimum = configured.generation_id, configured.minimum_generation_id
        if generation and minimum == generation:
            # A refresh that removes records, or a clear: the platform expects the destination to drop what
            # earlier generations wrote. Failing would leave the connection unable to reset its state, so the
            # sync goes on and says plainly that nothing is deleted.
            logger.warning(f"Stream {configured.stream.name!r} asks to remove the records of earlier syncs; "
                           f"{connector} never deletes, so they stay. Only the records of this sync are upserted.")
