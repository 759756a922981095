"""Copying connections' state from one database to another: the embedded SQLite file to PostgreSQL for workers,
or back (``connex state copy``, docs/scale.md "Moving connections").

What is copied is read from ``tables.metadata``, not from a list here: every table with a ``connection`` column
is per-connection state and all its rows of the chosen connections move; a table without one (shared by the whole
deployment) is left and named in the report. Rows are copied as stored, so a rotated OAuth token in ``kv`` moves
as the same text and is never decoded or shown.

Integer row ids that a database hands out (``runs.id``, ``summaries.id``) are global to a database, not to a
connection, so the destination may already use one for another connection. A copied row keeps its id when it is
free there and gets a new one otherwise; the columns that point at it (a ``ForeignKey``, or a column whose
``info["refers_to"]`` names it, such as ``ledger.run_id``) are rewritten to match. The destination's id sequence
is then moved past every copied id, because some stored text is derived from an id (a summary's document key
``sales_receipt:summary-12``) and a later row must never be handed the same number.

The move is safe against a running sync: each connection's run lock is taken on both sides for the whole copy,
the source is read in one snapshot, and the destination is written in one transaction that checks its row counts
against the source's before it commits.
"""

from __future__ import annotations

import contextlib
from collections import defaultdict
from dataclasses import dataclass, field

from sqlalchemy import Integer, Table, delete, func, insert, select, text
from sqlalchemy.sql.util import sort_tables

from connex.errors import ConfigError, ConnexError
from connex.state import tables as state_tables
from connex.state.database import Database, acquire, release
from connex.state.lock import PostgresRunLock, StateLock
from connex.state.target import StateTarget

#: rows per INSERT statement and keys per IN (...): well under SQLite's bound-parameter limit
CHUNK = 500


@dataclass
class CopyResult:
    """What was copied: rows per connection and table (equal on both sides, checked), and what was left."""

    copied: dict[str, dict[str, int]] = field(default_factory=dict)
    replaced: dict[str, dict[str, int]] = field(default_factory=dict)  # rows the destination held and dropped
    renumbered: dict[str, int] = field(default_factory=dict)  # table -> rows whose id was taken at the destination
    shared_tables: list[str] = field(default_factory=list)  # tables without a connection column: not copied


class CopyRefused(ConfigError):
    """The destination already holds rows of a connection and ``replace`` was not given."""


def connection_tables(metadata=state_tables.metadata) -> list[Table]:
    """Every per-connection table, referenced tables before the tables that point at them."""
    chosen = [t for t in metadata.tables.values() if "connection" in t.c]
    extra = [(_target_table(column, metadata), table) for table in chosen for column in table.c
             if column.info.get("refers_to")]
    return sort_tables(chosen, extra_dependencies=[(p, c) for p, c in extra if p is not None and p in chosen])


def shared_tables(metadata=state_tables.metadata) -> list[str]:
    return sorted(t.name for t in metadata.tables.values() if "connection" not in t.c)


def _target_table(column, metadata) -> Table | None:
    name = column.info["refers_to"].split(".")[0]
    return metadata.tables.get(name)


def _surrogate_id(table: Table):
    """The id column a database hands out (one integer primary key that is not keyed by connection), or None."""
    keys = list(table.primary_key.columns)
    if len(keys) == 1 and isinstance(keys[0].type, Integer) and keys[0].name != "connection":
        return keys[0]
    return None


def _references(table: Table) -> dict[str, tuple[str, str]]:
    """Column name -> (table, column) it points at: foreign keys and ``info['refers_to']``."""
    out: dict[str, tuple[str, str]] = {}
    for column in table.c:
        for fk in column.foreign_keys:
            out[column.name] = (fk.column.table.name, fk.column.name)
        if column.info.get("refers_to"):
            target_table, target_column = column.info["refers_to"].split(".")
            out[column.name] = (target_table, target_column)
    return out


def connections_in(db: Database, metadata=state_tables.metadata) -> list[str]:
    """Every connection with at least one row in ``db``."""
    found: set[str] = set()
    with db.read() as conn:
        for table in connection_tables(metadata):
            found.update(conn.execute(select(table.c.connection).distinct()).scalars())
    return sorted(found, key=str.lower)


