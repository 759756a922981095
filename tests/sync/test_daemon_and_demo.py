"""The daemon as a real subprocess against both simulators, and `connex demo` as a fresh user runs it."""

from __future__ import annotations

import datetime as dt
import json
import os
import signal
import socket
import subprocess
import sys
import time

import requests
from connex_linnworks.simulator import LinnworksSimulator
from connex_quickbooks_online.simulator import QuickBooksOnlineSimulator

from connex.state import open_state
from tests.conftest import REPO, run_connex


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for(predicate, timeout: float, step: float = 0.2):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(step)
    raise AssertionError(f"timed out after {timeout}s")


def test_daemon_runs_two_passes_answers_health_and_stops_on_sigterm(tmp_path):
    health = f"127.0.0.1:{free_port()}"
    with LinnworksSimulator(processed_orders=20, open_orders=0, purchase_orders=4) as lw, \
            QuickBooksOnlineSimulator() as qbo:
        config = {
            "source": {"plugin": "linnworks", **lw.connector_config()},
            "target": {"plugin": "quickbooks_online", "missing_items": "create_non_inventory",
                       **qbo.connector_config()},
            "sync": {"from_date": "2020-01-01", "purchases": True, "schedule": "every 10 seconds"},
            "daemon": {"health": health}, "log": {"format": "json"}, "state": "connex.db",
        }
        (tmp_path / "connex.yaml").write_text(json.dumps(config))
        daemon = subprocess.Popen([sys.executable, "-m", "connex", "daemon"], cwd=tmp_path,
                                  stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                                  env={**os.environ, "PYTHONPATH": str(REPO)})
        try:
            url = f"http://{health}"
            status = wait_for(lambda: _get(url + "/status"), 20)
            first = wait_for(lambda: (s := _get(url + "/status")) and s["daemon"]["passes"] >= 1 and s, 30)
            receipts = len(qbo.entities("SalesReceipt"))
            assert receipts > 0 and first["counts"]["orders"]["posted"] == receipts
            # new work between passes is picked up by the next scheduled pass, from the persisted cursor
            added = lw.account.add_processed_order(processed_at=dt.datetime(2026, 2, 1, tzinfo=dt.UTC))
            second = wait_for(lambda: (s := _get(url + "/status")) and s["daemon"]["passes"] >= 2 and s, 30)
            assert second["daemon"]["last_pass"]["error"] is None
            assert any(r["DocNumber"] == str(added["NumOrderId"]) for r in qbo.entities("SalesReceipt"))
            healthz = requests.get(url + "/healthz", timeout=5)
            assert healthz.status_code == 200 and healthz.json()["status"] == "ok"
            assert status["daemon"]["schedule"] == "every 10 seconds"
            started = time.monotonic()
            daemon.send_signal(signal.SIGTERM)
            out, err = daemon.communicate(timeout=30)
            assert time.monotonic() - started < 30
            assert daemon.returncode == 0, err[-2000:]
        finally:
            if daemon.poll() is None:
                daemon.kill()
        logs = [json.loads(line) for line in err.splitlines() if line.startswith("{")]
        assert any("daemon stopped after" in entry["message"] for entry in logs)
        # the preflight (connex check) ran at start and logged its findings before the first pass
        checks = [e["message"] for e in logs if e["message"].startswith("check: ")]
        assert "check:   QuickBooks Online company: Connex Demo US (realm 9130350000000001)" in checks
        assert "check: result: a sync would post everything checked" in checks
        first_pass = next(i for i, e in enumerate(logs) if "pass 1: starting" in e["message"])  # "default: pass 1"
        assert max(i for i, e in enumerate(logs) if e["message"].startswith("check: ")) < first_pass
        runs = [e for e in logs if e.get("run_id") and e.get("flow") == "orders"]
        assert len({e["run_id"] for e in runs}) >= 2  # each pass's runs are told apart in the log
        assert all(secret not in err for secret in (config["target"]["client_secret"],
                                                      config["source"]["application_secret"]))
        state = open_state(tmp_path / "connex.db")
        assert state.rows(status="in_flight") == []
        # nothing lost: a manual run afterwards has nothing left to post
        rerun = run_connex("sync", "--once", "--no-progress", cwd=tmp_path, env={"PYTHONPATH": str(REPO)})
        assert rerun.returncode == 0, rerun.stdout + rerun.stderr
        assert " posted" not in rerun.stdout.replace("0 posted", "")


def _get(url):
    try:
        response = requests.get(url, timeout=2)
    except requests.ConnectionError:
        return None
    return response.json() if response.status_code == 200 else None


def test_demo_prints_a_correct_summary(tmp_path):
    result = run_connex("demo", cwd=tmp_path, timeout=300)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    out = result.stdout
    for line in ("Documents created", "Customers (store and currency)", "Failures: 0"):
        assert line in out
    created = {}
    for line in out.split("Documents created")[1].split("Customers")[0].strip().splitlines():
        *words, count = line.split()
        created[" ".join(words)] = int(count)
    assert created["sales receipt"] > 100 and created["purchase order"] > 5 and created["refund receipt"] >= 1
    assert 0 < created["bill"] < created["purchase order"]  # pending POs get no bill
    assert "Amazon GBP (GBP)" in out and "eBay GBP (GBP)" in out
    assert (tmp_path / "connex-demo" / "connex.db").exists()
    status = run_connex("--config", "connex-demo/connex.yaml", "status", cwd=tmp_path)
    assert status.returncode == 0 and "orders:" in status.stdout
