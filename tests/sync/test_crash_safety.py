"""Exactly once under SIGKILL: `connex sync` is killed at many points, resumed, and QuickBooks ends with every
document exactly once.

Kill points mix two kinds: random moments of the run, and precise ones chosen by the simulators, which kill the
sync process right before or right after they apply its n-th request, so the dangerous windows (QuickBooks has
the document, the ledger does not know yet) are hit on purpose rather than by luck. Every cycle adds fresh work
to the Linnworks account so each run has something to lose.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import random
import signal
import subprocess
import sys
import threading
import time
from collections import Counter

import pytest
from connex_linnworks.simulator import LinnworksSimulator
from connex_quickbooks_online.simulator import QuickBooksOnlineSimulator

from connex.simulation import SimClock
from connex.state import open_state
from tests.conftest import REPO, in_ci

# fifty kill points per flow under CI=true; twenty-five in a user's run keeps the whole suite within its budget
KILL_POINTS = 50 if in_ci() else 25


class Killer:
    """Kills the armed process when a simulator sees its n-th matching request (before or after applying it). A
    plan may name a fourth element, an endpoint the path must end with, to count only those requests (say the
    n-th stock write rather than the n-th request of any kind)."""

    def __init__(self):
        self.lock = threading.Lock()
        self.process: subprocess.Popen | None = None
        self.plan: tuple | None = None  # (simulator, "before"|"after", n[, endpoint])
        self.seen: Counter = Counter()
        self.fired = False

    def arm(self, process, plan):
        with self.lock:
            self.process, self.plan, self.seen, self.fired = process, plan, Counter(), False

    def disarm(self):
        with self.lock:
            self.process, self.plan = None, None

    def hook(self, simulator_name: str, original):
        def dispatch(request):
            if request.path.startswith("/_sim/") or "oauth2" in request.path:
                return original(request)  # token refreshes are OAuth's own hazard, not the ledger's
            self._maybe_kill(simulator_name, "before", request.path)
            response = original(request)
            self._maybe_kill(simulator_name, "after", request.path)
            return response

        return dispatch

    def _maybe_kill(self, simulator_name: str, moment: str, path: str = ""):
        with self.lock:
            if self.plan is None or self.fired or self.plan[0] != simulator_name:
                return
            if len(self.plan) > 3 and not path.endswith(self.plan[3]):
                return
            if moment == "before":
                self.seen[simulator_name] += 1
            if self.plan[1] == moment and self.seen[simulator_name] == self.plan[2]:
                self.fired = True
                os.kill(self.process.pid, signal.SIGKILL)


@pytest.fixture(params=["sqlite", "postgresql"])
def rig(request, tmp_path):
    # a hundred short-lived processes in a few minutes exceed both APIs' per-minute quotas (each killed run re-reads
    # its page), which one process stays under by design (tested in each connector's suite); here the quotas would
    # only add Retry-After waits, so Linnworks' minute is scaled and QuickBooks' quotas are off
    lw = LinnworksSimulator(processed_orders=10, open_orders=0, purchase_orders=4, clock=SimClock(scale=30)).start()
    qbo = QuickBooksOnlineSimulator(enforce_limits=False).start()
    killer = Killer()
    lw.dispatch = killer.hook("linnworks", lw.dispatch)
    qbo.dispatch = killer.hook("quickbooks_online", qbo.dispatch)
    config = {
        "source": {"plugin": "linnworks", **lw.connector_config()},
        "target": {"plugin": "quickbooks_online", "missing_items": "create_non_inventory",
                   **qbo.connector_config()},
        "sync": {"from_date": "2020-01-01", "purchases": True},
        "state": "connex.db",
    }
    if request.param == "postgresql":
        if not in_ci():
            lw.stop()
            qbo.stop()
            pytest.skip("the SIGKILL campaign on PostgreSQL doubles the campaign's time: it runs under CI=true")
        config["state"] = request.getfixturevalue("postgres").new_database()
    (tmp_path / "connex.yaml").write_text(json.dumps(config))
    yield tmp_path, lw, qbo, killer
    qbo.stop()
    lw.stop()


def state_of(folder):
    """The store the rig's config names: the SQLite file beside it, or the PostgreSQL database."""
    target = json.loads((folder / "connex.yaml").read_text())["state"]
    return open_state(target if "://" in target else folder / target)


def start_sync(folder, flow, *extra):
    return subprocess.Popen([sys.executable, "-m", "connex", "sync", "--once", "--no-progress", "--flow", flow,
                             *extra], cwd=folder, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            env={**os.environ, "PYTHONPATH": str(REPO)})


def run_seconds(folder, flow) -> float:
    """How long a run of ``flow`` lasts on this machine, start-up included: a dry run reads and maps the same
    work and writes nothing. Random kill moments are drawn within it, so they land while the sync runs however
    fast the machine or Connex is (a fixed range left most of them after the end once runs got shorter)."""
    started = time.perf_counter()
    process = start_sync(folder, flow, "--dry-run")
    out, err = process.communicate(timeout=120)
    assert process.returncode in (0, 1), out + err
    return time.perf_counter() - started


