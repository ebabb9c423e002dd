"""GET /api/v1/audit/{consult_id}: the audit record of one hook invocation or assessment."""

from __future__ import annotations

from datetime import UTC, datetime

from fastapi import APIRouter, HTTPException, Request
from pydantic import BaseModel, ConfigDict, Field, field_validator

from app.api.auth_gate import ClientDep, accept_client_blocking, read_scope
from app.api.db_session import SessionDep
from app.api.errors import field_detail
from app.audit import repo as audit_repo
from app.json_types import JsonObject

router = APIRouter(tags=["audit"])
_CONSULT_ID_MAX = 64  # audit_record.consult_id


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
    policies: JsonObject
    input_sha256: str = Field(description="SHA-256 of the canonical JSON input (hex)")
    patient_hmac: str | None = Field(description="HMAC-SHA256 of the patient id (hex)")
    client_iss: str | None
    cards: list[JsonObject]
    system_actions: list[JsonObject]
    orders_rated: int
    orders_unrated: int
    status_code: int = Field(description="200, or 401 / 412 for a rejected call")
    error: str | None = Field(description="Why the call was rejected (short label)")
    trace_id: str | None = Field(description="OpenTelemetry trace id (hex) when tracing is on")

    @field_validator("created_at")
    @classmethod
    def _utc(cls, value: datetime) -> datetime:
        """SQLite returns naive datetimes; every stored time is UTC."""
        return value if value.tzinfo else value.replace(tzinfo=UTC)


def _possible_id(consult_id: str) -> bool:
    """Whether ``consult_id`` could be a stored consult id (fits the column, printable)."""
    return 0 < len(consult_id) <= _CONSULT_ID_MAX and consult_id.isprintable()


@router.get(
    "/audit/{consult_id}",
    response_model=AuditRecordOut,
    responses={
        401: {"description": "Client authentication failed (bare 401)"},
        404: {"description": "No audit record for this consult id that this client may read"},
    },
)
def get_audit_record(
    consult_id: str, request: Request, session: SessionDep, client: ClientDep
) -> AuditRecordOut:
    """The audit record of one consult (the urn:uuid in the PAMA rating extension). A client
    reads only its own records (an admin issuer reads all); any other id is a 404, the same
    as an id never stored."""
    accept_client_blocking(request, client)
    scope = read_scope(request, client)
    # an id that cannot be stored (NUL: PostgreSQL refuses it in a query) was never issued
    record = audit_repo.get_record(session, consult_id) if _possible_id(consult_id) else None
    if record is None or not scope.allows(record.client_iss):
        raise HTTPException(
            404,
            detail=[field_detail(["path", "consult_id"], "no audit record", "not_found")],
        )
    return AuditRecordOut.model_validate(record)
