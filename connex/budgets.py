"""Call budgets shared by every connection in the process: a QuickBooks company's or a Linnworks account's limits.

Intuit limits each company (realm) and Linnworks each account, whoever calls: two connections that post to one
QuickBooks company, or read one Linnworks account, share one budget. So the connectors do not count their calls
on their own: they take a ``ScopedBudget`` view, scoped by realm or account, of one ``CallBudget`` per process.

``CallBudget`` is the interface a budget shared by many processes must offer: a sliding-window count per key and
a bound on calls at once per key. ``LocalBudget`` keeps both in this process's memory, which holds for the
embedded daemon and for `connex sync` on SQLite. Workers on several machines share ``PostgresBudget``
(connex/state/budget.py), kept in the PostgreSQL database the state lives in and installed with
``set_process_budget`` whenever the state is there; see docs/scale.md.
"""

from __future__ import annotations

import abc
import hashlib
import threading
from collections.abc import Callable
from contextlib import AbstractContextManager as ContextManager

from connex.transport import RateLimiter, origin


class CallBudget(abc.ABC):
    @abc.abstractmethod
    def set_limit(self, key: str, limit: int, period: float = 60.0) -> None:
        """At most ``limit`` calls under ``key`` in any ``period`` seconds (setting it again is harmless)."""

    @abc.abstractmethod
    def acquire(self, key: str) -> float:
        """Wait until a call under ``key`` is allowed, count it, and return the seconds waited."""

    @abc.abstractmethod
    def slot(self, key: str, limit: int) -> ContextManager[None]:
        """A reusable context manager: inside it, the call holds one of ``limit`` places under ``key`` (calls
        at once)."""


class LocalBudget(RateLimiter, CallBudget):
    """The in-process budget: ``RateLimiter``'s sliding windows, plus a semaphore per key for calls at once."""

    def __init__(self, *, clock: Callable[[], float] | None = None, sleep: Callable[[float], None] | None = None):
        kwargs = {k: v for k, v in (("clock", clock), ("sleep", sleep)) if v is not None}
        super().__init__(**kwargs)
        self._slots: dict[str, threading.BoundedSemaphore] = {}

    def slot(self, key: str, limit: int) -> ContextManager[None]:
        with self._lock:
            semaphore = self._slots.get(key)
            if semaphore is None:
                semaphore = self._slots[key] = threading.BoundedSemaphore(limit)
        return semaphore


class ScopedBudget:
    """A connector's view of a budget: every key it uses is prefixed by its scope (a realm, an account)."""

    def __init__(self, budget: CallBudget, scope: str):
        self.budget = budget
        self.scope = scope

    def set_limit(self, key: str, limit: int, period: float = 60.0) -> None:
        self.budget.set_limit(f"{self.scope}|{key}", limit, period)

    def acquire(self, key: str) -> float:
        return self.budget.acquire(f"{self.scope}|{key}")

    def slot(self, key: str, limit: int) -> ContextManager[None]:
        return self.budget.slot(f"{self.scope}|{key}", limit)


_process_budget: CallBudget | None = None
_default_budget: CallBudget | None = None
_process_lock = threading.Lock()


def default_budget() -> CallBudget:
    """The in-process budget a process starts with (``process_budget`` until another is installed)."""
    global _default_budget
    with _process_lock:
        if _default_budget is None:
            _default_budget = LocalBudget()
        return _default_budget


def process_budget() -> CallBudget:
    """The budget every connection of this process shares."""
    global _process_budget
    budget = _process_budget
    if budget is None:
        budget = default_budget()
        with _process_lock:
            _process_budget = _process_budget or budget
            budget = _process_budget
    return budget


def set_process_budget(budget: CallBudget) -> None:
    """Install another budget (one kept in a shared database) before connectors are built."""
    global _process_budget
    with _process_lock:
        _process_budget = budget


def scope_key(kind: str, url: str, *identity: str) -> str:
    """``kind:origin:digest``: who a budget belongs to, without a secret in it (an installation token
    identifies a Linnworks account, and a key may end up in logs or a database)."""
    digest = hashlib.sha256("|".join(identity).encode()).hexdigest()[:16]
    return f"{kind}:{origin(url)}:{digest}"
