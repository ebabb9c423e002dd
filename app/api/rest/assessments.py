"""POST /api/v1/assessments: a FHIR Bundle in, the full assessment and the cards out."""

from __future__ import annotations

import json
import time
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import JSONResponse

from app.api.deps import KnowledgeDep, SettingsDep
from app.api.errors import operation_outcome
from app.api.limits import json_depth, unicode_problem
from app.assessment.service import assessment_json
from app.audit.setup import patient_id_of, submit_decision
from app.cds_hooks.models import dump_response
from app.decision import decide
from app.fhir.adapter import unpack
from app.security.gate import ClientDep, accept_client

router = APIRouter(tags=["assessments"])

RECORD_KINDS = (
    "Condition",
    "Procedure",
    "MedicationStatement",
    "MedicationRequest",
    "Observation",
    "Patient",
)
BUNDLE_SCHEMA = {
    "type": "object",
    "description": "A FHIR R4 Bundle (any type): the patient's resources and draft ServiceRequests",
    "required": ["resourceType"],
    "properties": {
        "resourceType": {"type": "string", "enum": ["Bundle"]},
        "type": {"type": "string"},
        "entry": {
            "type": "array",
            "items": {
                "type": "object",
                "properties": {
                    "resource": {
                        "type": "object",
                        "required": ["resourceType"],
                        "properties": {"resourceType": {"type": "string"}},
                    }
                },
            },
        },
    },
}

COMPLETE_DOC = (
    "Record kinds the Bundle holds completely even when it has none of them "
    "(e.g. complete=Condition: no Conditions means no known malignancy)"
)
_BODY: dict[str, Any] = {
    "requestBody": {
        "required": True,
        "content": {
            media: {"schema": BUNDLE_SCHEMA}
            for media in ("application/fhir+json", "application/json")
        },
    }
}


@router.post(
    "/assessments",
    openapi_extra=_BODY,
    responses={
        200: {"description": "The assessment (api.md) and the cards the CDS hook would return"},
        400: {"description": "Not a FHIR Bundle: OperationOutcome naming the field"},
        401: {"description": "Client authentication failed (bare 401)"},
    },
)
async def create_assessment(
    request: Request,
    knowledge: KnowledgeDep,
    settings: SettingsDep,
    client: ClientDep,
    complete: Annotated[list[str], Query(description=COMPLETE_DOC)] = [],  # noqa: B006
) -> JSONResponse:
    """Assess a patient from a Bundle; draft ServiceRequests (status draft) are rated."""
    started = time.perf_counter()
    raw = await request.body()
    # JsonDepthMiddleware checks JSON content types only; this route parses any body
    if json_depth(raw) > settings.max_json_depth:
        return _error(["body"], f"JSON nested deeper than {settings.max_json_depth} levels")
    if (problem := unicode_problem(raw)) is not None:
        return _error(["body"], problem)
    try:
        body = json.loads(raw)
    except (ValueError, RecursionError):
        return _error(["body"], "request body is not valid JSON")
    if not isinstance(body, dict) or body.get("resourceType") != "Bundle":
        return _error(["body", "resourceType"], "the body must be a FHIR Bundle")
    unknown = [k for k in complete if k not in RECORD_KINDS]
    if unknown:
        return _error(["query", "complete"], f"unknown record kind(s): {', '.join(unknown)}")
    # the request is valid: only now is the token's jti spent (a 400 above can be retried)
    await accept_client(request, client)
    resources, issues = unpack(body, "Bundle")
    drafts = [
        r
        for r in resources
        if r.get("resourceType") == "ServiceRequest" and r.get("status") == "draft"
    ]
    others = [r for r in resources if not any(r is d for d in drafts)]
    present = {str(r.get("resourceType")) for r in others}
    obtained = {kind: kind in present or kind in complete for kind in RECORD_KINDS}
    decision = decide(
        others,
        drafts,
        obtained=obtained,
        issues=issues,
        hook="assessment",
        selections=None,
        knowledge=knowledge,
        settings=settings,
    )
    response = dump_response(decision.response)
    out = assessment_json(decision.assessment)
    out["consult_id"] = decision.consult_id
    out["cards"] = response["cards"]
    out["system_actions"] = response.get("systemActions", [])
    submit_decision(
        request,
        decision,
        service="assessments",
        hook="assessment",
        hook_instance=None,
        patient_id=patient_id_of(others),
        raw_input=body,
        started=started,
        response_body=response,
        client_iss=client.iss if client else None,
    )
    return JSONResponse(out)


def _error(loc: list[str], msg: str) -> JSONResponse:
    return JSONResponse(
        operation_outcome(400, [{"loc": loc, "msg": msg}]),
        status_code=400,
        media_type="application/fhir+json",
    )
