"""``GET /api/v1/analytics``: card outcomes from CDS Hooks 2.0 "Feedback" per card topic, and
the share of orders that could not be rated."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request

from app.api.auth_gate import ClientDep, accept_client_blocking, read_scope
from app.api.db_session import SessionDep
from app.api.deps import KnowledgeDep
from app.api.errors import FieldError
from app.cds_hooks.catalog import service_catalog
from app.feedback.analytics import AnalyticsResponse, build_analytics
from app.feedback.repo import Window
from app.feedback.timestamps import Timestamp

router = APIRouter(prefix="/analytics", tags=["analytics"])


@router.get(
    "",
    response_model=AnalyticsResponse,
    responses={401: {"description": "Client authentication failed (bare 401)"}},
)
def analytics(
    request: Request,
    client: ClientDep,
    session: SessionDep,
    knowledge: KnowledgeDep,
    since: Annotated[
        Timestamp | None, Query(description="Consults created at or after (ISO 8601)")
    ] = None,
    until: Annotated[
        Timestamp | None, Query(description="Consults created before (ISO 8601)")
    ] = None,
    service: Annotated[str | None, Query(description="Only this CDS service id")] = None,
) -> AnalyticsResponse:
    """Per card topic and overall: cards issued, feedback, accepted and overridden counts and
    rates, override reasons by count; and the share of orders that could not be rated. Only
    the calling client's consults are counted (every client's for an admin issuer)."""
    if since is not None and until is not None and until <= since:
        raise FieldError(["query", "until"], "must be later than since")
    if service is not None and service_catalog().get(service) is None:
        raise FieldError(["query", "service"], "is not a CDS service of this server")
    accept_client_blocking(request, client)
    scope = read_scope(request, client)
    window = Window(since=since, until=until, service=service, client_iss=scope.iss)
    return build_analytics(session, window, knowledge.version)
