"""The daemon: a loop that beats, schedules passes, and stops gracefully.

* A pass runs every enabled flow in a worker thread; the loop keeps its heartbeat (``/healthz``) meanwhile.
* After downtime the first pass starts at once: cursors are persisted, so one pass catches up everything missed.
* SIGTERM / SIGINT: no new pass starts; the running one finishes its current page, checkpoints and returns; the
  process exits within ``STOP_GRACE`` seconds.
"""

from __future__ import annotations

import datetime as dt
import logging
import signal
import threading
import time

import schedule

from connex.alerts import alerts_for
from connex.config import Config
from connex.console import start_console
from connex.daemon.health import HealthServer
from connex.daemon.pause import paused
from connex.daemon.public import public_status
from connex.daemon.scheduling import GuardedJob
from connex.errors import ConfigError, ConnexError
from connex.plugin_manager import Plugins
from connex.preflight import log_check
from connex.state import open_state
from connex.sync.engine import SyncEngine, enabled_flows
from connex.sync.outcomes import record_outcomes
from connex.sync.report import RunOptions

log = logging.getLogger(__name__)
STOP_GRACE = 25.0
LOOP_SECONDS = 0.5
OUTCOME_SECONDS = 2


class Daemon:
    def __init__(self, config: Config, plugins: Plugins, *, engine: SyncEngine | None = None):
        if config.sync.schedule is None:
            raise ConfigError("the daemon needs sync.schedule (e.g. 'every 15 minutes') in the configuration")
        self.config = config
        self.plugins = plugins
        self.state = open_state(config.state_path)
        self.engine = engine or SyncEngine(config, plugins, self.state)
        self.flows = enabled_flows(config)
        self.stop_event = threading.Event()
        self.worker: threading.Thread | None = None
        self.heartbeat = time.monotonic()
        self.passes = 0
        self.skipped_triggers = 0
        self.last_pass: dict | None = None
        self.scheduler = schedule.Scheduler()
        self.job: GuardedJob | None = None
        # what the target needs served meanwhile: the Web Connector endpoint for QuickBooks Desktop
        self.extra_services: list = list(self.engine.target.services())
        self._outcomes_at = time.monotonic()
        self.alerts = alerts_for(config, self.state)
        self.console = None
        self._starting = threading.Lock()

    # --- passes --------------------------------------------------------------------------------------------
    @property
    def connection(self) -> str:
        return self.config.sync.connection or "default"

    def trigger(self) -> None:
        if self.stop_event.is_set():
            return
        if paused(self.state, self.connection):
            log.info("the schedule is paused (from the console); this scheduled pass is skipped")
            return
        with self._starting:
            if self.worker is not None and self.worker.is_alive():
                self.skipped_triggers += 1
                log.warning("a pass is still running; this scheduled pass is skipped, not overlapped")
                return
            self.worker = threading.Thread(target=self._pass, name="sync-pass", daemon=True)
            self.worker.start()

    def request_run(self, flows: list[str], options: RunOptions) -> str | None:
        """A pass a person asked for (the console's run now and retry): started at once, paused or not; returns
        why not when it cannot start (stopping, or a pass is running: never overlapped)."""
        if self.stop_event.is_set():
            return "the daemon is stopping"
        with self._starting:  # the console's thread and the schedule's loop: one pass at a time
            if self.worker is not None and self.worker.is_alive():
                return "a pass is running; try again when it has finished"
            options.stop = self.stop_event
            self.worker = threading.Thread(target=self._pass, args=(flows, options), name="sync-pass", daemon=True)
            self.worker.start()
        return None

    def _pass(self, flows: list[str] | None = None, options: RunOptions | None = None) -> None:
        started = dt.datetime.now(dt.UTC)
        number = self.passes + 1
        flows = flows or self.flows
        log.info("pass %d: starting flows %s", number, ", ".join(flows))
        try:
            reports = self.engine.run(flows, options or RunOptions(stop=self.stop_event))
            if self.alerts:
                self.alerts.after_pass(reports)
            summary = {r.flow: {"status": r.status, "counts": dict(r.counts), "failures": len(r.failures)}
                       for r in reports}
            # a flow that stopped early (remote down, credential refused) did not complete, unless asked to stop
            error = "; ".join(f"{r.flow}: {r.incomplete}" for r in reports
                              if r.incomplete and not r.incomplete.startswith("stop requested")) or None
        except ConnexError as exc:  # the state file busy or unusable: the pass did not run
            log.error("pass %d could not run: %s", number, exc)
            summary, error = {}, str(exc)
        except Exception as exc:  # a pass that crashes is logged; the schedule goes on
            log.exception("pass %d crashed", number)
            summary, error = {}, f"{type(exc).__name__}: {exc}"
            if self.alerts:
                self.alerts.pass_failed(None, error)
        self.passes = number
        self.last_pass = {"number": number, "started_at": started.isoformat(timespec="seconds"),
                          "finished_at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
                          "flows": summary, "ok": error is None, "error": error}
        log.info("pass %d: finished %s", number, summary)

    def _overdue(self) -> bool:
        """True when the last finished run is older than one schedule period (or there is none)."""
        finished = [r for r in self.state.last_runs(50) if r.get("finished_at")]
        if not finished:
            return True
        last = dt.datetime.fromisoformat(finished[0]["finished_at"]).replace(tzinfo=None)
        spec = self.config.sync.schedule
        return spec.next_after(last) <= dt.datetime.now(dt.UTC).replace(tzinfo=None)

    # --- health --------------------------------------------------------------------------------------------
    def healthz(self) -> tuple[bool, dict]:
        """Unhealthy (503) when the loop stalls, when stopping, and when the last pass could not complete (it
        crashed, a remote stayed down, a credential was refused): a monitor then sees it without reading logs."""
        age = time.monotonic() - self.heartbeat
        last = self.last_pass
        pass_ok = last is None or last.get("ok", True)
        ok = age < 30 and not self.stop_event.is_set() and pass_ok
        body = {"status": "ok" if ok else "unhealthy", "heartbeat_age_seconds": round(age, 2),
                "passes": self.passes, "running": bool(self.worker and self.worker.is_alive())}
        if last is not None:
            body["last_pass"] = {"number": last["number"], "finished_at": last["finished_at"], "ok": pass_ok,
                                 "error": (last.get("error") or "")[:300] or None}
        return ok, body

    def status(self) -> dict:
        """What ``/status`` serves: reasons without record values (``public``); ``connex status`` has them."""
        from connex.commands.status import status_data

        data = status_data(self.state)
        data["daemon"] = {
            "passes": self.passes, "last_pass": self.last_pass, "skipped_triggers": self.skipped_triggers,
            "running": bool(self.worker and self.worker.is_alive()), "flows": self.flows,
            "schedule": self.config.sync.schedule.text, "paused": paused(self.state, self.connection) is not None,
            "next_run": self.job.next_run.isoformat() if self.job and self.job.next_run else None,
        }
        return public_status(data)

    # --- the loop ------------------------------------------------------------------------------------------
    def request_stop(self, signum=None, frame=None) -> None:
        if not self.stop_event.is_set():
            log.info("stop requested (signal %s): finishing the current page", signum)
        self.stop_event.set()

    def run(self) -> int:
        signal.signal(signal.SIGTERM, self.request_stop)
        signal.signal(signal.SIGINT, self.request_stop)
        health = HealthServer(self.config.health_listen, self.healthz, self.status).start()
        for service in self.extra_services:
            service.start()
        self.console = start_console(self)  # None unless the configuration has a console: block
        log.info("daemon: flows %s on '%s'; health on %s", ", ".join(self.flows), self.config.sync.schedule.text,
                 health.url)
        print(f"connex daemon: {', '.join(self.flows)} {self.config.sync.schedule.text}; health on {health.url}",
              flush=True)
        # the preflight's findings in the log before the first pass (connex check); it never stops the daemon
        log_check(self.config, self.engine.rules.rules, self.engine.rules, self.engine.target, self.engine.source)
        self.job = GuardedJob(self.scheduler, self.config.sync.schedule, self.trigger)
        if self._overdue():
            self.trigger()  # catch up at once: the persisted cursors make one pass cover the downtime
        try:
            while not self.stop_event.is_set():
                self.heartbeat = time.monotonic()
                self.scheduler.run_pending()
                self.job.correct()
                self._outcomes_between_passes()
                self.stop_event.wait(LOOP_SECONDS)
        finally:
            self._shutdown(health)
        return 0

    def _outcomes_between_passes(self) -> None:
        """The Web Connector's outcomes into the ledger while no pass runs (a pass collects its own)."""
        if not self.extra_services or (self.worker is not None and self.worker.is_alive()):
            return
        if time.monotonic() - self._outcomes_at >= OUTCOME_SECONDS:
            self._outcomes_at = time.monotonic()
            try:
                record_outcomes(self.engine.target, self.state)
            except Exception:  # the loop must go on; the next pass collects them
                log.exception("recording the Web Connector's outcomes failed")

    def _shutdown(self, health: HealthServer) -> None:
        deadline = time.monotonic() + STOP_GRACE
        if self.worker is not None:
            self.worker.join(max(deadline - time.monotonic(), 0))
            if self.worker.is_alive():
                log.error("the running pass did not stop within %ss; its last checkpoint stands", STOP_GRACE)
        for service in self.extra_services:
            service.stop()
        if self.console is not None:
            self.console.stop()
        health.stop()
        self.engine.close()
        self.state.close()
        log.info("daemon stopped after %d passes", self.passes)
