"""Summary postings (``sync.posting: summary``): one document per store + currency + period, and the link from
every order (or refund) to the summary that holds it. ``connex/state/summaries.py`` reads and writes them.

Revision ID: 0003
Revises: 0002
"""

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "summaries",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("flow", sa.Text, nullable=False),
        sa.Column("kind", sa.Text, nullable=False),
        sa.Column("store", sa.Text, nullable=False),
        sa.Column("currency", sa.Text, nullable=False),
        sa.Column("period", sa.Text, nullable=False),
        sa.Column("closes_at", sa.Text, nullable=False),
        sa.Column("doc_key", sa.Text, nullable=False),
        sa.Column("doc_number", sa.Text, nullable=False),
        sa.Column("status", sa.Text, nullable=False),
        sa.Column("created_at", sa.Text, nullable=False),
        sa.Column("closed_at", sa.Text),
        sa.Column("connection", sa.Text, nullable=False),
        sa.UniqueConstraint("connection", "doc_key", name="summaries_doc_key"),
        sa.UniqueConstraint("connection", "flow", "kind", "store", "currency", "period", name="summaries_group"),
        sqlite_autoincrement=True,
    )
    op.create_table(
        "summary_members",
        sa.Column("connection", sa.Text, nullable=False, primary_key=True),
        sa.Column("member_key", sa.Text, primary_key=True),
        sa.Column("summary_id", sa.Integer, sa.ForeignKey("summaries.id", name="summary_members_summary_id"),
                  nullable=False),
        sa.Column("source_id", sa.Text, nullable=False),
        sa.Column("number", sa.Text),
        sa.Column("moment", sa.Text, nullable=False),
        sa.Column("content_hash", sa.Text, nullable=False),
        sa.Column("document", sa.Text, nullable=False),
        sa.Column("added_at", sa.Text, nullable=False),
        sa.Column("updated_at", sa.Text, nullable=False),
    )
    op.create_index("summary_members_summary", "summary_members", ["connection", "summary_id"])


def downgrade() -> None:
    op.drop_table("summary_members")
    op.drop_table("summaries")
