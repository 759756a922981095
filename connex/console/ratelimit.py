"""Sign-in attempts per client address and per user name: after ``limit`` failures within ``window`` seconds
further attempts are refused until the oldest failure ages out. Counting names as well as addresses stops a
guesser who spreads over many addresses; counting addresses stops one who tries many names."""

from __future__ import annotations

import threading
import time
from collections import deque


class LoginLimiter:
    def __init__(self, limit: int = 5, window: float = 300.0, clock=time.monotonic):
        self.limit = limit
        self.window = window
        self.clock = clock
        self._failures: dict[str, deque[float]] = {}
        self._lock = threading.Lock()

    def _recent(self, key: str, now: float) -> deque[float]:
        times = self._failures.get(key)
        if times is None:
            return deque()
        while times and now - times[0] >= self.window:
            times.popleft()
        if not times:
            del self._failures[key]
        return times

    def wait(self, address: str, user: str) -> float:
        """Seconds until another attempt from ``address`` for ``user`` is allowed (0: now)."""
        now = self.clock()
        with self._lock:
            waits = [self.window - (now - times[0]) for key in (f"ip:{address}", f"user:{user.casefold()}")
                     if len(times := self._recent(key, now)) >= self.limit]
        return max(waits, default=0.0)

    def failed(self, address: str, user: str) -> None:
        now = self.clock()
        with self._lock:
            for key in (f"ip:{address}", f"user:{user.casefold()}"):
                self._recent(key, now)
                self._failures.setdefault(key, deque()).append(now)
            if len(self._failures) > 100_000:  # a flood of names: forget the oldest rather than grow for ever
                for key in list(self._failures)[:50_000]:
                    del self._failures[key]

    def succeeded(self, user: str) -> None:
        with self._lock:
            self._failures.pop(f"user:{user.casefold()}", None)
