"""The SMART on FHIR app: static pages (/app/), its configuration and its backend
(POST /app/api/assessment; docs/smart-app.md).

The backend reads the patient's record from the EHR's FHIR server with the app's access token
(Authorization header, passed through, never stored or logged) using the CDS Hooks fetch code
(same caps, time budget and errors), adds the clinician's answers and runs the same assessment
as the hooks."""

from __future__ import annotations

import logging
import re
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import quote

from fastapi import APIRouter, FastAPI, Request
from fastapi.responses import JSONResponse, Response
from fastapi.staticfiles import StaticFiles

from app.api.deps import KnowledgeDep, SettingsDep
from app.api.errors import operation_outcome
from app.api.offload import off_loop
from app.assessment.service import Assessment, assess
from app.cds_hooks.catalog import service_catalog
from app.cds_hooks.models import FhirAuthorization, HookRequest
from app.cds_hooks.prefetch import _fetch, loggable_server, resolve_prefetch, server_allowed
from app.clinical.findings import InputIssue
from app.fhir.adapter import read_resources, unpack
from app.ids import new_uuid
from app.json_types import JsonObject
from app.knowledge.schema import Knowledge
from app.settings import Settings
from app.smart import view
from app.smart.models import AssessmentRequest, AssessmentView, WriteBack
from app.smart.questions import (
    ENTERED,
    AnswerValue,
    Question,
    answer_observation,
    apply_history_answers,
    mark_entered,
    question_set,
    questionnaire_response,
)

log = logging.getLogger("vcf_cds.smart")
STATIC = Path(__file__).parent / "static"
_STATUS = re.compile(r"answered HTTP (\d{3})")
#: security headers of the app's pages: no inline or foreign script/style (no CDN, ever)
CSP = (
    "script-src 'self'; style-src 'self'; img-src 'self' data:; font-src 'self'; "
    "object-src 'none'; base-uri 'self'; form-action 'self'"
)

router = APIRouter(prefix="/app", tags=["smart-app"])

_RESPONSES: dict[int | str, JsonObject] = {
    400: {"description": "Invalid request: OperationOutcome naming the field"},
    401: {"description": "The FHIR server refused the access token (OperationOutcome)"},
    403: {"description": "The FHIR server refused access (OperationOutcome)"},
    404: {"description": "The patient is not on the FHIR server (OperationOutcome)"},
    502: {"description": "The FHIR server failed or answered badly (OperationOutcome)"},
}


class _Problem(Exception):
    def __init__(self, status: int, loc: list[str], msg: str) -> None:
        self.status, self.loc, self.msg = status, loc, msg


def _outcome(status: int, loc: list[str], msg: str) -> JSONResponse:
    codes = {401: "login", 403: "forbidden", 404: "not-found"}
    code = codes.get(status, "invalid" if status < 500 else "exception")
    body = operation_outcome(status, [{"loc": loc, "msg": msg, "code": code}])
    return JSONResponse(
        body,
        status_code=status,
        media_type="application/fhir+json",
        headers={"Cache-Control": "no-store"},
    )


@router.get("/config.json", include_in_schema=False)
def config(settings: SettingsDep) -> JSONResponse:
    """What the page needs to launch: client id, scopes and the FHIR servers it may use."""
    body = {
        "clientId": settings.smart_client_id,
        "scopes": settings.smart_scopes,
        "fhirServers": [u.rstrip("/") for u in settings.fhir_server_allowlist],
        "redirectPath": "/app/index.html",
        "assessmentPath": "/app/api/assessment",
    }
    return JSONResponse(body, headers={"Cache-Control": "no-store"})


def _bearer(request: Request) -> str | None:
    """The EHR access token of the Authorization header (None when absent)."""
    header = request.headers.get("authorization")
    if header is None:
        return None
    scheme, _, token = header.partition(" ")
    token = token.strip()
    if scheme.lower() != "bearer" or not token or len(token) > 8192 or not token.isprintable():
        raise _Problem(400, ["header", "Authorization"], "expected 'Bearer <access token>'")
    return token


