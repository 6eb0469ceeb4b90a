"""Config helpers shared by the connectors: typed, user-facing validation errors."""

from __future__ import annotations

import re
from urllib.parse import urlsplit

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


# Where each overridable URL may point. These settings exist for the local sandboxes; anywhere else they
# would hand the client secret, refresh token or API key to a stranger, so only the services' own domains
# (and a sandbox on this machine) are accepted. Intuit documents its hosts under intuit.com
# (quickbooks.api.intuit.com, sandbox-quickbooks.api.intuit.com, oauth.platform.intuit.com).
SERVICE_DOMAINS: dict[str, tuple[str, ...]] = {
    "quickbooks": ("intuit.com",),
    "coperniq": ("coperniq.io",),
}
SERVICE_OWNERS = {"quickbooks": "Intuit", "coperniq": "Coperniq"}
LOCAL_HOSTS = frozenset({"localhost", "127.0.0.1", "::1"})


def host_allowed(host: str, service: str) -> bool:
    host = host.lower().rstrip(".")
    if host in LOCAL_HOSTS:
        return True
    return any(host == domain or host.endswith("." + domain) for domain in SERVICE_DOMAINS[service])


def validate_service_url(url: str | None, key: str, service: str, example: str) -> str | None:
    """``url`` without a trailing slash, or a config error unless it is https on the service's own domain
    (plain http and any other host only for a local sandbox). ``None`` or blank: the default applies."""
    if url is None or not str(url).strip():
        return None
    text = str(url).strip()
    parsed = urlsplit(text)
    if parsed.scheme not in ("http", "https") or not parsed.hostname:
        raise config_error(f"`{key}` must be an http(s) URL such as {example}, got {text!r}.")
    if parsed.scheme == "http" and parsed.hostname not in LOCAL_HOSTS:
        raise config_error(f"`{key}` must use https; plain http is only allowed for localhost / 127.0.0.1.")
    if not host_allowed(parsed.hostname, service):
        domains = ", ".join(f"*.{d}" for d in SERVICE_DOMAINS[service])
        raise config_error(
            f"`{key}` points at {parsed.hostname}, which is not one of {SERVICE_OWNERS[service]}'s hosts ({domains}) "
            f"or a local sandbox (localhost, 127.0.0.1). The connector sends its credentials there, so other "
            f"hosts are refused. Leave `{key}` empty to use {example}.")
    return text.rstrip("/")
