"""Bilsky epidural spinal cord compression grade (seed 004; policy ``escc_1c``)."""

from __future__ import annotations

from dataclasses import dataclass

from app.clinical.fast_init import fast_init
from app.knowledge.schema import EsccThresholds


@fast_init
@dataclass(frozen=True)
class EsccResult:
    grade: str
    description: str
    high_grade: bool
    policy: dict[str, str]
    implication: str


def classify_escc(grade: str, escc: EsccThresholds, policy_1c: str = "low") -> EsccResult:
    """Grades stay strings; 0-1c low, 2-3 high (1c per policy). Raises ValueError on bad grade."""
    g = grade.strip().lower()
    if g not in escc.grades:
        raise ValueError(f"{grade!r} is not an ESCC grade; expected one of {list(escc.grades)}")
    if policy_1c not in ("low", "high"):
        raise ValueError("policy escc_1c must be 'low' or 'high'")
    high = g in escc.high_grade or (g in escc.policy_dependent and policy_1c == "high")
    implication = escc.implication_high if high else escc.implication_low
    return EsccResult(g, escc.descriptions[g], high, {"escc_1c": policy_1c}, implication)


def cord_compressed(grade: str, escc: EsccThresholds) -> bool:
    """Whether an ESCC grade means the cord itself is compressed: grades 2 and 3 ("spinal cord
    compression"); 0-1c describe epidural disease without cord compression (Montoya-Bordón et
    al. 2023, ESCC scale of Bilsky et al.). Independent of the escc_1c low/high policy."""
    return grade.strip().lower() in escc.high_grade
