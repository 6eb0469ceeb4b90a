"""HTTP pieces both systems' clients use: base URL checks and request counting."""

from __future__ import annotations

from collections import Counter
from typing import Any
from urllib.parse import urlparse

import requests

from connector_core.config import LOCAL_HOSTS


def validate_base_url(url: str, key: str, example: str) -> str:
    """The URL without a trailing slash; https required, plain http only for a local sandbox."""
    parsed = urlparse(str(url))
    if parsed.scheme not in ("http", "https") or not parsed.hostname:
        raise ValueError(f"`{key}` must be an http(s) URL such as {example}, got {url!r}.")
    if parsed.scheme == "http" and parsed.hostname not in LOCAL_HOSTS:
        raise ValueError(f"`{key}` must use https; plain http is only allowed for localhost / 127.0.0.1.")
    return str(url).rstrip("/")


class RequestCounter:
    """Counts every HTTP attempt a session makes (retries included), by method: quotas count them all."""

    def __init__(self) -> None:
        self.by_method: Counter[str] = Counter()

    @property
    def total(self) -> int:
        return sum(self.by_method.values())

    def hook(self, response: requests.Response, *args: Any, **kwargs: Any) -> None:
        self.by_method[response.request.method or "GET"] += 1

    def attach(self, session: requests.Session) -> requests.Session:
        session.hooks["response"].append(self.hook)
        return session
