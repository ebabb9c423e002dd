"""audit: status and error of rejected calls, trace id; index for per-client scoping

Revision ID: 0002
Revises: 0001
Create Date: 2026-12-04

``status_code``/``error`` record calls answered 401 or 412 (audited without patient data);
existing rows were all answered (200). ``trace_id`` is the OpenTelemetry trace of the call
(hex, when tracing is on). The (client_iss, created_at) index serves the
per-client audit, feedback and analytics queries.
"""

from __future__ import annotations

import sqlalchemy as sa

from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column(
        "audit_record",
        sa.Column("status_code", sa.Integer(), nullable=False, server_default="200"),
    )
    op.add_column("audit_record", sa.Column("error", sa.String(64), nullable=True))
    op.add_column("audit_record", sa.Column("trace_id", sa.String(32), nullable=True))
    op.create_index(
        "ix_audit_record_client_iss_created_at", "audit_record", ["client_iss", "created_at"]
    )


def downgrade() -> None:
    op.drop_index("ix_audit_record_client_iss_created_at", table_name="audit_record")
    with op.batch_alter_table("audit_record") as batch:
        batch.drop_column("trace_id")
        batch.drop_column("error")
        batch.drop_column("status_code")
