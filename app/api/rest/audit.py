"""GET /api/v1/audit/{consult_id}: the audit record of one hook invocation or assessment."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from fastapi import APIRouter, HTTPException
from pydantic import BaseModel, ConfigDict, Field, field_validator

from app.api.errors import field_detail
from app.db import audit_repo
from app.db.session import SessionDep
from app.security.gate import ClientDep

router = APIRouter(tags=["audit"])


class AuditRecordOut(BaseModel):
    """What was asked (as a digest) and what was advised; no patient id, no raw input."""

    model_config = ConfigDict(from_attributes=True)

    consult_id: str = Field(description="urn:uuid of the consult (PAMA rating consult id)")
    service: str
    hook: str
    hook_instance: str | None
    created_at: datetime
    latency_ms: float
    knowledge_version: str
    policies: dict[str, Any]
    input_sha256: str = Field(description="SHA-256 of the canonical JSON input (hex)")
    patient_hmac: str | None = Field(description="HMAC-SHA256 of the patient id (hex)")
    client_iss: str | None
    cards: list[dict[str, Any]]
    system_actions: list[dict[str, Any]]
    orders_rated: int
    orders_unrated: int

    @field_validator("created_at")
    @classmethod
    def _utc(cls, value: datetime) -> datetime:
        """SQLite returns naive datetimes; every stored time is UTC."""
        return value if value.tzinfo else value.replace(tzinfo=UTC)


@router.get(
    "/audit/{consult_id}",
    response_model=AuditRecordOut,
    responses={
        401: {"description": "Client authentication failed (bare 401)"},
        404: {"description": "No audit record for this consult id"},
    },
)
def get_audit_record(consult_id: str, session: SessionDep, _client: ClientDep) -> AuditRecordOut:
    """The audit record of one consult (the urn:uuid in the PAMA rating extension)."""
    record = audit_repo.get_record(session, consult_id)
    if record is None:
        raise HTTPException(
            404,
            detail=[field_detail(["path", "consult_id"], "no audit record", "not_found")],
        )
    return AuditRecordOut.model_validate(record)
