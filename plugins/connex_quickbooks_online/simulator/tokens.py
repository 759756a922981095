"""The simulated OAuth 2.0 server: Basic client auth, strict refresh-token rotation, expiring access tokens.

Stricter than Intuit on purpose: every refresh rotates the refresh token (Intuit does so about daily), so a
connector that fails to persist the newest token is caught by the first test that restarts it.
"""

from __future__ import annotations

import base64
import secrets
import threading

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
    ):
        self.clock = clock
        self.client_id, self.client_secret = client_id, client_secret
        self.access_token_seconds = access_token_seconds
        self.refresh_token = refresh_token or "sim-refresh-" + secrets.token_hex(8)
        self.retired_refresh_tokens: list[str] = []
        self._access: dict[str, float] = {}  # token -> expiry on the simulator's clock
        self._lock = threading.Lock()

    def grant(self, authorization: str | None, form: dict[str, str]) -> tuple[Response, bool]:
        """Answer a token request; the flag says whether a refresh token was refused (``invalid_grant``)."""
        expected = base64.b64encode(f"{self.client_id}:{self.client_secret}".encode()).decode()
        if authorization != f"Basic {expected}":
            return Response(401, {"error": "invalid_client"}), False
        if form.get("grant_type") != "refresh_token":
            return Response(400, {"error": "unsupported_grant_type"}), False
        with self._lock:
            if form.get("refresh_token") != self.refresh_token:
                refused = {
                    "error": "invalid_grant",
                    "error_description": "Incorrect or invalid refresh token",
                }
                return Response(400, refused), True
            self.retired_refresh_tokens.append(self.refresh_token)
            self.refresh_token = "sim-refresh-" + secrets.token_hex(8)
            access = "sim-access-" + secrets.token_hex(12)
            self._access[access] = self.clock.now() + self.access_token_seconds
            body = {
                "token_type": "bearer",
                "access_token": access,
                "expires_in": int(self.access_token_seconds),
                "refresh_token": self.refresh_token,
                "x_refresh_token_expires_in": 8726400,
            }
            return Response(200, body), False

    def refusal(self, authorization: str | None) -> str | None:
        """Why a Bearer header is not accepted, or None when it is."""
        token = authorization[7:] if authorization and authorization.startswith("Bearer ") else ""
        with self._lock:
            expiry = self._access.get(token)
        if expiry is None:
            return "Token invalid"
        if self.clock.now() >= expiry:
            return "Token expired: " + token[:16]
        return None

    def expire_all(self) -> None:
        with self._lock:
            now = self.clock.now()
            self._access = {token: min(expiry, now) for token, expiry in self._access.items()}
