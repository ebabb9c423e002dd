"""CDS Hooks endpoints: discovery and the three services (api.md; CDS Hooks 2.0)."""

from __future__ import annotations

import time
from enum import Enum

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import JSONResponse

from app.api.audit_submit import submit_decision, submit_rejection
from app.api.auth_gate import (
    ClientDep,
    accept_client,
    accept_client_blocking,
    fhir_allowlist,
)
from app.api.errors import operation_outcome
from app.api.fastjson import FastJSONResponse, FastJsonRoute
from app.api.limits import bundle_entries, unicode_problem
from app.api.offload import off_loop
from app.cds_hooks.catalog import service_catalog
from app.cds_hooks.invocation import InvocationError, parse_invocation
from app.cds_hooks.models import CdsResponse, DiscoveryResponse, HookRequest, dump_response
from app.cds_hooks.prefetch import resolve_prefetch
from app.cds_hooks.references import fetch_reason_references
from app.decision import decide
from app.fhir.adapter import unpack
from app.json_types import JsonObject
from app.knowledge.schema import Knowledge
from app.observability.metrics import app_metrics
from app.settings import Settings

TAGS: list[str | Enum] = ["cds-hooks"]

_RESPONSES: dict[int | str, JsonObject] = {
    200: {"model": CdsResponse, "description": "Cards and system actions"},
    400: {"description": "Invalid request: OperationOutcome naming the field"},
    401: {"description": "Client authentication failed (bare 401)"},
    404: {"description": "Unknown service"},
    412: {"description": "Required data could be neither prefetched nor fetched"},
    413: {"description": "Body, nesting or prefetch entries over the configured limits"},
}


def install(router: APIRouter) -> None:
    """Register discovery and the service call on the app's own router (``app.router``), not
    as an included router: FastAPI matches an included router through its inclusion contexts
    and serves it with a handler of its own, while an own route is matched by its regex and
    served by the route's ASGI app (for the service call, the direct call of
    app/api/fastjson.py); on the app's router they also see the app's dependency overrides."""
    router.add_api_route(
        "/cds-services",
        discovery,
        methods=["GET"],
        response_model=DiscoveryResponse,
        response_model_exclude_none=True,
        responses={401: {"description": "Client authentication failed (bare 401)"}},
        tags=TAGS,
        route_class_override=FastJsonRoute,
    )
    router.add_api_route(
        "/cds-services/{service_id}",
        invoke,
        methods=["POST"],
        responses=_RESPONSES,
        tags=TAGS,
        route_class_override=FastJsonRoute,
    )


def discovery(request: Request, client: ClientDep) -> JsonObject:
    """CDS Hooks discovery: the three services and their prefetch templates."""
    accept_client_blocking(request, client)
    return dump_response(service_catalog().discovery())


