"""Issue 12 item 7 (network part): what the daemon's status server shows, where it listens, and how a bad
``--health`` is told. The daemon runs as a real subprocess against both simulators."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys

import pytest
import requests
from connex_linnworks.simulator import LinnworksSimulator
from connex_quickbooks_online.simulator import QuickBooksOnlineSimulator
from hypothesis import given, settings
from hypothesis import strategies as st

from connex.daemon.health import HealthServer, parse_listen
from connex.daemon.public import MAX_REASON, PLACEHOLDER, public_reason
from connex.errors import ConfigError
from connex.state import open_state
from connex.state.store import LedgerEntry
from tests.conftest import REPO, run_connex
from tests.sync.test_daemon_and_demo import free_port, wait_for

NAME, EMAIL, PHONE = "Jane Smithson", "jane.smithson@example.com", "+44 20 7946 0958"
REASON = (
    f"customer {NAME!r}: email {EMAIL!r} is not valid; phone {PHONE} too long; "
    f'QuickBooks said: Duplicate Name Exists Error: "{NAME}"; contact {EMAIL}'
)


# ----------------------------------------------------------------------------------------------------------
# public reasons


def test_a_public_reason_keeps_the_field_names_and_loses_the_values():
    public = public_reason(REASON)
    assert NAME not in public and EMAIL not in public and "7946" not in public
    assert "customer" in public and "email" in public and "phone" in public and "Duplicate Name" in public
    assert PLACEHOLDER in public


@pytest.mark.parametrize(
    ("reason", "hidden", "kept"),
    [
        ("Another account is already using this name: Jane Smith", "Jane Smith", "already using this name"),
        ("BillAddr.City: too long (Llanfairpwllgwyngyll)", "Llanfairpwllgwyngyll", "BillAddr.City: too long"),
        ("customer JOHNSON has no DisplayName", "JOHNSON", "has no DisplayName"),
        ("SKU WIDGET-9 not in QuickBooks; GBP", "WIDGET", "SKU"),
        ("Line 3: Amount 12.50 does not add up", "", "Line 3: Amount 12.50 does not add up"),
    ],
)
def test_unquoted_names_in_vendor_messages_are_hidden_too(reason, hidden, kept):
    public = public_reason(reason)
    assert kept in public
    if hidden:
        assert hidden not in public


@given(st.text(max_size=40).filter(lambda s: "'" not in s and "\n" not in s and len(s.strip()) > 2))
@settings(max_examples=200, deadline=None)
def test_no_quoted_value_survives(value):
    public = public_reason(f"field name: {value!r} is wrong")
    assert value.strip() not in public.replace(PLACEHOLDER, "") or value.strip() in "field name: is wrong"
    assert len(public) <= MAX_REASON


def test_a_long_reason_is_cut():
    assert len(public_reason("x " * 10_000)) <= MAX_REASON


# ----------------------------------------------------------------------------------------------------------
# where it listens


def test_a_port_alone_means_loopback():
    assert parse_listen(":8787") == ("127.0.0.1", 8787)
    server = HealthServer(":0", lambda: (True, {}), lambda: {})
    try:
        assert server.httpd.server_address[0] == "127.0.0.1"
    finally:
        server.httpd.server_close()


@pytest.mark.parametrize("value", ["abc", ":99999", ":-1", "host:80", "1.2.3.4:", ":8a", "1.2.3.999:80"])
def test_bad_listen_values_are_config_errors_not_tracebacks(value):
    with pytest.raises(ValueError):
        parse_listen(value)
    with pytest.raises(ConfigError, match="daemon health address"):
        HealthServer(value, lambda: (True, {}), lambda: {})


@pytest.mark.parametrize("value", ["abc", ":99999", "example.com:80"])
def test_a_bad_health_option_is_a_usage_error(tmp_path, value):
    (tmp_path / "connex.yaml").write_text("{}")
    result = run_connex("--config", str(tmp_path / "connex.yaml"), "daemon", "--health", value, cwd=tmp_path)
    assert result.returncode == 2, result.stderr
    assert "Traceback" not in result.stderr
    assert "--health" in result.stderr


# ----------------------------------------------------------------------------------------------------------
# the running daemon


def _seed_failure(path) -> None:
    state = open_state(path)
    run_id = state.start_run("orders")
    state.record(
        [LedgerEntry(key="orders:order-9", flow="orders", kind="sales_receipt", source_id="order-9",
                     number="LW-9", status="failed", error=REASON)],
        run_id,
        attempt=True,
    )
    state.finish_run(run_id, "failed", {"failed": 1}, f"1 failed: {NAME} <{EMAIL}>")
    state.close()


def test_status_over_http_has_no_personal_data_and_listens_on_loopback(tmp_path):
    port = free_port()
    with LinnworksSimulator(processed_orders=0, open_orders=0, purchase_orders=0) as lw, \
            QuickBooksOnlineSimulator() as qbo:
        config = {
            "source": {"plugin": "linnworks", **lw.connector_config()},
            "target": {"plugin": "quickbooks_online", **qbo.connector_config()},
            "sync": {"from_date": "2020-01-01", "schedule": "every 10 minutes"},
            "state": "connex.db",
        }
        (tmp_path / "connex.yaml").write_text(json.dumps(config))
        _seed_failure(tmp_path / "connex.db")
        daemon = subprocess.Popen(
            [sys.executable, "-m", "connex", "daemon", "--health", f":{port}"], cwd=tmp_path,
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env={**os.environ, "PYTHONPATH": str(REPO)},
        )
        try:
            url = f"http://127.0.0.1:{port}"
            status = wait_for(lambda: _json(url + "/status"), 30)
            text = json.dumps(status)
            assert status["failures"] and status["failures"][0]["document"] == "sales_receipt LW-9"
            assert "email" in status["failures"][0]["error"]
            for personal in (NAME, EMAIL, "7946 0958"):
                assert personal not in text
            daemon.send_signal(signal.SIGTERM)
            out, err = daemon.communicate(timeout=40)
        finally:
            if daemon.poll() is None:
                daemon.kill()
                daemon.communicate()
        assert daemon.returncode == 0, err[-2000:]
        assert f"health on http://127.0.0.1:{port}" in out
    # on the machine, the full reason is there
    local = run_connex("status", cwd=tmp_path, env={"PYTHONPATH": str(REPO)})
    assert NAME in local.stdout and EMAIL in local.stdout


def _json(url):
    try:
        response = requests.get(url, timeout=2)
    except requests.ConnectionError:
        return None
    return response.json() if response.status_code == 200 else None


def test_the_health_server_survives_a_flood_of_idle_connections():
    import socket
    import threading

    server = HealthServer("127.0.0.1:0", lambda: (True, {"status": "ok"}), lambda: {}).start()
    before = threading.active_count()
    sockets = [socket.create_connection(server.httpd.server_address[:2], timeout=5) for _ in range(300)]
    try:
        response = requests.get(server.url + "/healthz", timeout=5)
        assert response.status_code == 200 and response.json() == {"status": "ok"}
        assert threading.active_count() - before <= server.httpd.workers
    finally:
        for sock in sockets:
            sock.close()
        server.stop()


def test_a_bad_daemon_health_in_the_config_is_a_config_error(tmp_path):
    with LinnworksSimulator(processed_orders=0, open_orders=0, purchase_orders=0) as lw, \
            QuickBooksOnlineSimulator() as qbo:
        config = {
            "source": {"plugin": "linnworks", **lw.connector_config()},
            "target": {"plugin": "quickbooks_online", **qbo.connector_config()},
            "sync": {"from_date": "2020-01-01", "schedule": "every 10 minutes"},
            "daemon": {"health": "127.0.0.1:99999"},  # the schema's pattern allows five digits
            "state": "connex.db",
        }
        (tmp_path / "connex.yaml").write_text(json.dumps(config))
        result = run_connex("daemon", cwd=tmp_path, env={"PYTHONPATH": str(REPO)}, timeout=60)
    assert result.returncode == 2, result.stderr
    assert "Traceback" not in result.stderr
    assert "daemon.health" in result.stderr and "65535" in result.stderr