def count_rows(conn, names: list[str], metadata=state_tables.metadata) -> dict[str, dict[str, int]]:
    """Rows per connection and table (only the tables where a connection has rows)."""
    counts: dict[str, dict[str, int]] = {name: {} for name in names}
    for table in connection_tables(metadata):
        query = (select(table.c.connection, func.count()).where(table.c.connection.in_(names))
                 .group_by(table.c.connection))
        for name, n in conn.execute(query):
            counts[name][table.name] = n
    return counts


def run_lock(db: Database, connection: str):
    """The connection's run lock in ``db``: what every sync, daemon pass and worker job holds while it runs."""
    if db.is_sqlite:
        return StateLock(db.target, connection=connection)
    return PostgresRunLock(db, connection)


def same_database(a: Database, b: Database) -> bool:
    if a.is_sqlite and b.is_sqlite:
        with contextlib.suppress(OSError):
            return a.target.resolve() == b.target.resolve()
    return a is b


def copy_connections(source: StateTarget, destination: StateTarget, names: list[str] | None = None, *,
                     replace: bool = False, wait: float = 0.0, busy_timeout: float = 30.0,
                     metadata=state_tables.metadata) -> CopyResult:
    """Copy every row of ``names`` (every connection in the source by default) from ``source`` to
    ``destination``. Both schemas are brought to the newest revision first. Raises ``CopyRefused`` when the
    destination holds rows of a chosen connection and ``replace`` is false; ``StateBusy`` when a run of one of
    them is going on either side (after ``wait`` seconds)."""
    if not source.exists():  # opening a missing file would create an empty database
        raise ConfigError(f"{source}: no state file there to copy from")
    src = acquire(source, busy_timeout)
    try:
        dst = acquire(destination, busy_timeout)
    except BaseException:
        release(src)
        raise
    try:
        if same_database(src, dst):
            raise ConfigError(f"{src.label}: the source and the destination are the same database")
        chosen = list(dict.fromkeys(names)) if names else connections_in(src, metadata)
        if not chosen:
            raise ConfigError(f"{src.label}: no connection has any state to copy")
        with contextlib.ExitStack() as locks:
            for name in chosen:
                locks.enter_context(run_lock(src, name).acquire(wait))
                locks.enter_context(run_lock(dst, name).acquire(wait))
            return _copy(src, dst, chosen, replace=replace, metadata=metadata)
    finally:
        release(dst)
        release(src)


def _copy(src: Database, dst: Database, names: list[str], *, replace: bool, metadata) -> CopyResult:
    ordered = connection_tables(metadata)
    result = CopyResult(shared_tables=shared_tables(metadata))
    rows: dict[str, list[dict]] = {}
    with _snapshot(src) as conn:
        for table in ordered:
            query = select(table).where(table.c.connection.in_(names)).order_by(*table.primary_key.columns)
            rows[table.name] = [dict(r._mapping) for r in conn.execute(query)]
    expected = _tally(rows, names)
    missing = [n for n in names if not expected[n]]
    if missing:
        raise ConfigError(f"{src.label}: no state of connection{'s' if len(missing) > 1 else ''} "
                          f"{', '.join(missing)} to copy (connections there: "
                          f"{', '.join(connections_in(src, metadata)) or 'none'})")
    with dst.write() as conn:
        held = {n: c for n, c in count_rows(conn, names, metadata).items() if c}
        if held and not replace:
            described = "; ".join(f"{n}: {_listing(c)}" for n, c in held.items())
            raise CopyRefused(f"{dst.label} already holds state of {', '.join(held)} ({described}); nothing was "
                              "copied. Add --replace to drop it and copy the source's in its place")
        for table in reversed(ordered):
            conn.execute(delete(table).where(table.c.connection.in_(names)))
        result.replaced = held
        ids: dict[str, dict[int, int]] = defaultdict(dict)
        for table in ordered:
            _insert(conn, table, rows[table.name], ids, result)
        for table in ordered:
            if _surrogate_id(table) is not None and rows[table.name]:
                _advance_sequence(conn, table, max(r[_surrogate_id(table).name] for r in rows[table.name]))
        written = count_rows(conn, names, metadata)
        if written != expected:  # raising here rolls the whole copy back
            raise ConnexError(f"{dst.label}: the copy wrote {written} rows but the source holds {expected}; "
                              "nothing was copied")
    with dst.read() as conn:  # after the commit, as another process would read it
        after = count_rows(conn, names, metadata)
    if after != expected:
        raise ConnexError(f"{dst.label}: after the copy the destination holds {after} rows, the source {expected}")
    result.copied = after
    return result


