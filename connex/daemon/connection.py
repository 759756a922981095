"""One connection inside the daemon: its state, engine, schedule, passes, and what health and status say of it.

The daemon's pool calls ``run_pass``; ``claim`` makes sure a connection is never queued or running twice.
"""

from __future__ import annotations

import datetime as dt
import logging
import threading

from connex.alerts import alerts_for
from connex.config import Config
from connex.errors import ConnexError
from connex.logs import current_connection
from connex.plugin_manager import Plugins
from connex.preflight import log_check
from connex.rules.engine import RulesEngine
from connex.state import open_state
from connex.sync.engine import SyncEngine, enabled_flows
from connex.sync.outcomes import record_outcomes
from connex.sync.report import RunOptions

log = logging.getLogger(__name__)


class ConnectionWorker:
    def __init__(self, config: Config, plugins: Plugins, *, rules: RulesEngine | None = None,
                 engine: SyncEngine | None = None, preflight: bool = True):
        self.config = config
        self.name = config.name
        self.state = open_state(config.state_path, connection=config.name)
        try:
            self.engine = engine or SyncEngine(config, plugins, self.state, rules=rules)
        except BaseException:
            self.state.close()
            raise
        self.flows = enabled_flows(config)
        self.passes = 0
        self.skipped_triggers = 0
        self.last_pass: dict | None = None
        self.next_run: dt.datetime | None = None
        self.alerts = alerts_for(config, self.state)
        # what the target needs served meanwhile: the Web Connector endpoint for QuickBooks Desktop
        self.services: list = list(self.engine.target.services())
        self._claim = threading.Lock()
        self._busy = False  # queued in the pool or running
        # the preflight logged (before the first pass, in the pool: never holds up the loop); a daemon of many
        # connections skips it (see Daemon)
        self._checked = not preflight
        self.running = False

    # --- one pass at a time ------------------------------------------------------------------------------
    @property
    def pause_key(self) -> str:
        """The name the console pauses this connection's schedule under (``connex.daemon.pause``)."""
        return self.config.sync.connection or self.name

    def claim(self, *, count: bool = True) -> bool:
        """Reserve the next pass; False when one is already queued or running (a scheduled trigger is then
        skipped and counted; ``count=False`` for a pass a person asked for, which is refused instead)."""
        with self._claim:
            if self._busy:
                if count:
                    self.skipped_triggers += 1
                return False
            self._busy = True
            return True

    @property
    def busy(self) -> bool:
        return self._busy

    def run_pass(self, stop: threading.Event, flows: list[str] | None = None,
                 options: RunOptions | None = None) -> None:
        """Run the enabled flows (or ``flows`` with ``options``, a pass asked for from the console) once, called by
        the pool after ``claim``; never raises."""
        token = current_connection.set(self.name)
        try:
            if not stop.is_set():  # a pass still queued when the daemon stops does not start
                self.running = True
                if not self._checked:
                    self._checked = True
                    self._preflight()
                self._pass(stop, flows, options)
        finally:
            current_connection.reset(token)
            self.running = False
            with self._claim:
                self._busy = False

    def _preflight(self) -> None:
        """The preflight's findings in the log before the first pass (``connex check``); it never stops a pass."""
        try:
            log_check(self.config, self.engine.rules.rules, self.engine.rules, self.engine.target, self.engine.source)
        except Exception:
            log.exception("%s: the preflight check failed; the pass goes on", self.name)

    def _pass(self, stop: threading.Event, flows: list[str] | None = None, options: RunOptions | None = None) -> None:
        started = dt.datetime.now(dt.UTC)
        number = self.passes + 1
        flows = flows or self.flows
        log.info("%s: pass %d: starting flows %s", self.name, number, ", ".join(flows))
        try:
            reports = self.engine.run(flows, options or RunOptions(stop=stop))
            if self.alerts:
                self.alerts.after_pass(reports)
            summary = {r.flow: {"status": r.status, "counts": dict(r.counts), "failures": len(r.failures)}
                       for r in reports}
            # a flow that stopped early (remote down, credential refused) did not complete, unless asked to stop
            error = "; ".join(f"{r.flow}: {r.incomplete}" for r in reports
                              if r.incomplete and not r.incomplete.startswith("stop requested")) or None
        except ConnexError as exc:  # the state file busy or unusable: the pass did not run
            log.error("%s: pass %d could not run: %s", self.name, number, exc)
            summary, error = {}, str(exc)
        except Exception as exc:  # a pass that crashes is logged; the schedule goes on
            log.exception("%s: pass %d crashed", self.name, number)
            summary, error = {}, f"{type(exc).__name__}: {exc}"
            if self.alerts:
                self.alerts.pass_failed(None, error)
        self.passes = number
        self.last_pass = {"number": number, "started_at": started.isoformat(timespec="seconds"),
                          "finished_at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
                          "flows": summary, "ok": error is None, "error": error}
        log.info("%s: pass %d: finished %s", self.name, number, summary)

    def overdue(self) -> bool:
        """True when the last finished run is older than one schedule period (or there is none)."""
        finished = [r for r in self.state.last_runs(50) if r.get("finished_at")]
        if not finished:
            return True
        last = dt.datetime.fromisoformat(finished[0]["finished_at"]).replace(tzinfo=None)
        return self.config.sync.schedule.next_after(last) <= dt.datetime.now(dt.UTC).replace(tzinfo=None)

    # --- between passes ----------------------------------------------------------------------------------
    def collect_outcomes(self) -> None:
        """The Web Connector's outcomes into the ledger while no pass runs (a pass collects its own)."""
        if not self.services or self._busy:
            return
        try:
            record_outcomes(self.engine.target, self.state)
        except Exception:  # the loop must go on; the next pass collects them
            log.exception("%s: recording the Web Connector's outcomes failed", self.name)

    # --- what health and status say ----------------------------------------------------------------------
    @property
    def pass_ok(self) -> bool:
        return self.last_pass is None or self.last_pass.get("ok", True)

    def last_pass_brief(self) -> dict | None:
        last = self.last_pass
        if last is None:
            return None
        return {"number": last["number"], "finished_at": last["finished_at"], "ok": self.pass_ok,
                "error": (last.get("error") or "")[:300] or None}

    def daemon_block(self) -> dict:
        return {
            "passes": self.passes, "last_pass": self.last_pass, "skipped_triggers": self.skipped_triggers,
            "running": self.running, "queued": self._busy and not self.running, "flows": self.flows,
            "schedule": self.config.sync.schedule.text,
            "next_run": self.next_run.isoformat() if self.next_run else None,
        }

    def close(self) -> None:
        self.engine.close()
        self.state.close()
