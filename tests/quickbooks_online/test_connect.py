"""`connex connect quickbooks` against the simulator's authorize and token endpoints, end to end: the link, the
browser (played by this test), the redirect pasted back or caught on localhost, the state store, then a sync
with no refresh token or realm id in the config."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
from urllib.parse import parse_qs, urlsplit

import pytest
import requests
from connex_linnworks.simulator import LinnworksSimulator
from connex_quickbooks_online.authorize import Callback, parse_callback
from connex_quickbooks_online.oauth import CONNECTED_REALM_KEY, state_key
from connex_quickbooks_online.simulator import QuickBooksOnlineSimulator

from connex.errors import ConfigError
from connex.state import open_state
from tests.conftest import REPO, run_connex


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def write_config(folder, qbo, lw=None, **target):
    block = {key: value for key, value in qbo.connector_config().items() if key not in ("refresh_token", "realm_id")}
    config = {"target": {"plugin": "quickbooks_online", **block, **target}, "state": "connex.db",
              "sync": {"from_date": "2020-01-01"}}
    config["source"] = {"plugin": "linnworks", **(lw.connector_config() if lw else
                                                  {"application_id": "a", "application_secret": "b", "token": "c"})}
    (folder / "connex.yaml").write_text(json.dumps(config))


def start_connect(folder, *args):
    return subprocess.Popen([sys.executable, "-m", "connex", "connect", "quickbooks", *args], cwd=folder,
                            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            env={**os.environ, "PYTHONPATH": str(REPO)})


def read_link(process) -> str:
    for _ in range(5):
        line = process.stdout.readline()
        if line.startswith("http"):
            return line.strip()
    raise AssertionError("no link printed: " + process.stderr.read())


def browser_consents(link: str) -> str:
    """What the user's browser does: open the link, sign in and consent (the simulator consents at once)."""
    answer = requests.get(link, allow_redirects=False, timeout=10)
    assert answer.status_code == 302, answer.text
    return answer.headers["Location"]


def test_connect_by_pasting_the_redirect_then_sync_without_a_token_in_the_config(tmp_path):
    with LinnworksSimulator(processed_orders=6, open_orders=0, purchase_orders=0) as lw, \
            QuickBooksOnlineSimulator(redirect_uris=("https://example.com/connex/callback",)) as qbo:
        write_config(tmp_path, qbo, lw, redirect_uri="https://example.com/connex/callback")
        process = start_connect(tmp_path)
        try:
            link = read_link(process)
            query = parse_qs(urlsplit(link).query)
            assert link.startswith(qbo.url + "/connect/oauth2?")
            assert query["client_id"] == ["sim-client"] and query["response_type"] == ["code"]
            assert query["scope"] == ["com.intuit.quickbooks.accounting"]
            assert query["redirect_uri"] == ["https://example.com/connex/callback"]
            assert len(query["state"][0]) >= 24
            redirected = browser_consents(link)
            out, err = process.communicate(redirected + "\n", timeout=30)
        finally:
            if process.poll() is None:
                process.kill()
        assert process.returncode == 0, err
        assert f'realm_id: "{qbo.company.realm_id}"' in out
        assert qbo.tokens.refresh_token not in out + err  # the token is stored, never printed
        state = open_state(tmp_path / "connex.db")
        try:
            assert state.get(state_key(qbo.company.realm_id)) == qbo.tokens.refresh_token
            assert state.get(CONNECTED_REALM_KEY) == qbo.company.realm_id
        finally:
            state.close()
        synced = run_connex("sync", "--once", "--no-progress", cwd=tmp_path)
        assert synced.returncode == 0, synced.stdout + synced.stderr
        assert len(qbo.entities("SalesReceipt")) == 5  # 6 orders, one cancelled
        assert run_connex("sync", "--once", "--no-progress", cwd=tmp_path).returncode == 0  # the rotated token


