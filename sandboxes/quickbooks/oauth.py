"""Intuit's OAuth 2.0 token endpoint, as state: clients, codes, access tokens, rotating refresh tokens.

What the connectors must survive is modelled strictly: access tokens expire (``access_token_ttl``,
3600 s by default) and every refresh issues a **new** refresh token, after which the previous one
answers ``invalid_grant`` (optionally after ``refresh_token_grace`` seconds, 0 by default). Real
Intuit may hand back the same refresh token for up to a day before rotating it; the sandbox always
rotates, the stricter of the two, so a connector that forgets the new token fails at once.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import secrets
import threading
from dataclasses import dataclass
from datetime import datetime, timedelta
from urllib.parse import unquote

from .errors import AuthenticationFailed
from .models import Clock

REFRESH_TOKEN_LIFETIME = timedelta(days=101)  # Intuit: x_refresh_token_expires_in 8726400 s
CODE_LIFETIME = timedelta(minutes=5)


class OAuthError(Exception):
    """An OAuth error answer: ``{"error": ...}`` with its HTTP status (400, or 401 for the client)."""

    def __init__(self, error: str, status: int = 400, description: str | None = None) -> None:
        super().__init__(error)
        self.error = error
        self.status = status
        self.description = description

    def body(self) -> dict[str, str]:
        body = {"error": self.error}
        if self.description:
            body["error_description"] = self.description
        return body


@dataclass
class RefreshToken:
    value: str
    realm_id: str
    client_id: str
    expires_at: datetime
    superseded_at: datetime | None = None
    revoked: bool = False


@dataclass
class AccessToken:
    value: str
    realm_id: str
    client_id: str
    expires_at: datetime


@dataclass
class AuthorizationCode:
    value: str
    realm_id: str
    client_id: str
    redirect_uri: str
    expires_at: datetime
    scope: str = ""


ID_TOKEN_ISSUER = "https://oauth.platform.intuit.com/op/v1"


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def id_token(realm_id: str, client_id: str, now: datetime) -> str:
    """An OpenID Connect ID token shaped as Intuit's: a JWT whose claims carry ``realmid`` when the
    accounting scope was granted. Signed with a sandbox-only key (HS256), not Intuit's RS256 key."""
    header = _b64url(json.dumps({"alg": "HS256", "kid": "sandbox", "typ": "JWT"}).encode())
    issued = int(now.timestamp())
    claims = {"sub": f"sandbox-user-{client_id}", "aud": [client_id], "realmid": realm_id, "iss": ID_TOKEN_ISSUER,
              "auth_time": issued, "iat": issued, "exp": issued + 3600}
    payload = _b64url(json.dumps(claims).encode())
    signature = _b64url(hmac.new(b"quickbooks-sandbox", f"{header}.{payload}".encode(), hashlib.sha256).digest())
    return f"{header}.{payload}.{signature}"


