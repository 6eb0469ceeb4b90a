"""A local sandbox of the QuickBooks Online Accounting API and Intuit's OAuth 2.0 token endpoint.

```python
from sandboxes.quickbooks import make_sandbox

with make_sandbox(customers=50, invoices=80, seed=42) as sandbox:
    sandbox.base_url   # API host root: the API is under {base_url}/v3/company/{realm_id}/
    sandbox.token_url  # POST here with grant_type=refresh_token and HTTP Basic client credentials
```

See README.md beside this file for what is modelled and what is not.
"""

from __future__ import annotations

from typing import Any

from ..harness import FaultInjector, RequestLog, SandboxApp, SandboxServer
from .app import AUTHORIZE_PATH, DISCOVERY_PATHS, TOKEN_PATH, ApiSettings, QuickBooksApp
from .models import Clock, ManualClock, RealmBackend, Throttle
from .oauth import OAuthServer
from .seed import seed_company

__all__ = ["QuickBooksSandbox", "make_sandbox", "ManualClock", "Clock", "RealmBackend"]


class QuickBooksSandbox:
    """A running (once started) QuickBooks sandbox: one or more companies behind one HTTP server."""

    def __init__(
        self,
        realm_id: str = "9130357",
        client_id: str = "sandbox-client",
        client_secret: str = "sandbox-secret",
        refresh_token: str = "sandbox-refresh-token",
        customers: int = 50,
        invoices: int = 80,
        seed: int = 42,
        throttle: bool = True,
        access_token_ttl: int = 3600,
        time_scale: float = 1.0,
        host: str = "127.0.0.1",
        port: int = 0,
        *,
        clock: Clock | None = None,
        refresh_token_grace: float = 0.0,
        requests_per_minute: int = 500,
        requests_per_second: int = 10,
        batches_per_minute: int = 40,
        throttle_xml: bool = True,
        throttle_retry_after: int | None = None,
        auth_fault_style: str = "v3",
        requestid_ttl: float = 3600.0,
        custom_fields: dict[str, str] | None = None,
        check_duplicate_doc_number: bool = False,
        home_currency: str = "USD",
        multicurrency: bool = False,
        currencies: tuple[str, ...] = (),
        custom_txn_numbers: bool = True,
        quiet: bool = True,
    ) -> None:
        self.realm_id = str(realm_id)
        self.client_id = client_id
        self.client_secret = client_secret
        self.refresh_token = refresh_token  # the initial one; see current_refresh_token
        self.clock = clock or Clock()
        self._seed_args = {"customers": customers, "invoices": invoices, "seed": seed}
        self._backend_args: dict[str, Any] = {
            "custom_fields": custom_fields, "check_duplicate_doc_number": check_duplicate_doc_number,
            "home_currency": home_currency, "multicurrency": multicurrency, "currencies": tuple(currencies),
            "custom_txn_numbers": custom_txn_numbers,
        }
        self.oauth = OAuthServer(self.clock, access_token_ttl, refresh_token_grace)
        self.oauth.register_client(client_id, client_secret)
        self.throttle = Throttle(requests_per_minute, requests_per_second, batches_per_minute, time_scale,
                                 enabled=throttle, clock=self.clock)
        self.backends: dict[str, RealmBackend] = {}
        self.add_company(self.realm_id, **self._seed_args, refresh_token=refresh_token)
        self.api = QuickBooksApp(
            self.backends, self.oauth, self.throttle, self.clock,
            ApiSettings(throttle_xml, throttle_retry_after, auth_fault_style), requestid_ttl,
        )
        self.app = SandboxApp(self.api, self.api.fault_response)
        self.server = SandboxServer(self.app, host, port, quiet=quiet)

    # -- lifecycle --------------------------------------------------------------------------------------

    def start(self) -> QuickBooksSandbox:
        self.server.start()
        return self

    def stop(self) -> None:
        self.server.stop()

    def serve_forever(self) -> None:
        self.server.serve_forever()

    def __enter__(self) -> QuickBooksSandbox:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def reset(self) -> None:
        """Re-seed the first company and clear the log, faults and throttle windows (tokens survive)."""
        fresh = RealmBackend(self.realm_id, self.clock, **self._backend_args)
        seed_company(fresh, **self._seed_args)
        self.backends[self.realm_id] = fresh
        self.log.clear()
        self.faults.clear()
        self.throttle.reset()

    # -- addresses --------------------------------------------------------------------------------------

    @property
    def base_url(self) -> str:
        return self.server.url

    @property
    def api_url(self) -> str:
        """The first company's API root, e.g. ``http://127.0.0.1:8082/v3/company/9130357``."""
        return f"{self.base_url}/v3/company/{self.realm_id}"

    @property
    def token_url(self) -> str:
        return self.base_url + TOKEN_PATH

    @property
    def authorize_url(self) -> str:
        return self.base_url + AUTHORIZE_PATH

    @property
    def discovery_url(self) -> str:
        """An OpenID discovery document; intuit-oauth's ``AuthClient(environment=...)`` accepts it."""
        return self.base_url + DISCOVERY_PATHS[0]

    # -- state ------------------------------------------------------------------------------------------

    @property
    def backend(self) -> RealmBackend:
        return self.backends[self.realm_id]

    @property
    def log(self) -> RequestLog:
        return self.app.log

    @property
    def faults(self) -> FaultInjector:
        return self.app.faults

    def add_company(
        self, realm_id: str, customers: int = 0, invoices: int = 0, seed: int = 42, refresh_token: str | None = None
    ) -> RealmBackend:
        """Another company (realm) on the same server, with a refresh token for this client."""
        backend = RealmBackend(str(realm_id), self.clock, **self._backend_args)
        seed_company(backend, customers=customers, invoices=invoices, seed=seed)
        self.backends[str(realm_id)] = backend
        self.oauth.issue_refresh_token(str(realm_id), self.client_id, refresh_token)
        return backend

    # -- OAuth helpers ----------------------------------------------------------------------------------

    @property
    def current_refresh_token(self) -> str | None:
        """The newest refresh token of the first company (what a connector should have stored)."""
        return self.oauth.current_refresh_token(self.realm_id, self.client_id)

    def refresh_token_for(self, realm_id: str) -> str | None:
        return self.oauth.current_refresh_token(str(realm_id), self.client_id)

    def expire_access_tokens(self) -> None:
        self.oauth.expire_access_tokens()

    def rotate_refresh_token(self, realm_id: str | None = None) -> str:
        """Intuit rotated the token behind the client's back: the stored one now gets invalid_grant."""
        return self.oauth.rotate_refresh_token(realm_id or self.realm_id, self.client_id)

    def authorization_code(self, redirect_uri: str, realm_id: str | None = None) -> str:
        """A code for ``grant_type=authorization_code``, as the consent screen would hand out."""
        return self.oauth.create_authorization_code(realm_id or self.realm_id, self.client_id, redirect_uri)


def make_sandbox(**kwargs: Any) -> QuickBooksSandbox:
    """Build (not start) a sandbox; use it as a context manager or call ``start()``."""
    return QuickBooksSandbox(**kwargs)
