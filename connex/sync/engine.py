"""Running the enabled flows once: build the connectors, run each flow, record the run, harvest async outcomes."""

from __future__ import annotations

import logging

from connex.config import Config
from connex.errors import ConfigError, ConnexError, TransientError
from connex.plugin_manager import Plugins
from connex.rules.engine import EngineSettings, RulesEngine
from connex.rules.loader import load_rules
from connex.runtime import build_source, build_target
from connex.state.store import StateStore
from connex.sync.document_flow import DocumentFlow
from connex.sync.inventory_flow import InventoryFlow
from connex.sync.outcomes import record_outcomes
from connex.sync.report import FlowReport, RunOptions
from connex.sync.summary_flow import SummaryFlow, summarises

log = logging.getLogger(__name__)

FLOW_ORDER = ("orders", "purchases", "refunds", "inventory")


def enabled_flows(config: Config) -> list[str]:
    sync = config.sync
    wanted = {
        "orders": sync.order_mode != "off",
        "purchases": sync.purchases,
        "refunds": sync.refunds,
        "inventory": sync.inventory,
    }
    return [flow for flow in FLOW_ORDER if wanted[flow]]


class SyncEngine:
    def __init__(self, config: Config, plugins: Plugins, state: StateStore, *, rules: RulesEngine | None = None,
                 source=None, target=None):
        self.config = config
        self.state = state
        self.rules = rules or RulesEngine(load_rules(config.rule_paths, plugins), EngineSettings.from_sync(config.sync))
        self.source = source or build_source(config, plugins, state)
        self.target = target or build_target(config, plugins, state)

    def close(self) -> None:
        for connector in (self.source, self.target):
            try:
                connector.close()
            except Exception:  # closing must not hide the run's own outcome
                log.exception("closing %s failed", connector.name)

    def run(self, flows: list[str], options: RunOptions, progress=None) -> list[FlowReport]:
        """Run ``flows``; a real run holds its connection's run lock throughout (``StateBusy`` when another run has
        it past ``options.lock_wait``), so two processes never post for one connection."""
        if options.dry_run:
            return self._run(flows, options, progress)
        with self.state.run_lock().acquire(options.lock_wait):
            stale = self.state.interrupt_stale_runs()
            if stale:
                log.warning("%d earlier run(s) were left running by a process that stopped; marked interrupted",
                            stale)
            return self._run(flows, options, progress)

    def _run(self, flows: list[str], options: RunOptions, progress=None) -> list[FlowReport]:
        reports: dict[str, FlowReport] = {}
        self.target.begin_run()
        if not options.dry_run:
            self.harvest(reports)
        for flow in flows:
            reports[flow] = self.run_flow(flow, options, progress, report=reports.get(flow))
            if options.stopping():
                break
        if not options.dry_run:
            self.harvest(reports)
        return list(reports.values())

    def run_flow(self, flow: str, options: RunOptions, progress=None, report: FlowReport | None = None) -> FlowReport:
        report = report or FlowReport(flow)
        if not options.dry_run:
            report.run_id = self.state.start_run(flow)
        log.info("%s: run %s started", flow, report.run_id, extra={"run_id": report.run_id, "flow": flow})
        runner_cls = InventoryFlow if flow == "inventory" else SummaryFlow if summarises(flow, self.config.sync) \
            else DocumentFlow
        try:
            runner_cls(flow=flow, source=self.source, target=self.target, rules=self.rules, state=self.state,
                       settings=self.config.sync, report=report, options=options, progress=progress).run()
        except TransientError as exc:
            report.incomplete = str(exc)
            log.error("%s: stopped early: %s", flow, exc)
        except ConfigError as exc:
            # a refused credential or setting: nothing was marked failed and the cursor stands, so the run after
            # the fix posts everything
            report.incomplete = str(exc)
            report.refused = True
            log.error("%s: stopped: %s", flow, exc)
        except ConnexError as exc:
            report.incomplete = str(exc)
            log.error("%s: stopped: %s", flow, exc)
        except BaseException as exc:
            # a bug, an interrupt, a full disk: the run is recorded as failed (never left "running"), then the
            # error goes on to the caller
            stopped = isinstance(exc, KeyboardInterrupt | SystemExit)
            report.crashed = "interrupted" if stopped else "failed"
            report.incomplete = f"the run {report.crashed}: {type(exc).__name__}: {exc}"[:500]
            self._finish(report)
            raise
        self._finish(report)
        log.info("%s: run %s %s: %s", flow, report.run_id, report.status, dict(report.counts),
                 extra={"run_id": report.run_id, "flow": flow, "status": report.status})
        if progress:
            progress.done(flow, report.counts)
        return report

    def _finish(self, report: FlowReport) -> None:
        if report.run_id is None:
            return
        message = report.incomplete or (f"{len(report.failures)} failed" if report.failures else None)
        try:
            self.state.finish_run(report.run_id, report.status, dict(report.counts), message)
        except Exception as exc:  # the state itself may be what broke (a full disk): the run's own error goes on
            log.error("%s: could not record the end of run %s: %s", report.flow, report.run_id, exc)

    def harvest(self, reports: dict[str, FlowReport]) -> None:
        """Outcomes of documents an asynchronous target (QuickBooks Desktop) queued earlier: into the ledger, and
        into this run's report of the document's flow."""
        record_outcomes(self.target, self.state, reports, keep_documents=self.config.sync.on_change != "report")
