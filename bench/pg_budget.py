"""The call budget in PostgreSQL (connex/state/budget.py): round trips and time per budget call, and how close N
processes sharing one QuickBooks company come to the company's rate-limit bound.

**Per call.** One process, a throwaway PostgreSQL server (tests/postgres.py) reached over localhost TCP through
the relay of bench/state_store.py, which counts round trips on the wire. A window claim under a limit that never
binds (so every claim is granted at once), a place of calls at once taken and given back, and a whole QuickBooks
Online read's budget work (the company's request window and a place) are each timed over ``--calls``.

**N processes, one company.** N real processes (tests/sync/budget_caller.py, the real QuickBooks Online client on
the shared budget) make ``--total`` reads of one company between them, each with its own authorization. The
company allows ``--limit`` requests a minute on the simulator and in the clients; the simulator and the budget
run ``--scale`` times faster than the wall clock (a minute lasts 60/scale seconds), and the budget's margin is
real seconds. The bound: ``total`` calls at ``limit`` a window cannot take less than ``(ceil(total/limit) - 1)``
windows (the client's window is Intuit's minute plus a second, plus the budget's margin). Reported: the wall
time from the first process's first call to the last one's last call, against that bound, and the requests the
company refused (429).

    .venv/bin/python bench/pg_budget.py [--runs 3] [--calls 2000] [--processes 1 2 4] [--total 120]
"""

from __future__ import annotations

import argparse
import json
import math
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))


def per_call(server, relay, calls: int) -> dict:
    """Through the relay (round trips counted, time includes the relay's hops) when ``relay`` is given, else on
    the server's unix socket (the time)."""
    from connex.state import open_state
    from connex.state.budget import PostgresBudget

    url = server.new_database()
    if relay is not None:
        database = url.split("@/", 1)[1].split("?")[0]
        url = f"postgresql://postgres@127.0.0.1:{relay.port}/{database}"
    store = open_state(url)
    # no margin and a window of 0.1 ms: the ring is Intuit's 500 places, yet every claim is granted at once
    budget = PostgresBudget(store.database.engine, label=store.label, margin=0.0)
    results = {}
    try:
        budget.set_limit("bench|window", 500, 0.0001)
        budget.acquire("bench|window")  # sets the key's places up (once per key and process)
        place = budget.slot("bench|place", 10)
        with place:
            pass

        def window():
            budget.acquire("bench|window")

        def slot():
            with place:
                pass


        def qbo_read():  # what connex_quickbooks_online.client does around one read: window, then a place
            budget.acquire("bench|window")
            with place:
                pass

        for name, step in (("window claim", window), ("place taken and given back", slot),
                           ("QuickBooks read (window + place)", qbo_read)):
            calls_here = calls
            trips, statements = (relay.round_trips if relay else 0), budget.round_trips
            started = time.perf_counter()
            for _ in range(calls_here):
                step()
            seconds = time.perf_counter() - started
            results[name] = {"round_trips": ((relay.round_trips if relay else 0) - trips) / calls_here,
                             "statements": (budget.round_trips - statements) / calls_here,
                             "ms": seconds / calls_here * 1000}
    finally:
        budget.close()
        store.close()
    return results


