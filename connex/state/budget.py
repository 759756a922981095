"""``PostgresBudget``: the call budget kept in the PostgreSQL state database, shared by every process that uses it.

Workers on several machines post to one QuickBooks company and read one Linnworks account; the vendors count
every call, whoever makes it. So the counts live where all the workers see them, in the database the state
already lives in, and ``install_for`` puts this budget in place whenever the state is on PostgreSQL.

**Windows.** ``call_windows`` holds, per key, a ring of ``limit`` places, each the time of one granted call
(microseconds on the database's clock, so the machines' own clocks never matter). A call may go when the oldest
place is a whole period old: then fewer than ``limit`` calls fell in the last period, exactly the sliding window
the vendors and their simulators count (QuickBooks: 500 requests and 40 batches a minute per company; Linnworks:
150 or 250 per endpoint per minute). The claim is one statement in autocommit, one round trip: it picks the
oldest eligible place ``FOR UPDATE SKIP LOCKED`` and writes the new time in it, so two processes claiming at once
take two different places and never wait for each other's row; a refused claim returns, in the same round trip,
how long until the oldest place is old enough.

**Calls at once.** A place among ``limit`` is a session advisory lock ``(key hash, place)`` on a session this
process keeps for its budget. The server drops a session's advisory locks when the session ends, so the places
of a process that is SIGKILLed are free the moment its socket closes (a lost machine's after the TCP
keepalives give up), with no lease to wait out and nothing to clean.

**Margin.** A call is counted when the database grants it and counted again by the vendor when it arrives, a
moment later and after a delay that differs from call to call (the answer's trip back, a busy CPU, the trip to
the vendor). The budget's window is ``margin`` seconds longer than the one it is given, so the vendor's window
never holds more calls than ours.
"""

from __future__ import annotations

import hashlib
import logging
import os
import threading
import time
from contextlib import AbstractContextManager as ContextManager

from connex.budgets import CallBudget, default_budget, process_budget, set_process_budget

log = logging.getLogger(__name__)

#: seconds added to every window: covers the trip from the database's grant to the vendor's count
MARGIN_SECONDS = 1.0
#: longest sleep between two tries for a place of calls at once (a place frees when a call ends)
SLOT_POLL_SECONDS = 0.05

_CLAIM = """
WITH clock AS (
    SELECT COALESCE(%(now)s::bigint, (extract(epoch FROM clock_timestamp()) * 1000000)::bigint) AS t
), pick AS (
    SELECT w.place FROM call_windows w, clock
    WHERE w.scope = %(scope)s AND w.place < %(limit)s AND w.at_us <= clock.t - %(period)s
    ORDER BY w.at_us LIMIT 1
    FOR UPDATE OF w SKIP LOCKED
), claimed AS (
    UPDATE call_windows w SET at_us = clock.t FROM pick, clock
    WHERE w.scope = %(scope)s AND w.place = pick.place
    RETURNING w.place
)
SELECT g.n,
       CASE WHEN g.n = 0 THEN  -- the oldest place is read only for a refusal: a grant needs no wait
           (SELECT min(at_us) FROM call_windows WHERE scope = %(scope)s AND place < %(limit)s)
               + %(period)s - (SELECT t FROM clock)
       END
FROM (SELECT count(*) AS n FROM claimed) AS g
"""

_PLACES = """
INSERT INTO call_windows (scope, place, at_us)
SELECT %(scope)s, p, 0 FROM generate_series(0, %(limit)s - 1) AS p
ON CONFLICT DO NOTHING
"""

# CASE keeps the order: a place this process already holds is never asked for again (a session's advisory
# locks are re-entrant, so the server would grant it twice)
_TAKE = """
SELECT p FROM generate_series(0, %(limit)s - 1) AS p
WHERE CASE WHEN p = ANY(%(held)s) THEN false ELSE pg_try_advisory_lock(%(key)s, p) END
LIMIT 1
"""

_FREE = "SELECT pg_advisory_unlock(%(key)s, %(place)s)"


def lock_key(scope: str) -> int:
    """A signed 32-bit key for ``scope`` (the two-key advisory locks: run locks use the one-key form, so the two
    never meet). Two scopes that collide share their places: stricter, never looser."""
    return int.from_bytes(hashlib.blake2b(scope.encode(), digest_size=4).digest(), "big", signed=True)


