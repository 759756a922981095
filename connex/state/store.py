"""The state store behind one small interface, with SQLite (WAL) as the embedded default.

Everything the engine needs to be exactly-once and resumable goes through ``StateStore``: a server database can
stand behind it later without the engine changing. Writes are short transactions (``BEGIN IMMEDIATE``) so the
daemon, ``connex status`` and a Web Connector session can share the file.
"""

from __future__ import annotations

import abc
import datetime as dt
import functools
import os
import sqlite3
import stat
import threading
from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

from connex.errors import ConfigError, ConnexError
from connex.state import codec
from connex.state.lock import StateBusy
from connex.state.migrations import MIGRATIONS

DONE = ("posted", "exists")
#: the state file holds OAuth tokens and order data: owner read/write only, and so are its -wal and -shm
FILE_MODE = 0o600
SIDE_FILES = ("-wal", "-shm", "-journal")
STALE_MESSAGE = "the process stopped mid-run; the next run resolved its documents in flight"


def state_error(path: str, exc: BaseException) -> ConnexError:
    """A SQLite or OS error on the state file as a message naming the file and what to do; never a traceback.
    A file the user must fix is a ``ConfigError`` (exit 2); a busy or full one stops the run (exit 3)."""
    text = str(exc) or type(exc).__name__
    low = text.lower()
    if "locked" in low or "busy" in low:
        return StateBusy(f"{path}: the state database is locked by another process ({text}); wait for it to "
                         "finish and run again")
    if "full" in low:
        return ConnexError(f"{path}: the state database cannot grow, the disk is full ({text}); free some space "
                           "and run again: the run resumes from its last checkpoint")
    if "readonly" in low or "read-only" in low:
        return ConfigError(f"{path}: the state database is read-only ({text}); Connex must be able to write the "
                           "file and its folder")
    if "not a database" in low or "malformed" in low or "corrupt" in low:
        return ConfigError(f"{path}: not a usable Connex state database ({text}); restore it from a backup, or "
                           "move it aside to start a new one (which re-reads from sync.from_date)")
    if isinstance(exc, PermissionError) or "unable to open" in low or "permission" in low:
        return ConfigError(f"{path}: cannot open the state database ({text}); check that its folder exists and "
                           "that Connex may read and write there")
    return ConnexError(f"{path}: state database error: {text}")


def guarded(method):
    """Turn SQLite and OS errors of a state store method into ``state_error`` messages."""

    @functools.wraps(method)
    def wrapper(self, *args, **kwargs):
        try:
            return method(self, *args, **kwargs)
        except (sqlite3.Error, OSError) as exc:
            raise state_error(self.path, exc) from None

    return wrapper


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

    def forget(self, keys: Iterable[str]) -> int:
        """Remove ledger rows (`connex forget`): their documents post again the next time they are read."""
        raise NotImplementedError

    # runs
    @abc.abstractmethod
    def start_run(self, flow: str) -> int: ...

    @abc.abstractmethod
    def finish_run(self, run_id: int, status: str, counts: dict, message: str | None = None) -> None: ...

    @abc.abstractmethod
    def last_runs(self, limit: int = 10) -> list[dict]: ...

    @abc.abstractmethod
    def interrupt_stale_runs(self) -> int:
        """Mark every run still 'running' as interrupted: called by the holder of the state lock, so none of them
        can still be going (their process was killed). Returns how many."""

    # exchange rates a target read, per scope (e.g. a QuickBooks realm), currency and day; reused across runs
    def exchange_rates(self, scope: str, currency: str, first: str, last: str) -> dict[str, Decimal]:
        """Stored rates of ``currency`` for days ``first``..``last`` (ISO dates, inclusive), by day."""
        return {}

    def save_exchange_rates(self, scope: str, currency: str, rates: dict[str, Decimal], origin: str) -> None:  # noqa: B027
        """Remember rates by day; ``origin`` says where they came from (shown to whoever audits a document)."""

    def close(self) -> None:  # noqa: B027 - optional: stores without connections have nothing to release
        """Release the connection."""


