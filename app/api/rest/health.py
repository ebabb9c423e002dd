"""Liveness and readiness (readiness checks the database and the knowledge files)."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

from app.api.deps import EngineDep
from app.api.rest.schemas import HealthResponse
from app.db.engine import database_ready

router = APIRouter(prefix="/health", tags=["health"])


@router.get("/live", response_model=HealthResponse)
def live() -> HealthResponse:
    """The process is up."""
    return HealthResponse(status="ok")


@router.get("/ready", response_model=HealthResponse, responses={503: {"model": HealthResponse}})
def ready(request: Request, engine: EngineDep) -> JSONResponse:
    """Ready when the knowledge is loaded and the database answers."""
    knowledge = getattr(request.app.state, "knowledge", None)
    checks = {"knowledge": knowledge is not None, "database": database_ready(engine)}
    ok = all(checks.values())
    body = HealthResponse(
        status="ok" if ok else "unavailable",
        checks=checks,
        knowledge_version=knowledge.version if knowledge else None,
    )
    return JSONResponse(body.model_dump(), status_code=200 if ok else 503)