def test_connect_catches_a_localhost_redirect_itself(tmp_path):
    redirect_uri = f"http://localhost:{free_port()}/callback"
    with QuickBooksOnlineSimulator(redirect_uris=(redirect_uri,)) as qbo:
        write_config(tmp_path, qbo, redirect_uri=redirect_uri)
        process = start_connect(tmp_path, "--timeout", "60")
        try:
            link = read_link(process)
            landed = requests.get(link, timeout=10)  # the browser follows the redirect to Connex's listener
            assert landed.status_code == 200 and "You can close this tab" in landed.text
            out, err = process.communicate(timeout=30)
        finally:
            if process.poll() is None:
                process.kill()
        assert process.returncode == 0, err
        assert qbo.company.realm_id in out
        state = open_state(tmp_path / "connex.db")
        try:
            assert state.get(state_key(qbo.company.realm_id)) == qbo.tokens.refresh_token
        finally:
            state.close()


def test_a_forged_state_or_a_refused_code_stores_nothing(tmp_path):
    with QuickBooksOnlineSimulator() as qbo:
        write_config(tmp_path, qbo, redirect_uri="http://localhost:8765/callback")
        process = start_connect(tmp_path, "--paste")
        link = read_link(process)
        redirected = browser_consents(link).replace("state=", "state=x")
        out, err = process.communicate(redirected + "\n", timeout=30)
        assert process.returncode == 2 and "state does not match" in err and "Traceback" not in err
        # the same code twice: the second exchange is refused by the token endpoint
        process = start_connect(tmp_path, "--paste")
        redirected = browser_consents(read_link(process))
        out, err = process.communicate(redirected + "\n", timeout=30)
        assert process.returncode == 0, err
        process = start_connect(tmp_path, "--paste")
        new_state = parse_qs(urlsplit(read_link(process)).query)["state"][0]
        replay = redirected.split("state=")[0] + "state=" + new_state + "&realmId=" + qbo.company.realm_id
        out, err = process.communicate(replay + "\n", timeout=30)
        assert process.returncode == 2 and "invalid_grant" in err, err


def test_an_unregistered_redirect_uri_gets_an_error_page_not_a_redirect():
    with QuickBooksOnlineSimulator() as qbo:
        answer = requests.get(qbo.url + "/connect/oauth2", params={
            "client_id": "sim-client", "response_type": "code", "scope": "com.intuit.quickbooks.accounting",
            "redirect_uri": "https://evil.example/cb", "state": "s"}, allow_redirects=False, timeout=10)
        assert answer.status_code == 400 and "Location" not in answer.headers
        scope = requests.get(qbo.url + "/connect/oauth2", params={
            "client_id": "sim-client", "response_type": "code", "scope": "openid",
            "redirect_uri": "http://localhost:8765/callback", "state": "s"}, allow_redirects=False, timeout=10)
        assert "error=invalid_scope" in scope.headers["Location"] and "state=s" in scope.headers["Location"]


def test_not_connected_is_a_config_error_naming_the_command(tmp_path):
    with QuickBooksOnlineSimulator() as qbo:
        write_config(tmp_path, qbo)
        result = run_connex("sync", "--once", "--no-progress", cwd=tmp_path)
        assert result.returncode == 2 and "connex connect quickbooks" in result.stderr, result.stderr


@pytest.mark.parametrize("url, problem", [
    ("http://localhost/cb?code=c&state=WRONG&realmId=1", "state does not match"),
    ("http://localhost/cb?error=access_denied&state=S", "refused the authorization: access_denied"),
    ("http://localhost/cb?state=S&realmId=1", "has no code"),
    ("", "state does not match"),
])
def test_callback_parsing(url, problem):
    with pytest.raises(ConfigError, match=problem):
        parse_callback(url, "S")


def test_callback_parsing_accepts_the_bare_query_and_surrounding_spaces():
    assert parse_callback("  code=c&state=S&realmId=42 \n", "S") == Callback("c", "42")
