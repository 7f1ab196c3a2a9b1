"""Free text only as a person confirmed it, and the installation's contributor.

``feedback`` gains ``comment_sha256`` and ``confirmed_at`` / ``confirmed_by``: a comment goes out
only when the admin confirmed its exact scrubbed text (``sccm-cep feedback``), and the digest
says it is still that text. Comments stored before this revision were never shown to anyone:
they keep no digest, so no run sends them (the score still goes out).

``settings`` holds values of the installation, one row per name; the first is
``contributor_ref``: the reference to the contributor secret every submission's ``contributor``
pseudonym is made with (created at the first ``join``).

Revision ID: 0006
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("feedback") as batch:
        batch.add_column(sa.Column("comment_sha256", sa.String(64)))
        batch.add_column(sa.Column("confirmed_at", sa.DateTime))
        batch.add_column(sa.Column("confirmed_by", sa.String(200)))
    op.create_table(
        "settings",
        sa.Column("name", sa.String(64), primary_key=True),
        sa.Column("value", sa.Text, nullable=False),
        sa.Column("updated_at", sa.DateTime, nullable=False),
    )


def downgrade() -> None:
    op.drop_table("settings")
    with op.batch_alter_table("feedback") as batch:
        batch.drop_column("confirmed_by")
        batch.drop_column("confirmed_at")
        batch.drop_column("comment_sha256")
