"""Passes a person asks for from the console (run a flow now, retry failed documents), never overlapping another.

Under the daemon the pass runs in the daemon's own worker (``Daemon.request_run``), so a scheduled pass and a
console's pass cannot overlap. ``connex console`` alone runs it in a thread of its own with its own engine; the
state file's lock keeps it from overlapping a ``connex sync`` or a daemon on the same file.
"""

from __future__ import annotations

import logging
import threading

from connex.sync.report import RunOptions

log = logging.getLogger(__name__)


class DaemonRunner:
    """One connection of the daemon (``name``; the only one when None), as the console's pages see it."""

    def __init__(self, daemon, name: str | None = None):
        self.daemon = daemon
        self.name = name

    @property
    def worker(self):
        return self.daemon.workers[self.name] if self.name is not None else self.daemon._only()

    @property
    def flows(self) -> list[str]:
        return list(self.worker.flows)

    def request(self, flows: list[str], options: RunOptions) -> str | None:
        return self.daemon.request_run(flows, options, self.name)

    def running(self) -> bool:
        return self.worker.busy

    def next_run(self):
        return self.worker.next_run

    def health(self) -> tuple[bool | None, dict]:
        if len(self.daemon.workers) == 1:
            return self.daemon.healthz()
        # one connection of many: the daemon's /healthz covers all; this is the connection's own last pass
        worker = self.worker
        brief = worker.last_pass_brief()
        if brief is None:  # no pass of this daemon yet (the last pass column shows the ledger's last run)
            return None, {"status": "no pass since the daemon started"}
        return worker.pass_ok, {"status": "ok" if worker.pass_ok else "failing", "last_pass": brief}


class LocalRunner:
    """For ``connex console`` alone: one pass at a time, each with a fresh engine (fresh connectors)."""

    def __init__(self, config, plugins):
        from connex.sync.engine import enabled_flows

        self.config = config
        self.plugins = plugins
        self.flows = enabled_flows(config)
        self.worker: threading.Thread | None = None
        self.last_error: str | None = None

    def request(self, flows: list[str], options: RunOptions) -> str | None:
        if self.worker is not None and self.worker.is_alive():
            return "a pass is running; try again when it has finished"
        options.lock_wait = max(options.lock_wait, 30.0)
        self.worker = threading.Thread(target=self._run, args=(flows, options), name="console-pass", daemon=True)
        self.worker.start()
        return None

    def _run(self, flows: list[str], options: RunOptions) -> None:
        from connex.state import open_state
        from connex.sync.engine import SyncEngine

        state = open_state(self.config.state_path, connection=self.config.name)
        engine = None
        try:
            engine = SyncEngine(self.config, self.plugins, state)
            engine.run(flows, options)
            self.last_error = None
        except Exception as exc:  # the console goes on; the page shows the runs table and this
            log.exception("a pass started from the console failed")
            self.last_error = f"{type(exc).__name__}: {exc}"
        finally:
            if engine is not None:
                engine.close()
            state.close()

    def running(self) -> bool:
        return bool(self.worker and self.worker.is_alive())

    def next_run(self):
        return None

    def health(self) -> tuple[bool | None, dict]:
        """No schedule runs here: health is the daemon's to say (its /healthz), not this console's."""
        body = {"status": "console only: no daemon in this process", "running": self.running()}
        if self.last_error:
            body["last_error"] = self.last_error
        return (False if self.last_error else None), body

    def wait(self, timeout: float | None = None) -> None:
        if self.worker is not None:
            self.worker.join(timeout)
