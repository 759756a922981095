"""OAuth 2.0 access tokens for one QuickBooks Online company, with refresh-token rotation that survives
restarts.

Intuit rotates the refresh token on refresh and refuses the old one afterwards (``invalid_grant``). A
connector that loses the newest token is locked out until a person reconnects the app, so the new token is
written to the state store *before* the new access token is used, under the same lock that serialises
refreshes.

The stored (rotated) token is newer than the configured one, except after a person reconnected the app and put
a new ``refresh_token`` in the config: a hash of the configured token is stored beside the rotated one, and when
the configured token no longer matches it, the configured token wins.
"""

from __future__ import annotations

import hashlib
import json
import threading
import time
from collections.abc import Callable

from connex.connectors import KeyValueStore
from connex.errors import ConfigError, TransientError
from connex.transport import HttpClient


def state_key(realm_id: str) -> str:
    return f"quickbooks_online:refresh_token:{realm_id}"


def access_key(realm_id: str) -> str:
    return f"quickbooks_online:access_token:{realm_id}"


def configured_key(realm_id: str) -> str:
    return f"quickbooks_online:configured_token_sha256:{realm_id}"


def fingerprint(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def token_request(http: HttpClient, token_url: str, data: dict, auth: tuple[str, str]) -> tuple[int, dict, str, str]:
    """POST a grant to Intuit's token endpoint: (HTTP status, JSON body or {}, error, description), the last two
    filled in for callers that refuse a non-200 answer with Intuit's own words."""
    response = http.request("POST", token_url, endpoint="oauth:token", data=data, auth=auth,
                            headers={"Accept": "application/json"})
    try:
        body = response.json()
    except ValueError:
        body = {}
    if not isinstance(body, dict):
        body = {}
    error = body.get("error") or f"HTTP {response.status_code}"
    description = body.get("error_description") or response.text[:200]
    return response.status_code, body, str(error), str(description)


class TokenManager:
    """Hands out a valid access token, refreshing ahead of expiry and on demand after a 401."""

    #: refresh this long before the access token expires, so a request never leaves with a dying token
    EARLY_SECONDS = 300.0

    def __init__(
        self,
        *,
        http: HttpClient,
        token_url: str,
        client_id: str,
        client_secret: str,
        refresh_token: str | None,
        realm_id: str,
        state: KeyValueStore | None = None,
        clock: Callable[[], float] = time.monotonic,
    ):
        self._http = http
        self._token_url = token_url
        self._auth = (client_id, client_secret)
        self._realm = realm_id
        self._state = state
        self._clock = clock
        self._lock = threading.Lock()
        self._refresh_token = self._starting_token(refresh_token)
        self._access_token: str | None = None
        self._expires_at = 0.0
        self._load_access_token()

    def _starting_token(self, configured: str | None) -> str | None:
        """The rotated token stored since the configured one was pasted, unless the configured one changed
        (the user reconnected the app): then it replaces the stored one, and the old access token goes too.
        No configured token (``connex connect quickbooks`` stored it): the stored one."""
        if self._state is None:
            return configured
        stored = self._state.get(state_key(self._realm))
        if configured is None:
            return stored
        known = self._state.get(configured_key(self._realm))
        mark = fingerprint(configured)
        if stored and known in (mark, None):
            if known is None:  # state from before fingerprints: the stored token stays, this config is the base
                self._state.put(configured_key(self._realm), mark)
            return stored
        if stored and stored != configured:
            self._state.put(state_key(self._realm), configured)
            self._state.put(access_key(self._realm), "null")
        self._state.put(configured_key(self._realm), mark)
        return configured

    def _load_access_token(self) -> None:
        """Reuse the access token an earlier process left, while it is still good. Every refresh may rotate the
        refresh token, and a process killed between Intuit rotating it and the store saving it is locked out;
        refreshing once an hour instead of once per run makes that window an hourly one, and saves a call."""
        if self._state is None:
            return
        try:
            saved = json.loads(self._state.get(access_key(self._realm)) or "null")
        except ValueError:
            return
        if not isinstance(saved, dict) or not isinstance(saved.get("token"), str):
            return
        remaining = float(saved.get("expires_wall", 0)) - time.time()
        if remaining > 0:
            self._access_token = saved["token"]
            self._expires_at = self._clock() + remaining

    def access_token(self) -> str:
        with self._lock:
            if self._access_token is None or self._clock() >= self._expires_at:
                self._refresh()
            return self._access_token

    def invalidate(self, token: str) -> None:
        """Forget ``token`` after the API refused it; a concurrent caller may already have replaced it."""
        with self._lock:
            if self._access_token == token:
                self._access_token = None
                if self._state is not None:
                    self._state.put(access_key(self._realm), "null")

    def _refresh(self) -> None:
        if self._state is not None:
            # Another process sharing the store may have rotated the token since we read it.
            self._refresh_token = self._state.get(state_key(self._realm)) or self._refresh_token
        status, body, error, description = token_request(
            self._http, self._token_url, {"grant_type": "refresh_token", "refresh_token": self._refresh_token},
            self._auth)
        if status != 200:
            if error == "invalid_client":
                raise ConfigError(
                    f"{self._token_url}: client credentials refused ({error}: {description}); check the "
                    f"target's client_id and client_secret against the app's keys in the Intuit developer portal",
                    code=str(error),
                )
            if status in (400, 401):
                raise ConfigError(
                    f"{self._token_url}: refresh token refused ({error}: {description}); reconnect the "
                    f"QuickBooks Online app for realm {self._realm} (`connex connect quickbooks`) or put the new "
                    f"refresh_token in the target's configuration",
                    code=str(error),
                )
            raise TransientError(f"{self._token_url}: token refresh failed ({error}: {description})")
        try:
            access, expires_in = body["access_token"], float(body.get("expires_in", 3600))
        except (KeyError, TypeError, ValueError) as exc:
            raise TransientError(f"{self._token_url}: malformed token response ({exc})") from exc
        new_refresh = body.get("refresh_token") or self._refresh_token
        if self._state is not None and new_refresh != self._refresh_token:
            self._state.put(state_key(self._realm), new_refresh)
        self._refresh_token = new_refresh
        self._access_token = access
        usable = max(expires_in - min(self.EARLY_SECONDS, expires_in / 10), 0.0)
        self._expires_at = self._clock() + usable
        if self._state is not None:
            saved = {"token": access, "expires_wall": time.time() + usable}
            self._state.put(access_key(self._realm), json.dumps(saved))


# --- the connection made by `connex connect quickbooks` ---------------------------------------------------------
CONNECTED_REALM_KEY = "quickbooks_online:connected_realm"


def connected_realm(state: KeyValueStore | None) -> str | None:
    """The company (realm id) `connex connect quickbooks` last connected, when the config names none."""
    return state.get(CONNECTED_REALM_KEY) if state is not None else None


def save_connection(state: KeyValueStore, realm_id: str, token_body: dict) -> None:
    """Keep what the authorization-code grant returned, as a refresh would have: the refresh token for the realm
    (newer than any in the config, so TokenManager prefers it), the access token while it lasts, and the realm
    as the one connected."""
    state.put(state_key(realm_id), token_body["refresh_token"])
    expires_in = float(token_body.get("expires_in", 3600))
    usable = max(expires_in - min(TokenManager.EARLY_SECONDS, expires_in / 10), 0.0)
    state.put(access_key(realm_id), json.dumps({"token": token_body["access_token"],
                                                "expires_wall": time.time() + usable}))
    state.put(CONNECTED_REALM_KEY, realm_id)