def _answers(body: AssessmentRequest) -> list[tuple[Question, AnswerValue]]:
    """Checked answers: a known question, a value of its kind (the field is named)."""
    questions = question_set().by_id()
    seen: set[str] = set()
    out: list[tuple[Question, AnswerValue]] = []
    for i, a in enumerate(body.answers):
        loc = ["answers", str(i)]
        q = questions.get(a.question)
        if q is None:
            raise _Problem(400, [*loc, "question"], f"unknown question {a.question[:64]!r}")
        if q.id in seen:
            raise _Problem(400, [*loc, "question"], f"question {q.id} answered twice")
        seen.add(q.id)
        value = a.value
        if value is None:
            out.append((q, None))
        elif (q.kind == "yesno" and isinstance(value, bool)) or (
            q.kind == "choice" and isinstance(value, str) and value in {o.value for o in q.options}
        ):
            out.append((q, value))
        elif q.kind == "number" and isinstance(value, int | float) and not isinstance(value, bool):
            number = float(value)
            if (q.min is not None and number < q.min) or (q.max is not None and number > q.max):
                raise _Problem(400, [*loc, "value"], f"outside {q.min:g}-{q.max:g} {q.unit}")
            out.append((q, number))
        else:
            raise _Problem(400, [*loc, "value"], f"not a valid answer to {q.id}")
    return out


def _draft_orders(body: AssessmentRequest) -> list[JsonObject]:
    """Draft ServiceRequests built from the appContext codings (never sent anywhere)."""
    return [
        {
            "resourceType": "ServiceRequest",
            "id": f"draft-{i}",
            "status": "draft",
            "intent": "order",
            "subject": {"reference": f"Patient/{body.patient}"},
            "code": {"coding": [o.model_dump(exclude_none=True)]},
        }
        for i, o in enumerate(body.orders)
    ]


def _http_status(problem: str) -> int | None:
    found = _STATUS.search(problem)
    return int(found.group(1)) if found else None


async def _read_record(
    request: Request, body: AssessmentRequest, token: str | None, settings: Settings
) -> tuple[list[JsonObject], dict[str, bool], list[InputIssue]]:
    """The patient and the record, fetched with the app's token (CDS Hooks fetch code)."""
    client = request.app.state.http_client
    base = body.fhirServer.rstrip("/")
    headers = {"Accept": "application/fhir+json", "Accept-Encoding": "gzip, deflate"}
    if token is not None:
        headers["Authorization"] = f"Bearer {token}"
    patient, problem = await _fetch(
        client,
        base,
        f"Patient/{quote(body.patient, safe='')}",
        headers,
        max_bytes=settings.max_fhir_response_bytes,
        max_entries=1,
    )
    if problem is not None:
        status = _http_status(problem)
        if status in (401, 403):
            who = "refused the access token" if status == 401 else "refused access to the patient"
            raise _Problem(status, ["header", "Authorization"], f"the FHIR server {who}")
        raise _Problem(502, ["fhirServer"], f"reading the patient failed: {problem}")
    if patient is None:
        raise _Problem(404, ["patient"], "no such patient on the FHIR server")
    auth = None
    if token is not None:
        auth = FhirAuthorization(
            access_token=token,
            token_type="Bearer",
            expires_in=0,
            scope="",
            subject=settings.smart_client_id,
        )
    hook_request = HookRequest(
        hook="patient-view",
        hookInstance=new_uuid(),
        fhirServer=base,
        fhirAuthorization=auth,
        context={"patientId": body.patient},
        prefetch={"patient": patient},
    )
    catalog = service_catalog()
    pre = await resolve_prefetch(
        hook_request,
        body.patient,
        catalog,
        client,
        allowlist=settings.fhir_server_allowlist,
        budget_seconds=settings.fhir_fetch_budget_seconds,
        refetch_on_operation_outcome=False,
        max_bytes=settings.max_fhir_response_bytes,
        max_entries=settings.max_prefetch_entries,
    )
    for key in catalog.required_prefetch:
        if key in pre.unavailable:
            why = next((i.message for i in pre.issues if i.location == f"prefetch.{key}"), "")
            status = _http_status(why)
            if status in (401, 403):
                raise _Problem(
                    status, ["header", "Authorization"], f"the FHIR server refused: {why}"
                )
            raise _Problem(502, ["fhirServer"], f"the patient's {key} could not be read: {why}")
    resources: list[JsonObject] = []
    issues = list(pre.issues)
    for key, value in pre.values.items():
        found, problems = unpack(value, f"prefetch.{key}")
        resources += found
        issues += problems
    return resources, pre.obtained, issues


