"""CT/MRI sign evidence (seed 001 group counts and likelihood ratios; seed 004 Table 1).

Each observed sign is reported with its frequency in the benign (n = 76) and malignant (n = 74)
groups and LR = malignant fraction / benign fraction. Ratios are never combined.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from app.clinical.fast_init import fast_init
from app.clinical.findings import FindingValue
from app.knowledge.per_object import PerObject
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


# per value of a sign: (value label, benign count, malignant count, LR, favours, derived)
_Row = tuple[str, int, int, float | None, str, bool]
# per sign: (id, label, table, rows by value key)
_Sign = tuple[str, str, str, dict[str, _Row]]


def _favours(lr: float | None) -> str:
    return "neither" if lr is None or lr == 1 else ("malignant" if lr > 1 else "benign")


def _make_plan(
    k: SignEvidenceKnowledge,
) -> tuple[int, int, tuple[_Sign, ...], tuple[str, ...]]:
    """The group sizes and, per sign, each value's row as ``quantitative_evidence`` reports it
    (the likelihood ratio is a property of the knowledge, not of the patient)."""
    nb, nm = k.groups["benign"], k.groups["malignant"]
    signs: list[_Sign] = []
    for sign in k.signs:
        rows: dict[str, _Row] = {}
        for key, v in sign.values.items():
            lr: float | None = None
            if v.benign and v.malignant:
                lr = round((v.malignant / nm) / (v.benign / nb), 2)
            rows[key] = (v.label, v.benign, v.malignant, lr, _favours(lr), v.derived)
        signs.append((sign.id, sign.label, sign.table, rows))
    return nb, nm, tuple(signs), tuple(sign[0] for sign in signs)


_plans = PerObject(_make_plan)  # per (frozen) sign-evidence knowledge object


def sign_ids(k: SignEvidenceKnowledge) -> tuple[str, ...]:
    """The ids of the seed 001 signs, in knowledge order."""
    return _plans(k)[3]


def quantitative_evidence(
    observed: Mapping[str, FindingValue | None], k: SignEvidenceKnowledge
) -> list[SignEvidence]:
    """Evidence rows for the observed seed 001 signs (unknown signs are skipped)."""
    nb, nm, signs, _ = _plans(k)
    out: list[SignEvidence] = []
    for sign_id, label, table, rows in signs:
        raw = observed.get(sign_id)
        if raw is None:
            continue
        key = _key(raw)
        row = rows.get(key)
        if row is None:
            raise ValueError(f"{sign_id}: {raw!r} is not one of {sorted(rows)}")
        value_label, benign, malignant, lr, favours, derived = row
        out.append(
            SignEvidence(
                sign_id,
                label,
                key,
                value_label,
                benign,
                nb,
                malignant,
                nm,
                lr,
                favours,
                derived,
                table,
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
