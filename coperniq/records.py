"""Facts read off Coperniq's records, shared by source-coperniq and the destinations."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any


def project_stage(project: Mapping[str, Any]) -> str | None:
    """The name of the project's current stage (Workflows 1.0) or phase (2.0); None without either.

    Coperniq's reference: a Workflows 1.0 project carries ``stage``; a 2.0 project carries ``phase`` instead.
    """
    for key in ("stage", "phase"):
        step = project.get(key)
        if isinstance(step, Mapping) and step.get("name"):
            return str(step["name"])
    return None