@contextlib.contextmanager
def _snapshot(db: Database):
    """One consistent read of the source: a SQLite read transaction, a REPEATABLE READ one on PostgreSQL."""
    with db.guard(), db.engine.connect() as conn:
        if not db.is_sqlite:
            conn = conn.execution_options(isolation_level="REPEATABLE READ")
        with conn.begin():
            yield conn


def _insert(conn, table: Table, rows: list[dict], ids: dict[str, dict[int, int]], result: CopyResult) -> None:
    if not rows:
        return
    refs = _references(table)
    if refs:
        rows = [_pointed(row, refs, ids) for row in rows]
    key = _surrogate_id(table)
    if key is None:
        for start in range(0, len(rows), CHUNK):
            conn.execute(insert(table), rows[start:start + CHUNK])
        return
    wanted = [row[key.name] for row in rows]
    taken: set[int] = set()
    for start in range(0, len(wanted), CHUNK):
        taken.update(conn.execute(select(key).where(key.in_(wanted[start:start + CHUNK]))).scalars())
    keep = [row for row in rows if row[key.name] not in taken]
    for start in range(0, len(keep), CHUNK):
        conn.execute(insert(table), keep[start:start + CHUNK])
    if taken:  # explicit ids do not move a PostgreSQL sequence: move it, or a new id could meet a kept one
        _advance_sequence(conn, table, max(wanted))
    mapping = ids[table.name]
    mapping.update({row[key.name]: row[key.name] for row in keep})
    for row in rows:
        if row[key.name] in taken:  # another connection's row has this id here: the database picks a new one
            fresh = {k: v for k, v in row.items() if k != key.name}
            mapping[row[key.name]] = conn.execute(insert(table).values(**fresh).returning(key)).scalar_one()
    if taken:
        result.renumbered[table.name] = len(taken)


def _pointed(row: dict, refs: dict[str, tuple[str, str]], ids: dict[str, dict[int, int]]) -> dict:
    row = dict(row)
    for column, (target, _target_column) in refs.items():
        value = row.get(column)
        if value is None or target not in ids:
            continue
        # a pointer to a row that was not copied (a run the source no longer holds) would point at another
        # connection's row here: it is dropped instead (a foreign key never dangles, so only refers_to columns)
        row[column] = ids[target].get(value)
    return row


def _advance_sequence(conn, table: Table, highest_copied: int) -> None:
    """The next id the destination hands out is above every copied one (see the module's docstring)."""
    key = _surrogate_id(table)
    if conn.dialect.name == "postgresql":
        conn.execute(text(
            f"SELECT setval(pg_get_serial_sequence('{table.name}', '{key.name}'), "
            f"GREATEST((SELECT COALESCE(MAX({key.name}), 0) FROM {table.name}), :highest, 1))"),
            {"highest": highest_copied})
    elif conn.dialect.name == "sqlite" and table.dialect_options["sqlite"].get("autoincrement"):
        # SQLite keeps the highest id an AUTOINCREMENT table ever used in sqlite_sequence and never goes below it
        conn.execute(text("UPDATE sqlite_sequence SET seq = MAX(seq, :highest) WHERE name = :name"),
                     {"highest": highest_copied, "name": table.name})


def _tally(rows: dict[str, list[dict]], names: list[str]) -> dict[str, dict[str, int]]:
    counts: dict[str, dict[str, int]] = {name: {} for name in names}
    for table, table_rows in rows.items():
        for row in table_rows:
            counts[row["connection"]][table] = counts[row["connection"]].get(table, 0) + 1
    return counts


def _listing(counts: dict[str, int]) -> str:
    return ", ".join(f"{n} {table}" for table, n in counts.items())
