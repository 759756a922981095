"""The CLI wiring of connectors: `connex qbwc` (serve and --qwc) and `connex explain ORDER_ID` from the source."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time

from connex_linnworks.simulator import LinnworksSimulator
from connex_quickbooks_desktop.simulator import make_simulator
from connex_quickbooks_online.simulator import QuickBooksOnlineSimulator

from tests.conftest import REPO, run_connex


def desktop_config(folder, lw):
    wc = make_simulator()
    target = {"plugin": "quickbooks_desktop", **wc.connector_config(), "missing_items": "create_non_inventory"}
    config = {"source": {"plugin": "linnworks", **lw.connector_config()}, "target": target,
              "sync": {"from_date": "2020-01-01"}, "state": "connex.db"}
    (folder / "connex.yaml").write_text(json.dumps(config))
    return wc, target


def test_qbwc_writes_the_qwc_file_and_serves_the_endpoint_until_sigterm(tmp_path):
    with LinnworksSimulator(processed_orders=6, open_orders=0, purchase_orders=0) as lw:
        wc, target = desktop_config(tmp_path, lw)
        written = run_connex("qbwc", "--qwc", "connex.qwc", cwd=tmp_path)
        assert written.returncode == 0, written.stderr
        qwc = (tmp_path / "connex.qwc").read_text()
        assert "<QBWCXML>" in qwc and f"<UserName>{target['username']}</UserName>" in qwc
        assert target["password"] not in qwc  # the password is typed into the Web Connector, never written
        # documents queued by a sync, drained by a Web Connector session against `connex qbwc`
        assert run_connex("sync", "--once", "--no-progress", cwd=tmp_path).returncode == 0
        server = subprocess.Popen([sys.executable, "-m", "connex", "qbwc"], cwd=tmp_path, stdout=subprocess.PIPE,
                                  stderr=subprocess.PIPE, text=True, env={**os.environ, "PYTHONPATH": str(REPO)})
        try:
            line = server.stdout.readline()
            assert "QuickBooks Web Connector endpoint on " in line, line + server.stderr.read()
            url = line.split(" on ")[1].split(" ")[0]
            log = wc.run_session(url, target["username"], target["password"])
            assert not log.errors, log.errors
            assert len(wc.company.find_transactions("SalesReceipt")) == 5  # 6 orders, one cancelled
            server.send_signal(signal.SIGTERM)
            server.wait(15)
            assert server.returncode == 0
        finally:
            if server.poll() is None:
                server.kill()
        # `connex qbwc` recorded what the session did as it happened: status shows it, no sync needed
        status = run_connex("status", cwd=tmp_path)
        assert "orders: 5 posted, 1 skipped" in status.stdout, status.stdout


def test_explain_reads_the_order_from_linnworks_by_number(tmp_path):
    with LinnworksSimulator(processed_orders=6, open_orders=0, purchase_orders=0) as lw, \
            QuickBooksOnlineSimulator() as qbo:
        config = {"source": {"plugin": "linnworks", **lw.connector_config()},
                  "target": {"plugin": "quickbooks_online", **qbo.connector_config()}}
        (tmp_path / "connex.yaml").write_text(json.dumps(config))
        _, _, order_id = lw.account.processed_index[2]
        number = lw.account.order(order_id)["NumOrderId"]
        started = time.monotonic()
        result = run_connex("explain", str(number), "--json", cwd=tmp_path)
        assert result.returncode == 0, result.stderr
        data = json.loads(result.stdout)
        assert data["number"] == str(number) and data["status"] in ("mapped", "skipped")
        assert data["rules"][0]["rule"] == "skip-cancelled-orders"
        assert time.monotonic() - started < 30