async def invoke(
    service_id: str,
    body: HookRequest,
    request: Request,
    client: ClientDep,
) -> JSONResponse:
    """Call a CDS Service: order-select rates the selected orders, order-sign every draft
    order, patient-view recommends the next step."""
    started = time.perf_counter()
    # read from app.state here rather than as dependencies: each dependency FastAPI solves is
    # a coroutine and a cache lookup per request on the hot path (~70 Python calls each)
    knowledge: Knowledge = request.app.state.knowledge
    settings: Settings = request.app.state.settings
    catalog = service_catalog()
    service = catalog.get(service_id)
    if service is None:
        raise HTTPException(
            404, detail=[{"loc": ["path", "service_id"], "msg": f"no CDS service '{service_id}'"}]
        )
    if (problem := unicode_problem(await request.body())) is not None:
        return _fhir_error(400, [{"loc": ["body"], "msg": problem}])
    try:
        # nesting depth was checked on the raw bytes (JsonDepthMiddleware); count entries here
        entries = bundle_entries({"context": body.context, "prefetch": body.prefetch})
        if entries > settings.max_prefetch_entries:
            limit = settings.max_prefetch_entries
            problem = f"{entries} Bundle entries in prefetch and draftOrders; the limit is {limit}"
            return _fhir_error(413, [{"loc": ["body"], "msg": problem, "code": "too-costly"}])
        drafts = (body.context or {}).get("draftOrders")
        listed = drafts.get("entry") if isinstance(drafts, dict) else None
        n_drafts = len(listed) if isinstance(listed, list) else 0
        if n_drafts > settings.max_draft_orders:
            limit = settings.max_draft_orders  # checked before any work on the orders
            problem = f"{n_drafts} draft orders; the limit is {limit}"
            loc = ["context", "draftOrders"]
            return _fhir_error(413, [{"loc": loc, "msg": problem, "code": "too-costly"}])
        inv = parse_invocation(body, service)
    except InvocationError as exc:
        return _fhir_error(400, [{"loc": exc.loc, "msg": exc.msg}])
    # the request is valid: only now is the token's jti spent (a 400 above can be retried)
    await accept_client(request, client)
    pre = await resolve_prefetch(
        inv.request,
        inv.patient_id,
        catalog,
        request.app.state.http_client,
        allowlist=fhir_allowlist(request, client),
        budget_seconds=settings.fhir_fetch_budget_seconds,
        refetch_on_operation_outcome=settings.refetch_on_operation_outcome,
        max_bytes=settings.max_fhir_response_bytes,
        max_entries=settings.max_prefetch_entries,
    )
    missing_required = [k for k in catalog.required_prefetch if k in pre.unavailable]
    if missing_required:
        submit_rejection(
            request,
            status=412,
            error="required_data_unavailable",
            hook_instance=body.hookInstance,
            client_iss=client.iss if client else None,
            raw_input=await request.json(),
            started=started,
        )
        return _fhir_error(
            412,
            [
                {
                    "loc": ["prefetch", key],
                    "msg": f"required data '{key}' could be neither prefetched nor fetched",
                    "code": "incomplete",
                }
                for key in missing_required
            ],
        )
    resources: list[JsonObject] = []
    issues = list(pre.issues)
    for key, value in pre.values.items():
        found, problems = unpack(value, f"prefetch.{key}")
        resources += found
        issues += problems
    fetched, problems = await fetch_reason_references(
        inv.draft_orders,
        resources,
        inv.request,
        request.app.state.http_client,
        allowlist=fhir_allowlist(request, client),
        budget_seconds=settings.fhir_fetch_budget_seconds - (time.perf_counter() - started),
    )  # the orders' indications (reasonReference) the prefetch did not hold
    resources += fetched
    issues += problems
    metrics = app_metrics(request.app)
    raw_input = await request.json()  # the value FastAPI parsed for ``body`` (cached)
    client_iss = client.iss if client else None

    def decide_and_record() -> JsonObject:
        """The CPU-bound rest of the call in one worker-thread hop (docs/faults.md): the
        decision, its JSON form, metrics (cards, unmapped codings), and the audit entry
        (canonical JSON, digests) handed to the recorder before the answer leaves."""
        decision = decide(
            resources,
            inv.draft_orders,
            obtained=pre.obtained,
            issues=issues,
            hook=service.hook,
            selections=inv.selections,
            knowledge=knowledge,
            settings=settings,
        )
        payload = dump_response(decision.response)
        if metrics is not None:
            statuses = (o.status for o in decision.assessment.orders)
            metrics.observe_decision(service_id, payload["cards"], statuses)
            metrics.observe_unmapped(decision.unmapped_codings())
        submit_decision(
            request,
            decision,
            service=service_id,
            hook=service.hook,
            hook_instance=body.hookInstance,
            patient_id=inv.patient_id,
            raw_input=raw_input,
            started=started,
            response_body=payload,
            client_iss=client_iss,
        )
        return payload

    payload = await off_loop(decide_and_record)
    return FastJSONResponse(payload)


def _fhir_error(status: int, issues: list[JsonObject]) -> JSONResponse:
    return JSONResponse(
        operation_outcome(status, issues), status_code=status, media_type="application/fhir+json"
    )
