"""`connex worker` and `connex scheduler` as processes: procrastinate's worker running passes, beside it the slot
deferrer and the lost-worker check, /healthz and /status, and a graceful stop on SIGTERM/SIGINT."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import signal
import socket
import threading
import time

from connex.config import Config
from connex.daemon.health import HealthServer
from connex.daemon.public import public_status
from connex.errors import ConfigError
from connex.plugin_manager import Plugins
from connex.state import open_state
from connex.state.database import Database, acquire, release
from connex.state.target import DatabaseURL
from connex.workers import stalled
from connex.workers.deferrer import SlotDeferrer
from connex.workers.jobs import QUEUE, Runner, build_app
from connex.workers.schema import apply_schema
from connex.workers.status import queue_of, workers

log = logging.getLogger(__name__)
STOP_GRACE = 25.0
DEFAULT_CONCURRENCY = 4
DEFAULT_HEARTBEAT = 10.0
DEFAULT_STALLED_AFTER = 30.0
SQLITE_REFUSAL = ("`connex {command}` runs passes from a job queue in PostgreSQL, and this deployment's state is "
                  "the SQLite file {state}: set state: postgresql://... (docs/scale.md), or run `connex daemon`, "
                  "which syncs every connection on this machine with SQLite")


def open_queue_database(configs: list[Config], command: str) -> Database:
    """The deployment's PostgreSQL database, Connex's schema migrated and procrastinate's applied; a clear
    refusal for SQLite state."""
    target = configs[0].state_path
    if not isinstance(target, DatabaseURL):
        raise ConfigError(SQLITE_REFUSAL.format(command=command, state=target))
    db = acquire(target, 30.0)
    try:
        with db.guard():
            done = apply_schema(db)
    except BaseException:
        release(db)
        raise
    log.info("job queue schema %s", done)
    return db


class WorkerService:
    def __init__(self, configs: list[Config], plugins: Plugins, *, concurrency: int = DEFAULT_CONCURRENCY,
                 health_listen: str | None = None, schedule: bool = True, heartbeat: float = DEFAULT_HEARTBEAT,
                 stalled_after: float = DEFAULT_STALLED_AFTER):
        self.configs = configs
        self.concurrency = max(1, int(concurrency))
        self.health_listen = health_listen
        self.schedule = schedule
        self.heartbeat_seconds = heartbeat
        self.stalled_after = max(stalled_after, 2 * heartbeat)
        self.runner = Runner({c.name: c for c in configs}, plugins)
        self.name = f"connex@{socket.gethostname()}:{os.getpid()}"
        self.heartbeat = time.monotonic()
        self.db: Database | None = None
        self._worker_task: asyncio.Task | None = None

    # --- health and status ---------------------------------------------------------------------------------
    def _here(self) -> dict:
        with self.runner._lock:
            running = sorted(self.runner.running)
        return {"name": self.name, "concurrency": self.concurrency, "running": running,
                "passes": self.runner.passes, "schedules": self.schedule}

    def healthz(self) -> tuple[bool, dict]:
        age = time.monotonic() - self.heartbeat
        body = {"heartbeat_age_seconds": round(age, 2), "worker": self._here(), "connections": len(self.configs)}
        try:
            with self.db.read() as conn:
                body["workers_alive"] = len(workers(conn))
            reachable = True
        except Exception as exc:  # the database is what the worker lives on: unreachable is unhealthy
            body["error"] = str(exc)[:300]
            reachable = False
        ok = age < 30 and not self.runner.stop.is_set() and reachable
        body["status"] = "ok" if ok else "unhealthy"
        return ok, body

    def status(self) -> dict:
        return deployment_status(self.db, self.configs, worker=self._here())

    # --- the process ---------------------------------------------------------------------------------------
    def run(self) -> int:
        # a SIGTERM while the worker still starts (migrating, connecting) stops it as soon as its loop runs
        for signum in (signal.SIGTERM, signal.SIGINT):
            signal.signal(signum, lambda *_: self.runner.stop.set())
        self.db = open_queue_database(self.configs, "worker")
        try:
            return asyncio.run(self._main())
        finally:
            self.runner.close()
            release(self.db)

    def request_stop(self) -> None:
        if not self.runner.stop.is_set():
            log.info("stop requested: running passes finish their current page")
        self.runner.stop.set()
        if self._worker_task is not None:
            self._worker_task.cancel()  # procrastinate's worker stops taking jobs and waits for the running ones

    async def _main(self) -> int:
        app = build_app(self.configs[0].state_path)
        loop = asyncio.get_running_loop()
        for signum in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(signum, self.request_stop)
        health = HealthServer(self.health_listen, self.healthz, self.status).start() if self.health_listen else None
        async with app.open_async():
            side = [asyncio.create_task(self._beat()),
                    asyncio.create_task(stalled.watch(app, self.stalled_after, self.heartbeat_seconds))]
            if self.schedule:
                side.append(asyncio.create_task(SlotDeferrer(app, self.configs).run()))
            self._worker_task = asyncio.create_task(app.run_worker_async(
                name=self.name, queues=[QUEUE], concurrency=self.concurrency, install_signal_handlers=False,
                additional_context={"runner": self.runner}, update_heartbeat_interval=self.heartbeat_seconds,
                stalled_worker_timeout=self.stalled_after, shutdown_graceful_timeout=STOP_GRACE))
            if self.runner.stop.is_set():
                self.request_stop()
            where = f"; health on {health.url}" if health else ""
            text = (f"{len(self.configs)} connection{'s' if len(self.configs) != 1 else ''}, {self.concurrency} "
                    f"at a time{', deferring their schedules' if self.schedule else ''}{where}")
            log.info("worker %s: %s", self.name, text)
            print(f"connex worker: {text}", flush=True)
            try:
                await self._worker_task
            except asyncio.CancelledError:
                pass
            finally:
                for task_ in side:
                    task_.cancel()
                for task_ in side:
                    with contextlib.suppress(asyncio.CancelledError, Exception):
                        await task_
        if health:
            health.stop()
        log.info("worker %s stopped after %d passes", self.name, self.runner.passes)
        return 0

    async def _beat(self) -> None:
        while True:
            self.heartbeat = time.monotonic()
            await asyncio.sleep(1.0)


def deployment_status(db: Database, configs: list[Config], worker: dict | None = None) -> dict:
    """Every connection of the deployment as the database has it: ledger counts, last runs and failures (values
    hidden, as on any /status), and its job: running (on which worker), queued, the last that ended."""
    from connex.commands.status import status_data

    names = [c.name for c in configs]
    found = queue_of(db, names)
    queue, registered = found if found else ({}, [])
    connections = {}
    for config in configs:
        state = open_state(config.state_path, connection=config.name)
        try:
            data = status_data(state, connection=config.name)
        finally:
            state.close()
        data["jobs"] = queue.get(config.name)
        connections[config.name] = public_status(data)
    summary = {"connections": len(configs), "workers": registered,
               "running": sorted(n for n, q in queue.items() if q["running"]),
               "queued": sorted(n for n, q in queue.items() if q["queued"])}
    if worker is not None:
        summary["here"] = worker
    return {"workers": summary, "connections": connections}


class SchedulerService:
    """`connex scheduler`: only the slot deferrer (for workers started with ``--no-schedule``)."""

    def __init__(self, configs: list[Config]):
        self.configs = configs
        self.stop = threading.Event()

    def run(self) -> int:
        db = open_queue_database(self.configs, "scheduler")
        try:
            return asyncio.run(self._main())
        finally:
            release(db)

    async def _main(self) -> int:
        app = build_app(self.configs[0].state_path)
        loop = asyncio.get_running_loop()
        deferring = None

        def stop():
            self.stop.set()
            if deferring is not None:
                deferring.cancel()

        for signum in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(signum, stop)
        async with app.open_async():
            deferrer = SlotDeferrer(app, self.configs)
            deferring = asyncio.create_task(deferrer.run())
            print(f"connex scheduler: deferring the schedules of {len(self.configs)} connections", flush=True)
            with contextlib.suppress(asyncio.CancelledError):
                await deferring
        log.info("scheduler stopped after deferring %d passes", deferrer.deferred)
        return 0

    def queue_now(self) -> dict[str, int | None]:
        """A pass of every connection queued now (the job id, or None where one is queued already)."""
        from connex.workers.jobs import queue_pass

        db = open_queue_database(self.configs, "scheduler")

        async def main():
            app = build_app(self.configs[0].state_path)
            async with app.open_async():
                return {c.name: await queue_pass(app, c.name) for c in self.configs}

        try:
            return asyncio.run(main())
        finally:
            release(db)
