"""What a run did, per flow: counts, failures with reasons, and for dry runs what would be posted."""

from __future__ import annotations

import logging
import threading
from collections import Counter
from dataclasses import dataclass, field

log = logging.getLogger("connex.sync")


@dataclass
class RunOptions:
    dry_run: bool = False
    retry_failed: bool = False
    order_ids: tuple[str, ...] = ()
    # `sync --from/--to`: re-read this window (start, end) instead of resuming from the cursor, which stays put
    window: tuple | None = None
    stop: threading.Event | None = None  # set by SIGTERM/SIGINT: finish the current page, checkpoint, stop
    lock_wait: float = 0.0  # seconds to wait for another run holding the state file's lock
    #: `sync --order X --repost [MODE]`: correct the named orders' posted documents with today's rules (update or
    #: void_and_repost) whatever sync.on_change says
    repost: str | None = None

    def stopping(self) -> bool:
        return self.stop is not None and self.stop.is_set()


@dataclass
class FlowReport:
    flow: str
    run_id: int | None = None
    counts: Counter = field(default_factory=Counter)
    failures: list[tuple[str, str]] = field(default_factory=list)  # (document label, reason)
    changes: list[tuple[str, str]] = field(default_factory=list)  # source documents changed after sync
    planned: list[str] = field(default_factory=list)  # dry run: what would be posted
    incomplete: str | None = None  # why the flow stopped early (remote unreachable, stop requested)
    refused: bool = False  # stopped because a credential or setting was refused: a person must fix it
    crashed: str | None = None  # "failed" (an unexpected error, a bug) or "interrupted" (Ctrl-C) mid-run
    customers: Counter = field(default_factory=Counter)  # documents per customer or vendor name
    documents: Counter = field(default_factory=Counter)  # documents created per kind

    @property
    def status(self) -> str:
        if self.crashed:
            return self.crashed
        if self.incomplete:
            return "incomplete"
        return "failures" if self.failures else "ok"

    def fail(self, label: str, reason: str, key: str | None = None) -> None:
        self.counts["failed"] += 1
        self.failures.append((label, reason))
        log.warning("%s failed: %s", label, reason,
                    extra={"run_id": self.run_id, "flow": self.flow, "document": key or label, "status": "failed"})


