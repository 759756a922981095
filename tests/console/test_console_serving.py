"""Where and how the console is served: `connex console` on its own (loopback by default, TLS from the config),
the daemon's schedule paused from the console, and config errors as file:line:col messages."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time

import pytest
import requests

from connex.config import load_config
from connex.console.settings import ConsoleSettings
from connex.daemon.pause import set_paused
from connex.daemon.service import Daemon
from connex.errors import ConfigError
from connex.plugin_manager import get_plugins
from connex.schedule_spec import parse_schedule
from connex.state import open_state
from connex.sync.report import RunOptions
from tests.conftest import REPO
from tests.sync.test_daemon_and_demo import free_port, wait_for


@pytest.fixture
def certificate(tmp_path):
    if shutil.which("openssl") is None:
        pytest.skip("needs the openssl command to make a throw-away certificate")
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", str(key), "-out",
                    str(cert), "-days", "1", "-subj", "/CN=localhost", "-addext", "subjectAltName=DNS:localhost"],
                   check=True, capture_output=True, timeout=60)
    return cert, key


def _rewrite(ws, **console):
    config = json.loads(ws.config_path.read_text())
    config["console"].update(console)
    ws.config_path.write_text(json.dumps(config))


def _serve(ws):
    return subprocess.Popen([sys.executable, "-m", "connex", "--config", str(ws.config_path), "console"],
                            cwd=ws.folder, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            env={**os.environ, "PYTHONPATH": str(REPO)})


def _stop(process) -> tuple[str, str]:
    process.send_signal(signal.SIGINT)
    try:
        return process.communicate(timeout=20)
    except subprocess.TimeoutExpired:
        process.kill()
        return process.communicate()


def test_console_alone_serves_https_with_the_configured_certificate(synced, certificate):
    port = free_port()
    cert, key = certificate
    _rewrite(synced, listen=f":{port}", tls_cert=str(cert), tls_key=str(key))
    process = _serve(synced)
    try:
        answer = wait_for(lambda: _get(f"https://localhost:{port}/login", verify=str(cert)), 30)
        assert answer.status_code == 200 and "Sign in" in answer.text
        assert "strict-transport-security" in answer.headers
        assert "secure" in answer.headers["set-cookie"].lower()
        with pytest.raises(requests.RequestException):  # plain HTTP on the TLS port is not served
            requests.get(f"http://127.0.0.1:{port}/login", timeout=5)
    finally:
        out, err = _stop(process)
    assert "connex console on https://127.0.0.1:" in out, out + err


def _get(url, **kwargs):
    try:
        return requests.get(url, timeout=5, **kwargs)
    except requests.RequestException:
        return None


def test_a_port_alone_means_loopback_and_bad_values_are_config_errors(synced, tmp_path):
    config = load_config(synced.config_path, get_plugins())
    config.console["listen"] = ":8123"
    assert (ConsoleSettings.from_config(config).host, ConsoleSettings.from_config(config).port) == ("127.0.0.1", 8123)
    del config.console["listen"]
    assert ConsoleSettings.from_config(config).host == "127.0.0.1"
    config.console["tls_cert"] = "missing.pem"
    with pytest.raises(ConfigError, match="tls_cert and tls_key go together"):
        ConsoleSettings.from_config(config)
    _rewrite(synced, listen="every interface")
    done = synced.cli("validate")
    assert done.returncode == 2 and "connex.yaml:" in done.stderr and "console.listen" in done.stderr
    _rewrite(synced, listen=":8123", users={"x": {"password_hash": "plain-text", "role": "admin"}})
    done = synced.cli("validate")
    assert done.returncode == 2 and "console.users.x" in done.stderr, done.stderr
    assert "plain-text" not in done.stderr  # a password hash is never quoted back


class _Engine:
    """Stands in for the sync engine: records the passes the daemon starts."""

    def __init__(self):
        self.runs = []
        self.target = self

    def services(self):
        return []

    def run(self, flows, options):
        self.runs.append((list(flows), options))
        return []

    def close(self):
        pass


def test_the_daemon_skips_scheduled_passes_while_paused_but_runs_what_a_person_asks_for(synced):
    plugins = get_plugins()
    config = load_config(synced.config_path, plugins)
    config.sync.schedule = parse_schedule("every 1 hour")
    engine = _Engine()
    daemon = Daemon(config, plugins, engine=engine)
    worker = daemon.workers["default"]

    def finished():
        deadline = time.monotonic() + 10
        while worker.busy and time.monotonic() < deadline:
            time.sleep(0.02)
        assert not worker.busy

    try:
        state = open_state(config.state_path)
        set_paused(state, "default", True, "olive")
        daemon.trigger()
        assert not worker.busy and engine.runs == []
        assert daemon.status()["daemon"]["paused"] is True
        assert daemon.request_run(["orders"], RunOptions(order_ids=("1",))) is None
        finished()
        assert engine.runs[-1][0] == ["orders"] and engine.runs[-1][1].order_ids == ("1",)
        set_paused(state, "default", False, "olive")
        daemon.trigger()
        finished()
        assert len(engine.runs) == 2 and engine.runs[-1][0] == daemon.flows
        state.close()
    finally:
        daemon.pool.shutdown(wait=True)
        daemon.state.close()


def test_the_session_key_may_come_from_the_environment_and_must_be_long(synced, monkeypatch):
    _rewrite(synced, secret_key="${CONNEX_TEST_CONSOLE_KEY}")
    monkeypatch.setenv("CONNEX_TEST_CONSOLE_KEY", "k" * 40)
    config = load_config(synced.config_path, get_plugins())
    assert ConsoleSettings.from_config(config).secret_key == "k" * 40
    assert "k" * 40 in config.secrets  # never shown
    monkeypatch.setenv("CONNEX_TEST_CONSOLE_KEY", "short")
    with pytest.raises(ConfigError, match="32 characters or more"):
        ConsoleSettings.from_config(load_config(synced.config_path, get_plugins()))
