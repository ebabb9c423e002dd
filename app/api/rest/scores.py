"""Score endpoints: SINS, MRI malignancy score, VBQ, ESCC (shared/spec/api.md REST)."""

from __future__ import annotations

import math

from fastapi import APIRouter

from app.api.deps import KnowledgeDep, SettingsDep
from app.api.errors import FieldError
from app.api.rest.schemas import (
    EsccRequest,
    EsccResponse,
    MriScoreRequest,
    MriScoreResponse,
    SinsPoints,
    SinsRequest,
    SinsResponse,
    VbqRequest,
    VbqResponse,
)
from app.clinical.escc import classify_escc
from app.clinical.levels import LevelError
from app.clinical.mri_score import MriSigns, score_mri
from app.clinical.sins import SinsInput, score_sins
from app.clinical.vbq import VbqError, compute_vbq
from app.json_types import JsonObject

router = APIRouter(prefix="/scores", tags=["scores"])

_422: dict[int | str, JsonObject] = {
    422: {"description": "Invalid input; `detail[].loc` names the field"}
}


@router.post("/sins", response_model=SinsResponse, responses=_422)
def sins(body: SinsRequest, knowledge: KnowledgeDep) -> SinsResponse:
    """Spinal Instability Neoplastic Score for one level (seed 004 Table 3)."""
    try:
        result = score_sins(SinsInput(**body.model_dump()), knowledge)
    except LevelError as exc:
        raise FieldError(["body", "level"], str(exc)) from exc
    pts = result.score.points
    return SinsResponse(
        level=result.level,
        location_class=result.location_class,
        total=result.total,
        min=result.score.min,
        max=result.score.max,
        category=result.category,
        possible_categories=list(result.possible_categories),
        action=result.action,
        points=SinsPoints(location=pts["location"] or 0, **{k: pts[k] for k in list(pts)[1:]}),
        missing=list(result.score.missing),
        source=knowledge.sins.source,
        knowledge_version=knowledge.version,
    )


@router.post("/mri-malignancy", response_model=MriScoreResponse, responses=_422)
def mri_malignancy(body: MriScoreRequest, knowledge: KnowledgeDep) -> MriScoreResponse:
    """Nine-sign MRI score (seed 000); a range when signs are unknown."""
    result = score_mri(MriSigns(**body.model_dump()), knowledge.mri_score)
    return MriScoreResponse(
        total=result.score.total,
        min=result.score.min,
        max=result.score.max,
        cutoff=result.cutoff,
        classification=result.classification,
        points=result.score.points,
        missing=list(result.score.missing),
        notes=list(result.notes),
        performance=knowledge.mri_score.performance,
        source=knowledge.mri_score.source,
        knowledge_version=knowledge.version,
    )


@router.post("/vbq", response_model=VbqResponse, responses=_422)
def vbq(body: VbqRequest, knowledge: KnowledgeDep) -> VbqResponse:
    """Vertebral bone quality (seed 002): median L1-L4 / CSF; elevated risk when > 3."""
    cfg = knowledge.thresholds.vbq
    signals = {"L1": body.l1, "L2": body.l2, "L3": body.l3, "L4": body.l4}
    try:
        result = compute_vbq(signals, body.csf, cfg, body.field_strength_t)
    except VbqError as exc:
        raise FieldError(["body", exc.field], str(exc)) from exc
    if not all(map(math.isfinite, (result.vbq, result.median_signal))):
        # finite inputs whose median or ratio overflows (e.g. 1e308 / 1e-50): not a signal
        raise FieldError(["body", "csf"], "signals out of range: the ratio is not a finite number")
    return VbqResponse(
        vbq=result.vbq,
        cutoff=result.cutoff,
        elevated_risk=result.elevated_risk,
        levels_used=list(result.levels_used),
        median_signal=result.median_signal,
        csf=result.csf,
        field_strength_t=result.field_strength_t,
        performance=cfg.performance,
        source=cfg.source,
        knowledge_version=knowledge.version,
    )


@router.post("/escc", response_model=EsccResponse, responses=_422)
def escc(body: EsccRequest, knowledge: KnowledgeDep, settings: SettingsDep) -> EsccResponse:
    """Bilsky ESCC grade (seed 004) with the escc_1c policy named in the answer."""
    cfg = knowledge.thresholds.escc
    result = classify_escc(body.grade, cfg, settings.policy_escc_1c)
    return EsccResponse(
        grade=result.grade,
        high_grade=result.high_grade,
        description=result.description,
        implication=result.implication,
        policy=result.policy,
        source=cfg.source,
        knowledge_version=knowledge.version,
    )
