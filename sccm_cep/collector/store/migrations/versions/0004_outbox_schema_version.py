"""The schema version of each outbox document, in its own column, so sending a document no
longer decompresses and parses it to build the upload path.

Every document stored before this revision was written in schema version 1.0 (the only one
released, for submissions and deletion requests alike), so existing rows get "1.0" without
their bodies being read; this also covers rows whose body retention already dropped.

Revision ID: 0004
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("outbox") as batch:
        batch.add_column(sa.Column("schema_version", sa.String(16), nullable=False, server_default="1.0"))
    # New rows always name their version (Outbox.pending): no default to fall back on.
    with op.batch_alter_table("outbox") as batch:
        batch.alter_column("schema_version", existing_type=sa.String(16), server_default=None)


def downgrade() -> None:
    with op.batch_alter_table("outbox") as batch:
        batch.drop_column("schema_version")
