"""The site pseudonyms a site's documents were sent under, per key version, so that a deletion
request after ``site rotate-key`` names the earlier ones too.

Stores upgraded to this revision start with no row: ``leave`` also derives the pseudonyms of
every key version still on the host, which covers what was sent before.

Revision ID: 0005
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "site_pseudonyms",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("site_id", sa.Integer, sa.ForeignKey("sites.id", ondelete="CASCADE"), nullable=False),
        sa.Column("key_version", sa.Integer, nullable=False),
        sa.Column("pseudonym", sa.String(32), nullable=False),
        sa.Column("recorded_at", sa.DateTime, nullable=False),
    )
    op.create_index("ix_site_pseudonyms_site_id", "site_pseudonyms", ["site_id"])


def downgrade() -> None:
    op.drop_table("site_pseudonyms")
