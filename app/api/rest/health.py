"""Liveness and readiness (readiness checks the database and the knowledge files)."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

from app.api.deps import EngineDep
from app.api.rest.schemas import HealthResponse
from app.db.schema_state import schema_state

router = APIRouter(prefix="/health", tags=["health"])


@router.get("/live", response_model=HealthResponse)
def live() -> HealthResponse:
    """The process is up."""
    return HealthResponse(status="ok")


@router.get("/ready", response_model=HealthResponse, responses={503: {"model": HealthResponse}})
def ready(request: Request, engine: EngineDep) -> JSONResponse:
    """Ready when the knowledge is loaded, the database answers and its schema is at the
    Alembic head; otherwise 503 with ``message`` saying what to do (`alembic upgrade head`)."""
    knowledge = getattr(request.app.state, "knowledge", None)
    schema = schema_state(engine)
    checks = {
        "knowledge": knowledge is not None,
        "database": schema.reachable,
        "schema": schema.ok,
    }
    ok = all(checks.values())
    body = HealthResponse(
        status="ok" if ok else "unavailable",
        checks=checks,
        knowledge_version=knowledge.version if knowledge else None,
        message=None if ok else schema.message(),
    )
    return JSONResponse(body.model_dump(exclude_none=True), status_code=200 if ok else 503)
