"""Many connections in one daemon: throughput against the pool size when the vendors' limits bind, and CPU per
1,000 orders against single-connection mode, side by side.

1. **Pool size** (``daemon.max_parallel`` 1, 2, 4): N connections, each its own Linnworks account and QuickBooks
   company, synced once by the embedded daemon (in this process, ``Daemon``). Each company allows
   ``--batches`` batch requests a minute, on the simulator *and* in the client's budget (Intuit's real figure is
   40, lowered on both sides so that a connection of ``--orders`` orders is bound by it as one of 20x more orders
   is at the real limit); both clocks run ``--scale`` times faster. Figure: connections synced per minute of the
   (scaled) clock, and per real minute at the real limits.
2. **CPU per 1,000 orders**: the same orders synced (a) by `connex sync` on one connection, (b) by `connex daemon`
   over K connections sharing them out, (c) by K `connex sync` processes, one per connection (the way to run
   many connections before the daemon served them). CPU is the child process's user+system time
   (``resource.getrusage(RUSAGE_CHILDREN)``); the simulators run in this process and are not counted.

    .venv/bin/python bench/many_connections.py [--runs 3] [--connections 8] [--orders 120]
    .venv/bin/python bench/many_connections.py --quick
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import requests

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

import connex_quickbooks_online.client as qbo_client  # noqa: E402
import connex_quickbooks_online.simulator.server as qbo_sim  # noqa: E402

from connex.budgets import LocalBudget, process_budget, set_process_budget  # noqa: E402
from connex.daemon.service import Daemon  # noqa: E402
from connex.deployment import load_deployment  # noqa: E402
from connex.plugin_manager import get_plugins  # noqa: E402
from connex.simulation.server import SimClock  # noqa: E402
from tests.sync.many_connections import build_fleet  # noqa: E402


def pool_run(connections: int, orders: int, pool: int, scale: float, batches: int) -> dict:
    """One sync of every connection by an in-process daemon with ``pool`` passes at once."""
    saved = qbo_client.BATCHES_PER_MINUTE, qbo_sim.BATCHES_PER_MINUTE, qbo_client.WINDOW_SECONDS
    qbo_client.BATCHES_PER_MINUTE = qbo_sim.BATCHES_PER_MINUTE = batches
    # the client's window is a second longer than Intuit's minute, for the time a call takes to arrive; on a
    # clock running ``scale`` times faster that same real delay is ``scale`` times more clock seconds
    qbo_client.WINDOW_SECONDS = 60.0 + 0.25 * scale
    try:
        return _pool_run(connections, orders, pool, scale)
    finally:  # the CPU runs use Intuit's own figures
        qbo_client.BATCHES_PER_MINUTE, qbo_sim.BATCHES_PER_MINUTE, qbo_client.WINDOW_SECONDS = saved


def _pool_run(connections: int, orders: int, pool: int, scale: float) -> dict:
    before = process_budget()
    set_process_budget(LocalBudget(clock=lambda: time.monotonic() * scale, sleep=lambda s: time.sleep(s / scale)))
    with tempfile.TemporaryDirectory() as folder:
        fleet = build_fleet(Path(folder), connections, orders, max_parallel=pool, clock=SimClock(scale))
        os.environ.update(fleet.env)
        try:
            plugins = get_plugins()
            deployment = load_deployment(Path(folder) / "connex.yaml", plugins)
            daemon = Daemon(deployment.select(), plugins, max_parallel=pool, health_listen=fleet.health)
            started = time.perf_counter()
            done = threading.Event()

            def watch():
                while not all(w.passes >= 1 for w in daemon.workers.values()):
                    time.sleep(0.02)
                done.set()
                daemon.request_stop()

            threading.Thread(target=watch, daemon=True).start()
            daemon.run()
            elapsed = time.perf_counter() - started
            assert done.is_set(), "the daemon stopped before every connection synced"
            failing = [w.name for w in daemon.workers.values() if not w.pass_ok]
            limited = sum(fleet.quickbooks.rate_limited().values()) + sum(fleet.linnworks.rate_limited().values())
            batches_sent = sum(c.stats["batch"] for c in fleet.quickbooks.tenants.values())
            posted = sum(len(c.entities("SalesReceipt")) for c in fleet.quickbooks.tenants.values())
        finally:
            fleet.stop()
            set_process_budget(before)
    return {"pool": pool, "seconds": elapsed, "per_scaled_minute": connections / (elapsed * scale) * 60,
            "failing": failing, "rate_limited": limited, "batches": batches_sent, "posted": posted}


def child_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def cpu_run(mode: str, connections: int, total_orders: int) -> dict:
    """CPU seconds of the Connex process(es) syncing ``total_orders`` orders in ``mode``."""
    per = total_orders // connections if mode != "single" else total_orders
    count = connections if mode != "single" else 1
    with tempfile.TemporaryDirectory() as folder:
        fleet = build_fleet(Path(folder), count, per, max_parallel=4)
        env = {**os.environ, **fleet.env, "PYTHONPATH": str(REPO)}
        try:
            before = child_cpu()
            if mode == "daemon":
                process = subprocess.Popen([sys.executable, "-m", "connex", "daemon"], cwd=folder, env=env,
                                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
                try:
                    while True:
                        time.sleep(1.0)
                        try:
                            health = requests.get(f"http://{fleet.health}/healthz", timeout=5).json()
                        except requests.RequestException:
                            continue
                        if health.get("passes", 0) >= count and not health.get("running"):
                            break
                finally:
                    process.send_signal(signal.SIGTERM)
                    process.wait(60)
            else:
                for name in fleet.names:
                    args = ["sync", "--once", "--no-progress"]
                    if count > 1:
                        args += ["--connection", name]
                    subprocess.run([sys.executable, "-m", "connex", *args], cwd=folder, env=env, check=False,
                                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            cpu = child_cpu() - before
            posted = sum(len(c.entities("SalesReceipt")) for c in fleet.quickbooks.tenants.values())
            limited = sum(fleet.quickbooks.rate_limited().values()) + sum(fleet.linnworks.rate_limited().values())
        finally:
            fleet.stop()
    return {"mode": mode, "cpu": cpu, "posted": posted, "per_1000": cpu / max(posted, 1) * 1000,
            "rate_limited": limited}


def spread(values: list[float]) -> str:
    return f"{statistics.median(values):.2f} ({min(values):.2f}-{max(values):.2f})"


def fleet_parser(description: str, runs_of: str) -> argparse.ArgumentParser:
    """The options of a many-connections benchmark (this one's and bench/workers.py's): the fleet, its limits
    and the CPU comparison; ``quick_settings`` applies --quick."""
    parser = argparse.ArgumentParser(description=description, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--connections", type=int, default=8)
    parser.add_argument("--orders", type=int, default=120, help=f"orders per connection in the {runs_of} runs")
    parser.add_argument("--scale", type=float, default=30.0, help="clock speed-up of simulators and budgets")
    parser.add_argument("--batches", type=int, default=4, help="QuickBooks batches a minute per company")
    parser.add_argument("--cpu-orders", type=int, default=600, help="orders in each CPU comparison")
    parser.add_argument("--cpu-connections", type=int, default=6)
    parser.add_argument("--quick", action="store_true")
    return parser


def quick_settings(args) -> None:
    if args.quick:
        args.runs, args.connections, args.orders, args.cpu_orders, args.cpu_connections = 1, 4, 60, 120, 3


def main(argv=None) -> int:
    args = fleet_parser(__doc__, "pool").parse_args(argv)
    quick_settings(args)
    if args.quick:
        args.scale = 60.0
    real_batches = 40

    print(f"## pool size: {args.connections} connections x {args.orders} orders, {args.batches} batches/min "
          f"per company, clocks x{args.scale:g}, {args.runs} runs (interleaved)", flush=True)
    pools = {1: [], 2: [], 4: []}
    for _ in range(args.runs):
        for pool in pools:
            result = pool_run(args.connections, args.orders, pool, args.scale, args.batches)
            assert not result["failing"] and result["rate_limited"] == 0, result
            pools[pool].append(result)
            print(json.dumps(result), flush=True)
    base = statistics.median(r["seconds"] for r in pools[1])
    print("| max_parallel | seconds (median, min-max) | connections / scaled minute | speed-up | 429s |")
    print("|---|---|---|---|---|")
    for pool, results in pools.items():
        seconds = [r["seconds"] for r in results]
        rate = [r["per_scaled_minute"] for r in results]
        print(f"| {pool} | {spread(seconds)} | {spread(rate)} | {base / statistics.median(seconds):.2f}x | "
              f"{sum(r['rate_limited'] for r in results)} |")
    orders_at_real = args.orders * real_batches / args.batches
    print(f"(each connection's {args.orders} orders at {args.batches} batches/min stand for "
          f"{orders_at_real:,.0f} orders at Intuit's {real_batches}/min)")

    print(f"\n## CPU per 1,000 orders: {args.cpu_orders} orders; single connection vs daemon over "
          f"{args.cpu_connections} connections vs {args.cpu_connections} `connex sync` processes", flush=True)
    modes = {"single": [], "daemon": [], "processes": []}
    for _ in range(args.runs):
        for mode in modes:
            result = cpu_run(mode, args.cpu_connections, args.cpu_orders)
            assert result["rate_limited"] == 0 and result["posted"] >= args.cpu_orders * 0.9, result
            modes[mode].append(result)
            print(json.dumps(result), flush=True)
    cpu_table(modes)
    return 0


def cpu_table(modes: dict[str, list[dict]]) -> float:
    """Print CPU per 1,000 orders per mode against the ``single`` mode; the single mode's median."""
    single = statistics.median(r["per_1000"] for r in modes["single"])
    print("| mode | CPU s per 1,000 orders (median, min-max) | vs single |")
    print("|---|---|---|")
    for mode, results in modes.items():
        values = [r["per_1000"] for r in results]
        print(f"| {mode} | {spread(values)} | {statistics.median(values) / single:.2f} |")
    return single


if __name__ == "__main__":
    sys.exit(main())
