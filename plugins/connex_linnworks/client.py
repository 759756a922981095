"""The Linnworks HTTP client: session auth, SDK-style form requests, error bodies turned into Connex errors.

Retries of 429/5xx/dropped connections and client-side throttling live in ``connex.transport.HttpClient``;
this module owns what is Linnworks-specific: ``AuthorizeByApplication`` and its ``Server``, the raw-token
``Authorization`` header, re-authorising once on 401 (idle session expiry), and ``{"Message": ...}`` errors.
"""

from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import Mapping
from typing import Any

import requests

from connex.budgets import ScopedBudget, process_budget, scope_key
from connex.connectors import KeyValueStore
from connex.errors import ConfigError, InternalError, TransientError
from connex.transport import HttpClient, RateLimiter, RetryPolicy
from connex_linnworks.limits import RATE_LIMITS, client_limit
from connex_linnworks.wire import dumps, loads

log = logging.getLogger(__name__)

AUTH_ENDPOINT = "Auth/AuthorizeByApplication"
SESSION_STATE_KEY = "linnworks.session"


class LinnworksClient:
    """One authorised Linnworks session over a shared ``requests.Session``.

    Requests are form-encoded the way the official SDK sends them (one field per C# parameter, objects and
    arrays as JSON strings): the reference calls it the least ambiguous encoding, since JSON bodies are
    wrapped for some methods and not for others.
    """

    def __init__(
        self,
        *,
        application_id: str,
        application_secret: str,
        token: str,
        auth_url: str,
        timeout: float,
        retry: RetryPolicy,
        limiter: RateLimiter | None = None,
        state: KeyValueStore | None = None,
    ):
        self._credentials = {
            "ApplicationId": application_id,
            "ApplicationSecret": application_secret,
            "Token": token,
        }
        self.auth_url = auth_url.rstrip("/")
        self.state = state
        # Linnworks counts calls per account (the reference leaves the scope open: the strictest reading), so
        # every connection to one installation shares the process-wide budget
        limiter = limiter or ScopedBudget(process_budget(), scope_key("linnworks", auth_url, application_id, token))
        for endpoint in RATE_LIMITS:
            limiter.set_limit(endpoint, client_limit(endpoint))
        self.http = HttpClient(timeout=timeout, retry=retry, limiter=limiter, user_agent="connex-linnworks")
        self._limiter = limiter
        self._limited: set[str] = set()
        self.session_token: str | None = None
        self.server: str | None = None
        self.authorisations = 0
        self._restore_session()

    # --- session -------------------------------------------------------------------------------------------
    @property
    def _state_key(self) -> str:
        """Saved sessions are keyed by installation, so changing credentials to another Linnworks account can
        never reuse a session (and read the data) of the previous one."""
        ident = f"{self.auth_url}|{self._credentials['ApplicationId']}|{self._credentials['Token']}"
        return f"{SESSION_STATE_KEY}:{hashlib.sha256(ident.encode()).hexdigest()[:16]}"

    def _restore_session(self) -> None:
        """Reuse a session saved by an earlier run: it saves an auth call when runs are closer than the idle
        expiry, and a stale one costs a single 401 before re-authorising."""
        if self.state is None:
            return
        saved = self.state.get(self._state_key)
        if not saved:
            return
        try:
            data = json.loads(saved)
            self.session_token, self.server = data["token"], data["server"]
        except (ValueError, KeyError, TypeError):
            self.session_token = self.server = None

    def authorise(self) -> None:
        url = f"{self.auth_url}/api/{AUTH_ENDPOINT}"
        response = self.http.request(
            "POST", url, endpoint=AUTH_ENDPOINT, data={"request": dumps(self._credentials)}
        )
        if response.status_code in (400, 401, 403):
            raise ConfigError(
                f"Linnworks {AUTH_ENDPOINT} at {self.auth_url} refused the application credentials "
                f"(HTTP {response.status_code}): {_message(response)}. Check application_id, "
                "application_secret and the installation token.",
                code=f"linnworks.auth.{response.status_code}",
            )
        if response.status_code >= 300:  # checked before parsing: a wrong auth_url often answers with HTML
            raise ConfigError(
                f"Linnworks {AUTH_ENDPOINT} at {self.auth_url} answered HTTP {response.status_code}: "
                f"{_message(response)}. Check auth_url.",
                code=f"linnworks.auth.{response.status_code}",
            )
        body = self._json(response, AUTH_ENDPOINT)
        if not isinstance(body, dict) or not body.get("Token") or not body.get("Server"):
            raise ConfigError(
                f"Linnworks {AUTH_ENDPOINT} at {self.auth_url} answered without a session Token and Server: "
                f"{_message(response)}",
                code="linnworks.auth.unexpected",
            )
        self.session_token = str(body["Token"])
        self.server = str(body["Server"]).rstrip("/")
        self.authorisations += 1
        if self.state is not None:
            self.state.put(self._state_key, json.dumps({"token": self.session_token, "server": self.server}))

    # --- calls ---------------------------------------------------------------------------------------------
    def call(
        self,
        endpoint: str,
        *,
        method: str = "POST",
        form: Mapping[str, Any] | None = None,
        query: Mapping[str, Any] | None = None,
    ) -> Any:
        """Call ``<Server>/api/<endpoint>`` and return the parsed JSON (Decimals for doubles).

        ``form`` values that are not strings are sent as JSON strings, as the SDK does. On 401 the session is
        renewed and the call repeated once; a second 401 means the credentials or permissions are wrong.
        """
        if self.session_token is None:
            self.authorise()
        data = None if form is None else {k: v if isinstance(v, str) else dumps(v) for k, v in form.items()}
        if endpoint not in RATE_LIMITS and endpoint not in self._limited:
            self._limiter.set_limit(endpoint, client_limit(endpoint))
            self._limited.add(endpoint)
        for attempt in (1, 2):
            response = self.http.request(
                method,
                f"{self.server}/api/{endpoint}",
                endpoint=endpoint,
                data=data,
                params=query,
                headers={"Authorization": self.session_token},
            )
            if response.status_code == 401 and attempt == 1:
                log.info("Linnworks %s: session expired (401); re-authorising", endpoint)
                self.authorise()
                continue
            return self._result(endpoint, response)
        raise InternalError("unreachable")  # pragma: no cover - the loop always returns or raises

    def _result(self, endpoint: str, response: requests.Response) -> Any:
        status = response.status_code
        if status < 300:
            return self._json(response, endpoint) if response.content else None
        message = _message(response)
        if "quota exceeded" in message.lower():
            # Linnworks has been seen sending its rate-limit message with statuses other than 429; it is a
            # throttle either way, so retryable, never "bad request" or "not found".
            raise TransientError(
                f"Linnworks {endpoint}: rate limited (HTTP {status}): {message}", retry_after=60.0
            )
        if status == 401:
            raise ConfigError(
                f"Linnworks {endpoint}: still unauthorised after re-authorising (HTTP 401): {message}",
                code="linnworks.401",
            )
        if status == 403:
            raise ConfigError(
                f"Linnworks {endpoint}: the application lacks the permission for this call (HTTP 403): "
                f"{message}",
                code="linnworks.403",
            )
        if status == 404:
            raise ConfigError(
                f"Linnworks {endpoint}: not found at {self.server} (HTTP 404; wrong server or cluster?): "
                f"{message}",
                code="linnworks.404",
            )
        # A 400 is Linnworks saying our request is invalid: retrying cannot help, and the usual causes (a date
        # window over the allowed range, an unknown id the user asked for) are fixed by changing the input.
        raise ConfigError(
            f"Linnworks {endpoint} rejected the request (HTTP {status}): {message}",
            code=f"linnworks.{status}",
        )

    @staticmethod
    def _json(response: requests.Response, endpoint: str) -> Any:
        try:
            return loads(response.content)
        except ValueError as exc:
            raise TransientError(
                f"Linnworks {endpoint}: unreadable response body (HTTP {response.status_code}): "
                f"{response.text[:200]!r}"
            ) from exc

    @property
    def calls(self) -> dict[str, int]:
        return dict(self.http.calls)

    def close(self) -> None:
        self.http.close()


def _message(response: requests.Response) -> str:
    """Linnworks errors are ``{"Message": ...}`` (sometimes with ``Code``); fall back to the raw text."""
    try:
        body = loads(response.content)
    except ValueError:
        return response.text[:300].strip() or response.reason or "no message"
    if isinstance(body, dict):
        for key in ("Message", "message", "detail", "title"):
            if body.get(key):
                return str(body[key])
    return json.dumps(body, default=str)[:300]
