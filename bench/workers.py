"""`connex worker` on PostgreSQL: connections synced per minute with 1, 2 and 4 workers when the vendors' rate
limits bind, CPU per 1,000 orders against single-connection mode, and PostgreSQL round trips per document.

1. **Workers** (1, 2, 4 `connex worker` processes, ``--concurrency 1`` each, so the worker count is the
   parallelism): N connections, each its own Linnworks account and QuickBooks company (simulators in this
   process), state and job queue in a throwaway PostgreSQL. Each company allows ``--batches`` batch requests a
   minute on the simulator *and* in the worker's client (Intuit's real figure is 40, lowered on both sides, as
   bench/many_connections.py does, so ``--orders`` orders are bound by it as 10x more are at the real limit); the
   simulators' clock runs ``--scale`` times faster and the workers' call windows are shortened to match. The
   workers start with ``--no-schedule``; once every one answers /healthz, one pass of every connection is queued
   (``SchedulerService.queue_now``) and the clock runs until every connection has finished a run. Figure:
   connections synced per minute of the scaled clock.
2. **Round trips**: every worker reaches PostgreSQL through a TCP relay that counts the client's turns (a send
   that follows an answer: bench/state_store.py's ``RoundTripRelay``), from the queueing to the last run's end;
   this includes the job queue's own traffic (fetching jobs, heartbeats, LISTEN/NOTIFY). Per posted document.
3. **CPU per 1,000 orders**: ``--cpu-orders`` orders synced (a) by `connex sync` on one connection
   (bench/many_connections.py's single mode), (b) by 2 workers over ``--cpu-connections`` connections sharing them
   out, at Intuit's real limits. CPU is the child processes' user+system time, start to exit.

    .venv/bin/python bench/workers.py [--runs 3] [--connections 8] [--orders 120]
    .venv/bin/python bench/workers.py --quick
"""

from __future__ import annotations

import importlib.util
import json
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import requests

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

import connex_quickbooks_online.simulator.server as qbo_sim  # noqa: E402

from connex.deployment import load_deployment  # noqa: E402
from connex.plugin_manager import get_plugins  # noqa: E402
from connex.simulation.server import SimClock  # noqa: E402
from connex.workers.service import SchedulerService  # noqa: E402
from tests.postgres import PostgresServer  # noqa: E402
from tests.sync.many_connections import build_fleet, free_port  # noqa: E402
from tests.sync.workers_support import use_postgres  # noqa: E402


