"""The state store behind one small interface: one implementation on SQLAlchemy Core for both databases.

Everything the engine needs to be exactly-once and resumable goes through ``StateStore``. ``open_state(target,
connection=...)`` gives the store of one connection: every row it reads or writes carries that connection, so
one database serves a whole deployment. SQLite (a file, WAL) is the embedded default; ``state: postgresql://...``
puts the same tables on PostgreSQL. Writes are short transactions so the daemon, ``connex status`` and a Web
Connector session (or many workers) can share the database.
"""

from __future__ import annotations

import abc
import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

from sqlalchemy import delete, func, select, update
from sqlalchemy.dialects import postgresql, sqlite

from connex.state import codec, document_index, tables
from connex.state.database import Database, acquire, release
from connex.state.lock import PostgresRunLock, StateLock, holder
from connex.state.target import DatabaseURL, StateTarget, state_target

DONE = ("posted", "exists")
STALE_MESSAGE = "the process stopped mid-run; the next run resolved its documents in flight"
DEFAULT_CONNECTION = "default"
#: keys per statement in ``lookup``: well under SQLite's bound-parameter limit
LOOKUP_CHUNK = 500


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
    """The state of one connection. Connectors get it as ``state``: a ``KeyValueStore``, and on ``SqlStateStore``
    also ``connection`` and ``database`` (``read()``/``write()`` transactions), through which a target keeps rows
    in the tables ``tables.py`` declares for it (an asynchronous target's ``queue_*``), filtered by connection."""

    #: the SQLite file, or None for a server database
    path: str | None
    #: names the database in messages: the file, or the URL without its password
    label: str
    connection: str = DEFAULT_CONNECTION

    # one run per connection at a time
    def run_lock(self):
        """A lock held for a whole run: ``.acquire(wait)`` raises ``StateBusy`` naming the holder."""
        return StateLock(self.path or ":memory:")

    def run_holder(self) -> dict | None:
        """Who holds this connection's run lock (``{}`` when unknown), or None when nobody does."""
        return None

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


