"""A one-line progress display for manual and backfill syncs on a terminal (silent when output is not a TTY)."""

from __future__ import annotations

import sys
import time


class Progress:
    def __init__(self, stream=None, *, enabled: bool | None = None):
        self.stream = stream or sys.stderr
        self.enabled = self.stream.isatty() if enabled is None else enabled
        self.started = time.monotonic()
        self._last = 0.0

    def _line(self, flow: str, counts) -> str:
        done = counts.get("posted", 0) + counts.get("exists", 0) + counts.get("queued", 0)
        parts = [f"{counts.get('read', 0)} read", f"{done} synced"]
        for key in ("unchanged", "skipped", "failed", "changed"):
            if counts.get(key):
                parts.append(f"{counts[key]} {key}")
        rate = counts.get("read", 0) / max(time.monotonic() - self.started, 1e-6)
        return f"{flow:>9}: {', '.join(parts)}  ({rate:.0f}/s)"

    def update(self, flow: str, counts) -> None:
        if not self.enabled or time.monotonic() - self._last < 0.1:
            return
        self._last = time.monotonic()
        self.stream.write("\r\033[K" + self._line(flow, counts))
        self.stream.flush()

    def done(self, flow: str, counts) -> None:
        if self.enabled:
            self.stream.write("\r\033[K" + self._line(flow, counts) + "\n")
            self.stream.flush()
        self.started = time.monotonic()
