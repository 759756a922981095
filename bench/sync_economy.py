"""API-call economy, wall time against QuickBooks' own limits, and flat memory, for a real sync.

Each measurement starts the Linnworks and QuickBooks Online simulators as processes of their own, then runs the
orders flow in a fresh child process, so the peak RSS measured (``os.wait4``) is the sync's alone. Both
simulators and both connectors' throttles run on a clock scaled ``--scale`` times, so Intuit's "40 batches a
minute" lasts 60/scale real seconds for every party, and the lower bound it sets is scaled the same way.

The figure that matters is the sync's own CPU seconds per 1,000 orders (``os.wait4``) against the seconds per
1,000 orders that the APIs' limits impose at the real clock for the requests the sync made: while CPU stays well
below that bound, the sync is API-bound and the scaled-clock wall ratio only measures this machine. Each economy
figure is given as median, min and max over ``--runs`` runs (3 by default).

    .venv/bin/python bench/sync_economy.py [--orders 2000] [--runs 3] [--memory 1000 20000] [--scale 10]
    .venv/bin/python bench/sync_economy.py --quick
"""

from __future__ import annotations

import argparse
import json
import math
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import requests
from connex_linnworks.limits import DEFAULT_LIMIT, RATE_LIMITS

ROOT = Path(__file__).resolve().parents[1]
BATCH_ITEMS, BATCHES_PER_MINUTE = 30, 40
QBO_ROUTES = ("oauth:token", "batch", "query", "exchangerate", "read", "create")
QBO_REQUESTS_PER_MINUTE = 500


def _simulator(module: str, *args: str) -> tuple[subprocess.Popen, dict]:
    process = subprocess.Popen([sys.executable, "-m", module, "--port", "0", *args], stdout=subprocess.PIPE,
                               stderr=subprocess.DEVNULL, text=True)
    first = process.stdout.readline()
    text = first
    while not _complete_json(text):  # the QBO simulator pretty-prints its block
        text += process.stdout.readline()
    return process, json.loads(text)


def _complete_json(text: str) -> bool:
    try:
        json.loads(text)
    except ValueError:
        return False
    return True


def run_sync(orders: int, scale: float) -> dict:
    """One orders sync of ``orders`` processed orders, measured from the outside."""
    lw, lw_info = _simulator("connex_linnworks.simulator", "--orders", str(orders), "--open-orders", "0",
                             "--purchase-orders", "0", "--clock-scale", str(scale))
    qbo, qbo_info = _simulator("connex_quickbooks_online.simulator", "--clock-scale", str(scale))
    try:
        with tempfile.TemporaryDirectory() as folder:
            target = {k: v for k, v in qbo_info.items() if k != "plugin"}
            config = {
                "source": lw_info["source"],
                "target": {"plugin": "quickbooks_online", "missing_items": "create_non_inventory", **target},
                "sync": {"from_date": "2020-01-01"}, "state": "connex.db",
            }
            (Path(folder) / "connex.yaml").write_text(json.dumps(config))
            child = subprocess.Popen([sys.executable, str(Path(__file__).resolve()), "--child", str(scale)],
                                     cwd=folder, stdout=subprocess.PIPE, text=True)
            output = child.stdout.read()
            _, status, usage = os.wait4(child.pid, 0)
            if status != 0:
                raise RuntimeError(f"the sync child failed ({status}): {output[-2000:]}")
            result = json.loads(output.strip().splitlines()[-1])
        lw_stats = requests.get(lw_info["url"] + "/_sim/stats", timeout=10).json()
        qbo_stats = requests.get(qbo_info["api_url"] + "/_sim/stats", timeout=10).json()
    finally:
        for process in (lw, qbo):
            process.terminate()
            process.wait(10)
    # requests that reached a route: Linnworks routes are "Controller/Method"; QuickBooks' are named below. The
    # simulators' other counters ("reads", "requestid_replays", "unauthorized", ...) describe requests already
    # counted under their route, and adding them counted some requests twice.
    lw_calls = sum(v for k, v in lw_stats.items() if "/" in k and not k.startswith("fault"))
    qbo_calls = sum(qbo_stats.get(route, 0) for route in QBO_ROUTES)
    posted = result["posted"]
    batches_needed = math.ceil(posted / BATCH_ITEMS)
    # the window slides: the first 40 batches go at once, each further 40 waits for the window to move a minute
    bound = (math.ceil(batches_needed / BATCHES_PER_MINUTE) - 1) * 60 / scale
    cpu = usage.ru_utime + usage.ru_stime
    # what QuickBooks' and Linnworks' own limits cost at the real clock: the slowest of the batch window, the
    # request window and each Linnworks endpoint's window, for the requests this sync really made
    lw_minutes = max((v / RATE_LIMITS.get(k, DEFAULT_LIMIT) for k, v in lw_stats.items() if "/" in k
                      and not k.startswith("fault")), default=0.0)
    api_bound = 60 * max(qbo_stats.get("batch", 0) / BATCHES_PER_MINUTE, qbo_calls / QBO_REQUESTS_PER_MINUTE,
                         lw_minutes)
    return {
        "cpu_seconds_per_1000": round(cpu * 1000 / max(posted, 1), 3),
        "api_bound_seconds_per_1000": round(api_bound * 1000 / max(posted, 1), 2),
        "orders": orders, "posted": posted, "scale": scale, "cores": os.cpu_count(),
        "linnworks_calls": lw_calls, "linnworks_calls_per_order": round(lw_calls / max(posted, 1), 4),
        "quickbooks_calls": qbo_calls, "quickbooks_calls_per_order": round(qbo_calls / max(posted, 1), 4),
        "quickbooks_429": qbo_stats.get("rate_limited", 0) + qbo_stats.get("rate_limited:concurrent", 0),
        "wall_seconds": round(result["wall"], 2), "lower_bound_seconds": round(bound, 2),
        "wall_over_bound": round(result["wall"] / bound, 2) if bound else None,
        "peak_rss_mb": round(usage.ru_maxrss / 1024, 1),
        # the sync's own work: wall time hides it while the sync waits for QuickBooks' rate window anyway
        "sync_cpu_seconds": round(usage.ru_utime + usage.ru_stime, 2),
    }


