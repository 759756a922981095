"""What the `connex worker` tests and bench/workers.py share: a fleet of connections (tests/sync/many_connections.py)
with its state in PostgreSQL, worker subprocesses, and the checks that every document was posted exactly once."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections import Counter

import requests

from connex.state import open_state
from tests.conftest import REPO
from tests.sync.many_connections import Fleet, free_port


def use_postgres(fleet: Fleet, url: str, **workers) -> None:
    """Point the fleet's deployment at the PostgreSQL database ``url``, with a ``workers:`` block."""
    main = fleet.folder / "connex.yaml"
    config = json.loads(main.read_text())
    config["state"] = url
    config["workers"] = workers
    main.write_text(json.dumps(config, indent=1))


def environment(fleet: Fleet) -> dict:
    return {**os.environ, **fleet.env, "PYTHONPATH": str(REPO)}


class Worker:
    """One `connex worker` subprocess with its own /healthz port; its output goes to a file (never a full pipe)."""

    def __init__(self, fleet: Fleet, index: int, *args: str):
        self.fleet, self.index, self.args = fleet, index, args
        self.port = free_port()
        self.log = fleet.folder / f"worker{index}.log"
        self.starts = 0
        self.process: subprocess.Popen | None = None

    def start(self) -> Worker:
        self.starts += 1
        with self.log.open("a") as out:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "connex", "worker", "--health", f"127.0.0.1:{self.port}", *self.args],
                cwd=self.fleet.folder, env=environment(self.fleet), stdout=out, stderr=subprocess.STDOUT)
        return self

    def healthz(self) -> dict | None:
        try:
            return requests.get(f"http://127.0.0.1:{self.port}/healthz", timeout=5).json()
        except (requests.RequestException, ValueError):
            return None

    def running(self) -> list[str]:
        body = self.healthz()
        return body["worker"]["running"] if body else []

    def alive(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def stop(self, timeout: float = 60) -> int:
        if self.alive():
            self.process.terminate()
            try:
                self.process.wait(timeout)
            except subprocess.TimeoutExpired:
                self.process.send_signal(signal.SIGUSR1)  # its threads' stacks into the log, for the failure
                time.sleep(1)
                self.process.kill()
                self.process.wait()
        return self.process.returncode

    def output(self) -> str:
        return self.log.read_text(errors="replace")


def settled(fleet: Fleet, url: str) -> bool:
    """Every processed order of every account is in its connection's ledger, none left in flight."""
    for name in fleet.names:
        state = open_state(url, connection=name)
        try:
            if state.rows(status="in_flight", limit=1):
                return False
            if len(state.rows(flow="orders")) != len(fleet.account(name).account.processed_index):
                return False
        finally:
            state.close()
    return True


def wait_settled(fleet: Fleet, url: str, workers: list[Worker], timeout: float) -> float:
    started = time.monotonic()
    while not settled(fleet, url):
        for worker in workers:
            assert worker.alive(), f"worker {worker.index} exited: {worker.output()[-3000:]}"
        assert time.monotonic() - started < timeout, "the connections did not settle in time"
        time.sleep(0.5)
    return time.monotonic() - started


def assert_exactly_once(fleet: Fleet, url: str) -> int:
    """Every document of every connection posted once, what QuickBooks holds is what the ledger says, and no
    account or company ever refused a request (429). Returns how many documents were checked."""
    checked = 0
    for name in fleet.names:
        numbers = Counter(r["DocNumber"] for r in fleet.company(name).entities("SalesReceipt"))
        assert numbers and max(numbers.values()) == 1, f"{name}: posted twice: {numbers.most_common(3)}"
        state = open_state(url, connection=name)
        try:
            posted = {r.number for r in state.rows(flow="orders", status="posted")}
            assert state.rows(status="failed") == [] and state.rows(status="in_flight") == [], name
        finally:
            state.close()
        assert set(numbers) == posted, name
        checked += len(numbers)
    assert set(fleet.linnworks.rate_limited().values()) == {0}, fleet.linnworks.rate_limited()
    assert set(fleet.quickbooks.rate_limited().values()) == {0}, fleet.quickbooks.rate_limited()
    return checked


def job_rows(url: str) -> list[dict]:
    import psycopg

    from connex.state.target import DatabaseURL
    from connex.workers.jobs import conninfo

    with psycopg.connect(conninfo(DatabaseURL(url))) as conn:
        cursor = conn.execute("SELECT id, args->>'connection', status::text, attempts FROM procrastinate_jobs")
        return [{"id": i, "connection": c, "status": s, "attempts": a} for i, c, s, a in cursor.fetchall()]


def orphaned_passes(url: str) -> int:
    """Jobs still marked running whose worker has stopped beating (a SIGKILLed worker's, until they are retried)."""
    import psycopg

    from connex.state.target import DatabaseURL
    from connex.workers.jobs import conninfo

    with psycopg.connect(conninfo(DatabaseURL(url))) as conn:
        return conn.execute(
            "SELECT count(*) FROM procrastinate_jobs j LEFT JOIN procrastinate_workers w ON w.id = j.worker_id "
            "WHERE j.status = 'doing' AND (w.id IS NULL OR w.last_heartbeat < now() - interval '3 seconds')"
        ).fetchone()[0]


def wait_no_orphans(url: str, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while orphaned_passes(url):
        assert time.monotonic() < deadline, "a lost worker's pass was never taken up again"
        time.sleep(0.3)


def status_of(worker: Worker, wait: float = 60) -> dict:
    """The worker's /status, once it answers (a worker restarted a moment ago is still starting)."""
    deadline = time.monotonic() + wait
    while True:
        try:
            return requests.get(f"http://127.0.0.1:{worker.port}/status", timeout=30).json()
        except requests.ConnectionError:
            assert worker.alive() and time.monotonic() < deadline, worker.output()[-3000:]
            time.sleep(0.2)


