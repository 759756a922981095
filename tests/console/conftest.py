"""A Connex workspace synced against both simulators, with one order failed for a cause fixable in Linnworks,
and console users of both roles: for the console's HTTP and browser tests."""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass
from pathlib import Path

import pytest
from connex_linnworks.simulator import LinnworksSimulator
from connex_quickbooks_online.simulator import QuickBooksOnlineSimulator

from connex.console.passwords import hash_password
from tests.conftest import REPO, run_connex

PASSWORDS = {"olive": "operator-pass-1", "vera": "viewer-pass-1"}


@dataclass
class Workspace:
    folder: Path
    lw: LinnworksSimulator
    qbo: QuickBooksOnlineSimulator
    config_path: Path
    config: dict
    broken: dict  # the order whose currency no QuickBooks rate exists for: it fails until fixed

    def cli(self, *args, timeout=120):
        return run_connex("--config", str(self.config_path), *args, cwd=self.folder,
                          env={"PYTHONPATH": str(REPO)}, timeout=timeout)

    def fix_broken_order(self) -> None:
        self.broken["TotalsInfo"]["Currency"] = "USD"


def make_workspace(folder: Path, lw, qbo, **extra) -> Workspace:
    broken = lw.account.add_processed_order(processed_at=dt.datetime(2026, 2, 1, tzinfo=dt.UTC))
    broken["TotalsInfo"]["Currency"] = "XYZ"
    config = {
        "source": {"plugin": "linnworks", **lw.connector_config()},
        "target": {"plugin": "quickbooks_online", **qbo.connector_config()},
        "sync": {"from_date": "2020-01-01", "purchases": True},
        "state": "connex.db",
        "console": {"listen": "127.0.0.1:0", "users": {
            "olive": {"password_hash": hash_password(PASSWORDS["olive"]), "role": "operator"},
            "vera": {"password_hash": hash_password(PASSWORDS["vera"]), "role": "viewer"},
        }},
        **extra,
    }
    path = folder / "connex.yaml"
    path.write_text(json.dumps(config))
    return Workspace(folder, lw, qbo, path, config, broken)


@pytest.fixture
def synced(tmp_path):
    """The workspace after one `connex sync`: orders and purchase orders posted, order 300000 failed."""
    with LinnworksSimulator(processed_orders=12, open_orders=0, purchase_orders=3, refunds=False) as lw, \
            QuickBooksOnlineSimulator() as qbo:
        ws = make_workspace(tmp_path, lw, qbo)
        done = ws.cli("sync")
        assert done.returncode == 1, done.stdout + done.stderr  # one failed document
        yield ws
