"""Back-off for ``authenticate``: repeated failures lock a client address and a user name out for a while.

The endpoint faces the internet (the Web Connector needs https, so it is published), and without this it
answers about 1,300 password guesses a second. After ``free_failures`` failures in a row a key (the remote
address, and separately the user name tried) is locked for ``base_seconds``, doubling with every further
failure up to ``max_seconds``. While either key is locked every attempt is refused, the right password too,
and refused with the Web Connector's ordinary "nvu": the reply tells a guesser nothing about the lockout or
the password. A success clears both keys. Refusals never sleep: a sleeping worker would be a denial of service
of its own.

Keying on the user name stops a guesser who spreads over many addresses; the price is that someone who knows
the user name can delay the real Web Connector by at most ``max_seconds`` at a time, which a scheduled sync
shrugs off. Behind a reverse proxy every client has the proxy's address, so the user-name key is what counts.
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass


@dataclass
class _Record:
    failures: int = 0
    locked_until: float = 0.0


class AuthThrottle:
    def __init__(
        self,
        *,
        free_failures: int = 5,
        base_seconds: float = 30.0,
        max_seconds: float = 900.0,
        max_keys: int = 10_000,
        clock: Callable[[], float] = time.monotonic,
    ):
        self.free_failures = free_failures
        self.base_seconds = base_seconds
        self.max_seconds = max_seconds
        self.max_keys = max_keys
        self.clock = clock
        self._records: OrderedDict[tuple[str, str], _Record] = OrderedDict()
        self._lock = threading.Lock()

    def locked(self, *keys: tuple[str, str]) -> bool:
        """True while any of the keys is locked out."""
        now = self.clock()
        with self._lock:
            return any((r := self._records.get(k)) is not None and r.locked_until > now for k in keys)

    def failed(self, *keys: tuple[str, str]) -> bool:
        """Count a failure against every key; True when this failure starts (or extends) a lockout."""
        now = self.clock()
        started = False
        with self._lock:
            for key in keys:
                record = self._records.pop(key, None) or _Record()
                self._records[key] = record  # most recently used last: the oldest go first when full
                record.failures += 1
                excess = record.failures - self.free_failures
                if excess > 0:
                    window = min(self.max_seconds, self.base_seconds * 2 ** min(excess - 1, 32))
                    record.locked_until = max(record.locked_until, now + window)
                    started = True
            while len(self._records) > self.max_keys:
                self._records.popitem(last=False)
        return started

    def succeeded(self, *keys: tuple[str, str]) -> None:
        with self._lock:
            for key in keys:
                self._records.pop(key, None)
