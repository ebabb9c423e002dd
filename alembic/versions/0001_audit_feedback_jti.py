"""audit records, cards, feedback and client jti

Revision ID: 0001
Revises:
Create Date: 2026-11-23
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
        "audit_record",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("consult_id", sa.String(64), nullable=False),
        sa.Column("service", sa.String(64), nullable=False),
        sa.Column("hook", sa.String(32), nullable=False),
        sa.Column("hook_instance", sa.String(128), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("latency_ms", sa.Float(), nullable=False),
        sa.Column("knowledge_version", sa.String(64), nullable=False),
        sa.Column("policies", sa.JSON(), nullable=False),
        sa.Column("input_sha256", sa.String(64), nullable=False),
        sa.Column("patient_hmac", sa.String(64), nullable=True),
        sa.Column("client_iss", sa.String(512), nullable=True),
        sa.Column("cards", sa.JSON(), nullable=False),
        sa.Column("system_actions", sa.JSON(), nullable=False),
        sa.Column("orders_rated", sa.Integer(), nullable=False),
        sa.Column("orders_unrated", sa.Integer(), nullable=False),
    )
    op.create_index("ix_audit_record_consult_id", "audit_record", ["consult_id"], unique=True)
    op.create_index("ix_audit_record_created_at", "audit_record", ["created_at"])
    op.create_index("ix_audit_record_patient_hmac", "audit_record", ["patient_hmac"])
    op.create_table(
        "card_record",
        sa.Column("card_uuid", sa.String(64), primary_key=True),
        sa.Column(
            "consult_id",
            sa.String(64),
            sa.ForeignKey("audit_record.consult_id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("service", sa.String(64), nullable=False),
        sa.Column("topic", sa.String(64), nullable=False),
        sa.Column("indicator", sa.String(16), nullable=False),
        sa.Column("suggestion_uuids", sa.JSON(), nullable=False),
    )
    op.create_index("ix_card_record_consult_id", "card_record", ["consult_id"])
    op.create_index("ix_card_record_topic", "card_record", ["topic"])
    op.create_table(
        "feedback",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("dedup_key", sa.String(64), nullable=False, unique=True),
        sa.Column(
            "card_uuid",
            sa.String(64),
            sa.ForeignKey("card_record.card_uuid", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("consult_id", sa.String(64), nullable=False),
        sa.Column("service", sa.String(64), nullable=False),
        sa.Column("outcome", sa.String(16), nullable=False),
        sa.Column("accepted_suggestions", sa.JSON(), nullable=False),
        sa.Column("override_system", sa.String(256), nullable=True),
        sa.Column("override_code", sa.String(128), nullable=True),
        sa.Column("override_display", sa.String(512), nullable=True),
        sa.Column("user_comment", sa.Text(), nullable=True),
        sa.Column("outcome_timestamp", sa.DateTime(timezone=True), nullable=False),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("ix_feedback_consult_id", "feedback", ["consult_id"])
    op.create_index("ix_feedback_card_outcome", "feedback", ["card_uuid", "outcome"])
    op.create_table(
        "client_jti",
        sa.Column("iss", sa.String(512), primary_key=True),
        sa.Column("jti", sa.String(256), primary_key=True),
        sa.Column("expires_at", sa.Integer(), nullable=False),
    )
    op.create_index("ix_client_jti_expires_at", "client_jti", ["expires_at"])


def downgrade() -> None:
    op.drop_table("client_jti")
    op.drop_table("feedback")
    op.drop_table("card_record")
    op.drop_table("audit_record")
