"""`connex status` follows the Web Connector: documents QuickBooks Desktop failed (or posted) show as such as
soon as the outcome arrives, not only after the next sync pass."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time

from connex_linnworks.simulator import LinnworksSimulator
from connex_quickbooks_desktop.service import serve
from connex_quickbooks_desktop.simulator import make_simulator

from connex.state import open_state
from tests.conftest import REPO, run_connex


def _setup(folder, lw):
    wc = make_simulator()
    # missing_items: fail (the default): orders whose SKUs the company file lacks fail in QuickBooks
    target = {"plugin": "quickbooks_desktop", **wc.connector_config()}
    config = {"source": {"plugin": "linnworks", **lw.connector_config()}, "target": target,
              "sync": {"from_date": "2020-01-01"}, "state": "connex.db"}
    (folder / "connex.yaml").write_text(json.dumps(config))
    return wc, target


def _statuses(folder):
    state = open_state(folder / "connex.db")
    try:
        return {status: n for counts in state.counts().values() for status, n in counts.items()}
    finally:
        state.close()


def test_status_shows_what_the_web_connector_did(tmp_path):
    with LinnworksSimulator(processed_orders=9, open_orders=0, purchase_orders=0) as lw:
        wc, target = _setup(tmp_path, lw)
        first = run_connex("sync", "--no-progress", cwd=tmp_path)
        assert first.returncode == 0, first.stdout + first.stderr
        queued = _statuses(tmp_path)["queued"]
        assert queued >= 1
        before = run_connex("status", cwd=tmp_path)
        assert f"queued for QuickBooks Desktop: {queued}" in before.stdout
        # a Web Connector session against the plugin's endpoint alone: nothing of Connex's core runs meanwhile
        endpoint = serve({k: v for k, v in target.items() if k != "plugin"} | {"queue_db": str(tmp_path / "connex.db")})
        try:
            wc.run_session(endpoint.url, target["username"], target["password"])
        finally:
            endpoint.stop()
        after = run_connex("status", cwd=tmp_path)
        assert after.returncode == 0, after.stderr
        counts = _statuses(tmp_path)
        assert "queued" not in counts, counts
        assert "queued for QuickBooks Desktop" not in after.stdout
        assert counts.get("failed", 0) + counts.get("posted", 0) == queued
        assert counts["failed"] == queued  # the seeded company has none of these SKUs (missing_items: fail)
        assert f"failures ({queued}), by reason:" in after.stdout
        assert f"orders: item not in QuickBooks ({queued} documents): " in after.stdout, after.stdout
        again = run_connex("status", "--json", cwd=tmp_path)
        assert json.loads(again.stdout)["queued"] == 0


def test_connex_qbwc_records_outcomes_as_they_arrive(tmp_path):
    with LinnworksSimulator(processed_orders=6, open_orders=0, purchase_orders=0) as lw:
        wc, target = _setup(tmp_path, lw)
        assert run_connex("sync", "--no-progress", cwd=tmp_path).returncode == 0
        assert _statuses(tmp_path).get("queued")
        server = subprocess.Popen([sys.executable, "-m", "connex", "qbwc"], cwd=tmp_path, stdout=subprocess.PIPE,
                                  stderr=subprocess.PIPE, text=True, env={**os.environ, "PYTHONPATH": str(REPO)})
        try:
            line = server.stdout.readline()
            assert "QuickBooks Web Connector endpoint on " in line, line + server.stderr.read()
            wc.run_session(line.split(" on ")[1].split(" ")[0], target["username"], target["password"])
            deadline = time.monotonic() + 15
            while "queued" in _statuses(tmp_path) and time.monotonic() < deadline:
                time.sleep(0.2)
            assert "queued" not in _statuses(tmp_path)  # while `connex qbwc` still runs
        finally:
            server.send_signal(signal.SIGTERM)
            server.wait(15)
