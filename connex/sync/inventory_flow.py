"""QuickBooks quantities to Linnworks stock: read inventory, map (a rule picks the location), set levels.

Levels are absolute, so every run sets every item again: QuickBooks is the book of record for this flow, and a
level Linnworks drifted from (sales, manual edits) is put right on the next pass.
"""

from __future__ import annotations

from connex.connectors import SourceConnector, TargetConnector
from connex.documents import UNKNOWN_SKU, StockLevel
from connex.rules.engine import RulesEngine
from connex.state.store import LedgerEntry, StateStore
from connex.sync.document_flow import map_safely, reason
from connex.sync.report import FlowReport, RunOptions

BATCH = 100


class InventoryFlow:
    flow = "inventory"

    def __init__(self, *, source: SourceConnector, target: TargetConnector, rules: RulesEngine, state: StateStore,
                 report: FlowReport, options: RunOptions, progress=None, **_):
        self.source, self.target, self.rules, self.state = source, target, rules, state
        self.report, self.options, self.progress = report, options, progress

    def run(self) -> None:
        batch: list[StockLevel] = []
        for level in self.target.read_inventory():
            record = {"sku": level.sku, "quantity_on_hand": level.quantity_on_hand, "name": level.name}
            self.report.counts["read"] += 1
            result = map_safely(self.rules, self.flow, record)
            if result.error is not None:
                self.report.fail(f"stock level {level.sku}", reason(result.error))
                if not self.options.dry_run:
                    self.state.record([LedgerEntry(f"stock:{level.sku}", self.flow, "stock level", level.sku,
                                                   level.sku, None, "failed", error=str(result.error))],
                                      self.report.run_id)
                continue
            if result.skipped is not None:
                self.report.counts["skipped"] += 1
                continue
            batch.extend(result.documents)
            if len(batch) >= BATCH:
                self.write(batch)
                batch = []
            if self.options.stopping():
                self.report.incomplete = "stop requested"
                break
        if batch:
            self.write(batch)

    def write(self, levels: list[StockLevel]) -> None:
        if self.options.dry_run:
            for level in levels:
                self.report.planned.append(f"stock {level.sku} = {level.level} at {level.location_name}")
                self.report.counts["would_post"] += 1
            return
        results = self.source.write_stock_levels(levels)
        entries = []
        for level, result in zip(levels, results):
            key = f"stock:{level.sku}@{level.location_name}"
            if result.status in ("posted", "exists"):
                self.report.counts["posted"] += 1
                self.report.documents["stock level"] += 1
                entries.append(LedgerEntry(key, self.flow, "stock level", level.sku, level.sku, str(level.level),
                                           "posted", target_id=level.location_name))
            elif result.code == UNKNOWN_SKU:
                # a QuickBooks item the source does not stock: nothing to set, and nothing the user must fix
                self.report.counts["not_in_source"] += 1
                entries.append(LedgerEntry(key, self.flow, "stock level", level.sku, level.sku, str(level.level),
                                           "skipped", error=result.error))
            else:
                reason = result.error or "rejected"
                self.report.fail(f"stock level {level.sku} at {level.location_name}", reason)
                entries.append(LedgerEntry(key, self.flow, "stock level", level.sku, level.sku, str(level.level),
                                           "failed", error=reason))
        self.state.record(entries, self.report.run_id)
        if self.progress:
            self.progress.update(self.flow, self.report.counts)
