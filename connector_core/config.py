"""Config helpers shared by the connectors: typed, user-facing validation errors."""

from __future__ import annotations

import re

import pendulum
from airbyte_cdk.models import FailureType
from airbyte_cdk.utils.traced_exception import AirbyteTracedException


def config_error(message: str, internal: str | None = None) -> AirbyteTracedException:
    """An error the user fixes in the connector's settings (failure_type config_error)."""
    return AirbyteTracedException(message=message, internal_message=internal or message,
                                  failure_type=FailureType.config_error)


# The specs carry no `pattern` for dates on purpose: the CDK's pattern error quotes the regex but not the
# setting, while this check names it.
ISO_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}(T\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:?\d{2})?)?$")


def parse_start_date(value: str | None, key: str = "start_date") -> pendulum.DateTime | None:
    """An optional ISO 8601 date or date-time, as UTC; a clear config error otherwise."""
    if value is None or not str(value).strip():
        return None
    try:
        if not ISO_DATE.match(str(value).strip()):
            raise ValueError("not in ISO 8601 form")
        parsed = pendulum.parse(str(value).strip())
    except (ValueError, pendulum.parsing.exceptions.ParserError) as error:
        raise config_error(f"`{key}` must be an ISO 8601 date or date-time such as 2024-01-01T00:00:00Z, "
                           f"got {value!r}.", str(error)) from error
    if isinstance(parsed, pendulum.Date) and not isinstance(parsed, pendulum.DateTime):
        parsed = pendulum.datetime(parsed.year, parsed.month, parsed.day)
    if not isinstance(parsed, pendulum.DateTime):
        raise config_error(f"`{key}` must be a date or date-time, got {value!r}.")
    return parsed.in_timezone("UTC")
