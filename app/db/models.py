"""ORM models. The schema is created and changed only by Alembic migrations (alembic/).

No patient identifier is stored: ``patient_hmac`` is a keyed hash (HMAC-SHA256 with the
server secret) of the patient id, and the input is kept only as its SHA-256 digest.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, DateTime, Float, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from app.json_types import JsonObject


class Base(DeclarativeBase):
    """Declarative base; its metadata is Alembic's autogenerate target."""


class AuditRecord(Base):
    """One hook invocation or assessment: what was asked (digest) and what was advised.
    ``client_iss`` is the authenticated CDS Client: clients read only their own records."""

    __tablename__ = "audit_record"
    __table_args__ = (Index("ix_audit_record_client_iss_created_at", "client_iss", "created_at"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    consult_id: Mapped[str] = mapped_column(String(64), unique=True, index=True)
    service: Mapped[str] = mapped_column(String(64))
    hook: Mapped[str] = mapped_column(String(32))
    hook_instance: Mapped[str | None] = mapped_column(String(128))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), index=True)
    latency_ms: Mapped[float] = mapped_column(Float)
    knowledge_version: Mapped[str] = mapped_column(String(64))
    policies: Mapped[JsonObject] = mapped_column(JSON)
    input_sha256: Mapped[str] = mapped_column(String(64))
    patient_hmac: Mapped[str | None] = mapped_column(String(64), index=True)
    client_iss: Mapped[str | None] = mapped_column(String(512))
    cards: Mapped[list[JsonObject]] = mapped_column(JSON)
    system_actions: Mapped[list[JsonObject]] = mapped_column(JSON)
    orders_rated: Mapped[int] = mapped_column(Integer, default=0)
    orders_unrated: Mapped[int] = mapped_column(Integer, default=0)
    # 200, or 401 / 412 for a rejected call audited without patient data (error: the reason)
    status_code: Mapped[int] = mapped_column(Integer, default=200, server_default="200")
    error: Mapped[str | None] = mapped_column(String(64))
    trace_id: Mapped[str | None] = mapped_column(String(32))  # OpenTelemetry, when tracing is on


class CardRecord(Base):
    """Each card returned, so feedback can be tied to its consult and topic."""

    __tablename__ = "card_record"

    card_uuid: Mapped[str] = mapped_column(String(64), primary_key=True)
    consult_id: Mapped[str] = mapped_column(
        String(64), ForeignKey("audit_record.consult_id", ondelete="CASCADE"), index=True
    )
    service: Mapped[str] = mapped_column(String(64))
    topic: Mapped[str] = mapped_column(String(64), index=True)
    indicator: Mapped[str] = mapped_column(String(16))
    suggestion_uuids: Mapped[list[str]] = mapped_column(JSON)


class Feedback(Base):
    """CDS Hooks 2.0 feedback on a card; ``dedup_key`` makes duplicates idempotent."""

    __tablename__ = "feedback"
    __table_args__ = (Index("ix_feedback_card_outcome", "card_uuid", "outcome"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    dedup_key: Mapped[str] = mapped_column(String(64), unique=True)
    card_uuid: Mapped[str] = mapped_column(
        String(64), ForeignKey("card_record.card_uuid", ondelete="CASCADE")
    )
    consult_id: Mapped[str] = mapped_column(String(64), index=True)
    service: Mapped[str] = mapped_column(String(64))
    outcome: Mapped[str] = mapped_column(String(16))
    accepted_suggestions: Mapped[list[str]] = mapped_column(JSON)
    override_system: Mapped[str | None] = mapped_column(String(256))
    override_code: Mapped[str | None] = mapped_column(String(128))
    override_display: Mapped[str | None] = mapped_column(String(512))
    user_comment: Mapped[str | None] = mapped_column(Text)
    outcome_timestamp: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    received_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class ClientJti(Base):
    """JWT ids already used by CDS clients, kept until the token expires (replay defence)."""

    __tablename__ = "client_jti"

    iss: Mapped[str] = mapped_column(String(512), primary_key=True)
    jti: Mapped[str] = mapped_column(String(256), primary_key=True)
    expires_at: Mapped[int] = mapped_column(Integer, index=True)
