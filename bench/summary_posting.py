"""Benchmark: QuickBooks requests per order with summary postings against one document per order.

The same month of Linnworks orders (several stores and currencies) is synced side by side in each run, through
the real engine, connectors and SQLite ledger, with ``sync.posting: per_order``, with ``sync.posting: summary``
(daily summaries per store and currency) and with summaries posted as journal entries
(``sync.summary.document: journal_entry``), each into fresh simulators, on three schedules: a backfill (the month
in one pass), a pass every 24 hours and a pass every ``--every`` hours (4), each pass seeing the orders processed
by its time of the month; summaries close at the first pass 2 hours after their day.
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
from connex.sync.summary_flow import SummaryFlow  # noqa: E402

MODES = ("per_order", "summary", "journal")  # journal: summaries posted as journal entries


def month_of_orders(orders: int, days: int, seed: int) -> list[tuple[dt.datetime, int]]:
    """(processed time, order template) of each order, in time order: the same month for every scenario."""
    rng = random.Random(seed)
    first = dt.datetime.now(dt.UTC).replace(hour=0, minute=0, second=0, microsecond=0) - dt.timedelta(days=days + 3)
    return sorted((first + dt.timedelta(days=n * days // orders, hours=rng.randint(7, 22), minutes=rng.randint(0, 59)),
                   rng.randint(0, 5)) for n in range(orders))


def sync_month(month, mode: str, every_hours: float | None) -> dict:
    """The month into fresh simulators: one pass after it (``every_hours`` None: a backfill), or a pass every so
    many hours of the month, each seeing the orders processed by then; the summary flow's clock is the pass's."""
    start = month[0][0].replace(hour=0, minute=0)
    end = month[-1][0].replace(hour=0, minute=0) + dt.timedelta(days=1, hours=3)  # the last day's close is due
    step = dt.timedelta(hours=every_hours) if every_hours else end - start
    with tempfile.TemporaryDirectory() as tmp, \
            LinnworksSimulator(processed_orders=0, open_orders=0, purchase_orders=0, refunds=False) as lw, \
            QuickBooksOnlineSimulator(company="us", enforce_limits=False) as qbo:
        folder = Path(tmp)
        config = {
            "source": {"plugin": "linnworks", **lw.connector_config()},
            "target": {"plugin": "quickbooks_online", "missing_items": "create_non_inventory",
                       **qbo.connector_config()},
            "sync": {"from_date": "2020-01-01", "posting": "per_order" if mode == "per_order" else "summary",
                     "customer_matching": "store_name_currency"},
            "state": "connex.db",
        }
        if mode == "journal":  # a US company: the tax goes to its liability account (journal lines take no code)
            config["sync"]["summary"] = {"document": "journal_entry", "tax_account": "Sales Tax Payable"}
            qbo.company.store("Account", {"Name": "Sales Tax Payable", "AccountType": "Other Current Liability",
                                          "AccountSubType": "SalesTaxPayable", "Active": True,
                                          "CurrencyRef": {"value": qbo.company.home_currency}})
        (folder / "connex.yaml").write_text(json.dumps(config))
        wall, added, passes, now = 0.0, 0, 0, start
        while now < end:
            now = min(now + step, end)
            while added < len(month) and month[added][0] < now:
                lw.account.add_processed_order(processed_at=month[added][0], template=month[added][1])
                added += 1
            wall += sync_pass(folder, now)
            passes += 1
        requests = sum(v for k, v in qbo.stats.items() if k in ("oauth:token", "batch", "query", "exchangerate",
                                                                "read", "create"))
        documents = len(qbo.entities("JournalEntry" if mode == "journal" else "SalesReceipt"))
    return {"requests": requests, "documents": documents, "wall": wall, "passes": passes}


def sync_pass(folder: Path, now: dt.datetime) -> float:
    SummaryFlow.clock = staticmethod(lambda: now)  # the pass happens at ``now`` of the simulated month
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
    parser.add_argument("--every", type=float, default=4.0, help="hours between passes of the frequent schedule")
    parser.add_argument("--quick", action="store_true", help="300 orders over 10 days, 3 runs")
    parser.add_argument("--modes", default=",".join(MODES), help=f"which of {', '.join(MODES)} to run")
    args = parser.parse_args(argv)
    if args.quick:
        args.orders, args.days = 300, 10
    schedules = {"backfill": None, "every 24 h": 24.0, f"every {args.every:g} h": args.every}
    modes = [m for m in MODES if m in args.modes.split(",")]
    scenarios = [(passes, mode) for passes in schedules for mode in modes]
    figures = {key: {"per_order": [], "documents": [], "wall": []} for key in scenarios}
    for run in range(args.runs):
        month = month_of_orders(args.orders, args.days, seed=2026 + run)
        for passes, mode in scenarios:  # side by side: the same orders, the same machine load
            result = sync_month(month, mode, schedules[passes])
            figures[(passes, mode)]["per_order"].append(result["requests"] / args.orders)
            figures[(passes, mode)]["documents"].append(result["documents"])
            figures[(passes, mode)]["wall"].append(result["wall"])
            print(f"run {run + 1} {passes} ({result['passes']} passes) {mode}: {result['requests']} QuickBooks "
                  f"requests for {args.orders} orders, {result['documents']} documents, {result['wall']:.1f} s",
                  flush=True)
    print(f"\n{args.orders} orders over {args.days} days, {args.runs} runs: median (min-max)")
    print("| passes | posting | QuickBooks requests per order | documents created | sync wall seconds |")
    print("|---|---|---|---|---|")
    for passes, mode in scenarios:
        f = figures[(passes, mode)]
        print(f"| {passes} | {mode} | {spread(f['per_order'])} | {spread(f['documents'])} | {spread(f['wall'])} |")
    for passes in schedules:
        for over, under in (("per_order", "summary"), ("journal", "summary")):
            if over in modes and under in modes:
                ratio = [a / b for a, b in zip(figures[(passes, over)]["per_order"],
                                               figures[(passes, under)]["per_order"])]
                print(f"{passes}: {over} / {under} requests: {spread(ratio)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
