"""Outcomes an asynchronous target (QuickBooks Desktop through the Web Connector) reached for documents it had
queued: into the ledger, and into a run's reports when a run is collecting them.

A sync pass collects them at its start and end; `connex qbwc`, the daemon between passes and `connex status`
collect them too, so the ledger (and what status shows) follows the Web Connector instead of the next pass.
"""

from __future__ import annotations

import logging

from connex.state.store import LedgerEntry, StateStore
from connex.sync.report import FlowReport

log = logging.getLogger(__name__)


def record_outcomes(target, state: StateStore, reports: dict[str, FlowReport] | None = None, *,
                    keep_documents: bool = False) -> int:
    """Record each final outcome the target hands over (each exactly once); returns how many were recorded.
    ``keep_documents``: a posted document stays in the ledger (corrections are on: a later one says what
    changed)."""
    outcomes = {r.key: r for r in target.collect_results()}
    if not outcomes:
        return 0
    rows = state.lookup(outcomes)
    entries = []
    for key, result in outcomes.items():
        row = rows.get(key)
        if row is None or result.status not in ("posted", "exists", "failed"):
            continue
        if reports is not None:
            report = reports.setdefault(row.flow, FlowReport(row.flow))
            if result.status == "failed":
                report.fail(f"{row.kind.replace('_', ' ')} {row.number}", result.error or "failed in the target")
            else:
                report.counts[result.status] += 1
                if result.status == "posted":
                    report.documents[row.kind] += 1
        kept = row.document if keep_documents and result.status != "failed" else None
        entries.append(LedgerEntry(key, row.flow, row.kind, row.source_id, row.number, row.content_hash,
                                   result.status, target_id=result.target_id, error=result.error, document=kept))
    state.record(entries, None)
    log.info("recorded %d outcomes from %s", len(entries), target.name)
    return len(entries)