class SqliteStateStore(StateStore):
    def __init__(self, path: str | Path, *, busy_timeout: float = 30.0):
        self.path = str(path)
        self.busy_timeout = busy_timeout
        self._local = threading.local()
        self._lock = threading.RLock()
        if self.path != ":memory:":
            self._prepare_path()
        old_umask = os.umask(0o077)  # the file, and the -wal/-shm SQLite makes beside it, are born private
        try:
            self._open()
        finally:
            os.umask(old_umask)

    @guarded
    def _open(self) -> None:
        self._migrate()
        self._ensure_rate_table()
        if self.path != ":memory:":
            self._protect()

    def _prepare_path(self) -> None:
        path = Path(self.path)
        if path.is_dir():
            raise ConfigError(f"{self.path}: the state path is a folder; set state: to a file such as "
                              f"{path / 'connex.db'}")
        if path.exists() and not path.is_file():
            raise ConfigError(f"{self.path}: the state path is not a regular file")
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise ConfigError(f"{self.path}: cannot create the state file's folder {path.parent} "
                              f"({exc.strerror or exc})") from None

    def _protect(self) -> None:
        """0600 on the file and its side files; older versions created them with the default umask."""
        for suffix in ("", *SIDE_FILES):
            file = Path(self.path + suffix)
            try:
                info = file.stat()
            except FileNotFoundError:
                continue
            if stat.S_IMODE(info.st_mode) != FILE_MODE and info.st_uid == os.geteuid():
                file.chmod(FILE_MODE)

    # --- connections ---------------------------------------------------------------------------------------
    @property
    def db(self) -> sqlite3.Connection:
        """One connection per thread: the daemon's health endpoint reads while a flow writes."""
        conn = getattr(self._local, "conn", None)
        if conn is None:
            conn = sqlite3.connect(self.path, timeout=self.busy_timeout, isolation_level=None,
                                   check_same_thread=False)
            try:
                conn.row_factory = sqlite3.Row
                conn.execute(f"PRAGMA busy_timeout={int(self.busy_timeout * 1000)}")
                conn.execute("PRAGMA journal_mode=WAL")
                conn.execute("PRAGMA synchronous=NORMAL")  # WAL + NORMAL is durable across process crashes
            except BaseException:
                conn.close()
                raise
            self._local.conn = conn
        return conn

    def _rollback(self) -> None:
        """Undo the open transaction, if SQLite has not already (it rolls back by itself on a full disk): the
        original error is the one to report."""
        if self.db.in_transaction:
            self.db.execute("ROLLBACK")

    def _write(self, sql: str, params: Iterable = ()) -> None:
        with self._lock:
            self.db.execute("BEGIN IMMEDIATE")
            try:
                self.db.execute(sql, tuple(params))
            except BaseException:
                self._rollback()
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
                self._rollback()
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
                self._rollback()
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
    @guarded
    def schema_version(self) -> int:
        return self.db.execute("PRAGMA user_version").fetchone()[0]

    def close(self) -> None:
        conn = getattr(self._local, "conn", None)
        if conn is not None:
            conn.close()
            self._local.conn = None

    # --- key-value -----------------------------------------------------------------------------------------
    @guarded
    def get(self, key: str) -> str | None:
        row = self.db.execute("SELECT value FROM kv WHERE key = ?", (key,)).fetchone()
        return row[0] if row else None

    @guarded
    def put(self, key: str, value: str) -> None:
        self._write("INSERT INTO kv (key, value, updated_at) VALUES (?, ?, ?) "
                    "ON CONFLICT (key) DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at",
                    (key, value, now()))

    # --- cursors -------------------------------------------------------------------------------------------
    @guarded
    def get_cursor(self, flow: str) -> dict | None:
        row = self.db.execute("SELECT value FROM cursors WHERE flow = ?", (flow,)).fetchone()
        return codec.loads(row[0]) if row else None

    @guarded
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

    @guarded
    def lookup(self, keys: Iterable[str]) -> dict[str, LedgerRow]:
        keys = list(dict.fromkeys(keys))
        found: dict[str, LedgerRow] = {}
        for start in range(0, len(keys), 500):  # SQLite's parameter limit
            chunk = keys[start:start + 500]
            marks = ",".join("?" * len(chunk))
            for row in self.db.execute(f"SELECT * FROM ledger WHERE key IN ({marks})", chunk):
                found[row["key"]] = self._row(row)
        return found

    @guarded
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

    @guarded
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

    @guarded
    def forget(self, keys: Iterable[str]) -> int:
        keys = list(dict.fromkeys(keys))
        before = len(self.lookup(keys))
        self._write_many("DELETE FROM ledger WHERE key = ?", [(k,) for k in keys])
        return before

    @guarded
    def counts(self) -> dict[str, dict[str, int]]:
        out: dict[str, dict[str, int]] = {}
        for row in self.db.execute("SELECT flow, status, COUNT(*) FROM ledger GROUP BY flow, status"):
            out.setdefault(row[0], {})[row[1]] = row[2]
        return out

    # --- exchange rates ------------------------------------------------------------------------------------
    @guarded
    def exchange_rates(self, scope: str, currency: str, first: str, last: str) -> dict[str, Decimal]:
        rows = self.db.execute(
            "SELECT day, rate FROM exchange_rates WHERE scope = ? AND currency = ? AND day BETWEEN ? AND ?",
            (scope, currency.upper(), first, last),
        )
        return {day: Decimal(rate) for day, rate in rows}

    @guarded
    def save_exchange_rates(self, scope: str, currency: str, rates: dict[str, Decimal], origin: str) -> None:
        stamp = now()
        self._write_many(
            "INSERT INTO exchange_rates (scope, currency, day, rate, origin, fetched_at) VALUES (?, ?, ?, ?, ?, ?) "
            "ON CONFLICT (scope, currency, day) DO UPDATE SET rate = excluded.rate, origin = excluded.origin, "
            "fetched_at = excluded.fetched_at",
            [(scope, currency.upper(), day, str(rate), origin, stamp) for day, rate in sorted(rates.items())],
        )

    # --- runs ----------------------------------------------------------------------------------------------
    @guarded
    def start_run(self, flow: str) -> int:
        with self._lock:
            self.db.execute("BEGIN IMMEDIATE")
            # one run of a flow at a time (the daemon never overlaps them): an older 'running' one was killed
            self.db.execute("UPDATE runs SET status = 'interrupted', message = ? WHERE flow = ? AND "
                            "status = 'running'", (STALE_MESSAGE, flow))
            cur = self.db.execute("INSERT INTO runs (flow, started_at, status) VALUES (?, ?, 'running')",
                                  (flow, now()))
            self.db.execute("COMMIT")
            return int(cur.lastrowid)

    @guarded
    def finish_run(self, run_id: int, status: str, counts: dict, message: str | None = None) -> None:
        self._write("UPDATE runs SET finished_at = ?, status = ?, counts = ?, message = ? WHERE id = ?",
                    (now(), status, codec.dumps(counts), message, run_id))

    @guarded
    def interrupt_stale_runs(self) -> int:
        with self._lock:
            self.db.execute("BEGIN IMMEDIATE")
            cur = self.db.execute("UPDATE runs SET status = 'interrupted', finished_at = COALESCE(finished_at, ?), "
                                  "message = ? WHERE status = 'running'", (now(), STALE_MESSAGE))
            self.db.execute("COMMIT")
            return cur.rowcount

    @guarded
    def last_runs(self, limit: int = 10) -> list[dict]:
        rows = self.db.execute("SELECT * FROM runs ORDER BY id DESC LIMIT ?", (limit,)).fetchall()
        return [{**dict(r), "counts": codec.loads(r["counts"])} for r in rows]


def open_state(path: str | Path, *, connection: str = "default") -> StateStore:
    """The state of one connection. Interim, until the store keys its rows by connection: each connection other
    than ``default`` has its own SQLite file beside the configured one (``connex.db`` -> ``connex.NAME.db``), so
    a single ``connex.yaml`` keeps its file and nothing of one connection can reach another's."""
    if connection != "default" and str(path) != ":memory:":
        path = Path(path)
        path = path.with_name(f"{path.stem}.{connection}{path.suffix or '.db'}")
    return SqliteStateStore(path)
