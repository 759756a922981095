"""The simulated OAuth 2.0 server: the authorize step, the authorization-code and refresh-token grants, Basic
client auth, strict refresh-token rotation, expiring access tokens.

Stricter than Intuit on purpose: every refresh rotates the refresh token (Intuit does so about daily), so a
connector that fails to persist the newest token is caught by the first test that restarts it.

Each authorization is a grant with its own chain of refresh tokens. quickbooks-online-api.md §1 ("Refresh token":
rolling, a new one on refresh, "always store the latest one"; "Reusing an old refresh token after a rotation
fails with invalid_grant") describes one chain and says nothing of several authorizations of one company by one
app; OAuth 2.0 ties a refresh token to the grant it was issued for (RFC 6749 §1.5, §6), so a second connection
that authorizes the app for the same company gets a chain of its own and neither breaks the other
[UNVERIFIED against Intuit]. Where the reference is silent the stricter choice is made: a retired refresh token
presented again revokes its whole grant, the newest refresh token and the access tokens with it (refresh-token
reuse detection, RFC 6819 §5.2.2.3), so two connections sharing one chain fail at once and loudly instead of one
of them a day later.

The authorize step (quickbooks-online-api.md §1: authorization URL with client_id, response_type=code, scope,
redirect_uri, state; the callback carries code, state and realmId) stands in for the browser pages where the
user signs in and picks a company: it consents at once and redirects. Where the reference is silent the stricter
choice is made, following OAuth 2.0 (RFC 6749 §4.1) [UNVERIFIED against Intuit]: the redirect URI must be one
registered for the app, exactly; an unknown client or redirect URI gets an error page, never a redirect; a code
is good once, for 5 minutes, and only with the redirect URI it was issued for.
"""

from __future__ import annotations

import base64
import secrets
import threading
from urllib.parse import urlencode

from connex.simulation.server import Response, SimClock


