"""FHIR endpoints: the project's CodeSystem resources (fhir-input.md "Code systems") and
the code maps as ConceptMap resources.

Errors on ``/fhir`` paths are turned into an OperationOutcome by ``app.api.errors``.
"""

from __future__ import annotations

from fastapi import APIRouter, HTTPException
from fastapi.responses import JSONResponse

from app.fhir.codesystems import code_system_bundle, code_system_ids, get_code_system
from app.fhir.conceptmap_resources import (
    concept_map_bundle,
    concept_map_ids,
    get_concept_map,
)
from app.json_types import JsonObject

FHIR_JSON = "application/fhir+json"

router = APIRouter(prefix="/fhir", tags=["fhir"])


def _fhir(body: JsonObject) -> JSONResponse:
    return JSONResponse(body, media_type=FHIR_JSON)


@router.get(
    "/CodeSystem",
    summary="All VCF-CDS CodeSystems (searchset Bundle)",
    response_class=JSONResponse,
    responses={200: {"content": {FHIR_JSON: {}}, "description": "A searchset Bundle"}},
)
def list_code_systems() -> JSONResponse:
    return _fhir(code_system_bundle())


@router.get(
    "/CodeSystem/{id}",
    summary="One VCF-CDS CodeSystem",
    response_class=JSONResponse,
    responses={
        200: {"content": {FHIR_JSON: {}}, "description": "The CodeSystem"},
        404: {"content": {FHIR_JSON: {}}, "description": "OperationOutcome: unknown id"},
    },
)
def read_code_system(id: str) -> JSONResponse:
    found = get_code_system(id)
    if found is None:
        known = ", ".join(code_system_ids())
        detail = [
            {
                "loc": ["path", "id"],
                "msg": f"unknown CodeSystem id; known: {known}",
                "type": "not_found",
            }
        ]
        raise HTTPException(status_code=404, detail=detail)
    return _fhir(found)


@router.get(
    "/ConceptMap",
    summary="Standard and site-local code maps (searchset Bundle of ConceptMaps)",
    response_class=JSONResponse,
    responses={200: {"content": {FHIR_JSON: {}}, "description": "A searchset Bundle"}},
)
def list_concept_maps() -> JSONResponse:
    return _fhir(concept_map_bundle())


@router.get(
    "/ConceptMap/{id}",
    summary="One code map",
    response_class=JSONResponse,
    responses={
        200: {"content": {FHIR_JSON: {}}, "description": "The ConceptMap"},
        404: {"content": {FHIR_JSON: {}}, "description": "OperationOutcome: unknown id"},
    },
)
def read_concept_map(id: str) -> JSONResponse:
    found = get_concept_map(id)
    if found is None:
        known = ", ".join(concept_map_ids())
        detail = [
            {
                "loc": ["path", "id"],
                "msg": f"unknown ConceptMap id; known: {known}",
                "type": "not_found",
            }
        ]
        raise HTTPException(status_code=404, detail=detail)
    return _fhir(found)
