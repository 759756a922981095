"""The state store behind one small interface, with SQLite (WAL) as the embedded default.

Everything the engine needs to be exactly-once and resumable goes through ``StateStore``: a server database can
stand behind it later without the engine changing. Writes are short transactions (``BEGIN IMMEDIATE``) so the
daemon, ``connex status`` and a Web Connector session can share the file.
"""

from __future__ import annotations

import abc
import datetime as dt
import sqlite3
import threading
from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

from connex.state import codec
from connex.state.migrations import MIGRATIONS

DONE = ("posted", "exists")


def now() -> str:
    return dt.datetime.now(dt.UTC).isoformat(timespec="seconds")


@dataclass
class LedgerRow:
    key: str
    flow: str
    kind: str
    source_id: str
    number: str | None
    content_hash: str | None
    status: str
    target_id: str | None
    error: str | None
    attempts: int
    document: Any
    record: Any
    run_id: int | None
    first_seen: str
    updated_at: str


@dataclass
class LedgerEntry:
    """What the engine writes about one document."""

    key: str
    flow: str
    kind: str
    source_id: str
    number: str | None = None
    content_hash: str | None = None
    status: str = "in_flight"
    target_id: str | None = None
    error: str | None = None
    document: Any = None
    record: Any = None


class StateStore(abc.ABC):
    path: str

    # key-value (rotated tokens, sessions): the KeyValueStore protocol connectors use
    @abc.abstractmethod
    def get(self, key: str) -> str | None: ...

    @abc.abstractmethod
    def put(self, key: str, value: str) -> None: ...

    # cursors
    @abc.abstractmethod
    def get_cursor(self, flow: str) -> dict | None: ...

    @abc.abstractmethod
    def save_cursor(self, flow: str, value: dict | None) -> bool: ...

    # ledger
    @abc.abstractmethod
    def lookup(self, keys: Iterable[str]) -> dict[str, LedgerRow]: ...

    @abc.abstractmethod
    def record(self, entries: Iterable[LedgerEntry], run_id: int | None, *, attempt: bool = False) -> None: ...

    @abc.abstractmethod
    def rows(self, flow: str | None = None, status: str | None = None, limit: int | None = None) -> list[LedgerRow]:
        ...

    @abc.abstractmethod
    def counts(self) -> dict[str, dict[str, int]]: ...

    # runs
    @abc.abstractmethod
    def start_run(self, flow: str) -> int: ...

    @abc.abstractmethod
    def finish_run(self, run_id: int, status: str, counts: dict, message: str | None = None) -> None: ...

    @abc.abstractmethod
    def last_runs(self, limit: int = 10) -> list[dict]: ...

    # exchange rates a target read, per scope (e.g. a QuickBooks realm), currency and day; reused across runs
    def exchange_rates(self, scope: str, currency: str, first: str, last: str) -> dict[str, Decimal]:
        """Stored rates of ``currency`` for days ``first``..``last`` (ISO dates, inclusive), by day."""
        return {}

    def save_exchange_rates(self, scope: str, currency: str, rates: dict[str, Decimal], origin: str) -> None:  # noqa: B027
        """Remember rates by day; ``origin`` says where they came from (shown to whoever audits a document)."""

    def close(self) -> None:  # noqa: B027 - optional: stores without connections have nothing to release
        """Release the connection."""


