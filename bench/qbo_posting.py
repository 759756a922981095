"""Benchmark: sync N sales documents into the QuickBooks Online simulator through the real connector.

    .venv/bin/python bench/qbo_posting.py            # 2,000 orders, simulator clock x60
    .venv/bin/python bench/qbo_posting.py --quick    # 300 orders, well under a minute

Reports QuickBooks requests per synced order and the wall time against the lower bound Intuit's batch limit
implies (40 batches of 30 a minute). The simulator enforces the real limits on a scaled clock, and the
connector's own throttle runs on that same clock, so "a minute" lasts 60/scale real seconds for both sides.
"""

from __future__ import annotations

import argparse
import math
import sys
import time
from pathlib import Path

from connex_quickbooks_online.client import BATCH_MAX_ITEMS, BATCHES_PER_MINUTE
from connex_quickbooks_online.connector import QuickBooksOnlineTarget
from connex_quickbooks_online.simulator import QuickBooksOnlineSimulator

from connex.simulation.server import SimClock
from connex.transport import RetryPolicy

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests" / "quickbooks_online"))
from qbo_factories import random_sales  # noqa: E402 - shared with the tests: one definition of "realistic"


class MemoryStore:
    def __init__(self):
        self.data = {}

    def get(self, key):
        return self.data.get(key)

    def put(self, key, value):
        self.data[key] = value


def run(orders: int, scale: float, per_call: int) -> dict:
    docs = random_sales(orders, seed=2026)
    clock = SimClock(scale=scale)
    with QuickBooksOnlineSimulator(clock=clock) as sim:
        target = QuickBooksOnlineTarget(
            sim.connector_config(),
            state=MemoryStore(),
            retry=RetryPolicy(max_attempts=8, base_delay=2.0, max_delay=60.0, time_budget=600.0),
            clock=clock.now,
            sleep=lambda seconds: time.sleep(seconds / scale),
        )
        started = time.perf_counter()
        results = []
        for start in range(0, len(docs), per_call):  # the engine hands over a few hundred documents at a time
            results += target.post_documents(docs[start : start + per_call])
        wall = time.perf_counter() - started
        target.close()
        stats = dict(sim.stats)
    posted = sum(r.status == "posted" for r in results)
    api = {k: v for k, v in stats.items() if k in ("batch", "query", "read", "create")}
    requests = sum(api.values())
    doc_batches = math.ceil(orders / BATCH_MAX_ITEMS)
    # The first 40 batches go at once; every further 40 wait for the window to slide one minute.
    bound_sim_seconds = max(0, math.ceil(stats.get("batch", 0) / BATCHES_PER_MINUTE) - 1) * 60.0
    return {
        "orders": orders,
        "posted": posted,
        "failed": len(results) - posted,
        "requests": requests,
        "requests_per_order": requests / orders,
        "batches": stats.get("batch", 0),
        "document_batches": doc_batches,
        "reads": stats.get("reads", 0),
        "token_refreshes": stats.get("oauth:token", 0),
        "rate_limited_429": stats.get("rate_limited", 0),
        "wall_seconds": wall,
        "bound_seconds": bound_sim_seconds / scale,
        "scale": scale,
        "sim_minutes": wall * scale / 60.0,
        "bound_sim_minutes": bound_sim_seconds / 60.0,
    }


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--orders", type=int, default=2000)
    parser.add_argument("--scale", type=float, default=60.0, help="simulated seconds per real second")
    parser.add_argument("--per-call", type=int, default=250, help="documents per post_documents call")
    parser.add_argument("--quick", action="store_true", help="300 orders")
    args = parser.parse_args(argv)
    orders = 300 if args.quick else args.orders
    r = run(orders, args.scale, args.per_call)
    print(f"orders synced            {r['posted']} of {r['orders']} ({r['failed']} failed)")
    print(
        f"QuickBooks requests      {r['requests']} = {r['requests_per_order']:.3f} per order "
        f"({r['batches']} batches for {r['document_batches']} document batches, {r['reads']} reads, "
        f"+{r['token_refreshes']} token refresh)"
    )
    print(f"429s from the simulator  {r['rate_limited_429']}")
    print(
        f"wall time                {r['wall_seconds']:.2f} s at clock x{r['scale']:g} "
        f"= {r['sim_minutes']:.2f} simulated minutes"
    )
    print(
        f"batch-limit lower bound  {r['bound_seconds']:.2f} s = {r['bound_sim_minutes']:.2f} simulated "
        "minutes (40 batches of 30 per minute)"
    )
    if r["bound_seconds"]:
        print(f"ratio to the bound       {r['wall_seconds'] / r['bound_seconds']:.2f}")
    return 0 if r["failed"] == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