class TokenAuthority:
    def __init__(
        self,
        clock: SimClock,
        *,
        client_id: str,
        client_secret: str,
        refresh_token: str | None,
        access_token_seconds: float,
        realm_id: str,
        redirect_uris: tuple[str, ...] = (),
    ):
        self.clock = clock
        self.client_id, self.client_secret = client_id, client_secret
        self.access_token_seconds = access_token_seconds
        self._lock = threading.Lock()
        self._current: dict[int, str] = {}  # grant -> its newest refresh token (absent once revoked)
        self._grant_of: dict[str, int] = {}  # every refresh token ever issued -> its grant
        self._access: dict[str, tuple[float, int]] = {}  # token -> (expiry on the simulator's clock, grant)
        self._grants = 0
        self.revoked_grants = 0
        self._start_grant(refresh_token or "sim-refresh-" + secrets.token_hex(8), grant=0)
        self.realm_id = realm_id
        self.redirect_uris = list(redirect_uris)  # as registered on the app's Keys & credentials page
        self._codes: dict[str, tuple[str, float]] = {}  # code -> (redirect_uri, expiry)

    CODE_SECONDS = 300.0
    SCOPE = "com.intuit.quickbooks.accounting"

    def authorize(self, query: dict[str, str]) -> Response:
        """``GET /connect/oauth2?client_id&response_type=code&scope&redirect_uri&state``: the user consents and
        the browser is sent to ``redirect_uri?code&state&realmId``."""
        redirect_uri = query.get("redirect_uri", "")
        if query.get("client_id") != self.client_id:
            return _page(400, "invalid_client: no app has this client_id")
        if redirect_uri not in self.redirect_uris:
            return _page(400, f"invalid_request: redirect_uri {redirect_uri!r} is not registered for this app")
        params: dict[str, str] = {}
        if query.get("response_type") != "code":
            params["error"] = "unsupported_response_type"
        elif self.SCOPE not in (query.get("scope") or "").split():
            params["error"] = "invalid_scope"
        else:
            code = "sim-code-" + secrets.token_hex(12)
            with self._lock:
                self._codes[code] = (redirect_uri, self.clock.now() + self.CODE_SECONDS)
            params = {"code": code, "realmId": self.realm_id}
        if query.get("state") is not None:
            params["state"] = query["state"]
        separator = "&" if "?" in redirect_uri else "?"
        return Response(302, None, headers={"Location": redirect_uri + separator + urlencode(params)})

    def grant(self, authorization: str | None, form: dict[str, str]) -> tuple[Response, bool]:
        """Answer a token request; the flag says whether a refresh token was refused (``invalid_grant``)."""
        expected = base64.b64encode(f"{self.client_id}:{self.client_secret}".encode()).decode()
        if authorization != f"Basic {expected}":
            return Response(401, {"error": "invalid_client"}), False
        if form.get("grant_type") == "authorization_code":
            return self._exchange_code(form), False
        if form.get("grant_type") != "refresh_token":
            return Response(400, {"error": "unsupported_grant_type"}), False
        with self._lock:
            token = form.get("refresh_token") or ""
            grant = self._grant_of.get(token)
            if grant is None or self._current.get(grant) != token:
                if grant is not None and grant in self._current:
                    self._revoke(grant)  # a retired token came back: whoever holds the chain, it is not safe
                refused = {
                    "error": "invalid_grant",
                    "error_description": "Incorrect or invalid refresh token",
                }
                return Response(400, refused), True
            return Response(200, self._issue(grant)), False

    def _exchange_code(self, form: dict[str, str]) -> Response:
        with self._lock:
            issued = self._codes.pop(form.get("code", ""), None)  # popped: a code is good once
            if issued is None or self.clock.now() >= issued[1]:
                return Response(400, {"error": "invalid_grant", "error_description": "Invalid authorization code"})
            if form.get("redirect_uri") != issued[0]:
                return Response(400, {"error": "invalid_grant", "error_description": "redirect_uri mismatch"})
            self._grants += 1
            return Response(200, self._issue(self._grants))

    # --- grants ---------------------------------------------------------------------------------------------
    @property
    def refresh_token(self) -> str | None:
        """The newest refresh token of the latest authorization still standing (the first one: the token
        ``connector_config`` hands out)."""
        with self._lock:
            return self._current[max(self._current)] if self._current else None

    @refresh_token.setter
    def refresh_token(self, token: str) -> None:
        """The user reconnected the app: the latest authorization is replaced by one whose token is ``token``."""
        with self._lock:
            if self._current:
                self._revoke(max(self._current))
            self._grants += 1
            self._start_grant(token, grant=self._grants)

    @property
    def retired_refresh_tokens(self) -> list[str]:
        with self._lock:
            return [t for t, g in self._grant_of.items() if self._current.get(g) != t]

    def issued(self, token: str | None) -> bool:
        """Whether this company ever issued ``token`` (the multi-company front routes by it)."""
        with self._lock:
            return token in self._grant_of

    def _start_grant(self, token: str, *, grant: int) -> None:
        self._current[grant] = token
        self._grant_of[token] = grant

    def _revoke(self, grant: int) -> None:
        """The caller holds the lock."""
        self._current.pop(grant, None)
        self._access = {t: v for t, v in self._access.items() if v[1] != grant}
        self.revoked_grants += 1

    def _issue(self, grant: int) -> dict:
        """A new refresh token of ``grant`` (its old one retired) and access token; the caller holds the lock."""
        refresh = "sim-refresh-" + secrets.token_hex(8)
        self._start_grant(refresh, grant=grant)
        access = "sim-access-" + secrets.token_hex(12)
        self._access[access] = (self.clock.now() + self.access_token_seconds, grant)
        return {
            "token_type": "bearer",
            "access_token": access,
            "expires_in": int(self.access_token_seconds),
            "refresh_token": refresh,
            "x_refresh_token_expires_in": 8726400,
        }

    def refusal(self, authorization: str | None) -> str | None:
        """Why a Bearer header is not accepted, or None when it is."""
        token = authorization[7:] if authorization and authorization.startswith("Bearer ") else ""
        with self._lock:
            expiry, _grant = self._access.get(token, (None, None))
        if expiry is None:
            return "Token invalid"
        if self.clock.now() >= expiry:
            return "Token expired: " + token[:16]
        return None

    def expire_all(self) -> None:
        with self._lock:
            now = self.clock.now()
            self._access = {token: (min(expiry, now), grant) for token, (expiry, grant) in self._access.items()}


def _page(status: int, message: str) -> Response:
    """The error page Intuit's sign-in shows instead of redirecting to an untrusted address."""
    return Response(status, f"<html><body><h1>Error</h1><p>{message}</p></body></html>",
                    content_type="text/html; charset=utf-8")
