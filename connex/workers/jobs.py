"""The procrastinate app on the state database, and its one task: ``sync_connection``, one pass of one connection.

Every job of a connection carries ``lock=<connection>`` (procrastinate starts no job while another with the same
lock is running: never two passes of one connection, whichever worker takes them) and
``queueing_lock=<connection>`` (a second job cannot be queued while one waits: a slow connection never piles
up passes). The pass itself holds the connection's advisory run lock as every pass does
(``SyncEngine.run``), so a `connex sync` by hand never overlaps a worker's pass either.
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass, field

import procrastinate
from procrastinate import exceptions

from connex.config import Config
from connex.daemon.connection import ConnectionWorker
from connex.daemon.pause import paused
from connex.plugin_manager import Plugins
from connex.rules.engine import EngineSettings, RulesEngine
from connex.rules.loader import load_rules
from connex.state.target import DatabaseURL

log = logging.getLogger(__name__)
TASK_NAME = "connex.sync_connection"
QUEUE = "connex"


def conninfo(target: DatabaseURL) -> str:
    """The libpq URI of a state URL (psycopg takes it as it is, query parameters and all)."""
    return target.url.set(drivername="postgresql").render_as_string(hide_password=False)


@dataclass
class Runner:
    """What a worker process knows to run passes: the deployment's connections, the plugins, and a stop event
    that a pass checks between pages."""

    configs: dict[str, Config]
    plugins: Plugins
    stop: threading.Event = field(default_factory=threading.Event)
    running: dict[str, int] = field(default_factory=dict)  # connection -> job id, passes running in this process
    passes: int = 0
    _rules: dict[tuple, object] = field(default_factory=dict)
    _workers: dict[str, ConnectionWorker] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def rules_for(self, config: Config) -> RulesEngine:
        key = tuple(config.rule_paths)
        with self._lock:
            if key not in self._rules:  # connections usually share their rules: load each set once per process
                self._rules[key] = load_rules(config.rule_paths, self.plugins)
            loaded = self._rules[key]
        return RulesEngine(loaded, EngineSettings.from_sync(config.sync))

    def run_pass(self, name: str, job_id: int | None, scheduled: bool) -> dict:
        """One pass of connection ``name``: the daemon's ``ConnectionWorker`` pass (state, engine, alerts and
        the pass's record), kept for the connection's next jobs in this process (``_worker_for``)."""
        config = self.configs.get(name)
        if config is None:
            # a job for a connection this worker's configuration lacks (a file removed, or machines configured
            # differently): said plainly, nothing is posted, no traceback
            log.error("connection %r is not in this worker's configuration (%d connections); its pass is not run "
                      "here: give every worker the same connections folder", name, len(self.configs))
            return {"ok": False, "error": "unknown connection"}
        worker = self._worker_for(config)
        if scheduled and paused(worker.state, worker.pause_key):
            log.info("%s: the schedule is paused (from the console); this scheduled pass is skipped", name,
                     extra={"connection": name})
            return {"skipped": "paused"}
        if not worker.claim(count=False):
            # only a job retried as stalled while its first run still goes on in this process gets here; the
            # run lock would stop it anyway, this says so without waiting for it
            log.warning("%s: a pass is already running in this worker; this job is not run", name,
                        extra={"connection": name})
            return {"skipped": "running"}
        with self._lock:
            self.running[name] = job_id or 0
        try:
            worker.run_pass(self.stop)
        finally:
            with self._lock:
                self.running.pop(name, None)
                self.passes += 1
        return {"ok": worker.pass_ok, "pass": worker.last_pass_brief()}

    def _worker_for(self, config: Config) -> ConnectionWorker:
        """The connection's ``ConnectionWorker``, built at its first job in this process and kept, as the daemon
        keeps it: building connectors and the rules engine for every pass cost more CPU than the pass itself.
        Keeping it is safe because nothing a pass needs lives only in memory: cursors, the ledger and the
        rotated OAuth token are read from the database at every run (``begin_run``, ``TokenManager._refresh``),
        and procrastinate's lock runs one pass of a connection at a time in the whole cluster."""
        with self._lock:
            worker = self._workers.get(config.name)
        if worker is None:
            worker = ConnectionWorker(config, self.plugins, rules=self.rules_for(config), preflight=False)
            with self._lock:
                self._workers[config.name] = worker
        return worker

    def close(self) -> None:
        with self._lock:
            workers, self._workers = list(self._workers.values()), {}
        for worker in workers:
            try:
                worker.close()
            except Exception:  # closing the rest matters more than one connection's error at exit
                log.exception("closing connection %s failed", worker.name)


def build_app(target: DatabaseURL) -> procrastinate.App:
    connector = procrastinate.PsycopgConnector(
        conninfo=conninfo(target), kwargs={"application_name": "connex worker"},
        min_size=1, max_size=8)
    app = procrastinate.App(connector=connector)

    @app.task(name=TASK_NAME, queue=QUEUE, pass_context=True)
    def sync_connection(context, connection: str, timestamp: int | None = None) -> dict:
        runner: Runner = context.additional_context["runner"]
        return runner.run_pass(connection, context.job.id, scheduled=timestamp is not None)

    return app


def task(app: procrastinate.App):
    return app.tasks[TASK_NAME]


async def queue_pass(app: procrastinate.App, connection: str) -> int | None:
    """Queue a pass of ``connection`` now; None when one is already queued (its queueing lock)."""
    try:
        return await task(app).configure(lock=connection, queueing_lock=connection).defer_async(
            connection=connection)
    except exceptions.AlreadyEnqueued:
        return None
