"""CDS Hooks 2.0 "Feedback" endpoint: ``POST /cds-services/{id}/feedback``."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, HTTPException

from app.cds_hooks.catalog import ServiceDef, service_catalog
from app.db.session import SessionDep
from app.feedback.record import FeedbackRejected, record_feedback
from app.feedback.schema import FeedbackBody
from app.security.gate import ClientDep

router = APIRouter(prefix="/cds-services", tags=["cds-hooks"])

_RESPONSES: dict[int | str, dict[str, Any]] = {
    200: {"description": "Feedback recorded (duplicates are accepted and stored once): `{}`"},
    400: {"description": "Invalid feedback: OperationOutcome naming the field"},
    401: {"description": "Client authentication failed (bare 401)"},
    404: {"description": "Unknown service, or a card this service never issued"},
}


def known_service(service_id: str) -> ServiceDef:
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
    _client: ClientDep, service: ServiceDep, body: FeedbackBody, session: SessionDep
) -> dict[str, Any]:
    """Record what the user did with our cards (CDS Hooks 2.0 "Feedback"): `accepted` with the
    accepted suggestions, or `overridden` with a reason and/or comment."""
    try:
        record_feedback(session, service.id, body.feedback)
    except FeedbackRejected as exc:
        raise HTTPException(exc.status, detail=exc.issues) from None
    return {}