class SqlStateStore(StateStore):
    """The store of one connection, on SQLite or PostgreSQL through SQLAlchemy Core. Every statement names the
    connection; the dialect shows only in the upsert construct (both spell ``ON CONFLICT`` the same way)."""

    def __init__(self, target: StateTarget, *, connection: str = DEFAULT_CONNECTION, busy_timeout: float = 30.0):
        if not isinstance(connection, str) or not connection:
            raise ValueError("a state store needs a connection name")
        self.connection = connection
        self.target = target
        self.label = str(target)
        self.path = None if isinstance(target, DatabaseURL) else str(target)
        self.busy_timeout = busy_timeout
        self.db: Database | None = acquire(target, busy_timeout)
        self._insert = postgresql.insert if self.db.engine.dialect.name == "postgresql" else sqlite.insert

    @property
    def engine(self):
        return self.database.engine

    @property
    def database(self) -> Database:
        if self.db is None:  # used again after close(), as the SQLite store always allowed: open it again
            self.db = acquire(self.target, self.busy_timeout)
        return self.db

    def close(self) -> None:
        if self.db is not None:
            db, self.db = self.db, None
            release(db)

    @property
    def schema_version(self) -> str | None:
        from connex.state.database import current_revision

        return current_revision(self.database)

    def _mine(self, table):
        return table.c.connection == self.connection

    # --- run lock ------------------------------------------------------------------------------------------
    def run_lock(self):
        if self.path is None:
            return PostgresRunLock(self.database, self.connection)
        return StateLock(self.path, connection=self.connection)

    def run_holder(self) -> dict | None:
        if self.path is None:
            return PostgresRunLock(self.database, self.connection).holder()
        return holder(self.path, connection=self.connection)

    # --- key-value -----------------------------------------------------------------------------------------
    def get(self, key: str) -> str | None:
        t = tables.kv
        with self.database.read() as conn:
            return conn.execute(select(t.c.value).where(self._mine(t), t.c.key == key)).scalar()

    def put(self, key: str, value: str) -> None:
        t = tables.kv
        stmt = self._insert(t).values(connection=self.connection, key=key, value=value, updated_at=now())
        stmt = stmt.on_conflict_do_update(index_elements=[t.c.connection, t.c.key],
                                          set_={"value": stmt.excluded.value, "updated_at": stmt.excluded.updated_at})
        with self.database.write() as conn:
            conn.execute(stmt)

    # --- cursors -------------------------------------------------------------------------------------------
    def get_cursor(self, flow: str) -> dict | None:
        t = tables.cursors
        with self.database.read() as conn:
            value = conn.execute(select(t.c.value).where(self._mine(t), t.c.flow == flow)).scalar()
        return codec.loads(value) if value is not None else None

    def save_cursor(self, flow: str, value: dict | None) -> bool:
        """Persist a flow's cursor; an empty cursor never replaces a stored one (returns False then)."""
        if not value:
            return False
        t = tables.cursors
        stmt = self._insert(t).values(connection=self.connection, flow=flow, value=codec.dumps(value),
                                      updated_at=now())
        stmt = stmt.on_conflict_do_update(index_elements=[t.c.connection, t.c.flow],
                                          set_={"value": stmt.excluded.value, "updated_at": stmt.excluded.updated_at})
        with self.database.write() as conn:
            conn.execute(stmt)
        return True

    # --- ledger --------------------------------------------------------------------------------------------
    @staticmethod
    def _row(row) -> LedgerRow:
        data = dict(row._mapping)
        data.pop("connection", None)
        data["document"] = codec.loads(data["document"])
        data["record"] = codec.loads(data["record"])
        return LedgerRow(**data)

    def lookup(self, keys: Iterable[str]) -> dict[str, LedgerRow]:
        keys = list(dict.fromkeys(keys))
        t = tables.ledger
        found: dict[str, LedgerRow] = {}
        if not keys:
            return found
        with self.database.read() as conn:
            for start in range(0, len(keys), LOOKUP_CHUNK):
                chunk = keys[start:start + LOOKUP_CHUNK]
                for row in conn.execute(select(t).where(self._mine(t), t.c.key.in_(chunk))):
                    found[row.key] = self._row(row)
        return found

    def record(self, entries: Iterable[LedgerEntry], run_id: int | None, *, attempt: bool = False) -> None:
        """Insert or update ledger rows in one transaction. ``attempt`` counts a post attempt. The stored
        document is kept only while a post is in flight; the source record only while the document failed; a
        summary of the document stays in ``document_index`` for the console (same transaction)."""
        entries = list(entries)
        stamp = now()
        rows = [
            {"connection": self.connection, "key": e.key, "flow": e.flow, "kind": e.kind, "source_id": e.source_id,
             "number": e.number, "content_hash": e.content_hash, "status": e.status, "target_id": e.target_id,
             "error": e.error, "attempts": 1 if attempt else 0,
             "document": codec.dumps(e.document) if e.document is not None else None,
             "record": codec.dumps(e.record) if e.record is not None else None,
             "run_id": run_id, "first_seen": stamp, "updated_at": stamp}
            for e in entries
        ]
        if not rows:
            return
        t = tables.ledger
        stmt = self._insert(t)
        new = stmt.excluded
        stmt = stmt.on_conflict_do_update(index_elements=[t.c.connection, t.c.key], set_={
            "number": new.number,
            "content_hash": func.coalesce(new.content_hash, t.c.content_hash),
            "status": new.status,
            "target_id": func.coalesce(new.target_id, t.c.target_id),
            "error": new.error,
            "attempts": t.c.attempts + new.attempts,
            "document": new.document,
            "record": new.record,
            "run_id": new.run_id,
            "updated_at": new.updated_at,
        })
        with self.database.write() as conn:
            for wave in _waves(rows):
                conn.execute(stmt, wave)
            self._index_documents(conn, entries)

    def _index_documents(self, conn, entries: list[LedgerEntry]) -> None:
        index, keys, skus = document_index.rows(entries)
        if not index:
            return
        t, s = tables.document_index, tables.document_skus
        mine = {"connection": self.connection}
        stmt = self._insert(t)
        stmt = stmt.on_conflict_do_update(index_elements=[t.c.connection, t.c.key], set_={
            c.name: stmt.excluded[c.name] for c in t.columns if c.name not in ("connection", "key")})
        for wave in _waves([{**mine, **row} for row in index]):
            conn.execute(stmt, wave)
        for start in range(0, len(keys), LOOKUP_CHUNK):
            conn.execute(delete(s).where(self._mine(s), s.c.key.in_(keys[start:start + LOOKUP_CHUNK])))
        if skus:
            add = self._insert(s).on_conflict_do_nothing(index_elements=[s.c.connection, s.c.sku, s.c.key])
            conn.execute(add, [{**mine, **row} for row in skus])

    def rows(self, flow: str | None = None, status: str | None = None, limit: int | None = None) -> list[LedgerRow]:
        t = tables.ledger
        query = select(t).where(self._mine(t))
        if flow:
            query = query.where(t.c.flow == flow)
        if status:
            query = query.where(t.c.status == status)
        query = query.order_by(t.c.updated_at.desc(), t.c.key)
        if limit:
            query = query.limit(int(limit))
        with self.database.read() as conn:
            return [self._row(r) for r in conn.execute(query)]

    def forget(self, keys: Iterable[str]) -> int:
        keys = list(dict.fromkeys(keys))
        t = tables.ledger
        removed = 0
        with self.database.write() as conn:
            for start in range(0, len(keys), LOOKUP_CHUNK):
                chunk = keys[start:start + LOOKUP_CHUNK]
                removed += conn.execute(delete(t).where(self._mine(t), t.c.key.in_(chunk))).rowcount
        return removed

    def counts(self) -> dict[str, dict[str, int]]:
        t = tables.ledger
        out: dict[str, dict[str, int]] = {}
        query = select(t.c.flow, t.c.status, func.count()).where(self._mine(t)).group_by(t.c.flow, t.c.status)
        with self.database.read() as conn:
            for flow, status, n in conn.execute(query):
                out.setdefault(flow, {})[status] = n
        return out

    # --- exchange rates ------------------------------------------------------------------------------------
    def exchange_rates(self, scope: str, currency: str, first: str, last: str) -> dict[str, Decimal]:
        t = tables.exchange_rates
        query = select(t.c.day, t.c.rate).where(self._mine(t), t.c.scope == scope, t.c.currency == currency.upper(),
                                                t.c.day.between(first, last))
        with self.database.read() as conn:
            return {day: Decimal(rate) for day, rate in conn.execute(query)}

    def save_exchange_rates(self, scope: str, currency: str, rates: dict[str, Decimal], origin: str) -> None:
        if not rates:
            return
        stamp = now()
        t = tables.exchange_rates
        stmt = self._insert(t)
        stmt = stmt.on_conflict_do_update(
            index_elements=[t.c.connection, t.c.scope, t.c.currency, t.c.day],
            set_={"rate": stmt.excluded.rate, "origin": stmt.excluded.origin, "fetched_at": stmt.excluded.fetched_at})
        with self.database.write() as conn:
            conn.execute(stmt, [{"connection": self.connection, "scope": scope, "currency": currency.upper(),
                                 "day": day, "rate": str(rate), "origin": origin, "fetched_at": stamp}
                                for day, rate in sorted(rates.items())])

    # --- runs ----------------------------------------------------------------------------------------------
    def start_run(self, flow: str) -> int:
        t = tables.runs
        with self.database.write() as conn:
            # one run of a flow at a time (the run lock): an older 'running' one was killed
            conn.execute(update(t).where(self._mine(t), t.c.flow == flow, t.c.status == "running")
                         .values(status="interrupted", message=STALE_MESSAGE))
            result = conn.execute(t.insert().values(connection=self.connection, flow=flow, started_at=now(),
                                                    status="running").returning(t.c.id))
            return int(result.scalar_one())

    def finish_run(self, run_id: int, status: str, counts: dict, message: str | None = None) -> None:
        t = tables.runs
        with self.database.write() as conn:
            conn.execute(update(t).where(self._mine(t), t.c.id == run_id)
                         .values(finished_at=now(), status=status, counts=codec.dumps(counts), message=message))

    def interrupt_stale_runs(self) -> int:
        t = tables.runs
        with self.database.write() as conn:
            return conn.execute(
                update(t).where(self._mine(t), t.c.status == "running")
                .values(status="interrupted", finished_at=func.coalesce(t.c.finished_at, now()),
                        message=STALE_MESSAGE)).rowcount

    def last_runs(self, limit: int = 10) -> list[dict]:
        t = tables.runs
        query = select(t).where(self._mine(t)).order_by(t.c.id.desc()).limit(limit)
        with self.database.read() as conn:
            rows = conn.execute(query).all()
        out = []
        for r in rows:
            data = dict(r._mapping)
            data.pop("connection", None)
            out.append({**data, "counts": codec.loads(data["counts"])})
        return out


