"""The web console's summaries of posted documents (document_index, document_skus) and its look-up indexes on the
ledger (by number, by source id, by day, and the failed rows alone), keyed by connection like every table.

Revision ID: 0004
Revises: 0003
"""

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

FAILED = sa.text("status = 'failed'")


def upgrade() -> None:
    op.create_table(
        "document_index",
        sa.Column("connection", sa.Text, nullable=False, primary_key=True),
        sa.Column("key", sa.Text, primary_key=True),
        sa.Column("kind", sa.Text),
        sa.Column("customer", sa.Text),
        sa.Column("reference", sa.Text),
        sa.Column("po_number", sa.Text),
        sa.Column("txn_date", sa.Text),
        sa.Column("currency", sa.Text),
        sa.Column("total", sa.Text),
        sa.Column("summary", sa.Text, nullable=False),
        sa.Column("customer_folded", sa.Text),
        sa.Column("reference_folded", sa.Text),
        sa.Column("po_number_folded", sa.Text),
    )
    op.create_index("document_index_customer", "document_index", ["connection", "customer_folded"])
    op.create_index("document_index_reference", "document_index", ["connection", "reference_folded"])
    op.create_index("document_index_po", "document_index", ["connection", "po_number_folded"])
    op.create_table(
        "document_skus",
        sa.Column("connection", sa.Text, nullable=False, primary_key=True),
        sa.Column("sku", sa.Text, primary_key=True),
        sa.Column("key", sa.Text, primary_key=True),
    )
    op.create_index("document_skus_key", "document_skus", ["connection", "key"])
    op.create_index("ledger_number", "ledger", ["connection", "number"])
    op.create_index("ledger_source_id", "ledger", ["connection", "source_id"])
    op.create_index("ledger_day", "ledger", ["connection", "updated_at", "status"])
    op.create_index("ledger_failed", "ledger", ["connection", "updated_at", "key", "flow", "kind", "source_id",
                                                "number", "error", "attempts", "status"],
                    sqlite_where=FAILED, postgresql_where=FAILED)


def downgrade() -> None:
    for name in ("ledger_failed", "ledger_day", "ledger_source_id", "ledger_number"):
        op.drop_index(name, table_name="ledger")
    op.drop_table("document_skus")
    op.drop_table("document_index")