def _bench_module(name: str):
    spec = importlib.util.spec_from_file_location(f"bench_{name}", REPO / "bench" / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


state_store = _bench_module("state_store")
many_connections = _bench_module("many_connections")

# a worker whose QuickBooks client keeps ``batches`` batch requests per ``window`` real seconds (the simulator's
# minute on its faster clock, plus the quarter second bench/many_connections.py allows for a call to arrive)
LAUNCH = ("import sys, connex_quickbooks_online.client as c; c.BATCHES_PER_MINUTE = int(sys.argv[1]); "
          "c.WINDOW_SECONDS = float(sys.argv[2]); from connex.cli import main; sys.exit(main(sys.argv[3:]))")


def start_workers(folder: Path, env: dict, count: int, batches: int, window: float, concurrency: int) -> list:
    workers = []
    for index in range(count):
        port = free_port()
        log = (folder / f"worker{index}.log").open("a")
        process = subprocess.Popen(
            [sys.executable, "-c", LAUNCH, str(batches), str(window), "worker", "--concurrency", str(concurrency),
             "--no-schedule", "--health", f"127.0.0.1:{port}"],
            cwd=folder, env=env, stdout=log, stderr=subprocess.STDOUT)
        workers.append((process, port))
    for index, (process, port) in enumerate(workers):
        deadline = time.monotonic() + 120
        while True:
            assert process.poll() is None, (folder / f"worker{index}.log").read_text()[-3000:]
            try:
                if requests.get(f"http://127.0.0.1:{port}/healthz", timeout=2).status_code == 200:
                    break
            except requests.RequestException:
                pass
            assert time.monotonic() < deadline, "a worker never answered /healthz"
            time.sleep(0.1)
    return workers


def stop_workers(workers: list) -> None:
    for process, _ in workers:
        process.send_signal(signal.SIGTERM)
    for process, _ in workers:
        process.wait(90)


def finished_connections(pg: PostgresServer, database: str) -> int:
    import psycopg

    with psycopg.connect(host=str(pg.socket_dir), user="postgres", dbname=database) as conn:
        return conn.execute("SELECT count(DISTINCT connection) FROM runs WHERE finished_at IS NOT NULL").fetchone()[0]


def worker_run(pg: PostgresServer, workers: int, connections: int, orders: int, scale: float, batches: int) -> dict:
    saved = qbo_sim.BATCHES_PER_MINUTE
    qbo_sim.BATCHES_PER_MINUTE = batches
    relay = state_store.RoundTripRelay(str(pg.socket_dir / ".s.PGSQL.5432"))
    try:
        with tempfile.TemporaryDirectory() as folder:
            fleet = build_fleet(Path(folder), connections, orders, clock=SimClock(scale))
            database = pg.new_database().split("@/")[1].split("?")[0]
            use_postgres(fleet, f"postgresql://postgres@127.0.0.1:{relay.port}/{database}", concurrency=1,
                         schedule=False)
            env = {**os.environ, **fleet.env, "PYTHONPATH": str(REPO)}
            os.environ.update(fleet.env)
            pool = []
            try:
                pool = start_workers(Path(folder), env, workers, batches, 60.0 / scale + 0.25, 1)
                configs = load_deployment(Path(folder) / "connex.yaml", get_plugins()).select()
                before = relay.round_trips
                started = time.perf_counter()
                SchedulerService(configs).queue_now()
                while finished_connections(pg, database) < connections:
                    time.sleep(0.1)
                elapsed = time.perf_counter() - started
                trips = relay.round_trips - before
            finally:
                stop_workers(pool)
            posted = sum(len(c.entities("SalesReceipt")) for c in fleet.quickbooks.tenants.values())
            limited = sum(fleet.quickbooks.rate_limited().values()) + sum(fleet.linnworks.rate_limited().values())
            fleet.stop()
    finally:
        relay.stop()
        qbo_sim.BATCHES_PER_MINUTE = saved
    return {"workers": workers, "seconds": elapsed, "per_scaled_minute": connections / (elapsed * scale) * 60,
            "posted": posted, "round_trips": trips, "round_trips_per_document": trips / max(posted, 1),
            "rate_limited": limited}


def cpu_workers(pg: PostgresServer, connections: int, total_orders: int) -> dict:
    with tempfile.TemporaryDirectory() as folder:
        fleet = build_fleet(Path(folder), connections, total_orders // connections)
        database = pg.new_database()
        use_postgres(fleet, database, concurrency=2, schedule=False)
        env = {**os.environ, **fleet.env, "PYTHONPATH": str(REPO)}
        os.environ.update(fleet.env)
        name = database.split("@/")[1].split("?")[0]
        before = many_connections.child_cpu()
        pool = start_workers(Path(folder), env, 2, 40, 61.0, 2)
        try:
            started = sum(process_cpu(process.pid) for process, _ in pool)  # start-up done: /healthz answers
            SchedulerService(load_deployment(Path(folder) / "connex.yaml", get_plugins()).select()).queue_now()
            while finished_connections(pg, name) < connections:
                time.sleep(0.2)
            passes = sum(process_cpu(process.pid) for process, _ in pool) - started
        finally:
            stop_workers(pool)
        cpu = many_connections.child_cpu() - before
        posted = sum(len(c.entities("SalesReceipt")) for c in fleet.quickbooks.tenants.values())
        limited = sum(fleet.quickbooks.rate_limited().values()) + sum(fleet.linnworks.rate_limited().values())
        fleet.stop()
    return {"mode": "workers", "cpu": cpu, "posted": posted, "per_1000": cpu / max(posted, 1) * 1000,
            "passes_per_1000": passes / max(posted, 1) * 1000, "rate_limited": limited}


def process_cpu(pid: int) -> float:
    """User + system CPU seconds a live process has used so far (Linux /proc; fields 14 and 15 of its stat)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


spread = many_connections.spread


def main(argv=None) -> int:
    parser = many_connections.fleet_parser(__doc__, "worker")
    parser.add_argument("--cpu-only", action="store_true", help="only the CPU comparison")
    parser.add_argument("--scaling-only", action="store_true", help="only the connections per minute")
    args = parser.parse_args(argv)
    many_connections.quick_settings(args)

    with PostgresServer() as pg:
        print(f"## workers: {args.connections} connections x {args.orders} orders, {args.batches} batches/min per "
              f"company, simulator clock x{args.scale:g}, {args.runs} runs (interleaved)", flush=True)
        counts = {1: [], 2: [], 4: []} if not args.cpu_only else {}
        for _ in range(args.runs if counts else 0):
            for count in counts:
                result = worker_run(pg, count, args.connections, args.orders, args.scale, args.batches)
                assert result["rate_limited"] == 0 and result["posted"] >= args.connections * args.orders * 0.8, \
                    result
                counts[count].append(result)
                print(json.dumps(result), flush=True)
        if counts:
            base = statistics.median(r["seconds"] for r in counts[1])
            print("| workers | seconds (median, min-max) | connections / scaled minute | speed-up | round trips / "
                  "document | 429s |")
            print("|---|---|---|---|---|---|")
            for count, results in counts.items():
                seconds = [r["seconds"] for r in results]
                print(f"| {count} | {spread(seconds)} | {spread([r['per_scaled_minute'] for r in results])} | "
                      f"{base / statistics.median(seconds):.2f}x | "
                      f"{spread([r['round_trips_per_document'] for r in results])} | "
                      f"{sum(r['rate_limited'] for r in results)} |")

        if args.scaling_only:
            return 0
        print(f"\n## CPU per 1,000 orders: {args.cpu_orders} orders; `connex sync` on one connection vs 2 workers "
              f"over {args.cpu_connections} connections", flush=True)
        modes = {"single": [], "workers": []}
        for _ in range(args.runs):
            single = many_connections.cpu_run("single", args.cpu_connections, args.cpu_orders)
            workers = cpu_workers(pg, args.cpu_connections, args.cpu_orders)
            for result in (single, workers):
                assert result["rate_limited"] == 0 and result["posted"] >= args.cpu_orders * 0.8, result
                modes[result["mode"]].append(result)
                print(json.dumps(result), flush=True)
        single = many_connections.cpu_table(modes)
        # what an always-on worker pays: its passes, with the process's start-up (imports, schema check, pools)
        # left out; the connections' first build in the process (connectors, rules) is still counted
        values = [r["passes_per_1000"] for r in modes["workers"]]
        print(f"| workers, passes only (start-up left out) | {spread(values)} | "
              f"{statistics.median(values) / single:.2f} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