class SqliteStateStore(SqlStateStore):
    """The store of one connection in a SQLite file (the embedded default)."""

    def __init__(self, path: str | Path, *, connection: str = DEFAULT_CONNECTION, busy_timeout: float = 30.0):
        super().__init__(Path(path), connection=connection, busy_timeout=busy_timeout)


def _waves(rows: list[dict]) -> list[list[dict]]:
    """Rows split so no batch names a key twice: one multi-row ``ON CONFLICT DO UPDATE`` may not touch a row twice
    on PostgreSQL. In order, so the last write of a key wins as it would one by one."""
    waves: list[list[dict]] = []
    seen: list[set[str]] = []
    for row in rows:
        index = next((i for i in range(len(waves) - 1, -1, -1) if row["key"] in seen[i]), -1) + 1
        if index == len(waves):
            waves.append([])
            seen.append(set())
        waves[index].append(row)
        seen[index].add(row["key"])
    return waves


def open_state(target: str | Path | StateTarget, *, connection: str = DEFAULT_CONNECTION,
               busy_timeout: float = 30.0) -> StateStore:
    """The state store of ``connection`` in ``target``: a SQLite file path, or a ``postgresql://`` URL."""
    return SqlStateStore(state_target(target), connection=connection, busy_timeout=busy_timeout)


__all__ = ["DEFAULT_CONNECTION", "LedgerEntry", "LedgerRow", "SqlStateStore",
           "SqliteStateStore", "StateStore", "open_state"]
