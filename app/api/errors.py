"""Error responses: ``{"detail": [...]}`` naming the field for REST; OperationOutcome for FHIR
and CDS Hooks paths. Never a stack trace, never the offending input echoed back."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any

from fastapi import FastAPI, HTTPException, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from app.json_types import JsonObject

log = logging.getLogger("vcf_cds.errors")

FHIR_PREFIXES = ("/cds-services", "/fhir", "/api/v1/assessments", "/app/api")
FHIR_JSON = "application/fhir+json"


class FieldError(HTTPException):
    """A 4xx that names the offending field (``loc`` as in pydantic errors)."""

    def __init__(self, loc: Sequence[str | int], msg: str, status_code: int = 422) -> None:
        super().__init__(status_code=status_code, detail=[field_detail(loc, msg)])


def field_detail(loc: Sequence[str | int], msg: str, kind: str = "value_error") -> JsonObject:
    return {"loc": list(loc), "msg": msg, "type": kind}


def operation_outcome(status: int, issues: list[JsonObject], code: str = "invalid") -> JsonObject:
    """A FHIR R4 OperationOutcome; each issue names its field in ``expression``."""
    severity = "error" if status < 500 else "fatal"
    out = []
    for issue in issues or [{"msg": "invalid request"}]:
        entry: JsonObject = {
            "severity": severity,
            "code": str(issue.get("code", code)),
            "diagnostics": str(issue.get("msg", "invalid")),
        }
        loc = issue.get("loc")
        if loc:
            entry["expression"] = [".".join(str(p) for p in loc)]
        out.append(entry)
    return {"resourceType": "OperationOutcome", "issue": out}


def _is_fhir(request: Request) -> bool:
    return request.url.path.startswith(FHIR_PREFIXES)


def _clean(errors: Sequence[Any]) -> list[JsonObject]:
    """Pydantic errors without the echoed input (may contain PHI) or internal context."""
    return [
        field_detail(e.get("loc", ()), str(e.get("msg", "invalid")), str(e.get("type", "")))
        for e in errors
    ]


def _details(status: int, detail: Any) -> list[JsonObject]:
    """Any ``detail`` as a list of ``{"loc", "msg", "type"}``: Starlette and FastAPI raise some
    errors with a bare string (a body that is not JSON, an unknown path)."""
    kind = _code_for(status).replace("-", "_")
    if not isinstance(detail, list):
        # the only bare-string 400 is FastAPI's "error parsing the body"
        return [field_detail(["body"] if status == 400 else [], str(detail), kind)]
    return [
        field_detail(d.get("loc") or [], str(d.get("msg", "invalid")), str(d.get("type", kind)))
        if isinstance(d, dict)
        else field_detail([], str(d), kind)
        for d in detail
    ]


def error_response(request: Request, status: int, detail: Any) -> JSONResponse:
    if _is_fhir(request):
        issues = (
            [d if isinstance(d, dict) else {"msg": str(d)} for d in detail]
            if isinstance(detail, list)
            else [{"msg": str(detail), "code": _code_for(status)}]
        )
        return JSONResponse(
            operation_outcome(status, issues, _code_for(status)),
            status_code=status,
            media_type=FHIR_JSON,
        )
    return JSONResponse({"detail": _details(status, detail)}, status_code=status)


def _code_for(status: int) -> str:
    return {
        401: "login",
        403: "forbidden",
        404: "not-found",
        412: "incomplete",
        413: "too-costly",
    }.get(status, "invalid" if status < 500 else "exception")


def install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(RequestValidationError)
    async def _validation(request: Request, exc: RequestValidationError) -> JSONResponse:
        # CDS Hooks: a structurally invalid request is a 400 naming the field
        status = 400 if request.url.path.startswith("/cds-services") else 422
        return error_response(request, status, _clean(exc.errors()))

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        response = error_response(request, exc.status_code, exc.detail)
        for key, value in (exc.headers or {}).items():
            response.headers[key] = value
        return response

    @app.exception_handler(Exception)
    async def _unhandled(request: Request, exc: Exception) -> JSONResponse:
        log.error("unhandled error on %s: %s", request.url.path, type(exc).__name__)
        return error_response(request, 500, "internal error")
