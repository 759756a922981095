"""The daemon: one loop that beats, schedules every connection's passes into a bounded pool, and stops gracefully.

* Each connection has its own schedule (``sync.schedule``, shared or its own); a trigger hands its pass to a pool
  of ``daemon.max_parallel`` threads. A connection is never queued or running twice: a trigger that finds its
  previous pass still queued or going is skipped and counted, never overlapped, so nothing piles up.
* The loop keeps its heartbeat (``/healthz``) whatever the passes do.
* After downtime the first pass of each connection starts at once: cursors are persisted, so one pass catches up
  everything missed.
* A connection's schedule paused from the console skips its scheduled passes; a pass a person asks for from the
  console (``request_run``) still runs, through the same claim, so it never overlaps a scheduled one.
* SIGTERM / SIGINT: no new pass starts and queued ones are dropped; running ones finish their current page,
  checkpoint and return; the process exits within ``STOP_GRACE`` seconds.
"""

from __future__ import annotations

import logging
import signal
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import schedule

from connex.config import Config
from connex.connectors import merge_services
from connex.console import start_console
from connex.daemon.connection import ConnectionWorker
from connex.daemon.health import HealthServer
from connex.daemon.pause import paused
from connex.daemon.public import public_status
from connex.daemon.scheduling import GuardedJob
from connex.errors import ConfigError
from connex.plugin_manager import Plugins
from connex.rules.engine import EngineSettings, RulesEngine
from connex.rules.loader import load_rules
from connex.sync.engine import SyncEngine
from connex.sync.report import RunOptions

log = logging.getLogger(__name__)
STOP_GRACE = 25.0
LOOP_SECONDS = 0.5
OUTCOME_SECONDS = 2
DEFAULT_MAX_PARALLEL = 4


