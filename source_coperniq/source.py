"""source-coperniq: Coperniq projects, contacts and invoices, full refresh or incremental."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

import pendulum
from airbyte_cdk.sources import AbstractSource
from airbyte_cdk.sources.streams import Stream

from connector_core.config import config_error, parse_start_date
from coperniq.check import probe_projects
from coperniq.client import client_from_config
from coperniq.errors import CHECK_FAILURES, describe_error
from source_coperniq.streams import CoperniqStream, ProjectDirectory

# Stream name (the list endpoint's path) -> the extra parameters of its list calls. Archived projects are
# included so that archiving a project reaches the destination as an update (`isActive: false`) instead of
# silently vanishing.
LIST_PARAMS_OF_STREAM: dict[str, dict[str, Any]] = {
    "projects": {"include_archived": "true"},
    "contacts": {},
    "invoices": {},
}


def trigger_stages(config: Mapping[str, Any]) -> list[str]:
    """`invoice_stages`: the stage/phase names whose reaching re-sends a project's invoices (empty: any)."""
    stages = config.get("invoice_stages") or []
    if not isinstance(stages, list) or not all(isinstance(s, str) for s in stages):
        raise config_error('`invoice_stages` must be a list of stage or phase names, e.g. ["GLASS ON ROOF"].')
    return stages


class SourceCoperniq(AbstractSource):
    # A stream of the configured catalog this source does not have (a stale schema) fails the sync, by name.
    raise_exception_on_missing_stream = True

    def check_connection(self, logger: logging.Logger, config: Mapping[str, Any]) -> tuple[bool, Any]:
        """A readable start date and stage list, and a key that lists projects (coperniq.check)."""
        try:
            parse_start_date(config.get("start_date"))
            trigger_stages(config)
            probe_projects(config, logger)
        except CHECK_FAILURES as error:
            return False, describe_error(error)
        return True, None

    def streams(self, config: Mapping[str, Any]) -> list[Stream]:
        client = client_from_config(config)
        start_date = parse_start_date(config.get("start_date"))
        # One window end and one project directory for every stream of the sync: the invoices stream
        # then learns the stages of the projects the projects stream read, without asking again.
        now, directory = pendulum.now("UTC"), ProjectDirectory()
        stages = trigger_stages(config)
        return [CoperniqStream(name, client, start_date=start_date, extra_params=params, now=now, directory=directory,
                               trigger_stages=stages)
                for name, params in LIST_PARAMS_OF_STREAM.items()]
