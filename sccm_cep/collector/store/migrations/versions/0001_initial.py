"""First released schema: sites, enrollments, runs, outbox, approvals, audit events.

Revision ID: 0001
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "sites",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("code", sa.String(3), nullable=False),
        sa.Column("name", sa.String(200)),
        sa.Column("db_url", sa.Text),
        sa.Column("password_ref", sa.Text),
        sa.Column("winrm_hosts", sa.Text),
        sa.Column("secret_ref", sa.Text, nullable=False),
        sa.Column("key_version", sa.Integer, nullable=False),
        sa.Column("created_at", sa.DateTime, nullable=False),
        sa.UniqueConstraint("code", name="uq_sites_code"),
    )
    op.create_table(
        "enrollments",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("site_id", sa.Integer, sa.ForeignKey("sites.id", ondelete="CASCADE"), nullable=False),
        sa.Column("joined_on", sa.Date, nullable=False),
        sa.Column("joined_at", sa.DateTime, nullable=False),
        sa.Column("joined_by", sa.String(200), nullable=False),
        sa.Column("cadence", sa.String(16), nullable=False),
        sa.Column("level", sa.String(16), nullable=False),
        sa.Column("policy_digest", sa.String(80), nullable=False),
        sa.Column("left_on", sa.Date),
        sa.Column("left_at", sa.DateTime),
        sa.Column("left_by", sa.String(200)),
    )
    op.create_index("ix_enrollments_site_id", "enrollments", ["site_id"])
    op.create_table(
        "runs",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("site_id", sa.Integer, sa.ForeignKey("sites.id", ondelete="CASCADE"), nullable=False),
        sa.Column("period", sa.String(32)),
        sa.Column("started_at", sa.DateTime, nullable=False),
        sa.Column("finished_at", sa.DateTime),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("message", sa.Text),
        sa.Column("host", sa.String(255)),
    )
    op.create_index("ix_runs_site_id", "runs", ["site_id"])
    op.create_table(
        "outbox",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("site_id", sa.Integer, sa.ForeignKey("sites.id", ondelete="CASCADE"), nullable=False),
        sa.Column("kind", sa.String(32), nullable=False),
        sa.Column("period", sa.String(32), nullable=False),
        sa.Column("revision", sa.Integer, nullable=False),
        sa.Column("document_id", sa.String(36), nullable=False),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("created_at", sa.DateTime, nullable=False),
        sa.Column("body", sa.LargeBinary),
        sa.Column("sha256", sa.String(64), nullable=False),
        sa.Column("size", sa.Integer, nullable=False),
        sa.Column("attempts", sa.Integer, nullable=False),
        sa.Column("next_attempt_at", sa.DateTime),
        sa.Column("last_status", sa.Text),
        sa.UniqueConstraint("site_id", "kind", "period", "revision", name="uq_outbox_period"),
        sa.UniqueConstraint("document_id", name="uq_outbox_document_id"),
    )
    op.create_index("ix_outbox_site_id", "outbox", ["site_id"])
    op.create_table(
        "approvals",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("policy_digest", sa.String(80), nullable=False),
        sa.Column("approved_by", sa.String(200), nullable=False),
        sa.Column("approved_at", sa.DateTime, nullable=False),
        sa.Column("note", sa.Text),
    )
    op.create_index("ix_approvals_policy_digest", "approvals", ["policy_digest"])
    op.create_table(
        "audit_events",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("at", sa.DateTime, nullable=False),
        sa.Column("actor", sa.String(200), nullable=False),
        sa.Column("action", sa.String(64), nullable=False),
        sa.Column("site_code", sa.String(3)),
        sa.Column("detail", sa.Text),
    )
    op.create_index("ix_audit_events_at", "audit_events", ["at"])


def downgrade() -> None:
    for table in ("audit_events", "approvals", "outbox", "runs", "enrollments", "sites"):
        op.drop_table(table)
