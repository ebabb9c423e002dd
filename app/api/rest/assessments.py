"""POST /api/v1/assessments: a FHIR Bundle in, the full assessment and the cards out."""

from __future__ import annotations

import time
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import JSONResponse

from app.api.deps import KnowledgeDep, SettingsDep
from app.api.errors import operation_outcome
from app.api.limits import OFFLOAD_BYTES, json_depth, json_depth_yielding, unicode_problem
from app.api.offload import off_loop
from app.assessment.service import assessment_json
from app.audit.setup import patient_id_of, submit_decision
from app.cds_hooks.bundle_json import TooManyEntries, loads_bundle
from app.cds_hooks.models import dump_response
from app.decision import decide
from app.fhir.adapter import unpack
from app.security.gate import ClientDep

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
        413: {"description": "More entries or draft ServiceRequests than the limits"},
        401: {"description": "Client authentication failed (bare 401)"},
    },
)
async def create_assessment(
    request: Request,
    knowledge: KnowledgeDep,
    settings: SettingsDep,
    _client: ClientDep,
    complete: Annotated[list[str], Query(description=COMPLETE_DOC)] = [],  # noqa: B006
) -> JSONResponse:
    """Assess a patient from a Bundle; draft ServiceRequests (status draft) are rated."""
    started = time.perf_counter()
    raw = await request.body()
    # JsonDepthMiddleware checks JSON content types only; this route parses any body
    if len(raw) > OFFLOAD_BYTES:  # large: in a worker thread, yielding the GIL
        depth = await off_loop(request, json_depth_yielding, raw)
    else:
        depth = json_depth(raw)
    if depth > settings.max_json_depth:
        return _error(["body"], f"JSON nested deeper than {settings.max_json_depth} levels")
    if (problem := unicode_problem(raw)) is not None:
        return _error(["body"], problem)
    try:  # in a worker thread, an entry at a time: a large body does not stall the loop
        body = await off_loop(request, loads_bundle, raw, settings.max_prefetch_entries)
    except TooManyEntries:
        limit = settings.max_prefetch_entries
        return _error(["body", "entry"], f"more than {limit} Bundle entries", status=413)
    except (ValueError, RecursionError):
        return _error(["body"], "request body is not valid JSON")
    if not isinstance(body, dict) or body.get("resourceType") != "Bundle":
        return _error(["body", "resourceType"], "the body must be a FHIR Bundle")
    unknown = [k for k in complete if k not in RECORD_KINDS]
    if unknown:
        return _error(["query", "complete"], f"unknown record kind(s): {', '.join(unknown)}")
    resources, issues = unpack(body, "Bundle")
    drafts = [
        r
        for r in resources
        if r.get("resourceType") == "ServiceRequest" and r.get("status") == "draft"
    ]
    if len(drafts) > settings.max_draft_orders:
        limit = settings.max_draft_orders
        msg = f"{len(drafts)} draft ServiceRequests; the limit is {limit}"
        return _error(["body", "entry"], msg, status=413)
    draft_ids = {id(d) for d in drafts}
    others = [r for r in resources if id(r) not in draft_ids]
    present = {str(r.get("resourceType")) for r in others}
    obtained = {kind: kind in present or kind in complete for kind in RECORD_KINDS}
    decision = await off_loop(  # CPU-bound: keep the event loop free (docs/faults.md)
        request,
        decide,
        others,
        drafts,
        obtained=obtained,
        issues=issues,
        hook="assessment",
        selections=None,
        knowledge=knowledge,
        settings=settings,
    )
    response = await off_loop(request, dump_response, decision.response)
    out = assessment_json(decision.assessment)
    out["consult_id"] = decision.consult_id
    out["cards"] = response["cards"]
    out["system_actions"] = response.get("systemActions", [])
    await off_loop(  # the entry's canonical JSON and digests: CPU, off the loop too
        request,
        submit_decision,
        request,
        decision,
        service="assessments",
        hook="assessment",
        hook_instance=None,
        patient_id=patient_id_of(others),
        raw_input=body,
        started=started,
        response_body=response,
    )
    return JSONResponse(out)


def _error(loc: list[str], msg: str, status: int = 400) -> JSONResponse:
    issue: dict[str, Any] = {"loc": loc, "msg": msg}
    if status == 413:
        issue["code"] = "too-costly"
    return JSONResponse(
        operation_outcome(status, [issue]),
        status_code=status,
        media_type="application/fhir+json",
    )
