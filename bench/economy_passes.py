"""What a pass costs at any history size: refunds, stock levels and exchange rates (issue 16), side by side.

Every figure counts requests that reached the simulators (their per-route counters: one per HTTP request
routed, throttled ones included), never a client-side counter. The simulators and the connectors' throttles run
on a clock scaled ``--scale`` times so Linnworks' 150 calls a minute do not take real minutes; request counts do
not depend on the clock.

    .venv/bin/python bench/economy_passes.py [--refunds 10000] [--skus 5000] [--orders 2000] [--scale 600]
    .venv/bin/python bench/economy_passes.py --quick
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import math
import sys
import tempfile
import time
from pathlib import Path

from connex_linnworks.connector import LinnworksSource
from connex_linnworks.simulator import LinnworksSimulator
from connex_quickbooks_online.connector import QuickBooksOnlineTarget
from connex_quickbooks_online.simulator import QuickBooksOnlineSimulator

from connex.config import load_config
from connex.plugin_manager import get_plugins
from connex.simulation.server import SimClock
from connex.state import open_state
from connex.sync.engine import SyncEngine
from connex.sync.report import RunOptions
from connex.transport import RateLimiter

QBO_ROUTES = ("oauth:token", "batch", "query", "exchangerate", "read", "create")
NOW = dt.datetime.now(dt.UTC).replace(microsecond=0)


def linnworks_requests(sim) -> int:
    """Requests routed to a Linnworks method (route names are ``Controller/Method``)."""
    with sim.lock:
        return sum(v for k, v in sim.stats.items() if "/" in k and not k.startswith("fault"))


def quickbooks_requests(sim) -> dict[str, int]:
    with sim.lock:
        return {route: sim.stats.get(route, 0) for route in QBO_ROUTES}


class Rig:
    def __init__(self, folder: Path, lw, qbo, scale: float, **sync):
        self.folder, self.lw, self.qbo, self.scale = folder, lw, qbo, scale
        self.rate_queries = 0
        original = qbo._query_exchange_rates

        def counted(parsed):
            self.rate_queries += 1
            return original(parsed)

        qbo._query_exchange_rates = counted
        config = {"source": {"plugin": "linnworks", **lw.connector_config()},
                  "target": {"plugin": "quickbooks_online", "missing_items": "create_non_inventory",
                             **qbo.connector_config()},
                  "sync": {"from_date": (NOW - dt.timedelta(days=420)).date().isoformat(), **sync},
                  "state": "connex.db"}
        (folder / "connex.yaml").write_text(json.dumps(config))

    def run(self, flow: str) -> dict:
        origin = time.monotonic()

        def clock() -> float:
            return (time.monotonic() - origin) * self.scale

        def sleep(seconds: float) -> None:
            time.sleep(seconds / self.scale)

        plugins = get_plugins()
        config = load_config(self.folder / "connex.yaml", plugins)
        state = open_state(config.state_path)
        source = LinnworksSource(config.source, state=state, limiter=RateLimiter(clock=clock, sleep=sleep))
        target = QuickBooksOnlineTarget(config.target, state=state, clock=clock, sleep=sleep)
        engine = SyncEngine(config, plugins, state, source=source, target=target)
        lw_before, qbo_before = linnworks_requests(self.lw), quickbooks_requests(self.qbo)
        rate_before = self.rate_queries + self.qbo.stats.get("exchangerate", 0)
        audit = self.lw.account.stock_audit
        started = time.perf_counter()
        try:
            (report,) = engine.run([flow], RunOptions())
        finally:
            engine.close()
            state.close()
        qbo_after = quickbooks_requests(self.qbo)
        return {
            "posted": report.counts["posted"], "failed": len(report.failures),
            "linnworks_requests": linnworks_requests(self.lw) - lw_before,
            "quickbooks_requests": sum(qbo_after.values()) - sum(qbo_before.values()),
            "quickbooks_batches": qbo_after["batch"] - qbo_before["batch"],
            "rate_reads": self.rate_queries + self.qbo.stats.get("exchangerate", 0) - rate_before,
            "levels_written": self.lw.account.stock_audit - audit,
            "wall_seconds": round(time.perf_counter() - started, 2),
        }


def simulators(scale: float, home: str = "USD", **lw):
    lw_sim = LinnworksSimulator(open_orders=0, purchase_orders=0, refunds=False, clock=SimClock(scale), **lw).start()
    qbo_sim = QuickBooksOnlineSimulator(home_currency=home, clock=SimClock(scale)).start()
    return lw_sim, qbo_sim


def refunds(history: int, scale: float) -> dict:
    """First load of ``history`` refunds actioned over a year, then a pass with 5 new ones."""
    lw, qbo = simulators(scale, processed_orders=max(history, 20))
    try:
        lw.account.add_refund_history(history, first_action=NOW - dt.timedelta(days=380),
                                      every=dt.timedelta(days=365) / history)
        with tempfile.TemporaryDirectory() as folder:
            rig = Rig(Path(folder), lw, qbo, scale, orders="off", refunds=True)
            first = rig.run("refunds")
            for n in range(5):
                order_id = lw.account.processed_index[n][2]
                header = lw.book_refund(order_id, lines=None, shipping=True)
                lw.action_refund(header["RefundHeaderId"], at=NOW - dt.timedelta(minutes=30 - n))
            incremental = rig.run("refunds")
    finally:
        lw.stop()
        qbo.stop()
    minimum = math.ceil(first["posted"] / 30)
    return {"history": history, "first_load": first, "batches_minimum": minimum,
            "batches_over_minimum": round(first["quickbooks_batches"] / minimum - 1, 4) if minimum else None,
            "incremental_5_new": incremental}


def stock(skus: int, scale: float) -> dict:
    lw, qbo = simulators(scale, processed_orders=0)
    try:
        names = lw.account.add_stock_items(skus, prefix="STK")
        items = {}
        for n, sku in enumerate(names):
            items[sku] = qbo.company.store("Item", {
                "Name": f"Stock {sku}", "FullyQualifiedName": f"Stock {sku}", "Sku": sku, "Type": "Inventory",
                "Active": True, "TrackQtyOnHand": True, "QtyOnHand": 5 + n % 50, "InvStartDate": "2025-01-01"})
        with tempfile.TemporaryDirectory() as folder:
            rig = Rig(Path(folder), lw, qbo, scale, orders="off", inventory=True)
            out = {"skus": skus, "first": rig.run("inventory"), "nothing_changed": rig.run("inventory")}
            with qbo.company.lock:
                for sku in names[100:105]:
                    items[sku]["QtyOnHand"] = 999
            out["five_changed"] = rig.run("inventory")
            for sku in names[200:205]:  # sales in Linnworks behind Connex's back, then a day passes
                lw.account.set_stock(sku, lw.account.locations[0]["StockLocationId"], 0)
            state = open_state(Path(folder) / "connex.db")
            state.put("inventory:last_full_pass", (NOW - dt.timedelta(days=2)).isoformat())
            state.close()
            out["daily_full_pass_5_drifted"] = rig.run("inventory")
    finally:
        lw.stop()
        qbo.stop()
    return out


def exchange_rates(orders: int, scale: float) -> dict:
    """``orders`` orders over 365 days in GBP, EUR and USD to a CAD company: three foreign currencies."""
    lw, qbo = simulators(scale, home="CAD", processed_orders=0)
    try:
        for n in range(orders):
            lw.add_processed_order(processed_at=NOW - dt.timedelta(days=365) + n * dt.timedelta(days=364) / orders,
                                   template=n)
        with tempfile.TemporaryDirectory() as folder:
            rig = Rig(Path(folder), lw, qbo, scale)
            first = rig.run("orders")
            for n in range(50):  # later orders the same day, dated across the same year
                lw.add_processed_order(processed_at=NOW - dt.timedelta(minutes=50 - n), template=n)
            second = rig.run("orders")
    finally:
        lw.stop()
        qbo.stop()
    first["quickbooks_requests_per_order"] = round(first["quickbooks_requests"] / max(first["posted"], 1), 4)
    return {"orders": orders, "foreign_currencies": ["GBP", "EUR", "USD"], "first_sync": first,
            "second_pass_same_day": second}


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--refunds", type=int, nargs=2, default=(100, 10000), metavar=("SMALL", "LARGE"))
    parser.add_argument("--skus", type=int, default=5000)
    parser.add_argument("--orders", type=int, default=2000)
    parser.add_argument("--scale", type=float, default=600.0)
    parser.add_argument("--quick", action="store_true", help="small sizes: 50 vs 400 refunds, 500 SKUs, 300 orders")
    args = parser.parse_args(argv)
    small, large = (50, 400) if args.quick else args.refunds
    skus, orders = (500, 300) if args.quick else (args.skus, args.orders)
    print(json.dumps({"refunds": [refunds(small, args.scale), refunds(large, args.scale)]}), flush=True)
    print(json.dumps({"stock": stock(skus, args.scale)}), flush=True)
    print(json.dumps({"exchange_rates": exchange_rates(orders, args.scale)}), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