class OAuthServer:
    """Thread-safe token state shared by every realm of a sandbox."""

    def __init__(self, clock: Clock | None = None, access_token_ttl: int = 3600, refresh_token_grace: float = 0.0):
        self.clock = clock or Clock()
        self.access_token_ttl = access_token_ttl
        self.refresh_token_grace = refresh_token_grace
        self._lock = threading.Lock()
        self._clients: dict[str, str] = {}
        self._refresh: dict[str, RefreshToken] = {}
        self._access: dict[str, AccessToken] = {}
        self._codes: dict[str, AuthorizationCode] = {}
        self._current: dict[tuple[str, str], str] = {}  # (realm, client) -> newest refresh token

    # -- set-up ----------------------------------------------------------------------------------------

    def register_client(self, client_id: str, client_secret: str) -> None:
        with self._lock:
            self._clients[client_id] = client_secret

    def issue_refresh_token(self, realm_id: str, client_id: str, value: str | None = None) -> str:
        """Start a connection (as the consent flow would) and return its refresh token."""
        with self._lock:
            return self._new_refresh(realm_id, client_id, value)

    def create_authorization_code(self, realm_id: str, client_id: str, redirect_uri: str, scope: str = "") -> str:
        """What the consent screen hands the app's redirect URI."""
        with self._lock:
            code = "AB11" + secrets.token_urlsafe(24)
            self._codes[code] = AuthorizationCode(
                code, realm_id, client_id, redirect_uri, self.clock.now() + CODE_LIFETIME, scope
            )
            return code

    def is_client(self, client_id: str) -> bool:
        with self._lock:
            return client_id in self._clients

    # -- the token endpoint ------------------------------------------------------------------------------

    def token(self, form: dict[str, str], authorization: str | None) -> dict[str, object]:
        """``POST /oauth2/v1/tokens/bearer``; raises :class:`OAuthError` with Intuit's answer."""
        client_id = self._client(form, authorization)
        grant = form.get("grant_type", "")
        scopes: list[str] = []
        with self._lock:
            now = self.clock.now()
            if grant == "refresh_token":
                value = form.get("refresh_token", "")
                if not value:
                    raise OAuthError("invalid_request")
                token = self._refresh.get(value)
                if token is None or token.client_id != client_id or not self._usable(token, now):
                    raise OAuthError("invalid_grant", description="Incorrect or invalid refresh token")
                realm_id = token.realm_id
            elif grant == "authorization_code":
                code = self._codes.pop(form.get("code", ""), None)
                if (
                    code is None or code.client_id != client_id or code.expires_at <= now
                    or code.redirect_uri != form.get("redirect_uri", "")
                ):
                    raise OAuthError("invalid_grant")
                realm_id = code.realm_id
                scopes = code.scope.split()
            elif not grant:
                raise OAuthError("invalid_request")
            else:
                raise OAuthError("unsupported_grant_type")
            refresh = self._new_refresh(realm_id, client_id)
            access = AccessToken(
                "eyJsYW5kYm94IjoiYWNjZXNzIn0." + secrets.token_urlsafe(48), realm_id, client_id,
                now + timedelta(seconds=self.access_token_ttl),
            )
            self._access[access.value] = access
            answer: dict[str, object] = {
                "token_type": "bearer",
                "access_token": access.value,
                "expires_in": self.access_token_ttl,
                "refresh_token": refresh,
                "x_refresh_token_expires_in": int(REFRESH_TOKEN_LIFETIME.total_seconds()),
            }
            if "openid" in scopes:  # Intuit adds an ID token to the code exchange of an OpenID consent
                answer["id_token"] = id_token(realm_id, client_id, now)
            return answer

    def revoke(self, token: str, authorization: str | None) -> None:
        """``POST /oauth2/v1/tokens/revoke``: a refresh token ends the whole connection."""
        self._client({}, authorization)
        with self._lock:
            refresh = self._refresh.get(token)
            access = self._access.pop(token, None)
            key = (refresh.realm_id, refresh.client_id) if refresh else (
                (access.realm_id, access.client_id) if access else None)
            if key is None:
                raise OAuthError("invalid_request")
            if refresh is not None:
                for other in self._refresh.values():
                    if (other.realm_id, other.client_id) == key:
                        other.revoked = True
                for value in [v for v, a in self._access.items() if (a.realm_id, a.client_id) == key]:
                    del self._access[value]
                self._current.pop(key, None)

    def authenticate(self, bearer: str | None) -> AccessToken:
        """The access token of an API call, or :class:`AuthenticationFailed` (401, code 3200)."""
        if not bearer:
            raise AuthenticationFailed("Authorization header missing or not a Bearer token")
        with self._lock:
            token = self._access.get(bearer)
            if token is None:
                raise AuthenticationFailed("Token revocation or invalid token: the access token is not recognised")
            if token.expires_at <= self.clock.now():
                raise AuthenticationFailed("Token expired: the access token has expired, refresh it")
            return token

    # -- helpers for tests -------------------------------------------------------------------------------

    def expire_access_tokens(self) -> None:
        """Every access token issued so far is expired from now on."""
        with self._lock:
            past = self.clock.now() - timedelta(seconds=1)
            for token in self._access.values():
                token.expires_at = past

    def rotate_refresh_token(self, realm_id: str, client_id: str) -> str:
        """Simulate Intuit rotating the refresh token server-side: the stored one stops working."""
        with self._lock:
            return self._new_refresh(realm_id, client_id)

    def current_refresh_token(self, realm_id: str, client_id: str) -> str | None:
        with self._lock:
            return self._current.get((realm_id, client_id))

    def refresh_token_valid(self, value: str) -> bool:
        with self._lock:
            token = self._refresh.get(value)
            return token is not None and self._usable(token, self.clock.now())

    # -- internals ---------------------------------------------------------------------------------------

    def _client(self, form: dict[str, str], authorization: str | None) -> str:
        """Client credentials by HTTP Basic (what Intuit documents) or in the form body."""
        client_id, secret = form.get("client_id", ""), form.get("client_secret", "")
        if authorization and authorization.lower().startswith("basic "):
            try:
                decoded = base64.b64decode(authorization[6:].strip()).decode("utf-8")
            except (ValueError, UnicodeDecodeError):
                raise OAuthError("invalid_client", 401) from None
            client_id, _, secret = decoded.partition(":")
            client_id, secret = unquote(client_id), unquote(secret)
        with self._lock:
            if not client_id or self._clients.get(client_id) != secret:
                raise OAuthError("invalid_client", 401)
        return client_id

    def _usable(self, token: RefreshToken, now: datetime) -> bool:
        if token.revoked or token.expires_at <= now:
            return False
        return token.superseded_at is None or now < token.superseded_at + timedelta(seconds=self.refresh_token_grace)

    def _new_refresh(self, realm_id: str, client_id: str, value: str | None = None) -> str:
        now = self.clock.now()
        key = (realm_id, client_id)
        previous = self._current.get(key)
        if previous is not None and previous in self._refresh and self._refresh[previous].superseded_at is None:
            self._refresh[previous].superseded_at = now
        value = value or "RT1-" + secrets.token_urlsafe(36)
        self._refresh[value] = RefreshToken(value, realm_id, client_id, now + REFRESH_TOKEN_LIFETIME)
        self._current[key] = value
        return value
