"""Benchmark: QuickBooks requests per order with summary postings against one document per order.

The same month of Linnworks orders (several stores and currencies) is synced side by side in each run, through
the real engine, connectors and SQLite ledger, with ``sync.posting: per_order`` and with ``sync.posting: summary``
(daily summaries per store and currency), each into fresh simulators, in two ways: a backfill (the month in one
pass) and daily passes (each day's orders arrive, then a pass; with summaries each pass posts that day's).
Reported: QuickBooks requests per order (every request that reached a QuickBooks route: the
OAuth token, queries, batches, exchange rates), documents created, and the sync's wall time, as median and
min-max over ``--runs`` runs (different order sets).

    .venv/bin/python bench/summary_posting.py [--orders 1500] [--days 30] [--runs 3]
    .venv/bin/python bench/summary_posting.py --quick
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from connex_linnworks.simulator import LinnworksSimulator  # noqa: E402
from connex_quickbooks_online.simulator import QuickBooksOnlineSimulator  # noqa: E402

from connex.config import load_config  # noqa: E402
from connex.plugin_manager import get_plugins  # noqa: E402
from connex.state import open_state  # noqa: E402
from connex.sync.engine import SyncEngine  # noqa: E402
from connex.sync.report import RunOptions  # noqa: E402

MODES = ("per_order", "summary")


def day_plan(orders: int, days: int, seed: int) -> list[list[tuple[dt.datetime, int]]]:
    """Per day, the (processed time, order template) of its orders: the same month for both modes."""
    rng = random.Random(seed)
    first = dt.datetime.now(dt.UTC).replace(hour=0, minute=0, second=0, microsecond=0) - dt.timedelta(days=days + 3)
    plan: list[list[tuple[dt.datetime, int]]] = [[] for _ in range(days)]
    for n in range(orders):
        index = n * days // orders
        when = first + dt.timedelta(days=index, hours=rng.randint(7, 22), minutes=rng.randint(0, 59))
        plan[index].append((when, rng.randint(0, 5)))
    return plan


def sync_month(plan, mode: str, passes: str) -> dict:
    """The month of ``plan`` into a fresh QuickBooks: one pass at the end (backfill), or one after each day."""
    with tempfile.TemporaryDirectory() as tmp, \
            LinnworksSimulator(processed_orders=0, open_orders=0, purchase_orders=0, refunds=False) as lw, \
            QuickBooksOnlineSimulator(company="us", enforce_limits=False) as qbo:
        folder = Path(tmp)
        config = {
            "source": {"plugin": "linnworks", **lw.connector_config()},
            "target": {"plugin": "quickbooks_online", "missing_items": "create_non_inventory",
                       **qbo.connector_config()},
            "sync": {"from_date": "2020-01-01", "posting": mode, "customer_matching": "store_name_currency"},
            "state": "connex.db",
        }
        (folder / "connex.yaml").write_text(json.dumps(config))
        wall = 0.0
        for index, day in enumerate(plan):
            for when, template in day:
                lw.account.add_processed_order(processed_at=when, template=template)
            if passes == "daily" or index == len(plan) - 1:
                wall += sync_pass(folder)
        requests = sum(v for k, v in qbo.stats.items() if k in ("oauth:token", "batch", "query", "exchangerate",
                                                                "read", "create"))
        documents = len(qbo.entities("SalesReceipt"))
    return {"requests": requests, "documents": documents, "wall": wall}


def sync_pass(folder: Path) -> float:
    plugins = get_plugins()
    engine = SyncEngine(load_config(folder / "connex.yaml", plugins), plugins, open_state(folder / "connex.db"))
    started = time.perf_counter()
    try:
        [report] = engine.run(["orders"], RunOptions())
    finally:
        engine.close()
        engine.state.close()
    if report.failures:
        raise RuntimeError(f"{len(report.failures)} failed, e.g. {report.failures[0]}")
    return time.perf_counter() - started


def spread(values: list[float]) -> str:
    return f"{statistics.median(values):.4g} ({min(values):.4g}-{max(values):.4g})"


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--orders", type=int, default=1500)
    parser.add_argument("--days", type=int, default=30)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--quick", action="store_true", help="300 orders over 10 days, 3 runs")
    args = parser.parse_args(argv)
    if args.quick:
        args.orders, args.days = 300, 10
    scenarios = [(passes, mode) for passes in ("backfill", "daily") for mode in MODES]
    figures = {key: {"per_order": [], "documents": [], "wall": []} for key in scenarios}
    for run in range(args.runs):
        plan = day_plan(args.orders, args.days, seed=2026 + run)
        for passes, mode in scenarios:  # side by side: the same orders, the same machine load
            result = sync_month(plan, mode, passes)
            figures[(passes, mode)]["per_order"].append(result["requests"] / args.orders)
            figures[(passes, mode)]["documents"].append(result["documents"])
            figures[(passes, mode)]["wall"].append(result["wall"])
            print(f"run {run + 1} {passes} {mode}: {result['requests']} QuickBooks requests for {args.orders} "
                  f"orders, {result['documents']} receipts, {result['wall']:.1f} s", flush=True)
    print(f"\n{args.orders} orders over {args.days} days, {args.runs} runs: median (min-max)")
    print("| passes | posting | QuickBooks requests per order | sales receipts created | sync wall seconds |")
    print("|---|---|---|---|---|")
    for passes, mode in scenarios:
        f = figures[(passes, mode)]
        print(f"| {passes} | {mode} | {spread(f['per_order'])} | {spread(f['documents'])} | {spread(f['wall'])} |")
    for passes in ("backfill", "daily"):
        ratio = [a / b for a, b in zip(figures[(passes, "per_order")]["per_order"],
                                       figures[(passes, "summary")]["per_order"])]
        print(f"{passes}: per_order / summary requests: {spread(ratio)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