class PostgresBudget(CallBudget):
    """``CallBudget`` on the PostgreSQL database behind ``engine``.

    ``scale`` is simulated seconds per real second, as the simulators' clock has it (a test's minute may last a
    second); ``margin`` is in real seconds."""

    def __init__(self, engine, *, scale: float = 1.0, margin: float = MARGIN_SECONDS, label: str = "",
                 url: str = ""):
        self.engine = engine
        self.scale = scale
        self.margin = margin
        self.label = label
        self.url = url  # the database this budget counts in (with its password: never shown)
        self.round_trips = 0
        self._limits: dict[str, tuple[int, int]] = {}  # key -> (limit, period in microseconds)
        self._rings: set[tuple[str, int]] = set()
        self._semaphores: dict[str, threading.BoundedSemaphore] = {}
        self._held: dict[str, set[int]] = {}
        self._lock = threading.Lock()  # the session is used by one thread at a time
        self._conn = None
        self._pid = 0
        self._generation = 0  # a new session: the places taken on the last one went with it

    # --- the session ---------------------------------------------------------------------------------------
    def _session(self):
        if self._conn is None or self._conn.closed or self._pid != os.getpid():
            raw = self.engine.raw_connection()
            conn = raw.driver_connection
            raw.detach()  # the budget's own session: never handed back to the pool holding advisory locks
            conn.autocommit = True
            # one statement: its name in pg_stat_activity, and commits that do not wait for the disk (a claim
            # lost to a server crash is a call counted a moment too briefly; waiting for fsync would make every
            # claim cost a disk flush, several milliseconds)
            conn.execute("SELECT set_config('application_name', %s, false), "
                         "set_config('synchronous_commit', 'off', false)", (f"connex budget pid={os.getpid()}",))
            self._conn, self._pid = conn, os.getpid()
            self._generation += 1
            self._held.clear()
            self._rings.clear()
        return self._conn

    def _execute(self, sql: str, params: dict):
        """One statement, one round trip; a broken session is replaced once (its places are gone with it)."""
        from connex.state.database import is_database_error, state_error

        with self._lock:
            for attempt in (1, 2):
                try:
                    conn = self._session()
                    self.round_trips += 1
                    cursor = conn.execute(sql, params)
                    return cursor.fetchone() if cursor.description is not None else None
                except Exception as exc:
                    if not is_database_error(exc):
                        raise
                    self._drop()
                    if attempt == 2:
                        raise state_error(self.label, exc, sqlite=False) from None

    def _drop(self) -> None:
        conn, self._conn = self._conn, None
        if conn is not None:
            try:
                conn.close()
            except Exception:  # closing a broken session must not hide why it broke
                log.debug("closing the budget session failed", exc_info=True)

    def close(self) -> None:
        with self._lock:
            self._drop()

    # --- windows -------------------------------------------------------------------------------------------
    def set_limit(self, key: str, limit: int, period: float = 60.0) -> None:
        period_us = int((period / self.scale + self.margin) * 1_000_000)
        with self._lock:
            self._limits[key] = (int(limit), period_us)

    def _ring(self, key: str, limit: int) -> None:
        if (key, limit) not in self._rings:
            self._execute(_PLACES, {"scope": key, "limit": limit})
            self._rings.add((key, limit))

    def claim(self, key: str, *, now_us: int | None = None) -> tuple[bool, float]:
        """Try once: (granted, seconds until the oldest place is old enough). ``now_us`` stands for the
        database's clock (the property tests drive it)."""
        limit, period_us = self._limits.get(key, (0, 0))
        if limit <= 0:
            return True, 0.0
        self._ring(key, limit)
        granted, wait_us = self._execute(_CLAIM, {"scope": key, "limit": limit, "period": period_us,
                                                  "now": now_us})
        return bool(granted), max(float(wait_us or 0), 0.0) / 1_000_000

    def acquire(self, key: str) -> float:
        waited = 0.0
        while True:
            granted, wait = self.claim(key)
            if granted:
                return waited
            # nothing old enough, or the old enough places were being claimed by others that same moment
            delay = min(max(wait, 0.002), 5.0)
            time.sleep(delay)
            waited += delay

    # --- calls at once -------------------------------------------------------------------------------------
    def slot(self, key: str, limit: int) -> ContextManager[None]:
        with self._lock:
            if key not in self._semaphores:
                self._semaphores[key] = threading.BoundedSemaphore(limit)
        return _Place(self, key, limit)

    def take_place(self, key: str, limit: int, *, wait: float | None = None) -> tuple[int, int] | None:
        """One of ``limit`` places under ``key``: (place, session generation), or None after ``wait`` seconds."""
        deadline = None if wait is None else time.monotonic() + wait
        poll = 0.002
        lock = lock_key(key)
        while True:
            with self._lock:
                self._session()
                held = sorted(self._held.setdefault(key, set()))
            row = self._execute(_TAKE, {"limit": limit, "held": held, "key": lock})
            if row is not None:
                with self._lock:
                    self._held.setdefault(key, set()).add(row[0])
                    return row[0], self._generation
            if deadline is not None and time.monotonic() >= deadline:
                return None
            time.sleep(poll)
            poll = min(poll * 2, SLOT_POLL_SECONDS)

    def free_place(self, key: str, place: int, generation: int) -> None:
        with self._lock:
            if generation != self._generation:
                return  # that session ended, and its locks with it
            self._held.get(key, set()).discard(place)
        self._execute(_FREE, {"key": lock_key(key), "place": place})


class _Place:
    """A reusable context manager: each entry takes a place (this process's threads first queue on a semaphore,
    so only as many ask the database as there are places), each exit gives it back."""

    def __init__(self, budget: PostgresBudget, key: str, limit: int):
        self.budget, self.key, self.limit = budget, key, limit
        self._mine = threading.local()

    def __enter__(self) -> None:
        semaphore = self.budget._semaphores[self.key]
        semaphore.acquire()
        try:
            taken = self.budget.take_place(self.key, self.limit)
        except BaseException:
            semaphore.release()
            raise
        self._mine.__dict__.setdefault("stack", []).append(taken)

    def __exit__(self, *exc) -> None:
        place, generation = self._mine.stack.pop()
        try:
            self.budget.free_place(self.key, place, generation)
        finally:
            self.budget._semaphores[self.key].release()


def install_for(state) -> None:
    """Share the calls of this process with every other on the same PostgreSQL state database: called on the
    one path every command, the daemon and the workers take before they build connectors (``connex.runtime``).
    A SQLite state keeps the in-process budget (everything that shares a SQLite file runs on one machine, in
    the embedded daemon's one process or one `connex sync` at a time). A budget installed on purpose (a test's
    scaled clock) is kept."""
    target = getattr(state, "target", None)
    database = getattr(state, "database", None)
    if database is None or getattr(database, "is_sqlite", True):
        return
    url = target.url.render_as_string(hide_password=False)
    current = process_budget()
    if isinstance(current, PostgresBudget) and current.url == url:
        return
    if current is not default_budget() and not isinstance(current, PostgresBudget):
        return
    set_process_budget(PostgresBudget(database.engine, label=database.label, url=url))
