"""Signed documents.

``outbox`` gains ``signature``: the site's Ed25519 signature of the document and its public key
(``contract.signing.DocumentSignature`` as JSON), made when the document enters the outbox and
sent with it. Rows queued before this revision keep none and go out unsigned, which a receiver
accepts only for a site no key is bound to yet.

``site_key_changes`` keeps, per ``site rotate-key``, the statement the outgoing signing key
signed to hand the site over to the new one; the site's deletion request carries them all.

Revision ID: 0007
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("outbox") as batch:
        batch.add_column(sa.Column("signature", sa.Text))
    op.create_table(
        "site_key_changes",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("site_id", sa.Integer, sa.ForeignKey("sites.id", ondelete="CASCADE"), nullable=False),
        sa.Column("key_version", sa.Integer, nullable=False),
        sa.Column("statement", sa.Text, nullable=False),
        sa.Column("recorded_at", sa.DateTime, nullable=False),
    )
    op.create_index("ix_site_key_changes_site_id", "site_key_changes", ["site_id"])


def downgrade() -> None:
    op.drop_index("ix_site_key_changes_site_id", table_name="site_key_changes")
    op.drop_table("site_key_changes")
    with op.batch_alter_table("outbox") as batch:
        batch.drop_column("signature")
