"""SIGKILL campaigns for the readers of issue 16: refunds read by action-date windows (with documents packed
across pages into QuickBooks batches) and exchange rates read from QuickBooks into the state database's table.
Same method as test_crash_safety.py: killed at random moments and right before or after the n-th request a
simulator sees, resumed, and QuickBooks ends with every document exactly once."""

from __future__ import annotations

import datetime as dt
import json
import random
from collections import Counter

import pytest
from connex_linnworks.simulator import LinnworksSimulator
from connex_quickbooks_online.simulator import QuickBooksOnlineSimulator

from connex.simulation import SimClock
from connex.state import open_state
from tests.sync.test_crash_safety import Killer, kill_loop, run_seconds, start_sync

KILL_POINTS = 25
NOW = dt.datetime.now(dt.UTC).replace(microsecond=0)


def make_rig(tmp_path, *, home="USD", processed=60, days=200, **sync):
    lw = LinnworksSimulator(processed_orders=processed, open_orders=0, purchase_orders=0, refunds=False,
                            clock=SimClock(scale=30)).start()
    qbo = QuickBooksOnlineSimulator(enforce_limits=False, home_currency=home).start()
    killer = Killer()
    lw.dispatch = killer.hook("linnworks", lw.dispatch)
    qbo.dispatch = killer.hook("quickbooks_online", qbo.dispatch)
    config = {
        "source": {"plugin": "linnworks", "page_size": 20, **lw.connector_config()},
        "target": {"plugin": "quickbooks_online", "missing_items": "create_non_inventory",
                   **qbo.connector_config()},
        "sync": {"from_date": (NOW - dt.timedelta(days=days)).date().isoformat(), **sync},
        "state": "connex.db",
    }
    (tmp_path / "connex.yaml").write_text(json.dumps(config))
    return lw, qbo, killer


@pytest.fixture
def rigs(tmp_path):
    made = []

    def make(**kwargs):
        made.append(make_rig(tmp_path, **kwargs))
        return made[-1]

    yield make
    for lw, qbo, _ in made:
        qbo.stop()
        lw.stop()


def campaign(folder, flow, killer, add_work, rng) -> Counter:
    add_work(0)
    duration = run_seconds(folder, flow)

    def launch(cycle):
        if cycle:
            add_work(cycle)
        return start_sync(folder, flow)

    kinds = kill_loop(killer, rng, KILL_POINTS, launch=launch, duration=duration, split=0.75)
    process = start_sync(folder, flow)
    out, err = process.communicate(timeout=180)
    assert process.returncode in (0, 1), out + err
    return kinds


def test_windowed_refunds_exactly_once_over_kill_points(rigs, tmp_path):
    lw, qbo, killer = rigs(orders="off", refunds=True)
    actioned = set()

    def add_work(cycle):
        # refunds spread over the last 200 days (several 3-month windows), a few actioned, one only booked
        for n in range(6 if cycle == 0 else 2):
            order_id = lw.account.processed_index[(cycle * 7 + n) % 60][2]
            header = lw.book_refund(order_id, lines=[(lw.order(order_id)["Items"][0]["SKU"], 1)])
            if n != 1:
                # the first cycle's history spans several windows; later refunds are actioned as the cycles run
                when = (NOW - dt.timedelta(days=190 - n * 30) if cycle == 0
                        else dt.datetime.now(dt.UTC) - dt.timedelta(seconds=5 - n))
                lw.action_refund(header["RefundHeaderId"], at=when)
                actioned.add(f"{header['NumOrderId']}-R{header['RefundHeaderId']}")

    kinds = campaign(tmp_path, "refunds", killer, add_work, random.Random(1616))
    numbers = Counter(r["DocNumber"] for r in qbo.entities("RefundReceipt"))
    assert [n for n, count in numbers.items() if count > 1] == []
    assert set(numbers) == actioned
    assert open_state(tmp_path / "connex.db").rows(status="in_flight") == []
    # a refunds run is short (a few requests of each simulator): at least half the cycles were really killed
    assert sum(kinds.values()) >= KILL_POINTS * 0.5 and kinds["quickbooks_online:after"] >= 1, kinds


def test_rates_from_the_table_exactly_once_over_kill_points(rigs, tmp_path):
    lw, qbo, killer = rigs(home="CAD", processed=0, days=400)  # GBP, EUR and USD orders are all foreign

    def add_work(cycle):
        for n in range(4):
            lw.account.add_processed_order(processed_at=NOW - dt.timedelta(days=300 - cycle * 9 - n), template=n)

    kinds = campaign(tmp_path, "orders", killer, add_work, random.Random(1617))
    assert sum(kinds.values()) >= KILL_POINTS * 0.5 and kinds["quickbooks_online:after"] >= 1, kinds
    expected = {str(o["NumOrderId"]) for _, _, oid in lw.account.processed_index
                if not (o := lw.account.order(oid))["GeneralInfo"].get("HoldOrCancel")}
    receipts = qbo.entities("SalesReceipt")
    numbers = Counter(r["DocNumber"] for r in receipts)
    assert set(numbers) == expected and [n for n, c in numbers.items() if c > 1] == []
    for receipt in receipts:  # every foreign receipt took QuickBooks' rate for its date, never a silent 1.0
        code = receipt["CurrencyRef"]["value"]
        assert str(receipt["ExchangeRate"]) == str(qbo.company.rate_on(code, receipt["TxnDate"])), receipt["DocNumber"]
    state = open_state(tmp_path / "connex.db")
    assert state.rows(status="in_flight") == []
    stored = state.exchange_rates(qbo.company.realm_id, "GBP", "2000-01-01", "2100-01-01")
    assert stored and all(rate == qbo.company.rate_on("GBP", day) for day, rate in stored.items())
