"""The state store on PostgreSQL against SQLite: round trips to the server and store time per document.

A real orders sync (the engine, the Linnworks and QuickBooks Online simulators in this process, the real ledger)
runs once on a SQLite file and once on a throwaway PostgreSQL server (tests/postgres.py, fsync on, default
settings). Three counts for PostgreSQL, from the outside in:

- **round trips**, counted on the wire: the client talks to the server through a TCP relay here that counts each
  time the client sends after the server has answered (a client that pipelines several statements, as psycopg's
  ``executemany`` does, waits once for them all);
- **statements**, from SQLAlchemy's ``before_cursor_execute`` event (an ``executemany`` is one);
- **transactions**, from its ``commit`` event.

Store time is the wall time spent inside the ``StateStore`` methods and the run lock, measured around each call,
so the simulators' and connectors' own time is left out.

    .venv/bin/python bench/state_store.py [--orders 1000] [--runs 3]
"""

from __future__ import annotations

import argparse
import json
import selectors
import socket
import sys
import tempfile
import threading
import time
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

STORE_METHODS = ("get", "put", "get_cursor", "save_cursor", "lookup", "record", "rows", "counts", "forget",
                 "start_run", "finish_run", "last_runs", "interrupt_stale_runs", "exchange_rates",
                 "save_exchange_rates")


class RoundTripRelay:
    """localhost TCP -> the server's unix socket, counting the client's turns (sends that follow an answer)."""

    def __init__(self, socket_path: str):
        self.socket_path = socket_path
        self.listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.listener.bind(("127.0.0.1", 0))
        self.listener.listen(64)
        self.port = self.listener.getsockname()[1]
        self.round_trips = 0
        self.lock = threading.Lock()
        self.stopping = False
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while not self.stopping:
            try:
                client, _ = self.listener.accept()
            except OSError:
                return
            server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            server.connect(self.socket_path)
            threading.Thread(target=self._pump, args=(client, server), daemon=True).start()

    def _pump(self, client: socket.socket, server: socket.socket) -> None:
        selector = selectors.DefaultSelector()
        selector.register(client, selectors.EVENT_READ, server)
        selector.register(server, selectors.EVENT_READ, client)
        last_from = None
        try:
            while True:
                for key, _ in selector.select():
                    data = key.fileobj.recv(65536)
                    if not data:
                        return
                    if key.fileobj is client and last_from is not client:
                        with self.lock:
                            self.round_trips += 1
                    last_from = key.fileobj
                    key.data.sendall(data)
        except OSError:
            return
        finally:
            client.close()
            server.close()

    def stop(self) -> None:
        self.stopping = True
        self.listener.close()


def timed_store(state, clock: Counter) -> None:
    """Wrap the store's methods (and the run lock) so the time spent in them is added to ``clock``."""

    def wrap(function, name):
        def timed(*args, **kwargs):
            started = time.perf_counter()
            try:
                return function(*args, **kwargs)
            finally:
                clock["seconds"] += time.perf_counter() - started
                clock[name] += 1
        return timed

    for name in STORE_METHODS:
        setattr(state, name, wrap(getattr(state, name), name))
    make_lock = state.run_lock

    def run_lock():
        lock = make_lock()
        lock.acquire, lock.release = wrap(lock.acquire, "lock"), wrap(lock.release, "unlock")
        return lock

    state.run_lock = run_lock


def sync_once(orders: int, state_value: str, relay: RoundTripRelay | None) -> dict:
    from connex_linnworks.simulator import LinnworksSimulator
    from connex_quickbooks_online.simulator import QuickBooksOnlineSimulator
    from sqlalchemy import event

    from connex.config import load_config
    from connex.plugin_manager import get_plugins
    from connex.simulation import SimClock
    from connex.state import open_state
    from connex.sync.engine import SyncEngine
    from connex.sync.report import RunOptions

    lw = LinnworksSimulator(processed_orders=orders, open_orders=0, purchase_orders=0,
                            clock=SimClock(scale=60)).start()
    qbo = QuickBooksOnlineSimulator(enforce_limits=False).start()
    try:
        with tempfile.TemporaryDirectory() as folder:
            config = {"source": {"plugin": "linnworks", **lw.connector_config()},
                      "target": {"plugin": "quickbooks_online", "missing_items": "create_non_inventory",
                                 **qbo.connector_config()},
                      "sync": {"from_date": "2020-01-01"}, "state": state_value}
            (Path(folder) / "connex.yaml").write_text(json.dumps(config))
            plugins = get_plugins()
            loaded = load_config(str(Path(folder) / "connex.yaml"), plugins)
            state = open_state(loaded.state_path)  # opened (and migrated) before counting starts
            counts = Counter()
            event.listen(state.engine, "before_cursor_execute",
                         lambda *a, **k: counts.update(["statements"]))
            event.listen(state.engine, "commit", lambda *a: counts.update(["transactions"]))
            clock: Counter = Counter()
            timed_store(state, clock)
            engine = SyncEngine(loaded, plugins, state)
            trips_before = relay.round_trips if relay else 0
            started = time.perf_counter()
            (report,) = engine.run(["orders"], RunOptions())
            wall = time.perf_counter() - started
            trips = (relay.round_trips - trips_before) if relay else None
            engine.close()
            state.close()
    finally:
        qbo.stop()
        lw.stop()
    posted = report.counts.get("posted", 0)
    per = max(posted, 1)
    return {
        "posted": posted, "failed": len(report.failures), "wall_seconds": round(wall, 2),
        "store_seconds": round(clock["seconds"], 3),
        "store_ms_per_document": round(clock["seconds"] * 1000 / per, 3),
        "statements_per_document": round(counts["statements"] / per, 3),
        "transactions_per_document": round(counts["transactions"] / per, 3),
        "round_trips_per_document": round(trips / per, 3) if trips is not None else None,
        "round_trips": trips, "statements": counts["statements"], "transactions": counts["transactions"],
        "store_calls": {k: v for k, v in clock.items() if k != "seconds"},
    }


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--orders", type=int, default=1000)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args(argv)
    from sqlalchemy.engine import make_url

    from tests.postgres import PostgresServer

    server = PostgresServer(fsync=True).start()
    relay = RoundTripRelay(str(server.socket_dir / ".s.PGSQL.5432"))
    results: dict[str, list[dict]] = {"sqlite": [], "postgresql": []}
    try:
        for run in range(args.runs):
            with tempfile.TemporaryDirectory() as folder:
                results["sqlite"].append(sync_once(args.orders, str(Path(folder) / "connex.db"), None))
            database = make_url(server.new_database(f"bench{run}")).database
            url = f"postgresql://postgres@127.0.0.1:{relay.port}/{database}"
            results["postgresql"].append(sync_once(args.orders, url, relay))
            for backend in results:
                print(json.dumps({backend: results[backend][-1]}), flush=True)
    finally:
        relay.stop()
        server.stop()
    summary = {}
    for backend, runs in results.items():
        summary[backend] = {key: _spread([r[key] for r in runs]) for key in (
            "store_ms_per_document", "statements_per_document", "transactions_per_document",
            "round_trips_per_document", "wall_seconds") if runs[0][key] is not None}
    print(json.dumps({"summary": summary, "orders": args.orders}, indent=1))
    return 0


def _spread(values: list) -> dict:
    ordered = sorted(values)
    return {"median": ordered[len(ordered) // 2], "min": ordered[0], "max": ordered[-1]}


if __name__ == "__main__":
    raise SystemExit(main())