def add_work(lw, flow, cycle):
    if flow == "orders":
        base = dt.datetime(2026, 1, 1, tzinfo=dt.UTC) + dt.timedelta(hours=cycle)
        for n in range(4):
            lw.account.add_processed_order(processed_at=base + dt.timedelta(minutes=n))
    else:
        for n in range(2):
            lw.account._seed_po(100 + cycle * 2 + n)


def random_plan(rng: random.Random, split: float, target: str = "quickbooks_online"):
    """A kill point drawn at random: a moment of the run three times in ten, else right before or after one of
    the first requests the target (up to ``split``) or Linnworks (the rest) sees; a run makes only a few requests
    of each simulator, so a later n would let it finish unkilled."""
    choice = rng.random()
    if choice < 0.3:
        return MOMENT
    simulator = target if choice < split else "linnworks"
    return (simulator, rng.choice(["before", "after"]), rng.randint(1, 3))


MOMENT = "moment"


def kill_loop(killer: Killer, rng: random.Random, cycles: int, *, launch, duration: float, split: float = 0.8,
              plan=None, between=None, timeout: float = 120) -> Counter:
    """The SIGKILL campaigns' loop: ``cycles`` runs, each started by ``launch(cycle)`` (which adds the cycle's work
    first) and killed at the point ``plan(cycle, rng)`` names (default ``random_plan`` with ``split``): ``MOMENT``,
    a random moment within ``duration`` seconds, or a ``Killer`` plan. ``between(cycle)`` runs after each cycle.
    Returns how many runs were killed, by kind of kill point."""
    kinds = Counter()
    for cycle in range(cycles):
        process = launch(cycle)
        chosen = plan(cycle, rng) if plan else random_plan(rng, split)
        if chosen == MOMENT:
            killer.arm(process, None)
            time.sleep(rng.uniform(0.05, 0.95) * duration)
            if process.poll() is None:
                process.send_signal(signal.SIGKILL)
                kinds[MOMENT] += 1
        else:
            killer.arm(process, chosen)
        process.communicate(timeout=timeout)
        if killer.fired:
            kinds[f"{killer.plan[0]}:{killer.plan[1]}"] += 1
        killer.disarm()
        if between:
            between(cycle)
    return kinds


def kill_cycles(rig, flow, rng, cycles: int = KILL_POINTS):
    folder, lw, qbo, killer = rig
    add_work(lw, flow, 0)
    duration = run_seconds(folder, flow)

    def launch(cycle):
        if cycle:
            add_work(lw, flow, cycle)
        return start_sync(folder, flow)

    return kill_loop(killer, rng, cycles, launch=launch, duration=duration, split=0.8)


def finish(folder):
    process = start_sync(folder, "orders")
    out, err = process.communicate(timeout=180)
    assert process.returncode in (0, 1), out + err
    process = start_sync(folder, "purchases")
    out, err = process.communicate(timeout=180)
    assert process.returncode in (0, 1), out + err


def test_orders_exactly_once_over_kill_points(rig):
    folder, lw, qbo, _ = rig
    kinds = kill_cycles(rig, "orders", random.Random(1729))
    assert sum(kinds.values()) >= KILL_POINTS * 0.8, kinds  # most cycles were really killed mid-run
    assert kinds["quickbooks_online:after"] >= 5 and kinds["quickbooks_online:before"] >= 5, kinds
    finish(folder)
    expected = {str(o["NumOrderId"]) for _, _, oid in lw.account.processed_index
                if not (o := lw.account.order(oid))["GeneralInfo"].get("HoldOrCancel")}
    numbers = Counter(r["DocNumber"] for r in qbo.entities("SalesReceipt"))
    assert set(numbers) == expected
    assert [n for n, count in numbers.items() if count > 1] == []
    state = state_of(folder)
    assert state.rows(status="in_flight") == []
    assert state.counts()["orders"].get("posted", 0) + state.counts()["orders"].get("exists", 0) == len(expected)


def test_purchases_exactly_once_over_kill_points(rig):
    folder, lw, qbo, _ = rig
    kinds = kill_cycles(rig, "purchases", random.Random(4242))
    assert sum(kinds.values()) >= KILL_POINTS * 0.8, kinds
    finish(folder)
    pos = Counter(r["DocNumber"] for r in qbo.entities("PurchaseOrder"))
    bills = Counter(r.get("DocNumber") for r in qbo.entities("Bill"))
    assert [n for n, count in pos.items() if count > 1] == []
    assert [n for n, count in bills.items() if count > 1] == []
    headers = [po["PurchaseOrderHeader"] for po in lw.account.purchase_orders.values()]
    assert set(pos) == {h["ExternalInvoiceNumber"] for h in headers}
    assert set(bills) == {h["ExternalInvoiceNumber"] for h in headers if h["Status"] != "PENDING"}
    assert state_of(folder).rows(status="in_flight") == []
