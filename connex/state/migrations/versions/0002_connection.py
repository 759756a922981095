"""Every table keyed by connection (issue 18): a deployment serves many client connections from one database.
Existing rows belong to the connection "default", which is what a single ``connex.yaml`` runs as.

The primary keys change, which SQLite cannot alter in place, so each table is rebuilt the same way on both
databases: create the new shape, copy, drop the old, rename.

Revision ID: 0002
Revises: 0001
"""

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def _connection(key: bool = True) -> sa.Column:
    return sa.Column("connection", sa.Text, nullable=False, primary_key=key)


NEW = {
    "ledger": lambda name: op.create_table(
        name,
        _connection(),
        sa.Column("key", sa.Text, primary_key=True),
        sa.Column("flow", sa.Text, nullable=False),
        sa.Column("kind", sa.Text, nullable=False),
        sa.Column("source_id", sa.Text, nullable=False),
        sa.Column("number", sa.Text),
        sa.Column("content_hash", sa.Text),
        sa.Column("status", sa.Text, nullable=False),
        sa.Column("target_id", sa.Text),
        sa.Column("error", sa.Text),
        sa.Column("attempts", sa.Integer, nullable=False, server_default="0"),
        sa.Column("document", sa.Text),
        sa.Column("record", sa.Text),
        sa.Column("run_id", sa.Integer),
        sa.Column("first_seen", sa.Text, nullable=False),
        sa.Column("updated_at", sa.Text, nullable=False),
    ),
    "cursors": lambda name: op.create_table(
        name, _connection(), sa.Column("flow", sa.Text, primary_key=True),
        sa.Column("value", sa.Text, nullable=False), sa.Column("updated_at", sa.Text, nullable=False)),
    "kv": lambda name: op.create_table(
        name, _connection(), sa.Column("key", sa.Text, primary_key=True),
        sa.Column("value", sa.Text, nullable=False), sa.Column("updated_at", sa.Text, nullable=False)),
    "runs": lambda name: op.create_table(
        name,
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("flow", sa.Text, nullable=False),
        sa.Column("started_at", sa.Text, nullable=False),
        sa.Column("finished_at", sa.Text),
        sa.Column("status", sa.Text, nullable=False),
        sa.Column("counts", sa.Text),
        sa.Column("message", sa.Text),
        _connection(key=False),
        sqlite_autoincrement=True,
    ),
    "exchange_rates": lambda name: op.create_table(
        name,
        _connection(),
        sa.Column("scope", sa.Text, primary_key=True),
        sa.Column("currency", sa.Text, primary_key=True),
        sa.Column("day", sa.Text, primary_key=True),
        sa.Column("rate", sa.Text, nullable=False),
        sa.Column("origin", sa.Text, nullable=False),
        sa.Column("fetched_at", sa.Text, nullable=False),
    ),
}
COLUMNS = {
    "ledger": "key, flow, kind, source_id, number, content_hash, status, target_id, error, attempts, document, "
              "record, run_id, first_seen, updated_at",
    "cursors": "flow, value, updated_at",
    "kv": "key, value, updated_at",
    "runs": "id, flow, started_at, finished_at, status, counts, message",
    "exchange_rates": "scope, currency, day, rate, origin, fetched_at",
}


def upgrade() -> None:
    for table, create in NEW.items():
        columns = COLUMNS[table].replace("key,", '"key",')
        create(f"{table}_new")
        op.execute(f"INSERT INTO {table}_new (connection, {columns}) SELECT 'default', {columns} FROM {table}")
        op.drop_table(table)
        op.rename_table(f"{table}_new", table)
    op.create_index("ledger_flow_status", "ledger", ["connection", "flow", "status"])
    op.create_index("ledger_source", "ledger", ["connection", "flow", "source_id"])
    op.create_index("runs_connection_status", "runs", ["connection", "status"])
    if op.get_bind().dialect.name == "postgresql":
        # the copied run ids were explicit: the new table's sequence must continue after them
        op.execute("SELECT setval(pg_get_serial_sequence('runs', 'id'), COALESCE(MAX(id), 0) + 1, false) FROM runs")


def downgrade() -> None:
    raise NotImplementedError("a state database keyed by connection cannot go back to one connection per file")