def processes_run(server, count: int, total: int, limit: int, scale: float, margin: float) -> dict:
    from connex_quickbooks_online.simulator import server as qbo_server
    from connex_quickbooks_online.simulator.realms import QuickBooksOnlineRealms

    from connex.simulation.server import SimClock
    from connex.state import open_state
    from tests.sync.test_postgres_budget import authorize

    qbo_server.REQUESTS_PER_MINUTE = limit
    url = server.new_database()
    open_state(url).close()
    with QuickBooksOnlineRealms(clock=SimClock(scale)) as quickbooks:
        company = quickbooks.add_company("9130350000000099")
        qbo = company.connector_config()
        tokens = [qbo["refresh_token"]] + [authorize(company) for _ in range(count - 1)]
        shares = [total // count + (1 if n < total % count else 0) for n in range(count)]
        env = {**os.environ, "PYTHONPATH": os.pathsep.join(p for p in (str(ROOT), os.environ.get("PYTHONPATH"))
                                                           if p)}
        children = [subprocess.Popen([sys.executable, "-m", "tests.sync.budget_caller", json.dumps({
            "mode": "calls", "state": url, "connection": f"p{n}", "scale": scale, "margin": margin,
            "linnworks": {"application_id": "-", "application_secret": "-", "token": "-",
                          "auth_url": "http://127.0.0.1:9", "endpoint": "-", "calls": 0, "limits": {}},
            "quickbooks": {**qbo, "refresh_token": tokens[n], "requests_per_minute": limit, "calls": shares[n]},
        })], cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) for n in range(count)]
        reports = []
        for child in children:
            out, err = child.communicate(timeout=600)
            if child.returncode != 0:
                raise SystemExit(f"a process failed: {err[-2000:]}")
            reports.append(json.loads(out.strip().splitlines()[-1]))
        refused = quickbooks.rate_limited()["9130350000000099"]
        served = company.stats["read"]
    window = 61.0 / scale + margin
    bound = (math.ceil(total / limit) - 1) * window
    elapsed = max(r["end"] for r in reports) - min(r["start"] for r in reports)
    errors = [e for r in reports for e in r["errors"]]
    return {"processes": count, "seconds": elapsed, "bound": bound, "refused": refused, "served": served,
            "errors": errors, "round_trips_per_call": sum(r["round_trips"] for r in reports) / total}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--calls", type=int, default=2000)
    parser.add_argument("--processes", type=int, nargs="+", default=[1, 2, 4])
    parser.add_argument("--total", type=int, default=120)
    parser.add_argument("--limit", type=int, default=40)
    parser.add_argument("--scale", type=float, default=6.0)
    parser.add_argument("--margin", type=float, default=0.25)
    args = parser.parse_args()

    from state_store import RoundTripRelay

    from tests.postgres import PostgresServer

    with PostgresServer(fsync=True) as server:
        relay = RoundTripRelay(str(server.socket_dir / ".s.PGSQL.5432"))
        try:
            counted = [per_call(server, relay, args.calls) for _ in range(args.runs)]
        finally:
            relay.stop()
        timed = [per_call(server, None, args.calls) for _ in range(args.runs)]
        print("## per budget call (one process)")
        for name in counted[0]:
            trips = sorted(run[name]["round_trips"] for run in counted)
            statements = sorted(run[name]["statements"] for run in counted)
            ms = sorted(run[name]["ms"] for run in timed)
            print(f"{name}: round trips on the wire {statistics.median(trips):.3f} ({trips[0]:.3f}-{trips[-1]:.3f}),"
                  f" statements {statistics.median(statements):.3f}, ms on the unix socket "
                  f"{statistics.median(ms):.3f} ({ms[0]:.3f}-{ms[-1]:.3f})")
        print(f"## {args.total} reads of one company at {args.limit}/min, clock x{args.scale}, margin "
              f"{args.margin}s")
        results: dict[int, list[dict]] = {n: [] for n in args.processes}
        for _ in range(args.runs):  # interleaved, so load drifts over the runs touch every N alike
            for count in args.processes:
                result = processes_run(server, count, args.total, args.limit, args.scale, args.margin)
                results[count].append(result)
                print(json.dumps(result), flush=True)
        for count, runs in results.items():
            seconds = sorted(r["seconds"] for r in runs)
            bound = runs[0]["bound"]
            print(f"processes {count}: {statistics.median(seconds):.2f} s ({seconds[0]:.2f}-{seconds[-1]:.2f}) "
                  f"against a bound of {bound:.2f} s: {statistics.median(seconds) / max(bound, 1e-9):.3f}x; "
                  f"refused {sum(r['refused'] for r in runs)}; round trips per call "
                  f"{statistics.median(r['round_trips_per_call'] for r in runs):.2f}")


if __name__ == "__main__":
    main()
