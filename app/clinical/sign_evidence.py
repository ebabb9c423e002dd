"""CT/MRI sign evidence (seed 001 group counts and likelihood ratios; seed 004 Table 1).

Each observed sign is reported with its frequency in the benign (n = 76) and malignant (n = 74)
groups and LR = malignant fraction / benign fraction. Ratios are never combined.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from app.clinical.fast_init import fast_init
from app.clinical.findings import FindingValue
from app.knowledge.schema import SignEvidenceKnowledge


@fast_init
@dataclass(frozen=True)
class SignEvidence:
    sign: str
    label: str
    value: str
    value_label: str
    benign_count: int
    benign_n: int
    malignant_count: int
    malignant_n: int
    likelihood_ratio: float | None  # None = not computable (a zero count)
    favours: str  # malignant | benign | neither
    derived: bool
    source: str


@fast_init
@dataclass(frozen=True)
class QualitativeEvidence:
    sign: str
    label: str
    present: bool
    favours: str  # osteoporotic | metastatic
    source: str


def _key(value: FindingValue) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return value if isinstance(value, str) else str(value)  # a number is no coded value


def quantitative_evidence(
    observed: Mapping[str, FindingValue | None], k: SignEvidenceKnowledge
) -> list[SignEvidence]:
    """Evidence rows for the observed seed 001 signs (unknown signs are skipped)."""
    nb, nm = k.groups["benign"], k.groups["malignant"]
    out: list[SignEvidence] = []
    for sign in k.signs:
        raw = observed.get(sign.id)
        if raw is None:
            continue
        key = _key(raw)
        if key not in sign.values:
            raise ValueError(f"{sign.id}: {raw!r} is not one of {sorted(sign.values)}")
        v = sign.values[key]
        lr: float | None = None
        if v.benign and v.malignant:
            lr = round((v.malignant / nm) / (v.benign / nb), 2)
        favours = "neither" if lr is None or lr == 1 else ("malignant" if lr > 1 else "benign")
        out.append(
            SignEvidence(
                sign=sign.id,
                label=sign.label,
                value=key,
                value_label=v.label,
                benign_count=v.benign,
                benign_n=nb,
                malignant_count=v.malignant,
                malignant_n=nm,
                likelihood_ratio=lr,
                favours=favours,
                derived=v.derived,
                source=sign.table,
            )
        )
    return out


def qualitative_evidence(
    observed: Mapping[str, bool | None], k: SignEvidenceKnowledge
) -> list[QualitativeEvidence]:
    """Seed 004 Table 1 signs that are known, with the fracture type they favour."""
    out: list[QualitativeEvidence] = []
    for sign in k.qualitative_signs:
        present = observed.get(sign.id)
        if present is None:
            continue
        favours = sign.when_true if present else sign.when_false
        if favours is None:
            continue
        out.append(QualitativeEvidence(sign.id, sign.label, present, favours, sign.source))
    return out