def spread(values: list) -> dict:
    """Median with the lowest and highest of the runs."""
    ordered = sorted(v for v in values if v is not None)
    if not ordered:
        return {}
    return {"median": ordered[len(ordered) // 2], "min": ordered[0], "max": ordered[-1], "runs": len(ordered)}


def child(scale: float) -> int:
    """The sync under measurement: connectors on the simulators' scaled clock, the real engine and ledger."""
    from connex_linnworks.connector import LinnworksSource
    from connex_quickbooks_online.connector import QuickBooksOnlineTarget

    from connex.config import load_config
    from connex.plugin_manager import get_plugins
    from connex.state import open_state
    from connex.sync.engine import SyncEngine
    from connex.sync.report import RunOptions
    from connex.transport import RateLimiter

    origin = time.monotonic()

    def clock() -> float:
        return (time.monotonic() - origin) * scale

    def sleep(seconds: float) -> None:
        time.sleep(seconds / scale)

    plugins = get_plugins()
    config = load_config("connex.yaml", plugins)
    state = open_state(config.state_path)
    source = LinnworksSource(config.source, state=state, limiter=RateLimiter(clock=clock, sleep=sleep))
    target = QuickBooksOnlineTarget(config.target, state=state, clock=clock, sleep=sleep)
    engine = SyncEngine(config, plugins, state, source=source, target=target)
    started = time.perf_counter()
    (report,) = engine.run(["orders"], RunOptions())
    wall = time.perf_counter() - started
    engine.close()
    print(json.dumps({"wall": wall, "posted": report.counts["posted"], "failed": len(report.failures)}))
    return 0


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--orders", type=int, default=2000)
    parser.add_argument("--memory", type=int, nargs=2, default=(1000, 20000), metavar=("SMALL", "LARGE"))
    parser.add_argument("--scale", type=float, default=10.0,
                        help="clock scale of the economy run: gentle, so the rate-limit bound, not CPU, dominates")
    parser.add_argument("--memory-scale", type=float, default=60.0, help="clock scale of the memory runs")
    parser.add_argument("--runs", type=int, default=3, help="economy runs, for each figure's spread")
    parser.add_argument("--quick", action="store_true", help="500 orders; memory at 500 vs 3,000")
    parser.add_argument("--child", type=float, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child is not None:
        return child(args.child)
    orders, (small, large) = (500, (500, 3000)) if args.quick else (args.orders, args.memory)
    runs = [run_sync(orders, args.scale) for _ in range(args.runs)]
    for run in runs:
        print(json.dumps({"economy": run}))
    print(json.dumps({"economy_spread": {key: spread([r[key] for r in runs]) for key in (
        "cpu_seconds_per_1000", "api_bound_seconds_per_1000", "quickbooks_calls_per_order",
        "linnworks_calls_per_order", "wall_over_bound")}}))
    low = run_sync(small, args.memory_scale)
    high = run_sync(large, args.memory_scale)
    print(json.dumps({"memory": {"small_orders": small, "small_peak_rss_mb": low["peak_rss_mb"],
                                 "large_orders": large, "large_peak_rss_mb": high["peak_rss_mb"],
                                 "large_over_small": round(high["peak_rss_mb"] / low["peak_rss_mb"], 3),
                                 "large_wall_over_bound": high["wall_over_bound"],
                                 "large_sync_cpu_seconds": high["sync_cpu_seconds"]}}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
