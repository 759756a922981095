"""Intuit's OAuth 2.0 authorization-code flow, once, to get the first refresh token and the realm id.

quickbooks-online-api.md §1: the user opens the authorization URL (client_id, response_type=code, scope
com.intuit.quickbooks.accounting, redirect_uri, state), signs in, picks a company, and the browser is sent to
the redirect URI with ``code``, ``state`` and ``realmId``; the code is exchanged at the token endpoint
(``grant_type=authorization_code``, Basic client auth) for the refresh and access tokens.
"""

from __future__ import annotations

import http.server
import secrets
import threading
import time
from dataclasses import dataclass
from urllib.parse import parse_qs, urlencode, urlsplit

from connex.errors import ConfigError, TransientError
from connex.transport import HttpClient
from connex_quickbooks_online.oauth import token_request

AUTHORIZE_URL = "https://appcenter.intuit.com/connect/oauth2"
SCOPE = "com.intuit.quickbooks.accounting"
LOCAL_HOSTS = ("localhost", "127.0.0.1", "::1", "[::1]")


@dataclass(frozen=True)
class Callback:
    code: str
    realm_id: str


def new_state() -> str:
    """The CSRF ``state``: unguessable, checked when the redirect comes back."""
    return secrets.token_urlsafe(24)


def authorization_url(authorize_url: str, client_id: str, redirect_uri: str, state: str) -> str:
    query = urlencode({"client_id": client_id, "response_type": "code", "scope": SCOPE,
                       "redirect_uri": redirect_uri, "state": state})
    return f"{authorize_url}{'&' if '?' in authorize_url else '?'}{query}"


def is_local(redirect_uri: str) -> bool:
    """A redirect URI on this machine, plain http, that Connex can listen on itself."""
    parts = urlsplit(redirect_uri)
    return parts.scheme == "http" and parts.hostname in LOCAL_HOSTS and parts.port is not None


def parse_callback(url: str, expected_state: str) -> Callback:
    """The code and realm id from the URL the browser was redirected to; refused when ``state`` differs (the
    redirect did not come from this authorization) or Intuit sent an error."""
    text = url.strip()
    query = parse_qs(urlsplit(text).query if "?" in text else text, keep_blank_values=True)
    value = {name: values[-1] for name, values in query.items()}
    if "error" in value:
        raise ConfigError(f"QuickBooks refused the authorization: {value['error']}"
                          f"{': ' + value['error_description'] if value.get('error_description') else ''}")
    if value.get("state") != expected_state:
        raise ConfigError("the redirected URL's state does not match this authorization (an old or forged "
                          "link?); run `connex connect quickbooks` again and use the new link")
    missing = [name for name in ("code", "realmId") if not value.get(name)]
    if missing:
        raise ConfigError(f"the redirected URL has no {' or '.join(missing)}; paste the whole address the browser "
                          f"shows after you click Connect")
    return Callback(code=value["code"], realm_id=value["realmId"])


def exchange_code(http: HttpClient, token_url: str, client_id: str, client_secret: str, code: str,
                  redirect_uri: str) -> dict:
    """Trade the authorization code for tokens; the answer has ``refresh_token`` and ``access_token``."""
    status, body, error, description = token_request(
        http, token_url, {"grant_type": "authorization_code", "code": code, "redirect_uri": redirect_uri},
        (client_id, client_secret))
    if status != 200:
        if status in (400, 401):
            raise ConfigError(f"{token_url}: the authorization code was refused ({error}: {description}); check "
                              f"client_id, client_secret and redirect_uri, then connect again")
        raise TransientError(f"{token_url}: code exchange failed ({error}: {description})")
    if not all(isinstance(body.get(k), str) for k in ("refresh_token", "access_token")):
        raise TransientError(f"{token_url}: the token answer has no refresh_token/access_token")
    return body


class RedirectCatcher:
    """A one-shot HTTP listener on a localhost redirect URI: takes the first request to its path, answers the
    browser with a short page, and hands back the full URL. Bound before the link is shown, so a busy port is
    reported at once."""

    def __init__(self, redirect_uri: str):
        parts = urlsplit(redirect_uri)
        self.path = parts.path or "/"
        self._url: str | None = None
        self._got = threading.Event()
        catcher = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self):  # noqa: N802 - the name http.server calls
                if urlsplit(self.path).path != catcher.path or catcher._got.is_set():
                    self.send_error(404)
                    return
                catcher._url = f"{parts.scheme}://{parts.netloc}{self.path}"
                page = b"<html><body><p>Connex has the authorization. You can close this tab.</p></body></html>"
                self.send_response(200)
                self.send_header("Content-Type", "text/html; charset=utf-8")
                self.send_header("Content-Length", str(len(page)))
                self.end_headers()
                self.wfile.write(page)
                catcher._got.set()

            def log_message(self, format, *args):  # noqa: A002 - signature fixed by BaseHTTPRequestHandler
                pass

        host = "127.0.0.1" if parts.hostname == "localhost" else parts.hostname.strip("[]")
        try:
            self._server = http.server.HTTPServer((host, parts.port), Handler)
        except OSError as exc:
            raise ConfigError(f"cannot listen on {redirect_uri} ({exc.strerror or exc}); free the port, or use "
                              f"--paste and paste the redirected address instead") from None
        self._thread = threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.1},
                                        daemon=True)
        self._thread.start()

    def wait(self, timeout: float) -> str:
        deadline = time.monotonic() + timeout
        try:
            if not self._got.wait(max(deadline - time.monotonic(), 0)):
                raise ConfigError(f"no redirect arrived within {timeout:g} s; run `connex connect quickbooks` "
                                  f"again (or with --paste)")
            return self._url or ""
        finally:
            self.close()

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()
