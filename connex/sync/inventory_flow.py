"""QuickBooks quantities to Linnworks stock: read inventory, map (a rule picks the location), set levels.

Levels are absolute and QuickBooks is the book of record for this flow. A pass writes only the levels that
differ from the level Connex last wrote (the ledger holds it per SKU and location), so a quiet pass writes
nothing and leaves no rows in Linnworks' stock audit trail. What changes in Linnworks behind Connex's back (sales,
manual edits) is put right by a full pass, due every ``sync.stock_reconcile_hours`` (daily by default), which
reads Linnworks' own levels in bulk (``SourceConnector.read_stock_levels``: GetStockItemsFull, 200 items a call)
and writes just the levels that drifted. Reading them on every pass would cost those reads to save writes a quiet
pass does not make anyway.

Each write is recorded in flight at its new level before it is sent, so a run killed before learning the outcome
leaves a row the next pass writes again rather than one that claims the old level.

A negative QuickBooks quantity follows ``sync.negative_stock``: zero (default) writes 0 and warns, skip writes
nothing and warns, write passes it on.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import logging

from connex.connectors import SourceConnector, TargetConnector
from connex.documents import UNKNOWN_SKU, StockLevel
from connex.rules.engine import RulesEngine
from connex.state.store import LedgerEntry, StateStore
from connex.sync.document_flow import map_safely, reason
from connex.sync.report import FlowReport, RunOptions

log = logging.getLogger(__name__)

BATCH = 100
LAST_FULL_PASS = "inventory:last_full_pass"  # key-value entry: when every level was last written


def stock_key(level: StockLevel) -> str:
    return f"stock:{level.sku}@{level.location_name}"


class InventoryFlow:
    flow = "inventory"

    def __init__(self, *, source: SourceConnector, target: TargetConnector, rules: RulesEngine, state: StateStore,
                 report: FlowReport, options: RunOptions, progress=None, settings=None, **_):
        self.source, self.target, self.rules, self.state = source, target, rules, state
        self.report, self.options, self.progress = report, options, progress
        self.reconcile_hours = float(getattr(settings, "stock_reconcile_hours", 24.0))
        self.negative = getattr(settings, "negative_stock", "zero")
        self.full = True
        self.now = lambda: dt.datetime.now(dt.UTC)

    def _full_pass_due(self) -> bool:
        last = self.state.get(LAST_FULL_PASS)
        if self.reconcile_hours <= 0 or not last:
            return True
        try:
            since = dt.datetime.fromisoformat(last)
        except ValueError:
            return True
        return self.now() - since >= dt.timedelta(hours=self.reconcile_hours)

    def _policy(self, level: StockLevel) -> StockLevel | None:
        if level.level >= 0 or self.negative == "write":
            return level
        action = "not written" if self.negative == "skip" else "written as 0"
        note = f"QuickBooks quantity {level.level} is negative; {action} (sync.negative_stock: {self.negative})"
        self.report.changes.append((f"stock level {level.sku} at {level.location_name}", note))
        log.warning("stock level %s at %s: %s", level.sku, level.location_name, note,
                    extra={"run_id": self.report.run_id, "flow": self.flow})
        if self.negative == "skip":
            self.report.counts["skipped"] += 1
            return None
        return dataclasses.replace(level, level=0)

    def run(self) -> None:
        self.full = self._full_pass_due()
        started = self.now()
        # the full pass compares with Linnworks' own levels, read in bulk, so it writes only what drifted
        self.current = self.source.read_stock_levels() if self.full else None
        finished = self._levels()
        if finished and self.full and not self.options.dry_run and not self.report.failures:
            self.state.put(LAST_FULL_PASS, started.isoformat())

    def _levels(self) -> bool:
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
            batch.extend(kept for doc in result.documents if (kept := self._policy(doc)) is not None)
            if len(batch) >= BATCH:
                self.write(batch)
                batch = []
            if self.options.stopping():
                self.report.incomplete = "stop requested"
                if batch:
                    self.write(batch)
                return False
        if batch:
            self.write(batch)
        return True

    def _changed_only(self, levels: list[StockLevel]) -> list[StockLevel]:
        """The levels to write: on a full pass those that differ from Linnworks' current level (all of them when
        the source cannot say), otherwise those that differ from the level Connex last wrote."""
        rows = self.state.lookup(stock_key(level) for level in levels)
        changed, agreed = [], []
        for level in levels:
            row = rows.get(stock_key(level))
            known = row is not None and row.content_hash == str(level.level)
            if not self.full:
                if known and row.status in ("posted", "skipped"):  # skipped: a SKU the source does not stock
                    self.report.counts["unchanged"] += 1
                else:
                    changed.append(level)
                continue
            if self.current is None:
                changed.append(level)
                continue
            now = self.current.get((level.sku.lower(), (level.location_name or "").strip().lower()))
            if now is None:
                self.report.counts["not_in_source"] += 1
                if not (known and row.status == "skipped"):
                    agreed.append(self._entry(level, "skipped", error="the source has no stock item with this SKU"))
            elif now == level.level:
                self.report.counts["unchanged"] += 1
                if not (known and row.status == "posted"):  # the ledger learns the level Linnworks holds
                    agreed.append(self._entry(level, "posted", target_id=level.location_name))
            else:
                changed.append(level)
        if agreed and not self.options.dry_run:
            self.state.record(agreed, self.report.run_id)
        return changed

    def _entry(self, level: StockLevel, status: str, **extra) -> LedgerEntry:
        return LedgerEntry(stock_key(level), self.flow, "stock level", level.sku, level.sku, str(level.level), status,
                           **extra)

    def write(self, levels: list[StockLevel]) -> None:
        levels = self._changed_only(levels)
        if not levels:
            return
        if self.options.dry_run:
            for level in levels:
                self.report.planned.append(f"stock {level.sku} = {level.level} at {level.location_name}")
                self.report.counts["would_post"] += 1
            return
        # intent first, as for documents: a kill after Linnworks applied a write but before its outcome is
        # recorded leaves the row in flight at the level being written, never "posted" at the level before it
        # (which would hide the lost write if QuickBooks then went back to that level: nothing would differ)
        self.state.record([self._entry(level, "in_flight") for level in levels], self.report.run_id)
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
