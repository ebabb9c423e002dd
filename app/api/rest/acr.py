"""ACR endpoints: variant matching and the variant tables (seed 003)."""

from __future__ import annotations

from fastapi import APIRouter

from app.api.deps import KnowledgeDep, SettingsDep
from app.api.errors import FieldError
from app.api.rest.schemas import (
    ClinicalStateRequest,
    MatchOut,
    MatchResponse,
    ProcedureOut,
    VariantOut,
)
from app.clinical.variants import match
from app.knowledge.schema import Knowledge, Variant

router = APIRouter(prefix="/acr", tags=["acr"])


def variant_out(variant: Variant, knowledge: Knowledge) -> VariantOut:
    procs = {p.name: p for p in knowledge.acr.procedures}
    return VariantOut(
        id=variant.id,
        title=variant.title,
        question=variant.question,
        procedures=[
            ProcedureOut(
                name=p.name,
                category=p.category,
                rating_range=knowledge.category(p.category).rating_range,
                relative_radiation_level=procs[p.name].relative_radiation_level,
            )
            for p in variant.procedures
        ],
        summary=variant.summary,
        source=variant.source,
        knowledge_version=knowledge.version,
    )


@router.post(
    "/match", response_model=MatchResponse, responses={422: {"description": "Invalid input"}}
)
def acr_match(
    body: ClinicalStateRequest, knowledge: KnowledgeDep, settings: SettingsDep
) -> MatchResponse:
    """Match the clinical state to the imaging (1-4) and treatment (5-9) variants."""
    return MatchResponse(
        imaging=MatchOut.of(match(body, knowledge, "imaging")),
        treatment=MatchOut.of(match(body, knowledge, "treatment")),
        policies=settings.policies(),
        knowledge_version=knowledge.version,
    )


@router.get("/variants", response_model=list[VariantOut])
def list_variants(knowledge: KnowledgeDep) -> list[VariantOut]:
    """The nine variant tables of seed 003, procedures in seed order."""
    return [variant_out(v, knowledge) for v in knowledge.acr.variants]


@router.get(
    "/variants/{n}",
    response_model=VariantOut,
    responses={404: {"description": "No such variant; `detail[].loc` names `n`"}},
)
def get_variant(n: int, knowledge: KnowledgeDep) -> VariantOut:
    """One variant table (1-9)."""
    variant = knowledge.variant(n)
    if variant is None:
        raise FieldError(["path", "n"], f"no ACR variant {n}; variants are 1-9", status_code=404)
    return variant_out(variant, knowledge)
