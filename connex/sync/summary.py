"""Printing what a run did, and the exit code it earns."""

from __future__ import annotations

import sys

from connex.sync.report import FlowReport

ORDER = ("read", "posted", "exists", "queued", "resolved", "unchanged", "changed", "skipped", "failed",
         "failed_before", "would_post", "waiting", "not_in_source",
         # summary postings (connex.sync.summary_flow)
         "summarised", "updated", "would_summarise", "summaries_closed", "summaries_posted")


def print_reports(reports: list[FlowReport], out=sys.stdout, *, dry_run: bool = False) -> None:
    for report in reports:
        counts = ", ".join(f"{report.counts[k]} {k.replace('_', ' ')}" for k in ORDER if report.counts.get(k))
        print(f"{report.flow}: {report.status}: {counts or 'nothing to do'}", file=out)
        if report.incomplete:
            print(f"  incomplete: {report.incomplete}", file=out)
        for name, reason in report.failures:
            print(f"  FAILED {name}: {reason}", file=out)
        for name, note in report.changes:
            print(f"  CHANGED {name}: {note}", file=out)
        if dry_run:
            for line in report.planned:
                print(f"  would post {line}", file=out)


def exit_code(reports: list[FlowReport]) -> int:
    if any(r.incomplete and not r.incomplete.startswith("stop requested") for r in reports):
        return 3
    return 1 if any(r.failures for r in reports) else 0