def _assess(
    resources: list[JsonObject],
    obtained: dict[str, bool],
    issues: list[InputIssue],
    body: AssessmentRequest,
    answers: list[tuple[Question, AnswerValue]],
    knowledge: Knowledge,
    settings: Settings,
) -> AssessmentView:
    """CPU-bound (off the event loop): findings, answers, assessment, view."""
    now = datetime.now(UTC)
    qs = question_set()
    by_id = {q.id: v for q, v in answers}
    drafts = _draft_orders(body)
    first = read_resources(resources, draft_orders=drafts, today=now.date(), obtained=obtained)
    level = _fracture_level(first)
    observations: list[JsonObject] = []
    entered: dict[str, str] = {}
    for q, value in answers:
        obs = answer_observation(q, value, patient=body.patient, level=level, when=now)
        if obs is not None:
            observations.append(obs)
            entered[f"Observation/answer-{q.id}"] = f"{ENTERED}{q.id}"
    if observations:  # read again with the answers, exactly as a re-run after write-back
        answered = [
            {**o, "id": ref.split("/")[1]} for o, ref in zip(observations, entered, strict=True)
        ]
        pf = read_resources(
            [*resources, *answered], draft_orders=drafts, today=now.date(), obtained=obtained
        )
    else:
        pf = first
    mark_entered(pf, entered)
    apply_history_answers(pf, by_id)
    pf.issues[:0] = issues
    a: Assessment = assess(pf, knowledge, settings.policies(), now)
    labels = view.SourceLabels(resources, qs)
    return AssessmentView(
        patient=body.patient,
        patientName=view.patient_name(resources),
        fhirServer=body.fhirServer.rstrip("/"),
        consultId=body.consultId,
        knowledgeVersion=a.knowledge_version,
        headline=view.headline(a, knowledge),
        findings=view.findings_view(a, labels),
        clinicalState=view.state_view(a, qs, labels),
        variants=view.variants_view(a, knowledge, qs),
        acrTables=view.acr_tables(a, knowledge),
        orders=view.orders_view(a, body.orders, qs),
        sins=view.sins_view(a, knowledge),
        mriScores=view.mri_view(a, knowledge),
        redFlags=view.red_flags_view(a, knowledge),
        questions=view.questions_view(a, knowledge, qs, by_id),
        writeBack=WriteBack(
            observations=observations,
            questionnaireResponse=(
                questionnaire_response(answers, patient=body.patient, when=now) if answers else None
            ),
        ),
        notices=view.notices(issues),
        citations=view.citations(knowledge),
        acrNotice=view.acr_notice(knowledge),
    )


def _fracture_level(pf: Any) -> str | None:
    """The one fractured level, if the record names exactly one (answers about "the
    fracture" are recorded at it)."""
    levels = {f.level for f in pf.findings if f.code == "vcf" and f.value is True and f.level}
    levels |= {d.level for d in pf.documented_fractures if d.level}
    return levels.pop() if len(levels) == 1 else None


@router.post(
    "/api/assessment",
    response_model=AssessmentView,
    responses=_RESPONSES,
    summary="Assessment of the patient in context for the SMART app",
)
async def app_assessment(
    body: AssessmentRequest,
    request: Request,
    knowledge: KnowledgeDep,
    settings: SettingsDep,
) -> Response:
    """Reads the patient's record from ``fhirServer`` (allow-listed) with the EHR access token
    of the ``Authorization`` header, adds the clinician's answers as findings and returns the
    same assessment the CDS Hooks services use, shaped for the app. The token is passed
    through only: never stored or logged."""
    try:
        token = _bearer(request)
        if not server_allowed(body.fhirServer, settings.fhir_server_allowlist):
            shown = loggable_server(body.fhirServer)
            log.warning("app: fhirServer not on the allow-list: %s", shown)
            raise _Problem(400, ["fhirServer"], "this FHIR server is not on the allow-list")
        answers = _answers(body)
        if len(body.orders) > settings.max_draft_orders:
            raise _Problem(413, ["orders"], f"more than {settings.max_draft_orders} orders")
        resources, obtained, issues = await _read_record(request, body, token, settings)
    except _Problem as p:
        return _outcome(p.status, p.loc, p.msg)
    result = await off_loop(
        _assess, resources, obtained, issues, body, answers, knowledge, settings
    )
    return JSONResponse(
        result.model_dump(mode="json", exclude_none=False),
        headers={"Cache-Control": "no-store"},
    )


class _StaticFiles(StaticFiles):
    """The app's files with a content security policy (no foreign script or style)."""

    async def get_response(self, path: str, scope: Any) -> Response:
        response = await super().get_response(path, scope)
        if path.endswith(".js"):  # whatever the host's mime.types says (module scripts)
            response.headers["Content-Type"] = "text/javascript; charset=utf-8"
        response.headers["Content-Security-Policy"] = CSP
        response.headers["X-Content-Type-Options"] = "nosniff"
        response.headers["Referrer-Policy"] = "no-referrer"
        response.headers["Cache-Control"] = "no-cache"
        return response


def install(app: FastAPI) -> None:
    """Mount the app (router first: /app/config.json and /app/api/* win over the files). The
    question file is checked here: a bad one stops start-up."""
    question_set()
    app.include_router(router)
    app.mount("/app", _StaticFiles(directory=STATIC, html=True), name="smart-app")
