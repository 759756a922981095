"""Call budgets shared by every process on the database: ``call_windows``, the last calls under each budget key
(a QuickBooks company's, a Linnworks account's), not keyed by connection (the vendors' limits are shared).

Revision ID: 0005
Revises: 0004
"""

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "call_windows",
        sa.Column("scope", sa.Text, primary_key=True),
        sa.Column("place", sa.Integer, primary_key=True),
        sa.Column("at_us", sa.BigInteger, nullable=False),
    )


def downgrade() -> None:
    op.drop_table("call_windows")
