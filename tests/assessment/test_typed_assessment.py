"""The typed assessment: scores read by attribute, and the composed values (cord compression,
etiology, index level) computed once so every card and the REST body agree."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

from app.assessment.model import EsccGrade, MriLevelScore, SinsLevelScore, VbqScore
from app.assessment.scores import MRI_CODES
from app.assessment.service import assess
from app.fhir.adapter import read_resources
from app.knowledge.schema import Knowledge
from app.settings import SitePolicies
from tests.fhir_builders import condition, obs

NOW = datetime(2026, 12, 1, 12, tzinfo=UTC)
POLICIES: SitePolicies = {
    "vcf_new_days": 90,
    "escc_1c": "low",
    "sins_collapse_exactly_50": "lt50",
    "adc_threshold": None,
}


def assessed(knowledge: Knowledge, *resources: dict[str, Any]) -> Any:
    pf = read_resources(list(resources), today=date(2026, 12, 1))
    return assess(pf, knowledge, POLICIES, NOW)


def malignant_mri(knowledge: Knowledge, level: str) -> list[dict[str, Any]]:
    """Every seed 000 sign at its highest-scoring value (total far above the cutoff)."""
    out = []
    for sign in knowledge.mri_score.signs:
        best = max(sign.points, key=lambda option: sign.points[option])
        value: Any = {"true": True, "false": False}.get(best, best)
        out.append(obs(f"mri-{sign.id}", MRI_CODES[sign.id], value, level))
    return out


def test_escc_grade_2_is_cord_compression_for_every_consumer(knowledge: Knowledge) -> None:
    a = assessed(knowledge, obs("vcf", "vcf", True, "T12"), obs("e", "escc-grade", "2", "T12"))
    [grade] = a.scores.escc
    assert isinstance(grade, EsccGrade) and grade.high_grade and grade.level == "T12"
    cord = a.consensus.cord_compression
    assert (cord.value, cord.basis, cord.sources) == (True, "escc-grade", grade.sources)


def test_suspected_pathological_comes_from_the_consensus(knowledge: Knowledge) -> None:
    a = assessed(knowledge, obs("vcf", "vcf", True, "L2"), *malignant_mri(knowledge, "L2"))
    [mri] = a.scores.mri_malignancy
    assert isinstance(mri, MriLevelScore) and mri.suggests_malignant
    e = a.consensus.etiology
    assert (e.value, e.basis, e.suspected_pathological) == ("unknown", "mri-malignancy-score", True)
    assert set(e.sources) == set(mri.sources)
    ea = a.etiology_assessment
    assert ea.suspected_pathological and ea.recommendation
    cutoff = knowledge.mri_score.cutoff
    assert ea.basis == (f"MRI malignancy score {mri.min}-{mri.max} (cutoff {cutoff}) at L2",)


def test_documented_etiology_is_not_overridden_by_the_score(knowledge: Knowledge) -> None:
    a = assessed(
        knowledge,
        obs("vcf", "vcf", True, "L2"),
        condition("c1", "M80.08XA"),  # osteoporotic fracture, documented
        *malignant_mri(knowledge, "L2"),
    )
    assert a.consensus.etiology.value == "osteoporotic"
    assert a.consensus.etiology.basis == "documented"
    assert not a.etiology_assessment.suspected_pathological
    assert a.etiology_assessment.recommendation is None


def test_index_level_is_the_highest_sins(knowledge: Knowledge) -> None:
    a = assessed(
        knowledge,
        obs("p1", "sins-pain", "mechanical", "T12"),
        obs("l1", "sins-lesion", "lytic", "T12"),
        obs("l2", "sins-lesion", "blastic", "L3"),
    )
    levels = {s.level: s for s in a.scores.sins.levels}
    assert set(levels) == {"T12", "L3"}
    assert all(isinstance(s, SinsLevelScore) for s in levels.values())
    assert a.consensus.index_level == a.scores.sins.index_level == "T12"
    index = a.scores.sins.index
    assert index is levels["T12"] and index.min > levels["L3"].min


def test_vbq_not_computable_says_what_is_missing(knowledge: Knowledge) -> None:
    a = assessed(knowledge, obs("v1", "vbq-signal", 300.0, "L1", unit="1"))
    vbq = a.scores.vbq
    assert vbq is not None and not isinstance(vbq, VbqScore)
    assert vbq.vbq is None and vbq.missing == ("csf-signal",)
