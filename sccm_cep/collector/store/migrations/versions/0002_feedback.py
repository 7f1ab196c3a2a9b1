"""The quarterly questionnaire (one 0-10 answer per site and period), and what AD published.

Revision ID: 0002
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # What Active Directory published about the site (GUID, version, management points).
    with op.batch_alter_table("sites") as batch:
        batch.add_column(sa.Column("ad_info", sa.Text))
    op.create_table(
        "feedback",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("site_id", sa.Integer, sa.ForeignKey("sites.id", ondelete="CASCADE"), nullable=False),
        sa.Column("period", sa.String(32), nullable=False),
        sa.Column("score", sa.Integer, nullable=False),
        sa.Column("comment", sa.Text),
        sa.Column("created_at", sa.DateTime, nullable=False),
        sa.Column("sent_in", sa.String(36)),
        sa.UniqueConstraint("site_id", "period", name="uq_feedback_period"),
    )
    op.create_index("ix_feedback_site_id", "feedback", ["site_id"])


def downgrade() -> None:
    op.drop_table("feedback")
    with op.batch_alter_table("sites") as batch:
        batch.drop_column("ad_info")
