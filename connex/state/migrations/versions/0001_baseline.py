"""The schema every SQLite state file had before Alembic (``PRAGMA user_version`` 1, plus the exchange-rate cache
that was created outside the numbered steps). A file made by that code is stamped at this revision, not re-created.

Revision ID: 0001
Revises:
"""

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "ledger",
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
    )
    op.create_index("ledger_flow_status", "ledger", ["flow", "status"])
    op.create_index("ledger_source", "ledger", ["flow", "source_id"])
    op.create_table("cursors", sa.Column("flow", sa.Text, primary_key=True),
                    sa.Column("value", sa.Text, nullable=False), sa.Column("updated_at", sa.Text, nullable=False))
    op.create_table("kv", sa.Column("key", sa.Text, primary_key=True),
                    sa.Column("value", sa.Text, nullable=False), sa.Column("updated_at", sa.Text, nullable=False))
    op.create_table(
        "runs",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("flow", sa.Text, nullable=False),
        sa.Column("started_at", sa.Text, nullable=False),
        sa.Column("finished_at", sa.Text),
        sa.Column("status", sa.Text, nullable=False),
        sa.Column("counts", sa.Text),
        sa.Column("message", sa.Text),
        sqlite_autoincrement=True,
    )
    op.create_table(
        "exchange_rates",
        sa.Column("scope", sa.Text, primary_key=True),
        sa.Column("currency", sa.Text, primary_key=True),
        sa.Column("day", sa.Text, primary_key=True),
        sa.Column("rate", sa.Text, nullable=False),
        sa.Column("origin", sa.Text, nullable=False),
        sa.Column("fetched_at", sa.Text, nullable=False),
    )


def downgrade() -> None:
    for table in ("exchange_rates", "runs", "kv", "cursors", "ledger"):
        op.drop_table(table)