class SqliteStateStore(StateStore):
    def __init__(self, path: str | Path):
        self.path = str(path)
        if self.path != ":memory:":
            Path(self.path).parent.mkdir(parents=True, exist_ok=True)
        self._local = threading.local()
        self._lock = threading.RLock()
        self._migrate()
        self._ensure_rate_table()

    # --- connections ---------------------------------------------------------------------------------------
    @property
    def db(self) -> sqlite3.Connection:
        """One connection per thread: the daemon's health endpoint reads while a flow writes."""
        conn = getattr(self._local, "conn", None)
        if conn is None:
            conn = sqlite3.connect(self.path, timeout=30, isolation_level=None, check_same_thread=False)
            conn.row_factory = sqlite3.Row
            conn.execute("PRAGMA journal_mode=WAL")
            conn.execute("PRAGMA synchronous=NORMAL")  # WAL + NORMAL is durable across process crashes
            conn.execute("PRAGMA busy_timeout=30000")
            self._local.conn = conn
        return conn

    def _write(self, sql: str, params: Iterable = ()) -> None:
        with self._lock:
            self.db.execute("BEGIN IMMEDIATE")
            try:
                self.db.execute(sql, tuple(params))
            except BaseException:
                self.db.execute("ROLLBACK")
                raise
            self.db.execute("COMMIT")

    def _write_many(self, sql: str, rows: list[tuple]) -> None:
        if not rows:
            return
        with self._lock:
            self.db.execute("BEGIN IMMEDIATE")
            try:
                self.db.executemany(sql, rows)
            except BaseException:
                self.db.execute("ROLLBACK")
                raise
            self.db.execute("COMMIT")

    def _migrate(self) -> None:
        with self._lock:
            self.db.execute("BEGIN IMMEDIATE")
            try:
                version = self.db.execute("PRAGMA user_version").fetchone()[0]
                for number, script in enumerate(MIGRATIONS[version:], start=version + 1):
                    for statement in (s.strip() for s in script.split(";")):
                        if statement:
                            self.db.execute(statement)
                    self.db.execute(f"PRAGMA user_version = {number}")
            except BaseException:
                self.db.execute("ROLLBACK")
                raise
            self.db.execute("COMMIT")

    def _ensure_rate_table(self) -> None:
        # created here rather than as a numbered migration: a cache table that any version can add or ignore
        with self._lock:
            self.db.execute(
                "CREATE TABLE IF NOT EXISTS exchange_rates (scope TEXT NOT NULL, currency TEXT NOT NULL, "
                "day TEXT NOT NULL, rate TEXT NOT NULL, origin TEXT NOT NULL, fetched_at TEXT NOT NULL, "
                "PRIMARY KEY (scope, currency, day))"
            )

    @property
    def schema_version(self) -> int:
        return self.db.execute("PRAGMA user_version").fetchone()[0]

    def close(self) -> None:
        conn = getattr(self._local, "conn", None)
        if conn is not None:
            conn.close()
            self._local.conn = None

    # --- key-value -----------------------------------------------------------------------------------------
    def get(self, key: str) -> str | None:
        row = self.db.execute("SELECT value FROM kv WHERE key = ?", (key,)).fetchone()
        return row[0] if row else None

    def put(self, key: str, value: str) -> None:
        self._write("INSERT INTO kv (key, value, updated_at) VALUES (?, ?, ?) "
                    "ON CONFLICT (key) DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at",
                    (key, value, now()))

    # --- cursors -------------------------------------------------------------------------------------------
    def get_cursor(self, flow: str) -> dict | None:
        row = self.db.execute("SELECT value FROM cursors WHERE flow = ?", (flow,)).fetchone()
        return codec.loads(row[0]) if row else None

    def save_cursor(self, flow: str, value: dict | None) -> bool:
        """Persist a flow's cursor; an empty cursor never replaces a stored one (returns False then)."""
        if not value:
            return False
        self._write("INSERT INTO cursors (flow, value, updated_at) VALUES (?, ?, ?) "
                    "ON CONFLICT (flow) DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at",
                    (flow, codec.dumps(value), now()))
        return True

    # --- ledger --------------------------------------------------------------------------------------------
    def _row(self, row: sqlite3.Row) -> LedgerRow:
        data = dict(row)
        data["document"] = codec.loads(data["document"])
        data["record"] = codec.loads(data["record"])
        return LedgerRow(**data)

    def lookup(self, keys: Iterable[str]) -> dict[str, LedgerRow]:
        keys = list(dict.fromkeys(keys))
        found: dict[str, LedgerRow] = {}
        for start in range(0, len(keys), 500):  # SQLite's parameter limit
            chunk = keys[start:start + 500]
            marks = ",".join("?" * len(chunk))
            for row in self.db.execute(f"SELECT * FROM ledger WHERE key IN ({marks})", chunk):
                found[row["key"]] = self._row(row)
        return found

    def record(self, entries: Iterable[LedgerEntry], run_id: int | None, *, attempt: bool = False) -> None:
        """Insert or update ledger rows in one transaction. ``attempt`` counts a post attempt. The stored
        document is kept only while a post is in flight; the source record only while the document failed."""
        stamp = now()
        rows = [
            (e.key, e.flow, e.kind, e.source_id, e.number, e.content_hash, e.status, e.target_id, e.error,
             1 if attempt else 0, codec.dumps(e.document) if e.document is not None else None,
             codec.dumps(e.record) if e.record is not None else None, run_id, stamp, stamp)
            for e in entries
        ]
        self._write_many(
            """INSERT INTO ledger (key, flow, kind, source_id, number, content_hash, status, target_id, error,
                                   attempts, document, record, run_id, first_seen, updated_at)
               VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
               ON CONFLICT (key) DO UPDATE SET
                   number = excluded.number,
                   content_hash = COALESCE(excluded.content_hash, ledger.content_hash),
                   status = excluded.status,
                   target_id = COALESCE(excluded.target_id, ledger.target_id),
                   error = excluded.error,
                   attempts = ledger.attempts + excluded.attempts,
                   document = excluded.document,
                   record = excluded.record,
                   run_id = excluded.run_id,
                   updated_at = excluded.updated_at""",
            rows,
        )

    def rows(self, flow: str | None = None, status: str | None = None, limit: int | None = None) -> list[LedgerRow]:
        sql, params = "SELECT * FROM ledger WHERE 1=1", []
        if flow:
            sql += " AND flow = ?"
            params.append(flow)
        if status:
            sql += " AND status = ?"
            params.append(status)
        sql += " ORDER BY updated_at DESC, key"
        if limit:
            sql += f" LIMIT {int(limit)}"
        return [self._row(r) for r in self.db.execute(sql, params)]

    def counts(self) -> dict[str, dict[str, int]]:
        out: dict[str, dict[str, int]] = {}
        for row in self.db.execute("SELECT flow, status, COUNT(*) FROM ledger GROUP BY flow, status"):
            out.setdefault(row[0], {})[row[1]] = row[2]
        return out

    # --- exchange rates ------------------------------------------------------------------------------------
    def exchange_rates(self, scope: str, currency: str, first: str, last: str) -> dict[str, Decimal]:
        rows = self.db.execute(
            "SELECT day, rate FROM exchange_rates WHERE scope = ? AND currency = ? AND day BETWEEN ? AND ?",
            (scope, currency.upper(), first, last),
        )
        return {day: Decimal(rate) for day, rate in rows}

    def save_exchange_rates(self, scope: str, currency: str, rates: dict[str, Decimal], origin: str) -> None:
        stamp = now()
        self._write_many(
            "INSERT INTO exchange_rates (scope, currency, day, rate, origin, fetched_at) VALUES (?, ?, ?, ?, ?, ?) "
            "ON CONFLICT (scope, currency, day) DO UPDATE SET rate = excluded.rate, origin = excluded.origin, "
            "fetched_at = excluded.fetched_at",
            [(scope, currency.upper(), day, str(rate), origin, stamp) for day, rate in sorted(rates.items())],
        )

    # --- runs ----------------------------------------------------------------------------------------------
    def start_run(self, flow: str) -> int:
        with self._lock:
            self.db.execute("BEGIN IMMEDIATE")
            # one run of a flow at a time (the daemon never overlaps them): an older 'running' one was killed
            self.db.execute("UPDATE runs SET status = 'interrupted', message = 'the process stopped mid-run; the "
                            "next run resolved its documents in flight' WHERE flow = ? AND status = 'running'",
                            (flow,))
            cur = self.db.execute("INSERT INTO runs (flow, started_at, status) VALUES (?, ?, 'running')",
                                  (flow, now()))
            self.db.execute("COMMIT")
            return int(cur.lastrowid)

    def finish_run(self, run_id: int, status: str, counts: dict, message: str | None = None) -> None:
        self._write("UPDATE runs SET finished_at = ?, status = ?, counts = ?, message = ? WHERE id = ?",
                    (now(), status, codec.dumps(counts), message, run_id))

    def last_runs(self, limit: int = 10) -> list[dict]:
        rows = self.db.execute("SELECT * FROM runs ORDER BY id DESC LIMIT ?", (limit,)).fetchall()
        return [{**dict(r), "counts": codec.loads(r["counts"])} for r in rows]


def open_state(path: str | Path) -> StateStore:
    return SqliteStateStore(path)
