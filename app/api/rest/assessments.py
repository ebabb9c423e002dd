"""POST /api/v1/assessments: a FHIR Bundle in, the full assessment and the cards out."""

from __future__ import annotations

import time
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import JSONResponse

from app.api.audit_submit import submit_decision
from app.api.auth_gate import ClientDep, accept_client
from app.api.deps import KnowledgeDep, SettingsDep
from app.api.errors import operation_outcome
from app.api.limits import (
    OFFLOAD_BYTES,
    json_depth_yielding,
    nested_deeper_than,
    unicode_problem,
)
from app.api.offload import off_loop
from app.api.rest.assessment_models import AssessmentResponse, assessment_body, dump_coverage
from app.audit.setup import patient_id_of
from app.cds_hooks.bundle_json import TooManyEntries, loads_bundle
from app.cds_hooks.models import dump_response
from app.decision import decide
from app.fhir.adapter import unpack
from app.json_types import JsonObject
from app.observability.metrics import app_metrics

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

# record categories a caller can state it read completely (fhir-input.md "Other resources")
CATEGORIES: dict[str, tuple[str, ...]] = {
    "conditions": ("Condition",),
    "procedures": ("Procedure",),
    "medications": ("MedicationStatement", "MedicationRequest"),
}
HISTORY_KINDS = frozenset(kind for kinds in CATEGORIES.values() for kind in kinds)
WRAPPED_SCHEMA = {
    "type": "object",
    "description": "The Bundle with the record categories the caller read completely: "
    "closed-world history (no malignancy, no prior augmentation, no prolonged steroids) then "
    "depends only on this statement, never on which resources happen to be in the Bundle",
    "required": ["bundle", "records_read_completely"],
    "additionalProperties": False,
    "properties": {
        "bundle": BUNDLE_SCHEMA,
        "records_read_completely": {
            "type": "array",
            "items": {"type": "string", "enum": list(CATEGORIES)},
            "uniqueItems": True,
        },
    },
}

COMPLETE_DOC = (
    "Record kinds the Bundle holds completely even when it has none of them "
    "(e.g. complete=Condition: no Conditions means no known malignancy)"
)
_BODY: JsonObject = {
    "requestBody": {
        "required": True,
        "content": {
            media: {"schema": {"oneOf": [BUNDLE_SCHEMA, WRAPPED_SCHEMA]}}
            for media in ("application/fhir+json", "application/json")
        },
    }
}


@router.post(
    "/assessments",
    openapi_extra=_BODY,
    responses={
        200: {
            "description": "The assessment (api.md) and the cards the CDS hook would return",
            "model": AssessmentResponse,
        },
        400: {"description": "Not a FHIR Bundle: OperationOutcome naming the field"},
        413: {"description": "More entries or draft ServiceRequests than the limits"},
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
    """Assess a patient from a Bundle; draft ServiceRequests (status draft) are rated. The body
    may also be ``{"bundle": Bundle, "records_read_completely": ["conditions", "procedures",
    "medications"]}``: history is then closed-world exactly for the categories named."""
    started = time.perf_counter()
    raw = await request.body()
    # JsonDepthMiddleware checks JSON content types only; this route parses any body
    limit = settings.max_json_depth
    if len(raw) > OFFLOAD_BYTES:  # large: in a worker thread, yielding the GIL
        too_deep = await off_loop(json_depth_yielding, raw) > limit
    else:
        too_deep = nested_deeper_than(raw, limit)
    if too_deep:
        return _error(["body"], f"JSON nested deeper than {settings.max_json_depth} levels")
    if (problem := unicode_problem(raw)) is not None:
        return _error(["body"], problem)
    try:  # in a worker thread, an entry at a time: a large body does not stall the loop
        body = await off_loop(loads_bundle, raw, settings.max_prefetch_entries)
    except TooManyEntries:
        limit = settings.max_prefetch_entries
        return _error(["body", "entry"], f"more than {limit} Bundle entries", status=413)
    except (ValueError, RecursionError):
        return _error(["body"], "request body is not valid JSON")
    stated: set[str] | None = None
    original = body
    if isinstance(body, dict) and "bundle" in body and "resourceType" not in body:
        unwrapped = _unwrap(body)
        if isinstance(unwrapped, JSONResponse):
            return unwrapped
        body, stated = unwrapped
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
    if len(drafts) > settings.max_draft_orders:
        limit = settings.max_draft_orders
        msg = f"{len(drafts)} draft ServiceRequests; the limit is {limit}"
        return _error(["body", "entry"], msg, status=413)
    draft_ids = {id(d) for d in drafts}
    others = [r for r in resources if id(r) not in draft_ids]
    present = {str(r.get("resourceType")) for r in others}
    if stated is None:  # a bare Bundle: a record kind counts as read when present (as before)
        obtained = {kind: kind in present or kind in complete for kind in RECORD_KINDS}
    else:  # history kinds only as stated; other kinds when present
        obtained = {
            kind: kind in complete or (kind in stated if kind in HISTORY_KINDS else kind in present)
            for kind in RECORD_KINDS
        }
    decision = await off_loop(  # CPU-bound: keep the event loop free (docs/faults.md)
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
    response = await off_loop(dump_response, decision.response)
    out = assessment_body(decision.assessment)
    out["consult_id"] = decision.consult_id
    out["coverage"] = dump_coverage(decision.coverage)
    if (metrics := app_metrics(request.app)) is not None:
        metrics.observe_unmapped(decision.unmapped_codings())
    out["cards"] = response["cards"]
    out["system_actions"] = response.get("systemActions", [])
    await off_loop(  # the entry's canonical JSON and digests: CPU, off the loop too
        submit_decision,
        request,
        decision,
        service="assessments",
        hook="assessment",
        hook_instance=None,
        patient_id=patient_id_of(others),
        raw_input=original,
        started=started,
        response_body=response,
        client_iss=client.iss if client else None,
    )
    return JSONResponse(out)


def _unwrap(body: JsonObject) -> tuple[Any, set[str]] | JSONResponse:
    """``{"bundle": Bundle, "records_read_completely": [...]}`` -> (Bundle, history kinds)."""
    extra = sorted(k for k in body if k not in ("bundle", "records_read_completely"))
    if extra:
        return _error(["body", extra[0][:64]], "unknown field")
    categories = body.get("records_read_completely")
    if not isinstance(categories, list) or not all(isinstance(c, str) for c in categories):
        return _error(
            ["body", "records_read_completely"],
            f"a list of record categories ({', '.join(CATEGORIES)})",
        )
    unknown = [c for c in categories if c not in CATEGORIES]
    if unknown:
        shown = ", ".join(c[:32] for c in unknown[:5])
        return _error(["body", "records_read_completely"], f"unknown record category: {shown}")
    kinds = {kind for c in categories for kind in CATEGORIES[c]}
    return body.get("bundle"), kinds


def _error(loc: list[str], msg: str, status: int = 400) -> JSONResponse:
    issue: JsonObject = {"loc": loc, "msg": msg}
    if status == 413:
        issue["code"] = "too-costly"
    return JSONResponse(
        operation_outcome(status, [issue]),
        status_code=status,
        media_type="application/fhir+json",
    )
