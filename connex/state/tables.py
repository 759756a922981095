"""The state store's tables as they stand after the last migration: the one place that says what is stored.

Every table is keyed by ``connection`` first (one deployment serves many client connections from one database).
Timestamps are ISO-8601 text and structured values are ``codec`` JSON text, so a row reads the same on SQLite and
PostgreSQL. A change here needs a migration in ``connex/state/migrations/versions`` (see ``docs/scale.md``):
``tests/sync/test_state_store.py`` fails when the two disagree.
"""

from __future__ import annotations

from sqlalchemy import Column, Index, Integer, MetaData, Table, Text

metadata = MetaData()


def _connection(*, key: bool = True) -> Column:
    """The connection a row belongs to; first in the primary key of every table keyed by name. No default: a
    write that forgot its connection must fail, not land in someone else's."""
    return Column("connection", Text, nullable=False, primary_key=key)


ledger = Table(
    "ledger", metadata,
    _connection(),
    Column("key", Text, primary_key=True),  # the document key (kind:source_id), or flow kind:source_id when unmapped
    Column("flow", Text, nullable=False),
    Column("kind", Text, nullable=False),
    Column("source_id", Text, nullable=False),
    Column("number", Text),
    Column("content_hash", Text),
    Column("status", Text, nullable=False),  # in_flight, posted, queued, failed, skipped, changed
    Column("target_id", Text),
    Column("error", Text),
    Column("attempts", Integer, nullable=False, server_default="0"),
    Column("document", Text),  # the mapped document (JSON) while in flight, to resolve it after a crash
    Column("record", Text),  # the source record (JSON) of a failed document, for --retry-failed
    Column("run_id", Integer),
    Column("first_seen", Text, nullable=False),
    Column("updated_at", Text, nullable=False),
    Index("ledger_flow_status", "connection", "flow", "status"),
    Index("ledger_source", "connection", "flow", "source_id"),
)

cursors = Table(
    "cursors", metadata,
    _connection(),
    Column("flow", Text, primary_key=True),
    Column("value", Text, nullable=False),
    Column("updated_at", Text, nullable=False),
)

kv = Table(
    "kv", metadata,
    _connection(),
    Column("key", Text, primary_key=True),
    Column("value", Text, nullable=False),
    Column("updated_at", Text, nullable=False),
)

runs = Table(
    "runs", metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("flow", Text, nullable=False),
    Column("started_at", Text, nullable=False),
    Column("finished_at", Text),
    Column("status", Text, nullable=False),  # running, ok, failures, incomplete, interrupted
    Column("counts", Text),
    Column("message", Text),
    _connection(key=False),
    Index("runs_connection_status", "connection", "status"),
    sqlite_autoincrement=True,
)

# rates a target read, per scope (e.g. a QuickBooks realm), currency and day; reused across runs
exchange_rates = Table(
    "exchange_rates", metadata,
    _connection(),
    Column("scope", Text, primary_key=True),
    Column("currency", Text, primary_key=True),
    Column("day", Text, primary_key=True),
    Column("rate", Text, nullable=False),
    Column("origin", Text, nullable=False),
    Column("fetched_at", Text, nullable=False),
)
