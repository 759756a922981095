"""Two connections, each its own Linnworks account, post to one QuickBooks company, end to end.

Each connection authorized the app for the company itself (the real code flow of the simulator's OAuth server),
so each has its refresh-token chain and neither breaks the other's. They share the company's budget: with its
batch limit cut so low that two budgets of their own would overrun it, the company never refuses a request,
and every document of both accounts is posted once.

* the embedded daemon on SQLite, both connections in one process (the in-process budget);
* the state on PostgreSQL, one `connex sync --connection NAME` process each, at once (the budget in the
  database).
"""

from __future__ import annotations

import datetime as dt
import json
import os
import signal
import subprocess
import sys
import threading
import time

import pytest

from connex.budgets import LocalBudget, process_budget, set_process_budget
from connex.simulation.server import SimClock
from tests.conftest import REPO
from tests.sync.many_connections import build_fleet, realm_of
from tests.sync.test_postgres_budget import authorize

SCALE = 30.0  # a simulated minute lasts two seconds
BATCHES = 2  # a minute, for the company (Intuit's is 40)
ORDERS = 8  # per account


def share_one_company(tmp_path, clock):
    """c01 and c02, each its own Linnworks account with its own order numbers, both posting to c01's company;
    c02 with a refresh token of its own authorization."""
    fleet = build_fleet(tmp_path, 2, 0, max_parallel=2, clock=clock)
    day = dt.datetime(2026, 2, 1, tzinfo=dt.UTC)
    fleet.account("c02").account._next_number = 700_000  # the accounts' order numbers must not meet in one company
    for name in fleet.names:
        for n in range(ORDERS):
            fleet.account(name).account.add_processed_order(processed_at=day + dt.timedelta(hours=n))
    company = fleet.company("c01")
    fleet.env["C02_QBO_REFRESH"] = authorize(company)
    path = tmp_path / "connections" / "c02.yaml"
    data = json.loads(path.read_text())
    data["target"]["realm_id"] = realm_of(0)
    path.write_text(json.dumps(data))
    return fleet, company


def expected_numbers(fleet) -> set[str]:
    return {str(order["NumOrderId"]) for name in fleet.names
            for order in fleet.account(name).account._stored.values()}


def assert_posted_once(fleet, company) -> None:
    numbers = [r["DocNumber"] for r in company.entities("SalesReceipt")]
    assert len(numbers) == len(set(numbers))  # each once
    assert set(numbers) == expected_numbers(fleet)  # both accounts' orders, all of them
    assert fleet.company("c02").entities("SalesReceipt") == []  # c02's own company was never posted to
    assert fleet.quickbooks.rate_limited() == {realm_of(0): 0, realm_of(1): 0}
    assert company.stats["invalid_grant"] == 0 and company.tokens.revoked_grants == 0
    assert company.stats["batch"] > BATCHES  # the limit bound: the two waited for each other


@pytest.fixture
def low_batch_limit(monkeypatch):
    from connex_quickbooks_online import client as qbo_client
    from connex_quickbooks_online.simulator import server as qbo_server

    monkeypatch.setattr(qbo_server, "BATCHES_PER_MINUTE", BATCHES)
    monkeypatch.setattr(qbo_client, "BATCHES_PER_MINUTE", BATCHES)


def test_two_connections_share_a_company_through_the_embedded_daemon(tmp_path, low_batch_limit, monkeypatch):
    from connex.daemon.service import Daemon
    from connex.deployment import load_deployment
    from connex.plugin_manager import get_plugins

    before = process_budget()
    set_process_budget(LocalBudget(clock=lambda: time.monotonic() * SCALE, sleep=lambda s: time.sleep(s / SCALE)))
    fleet, company = share_one_company(tmp_path, SimClock(SCALE))
    handlers = signal.getsignal(signal.SIGTERM), signal.getsignal(signal.SIGINT)
    try:
        for key, value in fleet.env.items():
            monkeypatch.setenv(key, value)
        plugins = get_plugins()
        daemon = Daemon(load_deployment(tmp_path / "connex.yaml", plugins).select(), plugins, max_parallel=2,
                        health_listen=fleet.health)

        def stop_when_synced():
            deadline = time.monotonic() + 120
            while not all(w.passes for w in daemon.workers.values()) and time.monotonic() < deadline:
                time.sleep(0.05)
            daemon.request_stop()

        threading.Thread(target=stop_when_synced, daemon=True).start()
        assert daemon.run() == 0
        assert all(w.passes == 1 and w.pass_ok for w in daemon.workers.values()), daemon.status()["daemon"]
        assert_posted_once(fleet, company)
    finally:
        signal.signal(signal.SIGTERM, handlers[0])
        signal.signal(signal.SIGINT, handlers[1])
        set_process_budget(before)
        fleet.stop()


def test_two_connections_share_a_company_from_two_processes_on_postgresql(tmp_path, postgres, low_batch_limit):
    fleet, company = share_one_company(tmp_path, SimClock(SCALE))
    try:
        config = json.loads((tmp_path / "connex.yaml").read_text())
        config["state"] = postgres.new_database()
        (tmp_path / "connex.yaml").write_text(json.dumps(config))
        env = {**os.environ, **fleet.env,
               "PYTHONPATH": os.pathsep.join(p for p in (str(REPO), os.environ.get("PYTHONPATH")) if p),
               "CONNEX_TEST_SCALED": json.dumps({"scale": SCALE, "batches": BATCHES, "margin": 0.3})}
        children = [subprocess.Popen([sys.executable, "-m", "tests.sync.scaled_connex", "--config",
                                      str(tmp_path / "connex.yaml"), "sync", "--connection", name, "--no-progress"],
                                     cwd=tmp_path, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                     text=True) for name in fleet.names]
        for child in children:
            out, err = child.communicate(timeout=180)
            assert child.returncode == 0, out + err
        assert_posted_once(fleet, company)
    finally:
        for child in locals().get("children", []):
            if child.poll() is None:
                child.kill()
                child.wait()
        fleet.stop()
