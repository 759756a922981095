"""Four connections that read one Linnworks account share its minute: with the account's limits cut so low that
four budgets of their own would overrun it, the daemon's passes wait instead, and the account never has to refuse
a request. Simulators and the process budget run on one clock, 60 times faster, so a minute lasts a second."""

from __future__ import annotations

import json
import os
import signal
import threading
import time

import pytest
from connex_linnworks import limits as linnworks_limits

from connex.budgets import LocalBudget, process_budget, set_process_budget
from connex.daemon.service import Daemon
from connex.deployment import load_deployment
from connex.plugin_manager import get_plugins
from connex.simulation.server import SimClock
from tests.sync.many_connections import build_fleet

SCALE = 60.0
CUT = ("ProcessedOrders/SearchProcessedOrders", "Orders/GetOrdersById", "Auth/AuthorizeByApplication")


@pytest.fixture
def scaled_budget(monkeypatch):
    before = process_budget()
    set_process_budget(LocalBudget(clock=lambda: time.monotonic() * SCALE, sleep=lambda s: time.sleep(s / SCALE)))
    for endpoint in CUT:  # the simulator and the client read the same table of documented limits
        monkeypatch.setitem(linnworks_limits.RATE_LIMITS, endpoint, 2)
    yield
    set_process_budget(before)


def test_connections_sharing_an_account_share_its_rate_limit(tmp_path, scaled_budget, monkeypatch):
    fleet = build_fleet(tmp_path, 4, 8, max_parallel=4, clock=SimClock(SCALE))
    try:
        shared = json.loads((tmp_path / "connections" / "c01.yaml").read_text())["source"]
        for name in fleet.names[1:]:  # every connection reads c01's Linnworks account
            path = tmp_path / "connections" / f"{name}.yaml"
            data = json.loads(path.read_text())
            data["source"] = shared
            path.write_text(json.dumps(data))
        for key, value in fleet.env.items():
            monkeypatch.setenv(key, value)
        plugins = get_plugins()
        daemon = Daemon(load_deployment(tmp_path / "connex.yaml", plugins).select(), plugins, max_parallel=4,
                        health_listen=fleet.health)
        handlers = signal.getsignal(signal.SIGTERM), signal.getsignal(signal.SIGINT)

        def stop_when_synced():
            deadline = time.monotonic() + 120
            while not all(w.passes for w in daemon.workers.values()) and time.monotonic() < deadline:
                time.sleep(0.05)
            daemon.request_stop()

        threading.Thread(target=stop_when_synced, daemon=True).start()
        started = time.monotonic()
        try:
            assert daemon.run() == 0
        finally:
            signal.signal(signal.SIGTERM, handlers[0])
            signal.signal(signal.SIGINT, handlers[1])
        elapsed_minutes = (time.monotonic() - started) * SCALE / 60
        assert all(w.passes == 1 and w.pass_ok for w in daemon.workers.values()), daemon.status()["daemon"]
        account = fleet.account("c01")
        calls = account.stats["ProcessedOrders/SearchProcessedOrders"]
        assert calls >= 4  # each connection searched at least once...
        assert elapsed_minutes >= calls / 2 - 1  # ...2 a minute for all of them together: they waited their turn
        assert fleet.linnworks.rate_limited() == {"c01": 0, "c02": 0, "c03": 0, "c04": 0}
        for name in fleet.names:
            numbers = [r["DocNumber"] for r in fleet.company(name).entities("SalesReceipt")]
            assert len(numbers) == len(set(numbers)) > 0
        assert os.environ.get("C01_LW_TOKEN")  # the connection files really read their secrets from ${ENV}
    finally:
        fleet.stop()