class Daemon:
    def __init__(self, configs: Config | list[Config], plugins: Plugins, *, engine: SyncEngine | None = None,
                 max_parallel: int = DEFAULT_MAX_PARALLEL, health_listen: str | None = None):
        configs = [configs] if isinstance(configs, Config) else list(configs)
        unscheduled = [c.name for c in configs if c.sync.schedule is None]
        if unscheduled:
            who = "" if unscheduled == ["default"] else f" (connections without one: {', '.join(unscheduled)})"
            raise ConfigError("the daemon needs sync.schedule (e.g. 'every 15 minutes') in the configuration" + who)
        self.plugins = plugins
        self.health_listen = health_listen or configs[0].health_listen
        self.max_parallel = max(1, int(max_parallel))
        self.stop_event = threading.Event()
        self.heartbeat = time.monotonic()
        self.scheduler = schedule.Scheduler()
        self.jobs: dict[str, GuardedJob] = {}
        self.workers: dict[str, ConnectionWorker] = {}
        rules_by_paths: dict[tuple, object] = {}  # connections usually share their rules: load each set once
        try:
            for config in configs:
                key = tuple(config.rule_paths)
                if key not in rules_by_paths:
                    rules_by_paths[key] = load_rules(config.rule_paths, plugins)
                rules = RulesEngine(rules_by_paths[key], EngineSettings.from_sync(config.sync))
                self.workers[config.name] = ConnectionWorker(config, plugins, rules=rules,
                                                             engine=engine if len(configs) == 1 else None,
                                                             preflight=len(configs) == 1)
        except BaseException:
            for worker in self.workers.values():
                worker.close()
            raise
        if len(configs) > 1:
            # a check per connection reads each company's lists and recent orders before its first pass: with
            # fifty connections that held the first passes up for minutes (tests/sync/test_many_connections.py)
            log.info("%d connections: no preflight check at start; `connex check --connection NAME` runs one",
                     len(configs))
        self.pool = ThreadPoolExecutor(max_workers=self.max_parallel, thread_name_prefix="sync-pass")
        self._outcomes_at = time.monotonic()
        self.console = None

    # --- the single-connection view (a plain connex.yaml): what callers of one connection use --------------
    def _only(self) -> ConnectionWorker:
        if len(self.workers) != 1:
            raise AttributeError("this daemon serves several connections: see .workers")
        return next(iter(self.workers.values()))

    @property
    def engine(self) -> SyncEngine:
        return self._only().engine

    @property
    def state(self):
        return self._only().state

    @property
    def config(self) -> Config:
        return self._only().config

    @property
    def flows(self) -> list[str]:
        return self._only().flows

    def _pass(self) -> None:
        """Run the only connection's pass now, in this thread."""
        worker = self._only()
        if worker.claim():
            worker.run_pass(self.stop_event)

    # --- passes --------------------------------------------------------------------------------------------
    def trigger(self, name: str | None = None) -> None:
        """A scheduled pass of connection ``name`` (the only one when None)."""
        if self.stop_event.is_set():
            return
        worker = self.workers[name] if name is not None else self._only()
        name = worker.name
        if paused(worker.state, worker.pause_key):
            log.info("%s: the schedule is paused (from the console); this scheduled pass is skipped", name,
                     extra={"connection": name})
            return
        if not worker.claim():
            log.warning("%s: a pass is still queued or running; this scheduled pass is skipped, not overlapped",
                        name, extra={"connection": name})
            return
        try:
            self.pool.submit(worker.run_pass, self.stop_event)
        except RuntimeError:  # the pool is shutting down
            worker.run_pass(self.stop_event)  # returns at once: stop is set

    def request_run(self, flows: list[str], options: RunOptions, name: str | None = None) -> str | None:
        """A pass a person asked for (the console's run now and retry): started at once, paused or not; returns
        why not when it cannot start (stopping, or a pass of that connection is queued or running)."""
        if self.stop_event.is_set():
            return "the daemon is stopping"
        worker = self.workers[name] if name is not None else self._only()
        if not worker.claim(count=False):
            return "a pass is running; try again when it has finished"
        options.stop = self.stop_event
        try:
            self.pool.submit(worker.run_pass, self.stop_event, flows, options)
        except RuntimeError:  # the pool is shutting down
            worker.run_pass(self.stop_event)
            return "the daemon is stopping"
        return None

    # --- health --------------------------------------------------------------------------------------------
    def healthz(self) -> tuple[bool, dict]:
        """Unhealthy (503) when the loop stalls, when stopping, and when a connection's last pass could not
        complete (it crashed, a remote stayed down, a credential was refused): a monitor then sees it without
        reading logs. With several connections the body names the failing ones."""
        age = time.monotonic() - self.heartbeat
        failing = [w.name for w in self.workers.values() if not w.pass_ok]
        ok = age < 30 and not self.stop_event.is_set() and not failing
        body = {"status": "ok" if ok else "unhealthy", "heartbeat_age_seconds": round(age, 2),
                "passes": sum(w.passes for w in self.workers.values()),
                "running": any(w.running for w in self.workers.values())}
        if len(self.workers) == 1 and "default" in self.workers:
            brief = self._only().last_pass_brief()
            if brief is not None:
                body["last_pass"] = brief
            return ok, body
        body["connections"] = len(self.workers)
        body["running_connections"] = sorted(w.name for w in self.workers.values() if w.running)
        body["failing"] = {name: self.workers[name].last_pass_brief() for name in failing}
        return ok, body

    def status(self) -> dict:
        """What ``/status`` serves: reasons without record values (``public``); ``connex status`` has them.
        A single connex.yaml: its status with a ``daemon`` block, as always. Several connections:
        ``{"daemon": {...}, "connections": {name: <that same shape>}}``."""
        from connex.commands.status import status_data

        def one(worker: ConnectionWorker) -> dict:
            data = status_data(worker.state, connection=worker.name)
            data["daemon"] = worker.daemon_block()
            data["daemon"]["paused"] = paused(worker.state, worker.pause_key) is not None
            return public_status(data)

        if len(self.workers) == 1 and "default" in self.workers:
            return one(self._only())
        workers = list(self.workers.values())
        return {
            "daemon": {
                "connections": len(workers), "max_parallel": self.max_parallel,
                "running": sorted(w.name for w in workers if w.running),
                "queued": sorted(w.name for w in workers if w.busy and not w.running),
                "passes": sum(w.passes for w in workers),
                "skipped_triggers": sum(w.skipped_triggers for w in workers),
                "failing": sorted(w.name for w in workers if not w.pass_ok),
            },
            "connections": {w.name: one(w) for w in workers},
        }

    # --- the loop ------------------------------------------------------------------------------------------
    def request_stop(self, signum=None, frame=None) -> None:
        if not self.stop_event.is_set():
            log.info("stop requested (signal %s): finishing the current page", signum)
        self.stop_event.set()

    def run(self) -> int:
        signal.signal(signal.SIGTERM, self.request_stop)
        signal.signal(signal.SIGINT, self.request_stop)
        health = HealthServer(self.health_listen, self.healthz, self.status).start()
        started_services = []
        try:
            # services several connections share (one Web Connector endpoint for every Desktop connection) once
            for service in merge_services([s for worker in self.workers.values() for s in worker.services]):
                service.start()
                started_services.append(service)
            self._announce(health)
            self.console = start_console(self)  # every connection's; None unless the configuration has a console:
            for name, worker in self.workers.items():
                self.jobs[name] = GuardedJob(self.scheduler, worker.config.sync.schedule,
                                             lambda name=name: self.trigger(name))
            for name, worker in self.workers.items():
                if worker.overdue():
                    self.trigger(name)  # catch up at once: the persisted cursors make one pass cover the downtime
            while not self.stop_event.is_set():
                self.heartbeat = time.monotonic()
                self.scheduler.run_pending()
                for name, job in self.jobs.items():
                    job.correct()
                    self.workers[name].next_run = job.next_run
                self._outcomes_between_passes()
                self.stop_event.wait(LOOP_SECONDS)
        finally:
            self._shutdown(health, started_services)
        return 0

    def _announce(self, health: HealthServer) -> None:
        if len(self.workers) == 1 and "default" in self.workers:
            worker = self._only()
            text = f"{', '.join(worker.flows)} {worker.config.sync.schedule.text}"
        else:
            text = f"{len(self.workers)} connections, {self.max_parallel} at a time"
        log.info("daemon: %s; health on %s", text, health.url)
        print(f"connex daemon: {text}; health on {health.url}", flush=True)

    def _outcomes_between_passes(self) -> None:
        if time.monotonic() - self._outcomes_at < OUTCOME_SECONDS:
            return
        self._outcomes_at = time.monotonic()
        for worker in self.workers.values():
            worker.collect_outcomes()

    def _shutdown(self, health: HealthServer, services: list) -> None:
        deadline = time.monotonic() + STOP_GRACE
        self.stop_event.set()
        self.pool.shutdown(wait=False, cancel_futures=True)  # queued passes never start
        for worker in self.workers.values():  # a cancelled pass still holds its claim: release it
            if worker.busy and not worker.running:
                worker.run_pass(self.stop_event)
        while any(w.running for w in self.workers.values()) and time.monotonic() < deadline:
            time.sleep(0.05)
        stuck = [w.name for w in self.workers.values() if w.running]
        if stuck:
            log.error("passes of %s did not stop within %ss; their last checkpoints stand", ", ".join(stuck),
                      STOP_GRACE)
        for service in services:
            service.stop()
        if self.console is not None:
            self.console.stop()
        health.stop()
        for worker in self.workers.values():
            if not worker.running:
                worker.close()
        log.info("daemon stopped after %d passes", sum(w.passes for w in self.workers.values()))
