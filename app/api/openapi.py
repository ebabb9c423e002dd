"""The error responses of the OpenAPI document, declared in one place.

Routes declare the errors of their own logic (404 for an unknown id, 412 for missing data...);
:func:`document_errors` then adds what the shared machinery answers on every route of a kind
and gives each error a body schema:

* every operation with a request body: **400** (not JSON, not UTF-8, or nested deeper than
  ``max_json_depth``; ``app.api.limits``) and **413** (over ``max_body_bytes``);
* FHIR and CDS Hooks paths (``app.api.errors.FHIR_PREFIXES``): every error body is an
  ``OperationOutcome`` (``application/fhir+json``); under ``/cds-services`` a request that fails
  validation is a 400, never a 422, so FastAPI's generated 422 is removed there;
* REST paths: every error body is ``{"detail": [{"loc", "msg", "type"}]}``;
* a 401 is bare (no body) and keeps no content.
"""

from __future__ import annotations

from fastapi import FastAPI

from app.api.errors import FHIR_JSON, FHIR_PREFIXES
from app.json_types import JsonObject

OPERATION_OUTCOME = "OperationOutcome"
ERROR_DETAIL = "ErrorResponse"

_SCHEMAS: dict[str, JsonObject] = {
    OPERATION_OUTCOME: {
        "title": OPERATION_OUTCOME,
        "description": "A FHIR R4 OperationOutcome; each issue names its field in `expression`",
        "type": "object",
        "required": ["resourceType", "issue"],
        "properties": {
            "resourceType": {"type": "string", "enum": [OPERATION_OUTCOME]},
            "issue": {
                "type": "array",
                "minItems": 1,
                "items": {
                    "type": "object",
                    "required": ["severity", "code"],
                    "properties": {
                        "severity": {
                            "type": "string",
                            "enum": ["fatal", "error", "warning", "information"],
                        },
                        "code": {"type": "string"},
                        "diagnostics": {"type": "string"},
                        "expression": {"type": "array", "items": {"type": "string"}},
                    },
                },
            },
        },
    },
    ERROR_DETAIL: {
        "title": ERROR_DETAIL,
        "description": "A REST error: what is wrong, each entry naming its field in `loc`",
        "type": "object",
        "required": ["detail"],
        "properties": {
            "detail": {
                "type": "array",
                "items": {
                    "type": "object",
                    "required": ["loc", "msg", "type"],
                    "properties": {
                        "loc": {
                            "type": "array",
                            "items": {"anyOf": [{"type": "string"}, {"type": "integer"}]},
                        },
                        "msg": {"type": "string"},
                        "type": {"type": "string"},
                    },
                },
            }
        },
    },
}

_BODY_ERRORS: dict[str, str] = {
    "400": "Malformed body: not JSON, not UTF-8, or nested deeper than the configured limit",
    "413": "Body larger than the configured limit",
}


def _ref(name: str) -> dict[str, str]:
    return {"$ref": f"#/components/schemas/{name}"}


def document_errors(schema: JsonObject) -> JsonObject:
    """Add the shared error responses and error body schemas to ``schema`` (in place)."""
    schema.setdefault("components", {}).setdefault("schemas", {}).update(_SCHEMAS)
    for path, item in schema.get("paths", {}).items():
        fhir = path.startswith(FHIR_PREFIXES)
        for operation in item.values():
            responses: JsonObject = operation.setdefault("responses", {})
            if "requestBody" in operation:
                for status, description in _BODY_ERRORS.items():
                    responses.setdefault(status, {"description": description})
            if path.startswith("/cds-services"):
                responses.pop("422", None)
            for status, response in responses.items():
                if not status.startswith(("4", "5")) or status == "401":
                    continue
                if fhir:
                    response["content"] = {FHIR_JSON: {"schema": _ref(OPERATION_OUTCOME)}}
                elif status != "422" and status != "503":  # 422/503 keep their own models
                    response["content"] = {"application/json": {"schema": _ref(ERROR_DETAIL)}}
    return schema


def install_openapi(app: FastAPI) -> None:
    """Make ``app.openapi()`` return the document with :func:`document_errors` applied."""
    generate = app.openapi

    def openapi() -> JsonObject:
        if app.openapi_schema is None:
            app.openapi_schema = document_errors(generate())
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]
