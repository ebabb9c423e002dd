"""CDS Hooks 2.0 "Feedback" endpoint: ``POST /cds-services/{id}/feedback``."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, HTTPException, Request

from app.api.auth_gate import ClientDep, accept_client_blocking, owner_scope
from app.api.db_session import SessionDep
from app.cds_hooks.catalog import ServiceDef, service_catalog
from app.feedback.record import FeedbackRejected, record_feedback
from app.feedback.schema import FeedbackBody
from app.json_types import JsonObject

router = APIRouter(prefix="/cds-services", tags=["cds-hooks"])

_RESPONSES: dict[int | str, JsonObject] = {
    200: {"description": "Feedback recorded (duplicates are accepted and stored once): `{}`"},
    400: {"description": "Invalid feedback: OperationOutcome naming the field"},
    401: {"description": "Client authentication failed (bare 401)"},
    404: {"description": "Unknown service, or a card never issued to this client"},
}


async def known_service(service_id: str) -> ServiceDef:
    """The CDS Service named in the path; 404 before the body is looked at."""
    service = service_catalog().get(service_id)
    if service is None:
        raise HTTPException(
            404, detail=[{"loc": ["path", "service_id"], "msg": f"no CDS service '{service_id}'"}]
        )
    return service


ServiceDep = Annotated[ServiceDef, Depends(known_service)]


@router.post("/{service_id}/feedback", responses=_RESPONSES)
def feedback(
    request: Request,
    client: ClientDep,
    service: ServiceDep,
    body: FeedbackBody,
    session: SessionDep,
) -> JsonObject:
    """Record what the user did with our cards (CDS Hooks 2.0 "Feedback"): `accepted` with the
    accepted suggestions, or `overridden` with a reason and/or comment, or without either (a
    plain dismissal). A client can only give feedback on the cards issued to it."""
    accept_client_blocking(request, client)
    try:
        record_feedback(
            session, service.id, body.feedback, client_iss=owner_scope(request, client).iss
        )
    except FeedbackRejected as exc:
        raise HTTPException(exc.status, detail=exc.issues) from None
    return {}
