"""Nine-sign MRI malignancy score (seed 000): weights, cutoff >= 4, ranges for unknown signs."""

from __future__ import annotations

from dataclasses import dataclass

from app.clinical.fast_init import fast_init
from app.clinical.scoring import AdditiveScore, score_components
from app.knowledge.per_object import PerObject
from app.knowledge.schema import MriScoreKnowledge


@fast_init
@dataclass(frozen=True)
class MriSigns:
    signal_pattern: str | None = None  # round | diffuse | band
    posterior_border: str | None = None  # convex | sharp
    fluid_cleft: bool | None = None
    signal_asymmetry: bool | None = None
    pedicle_involvement: bool | None = None
    posterior_wall_axial: str | None = None  # double-peaked | single-peaked
    contrast_enhancement: bool | None = None
    cord_compression: bool | None = None
    paraspinal_mass: bool | None = None


@fast_init
@dataclass(frozen=True)
class MriScoreResult:
    score: AdditiveScore
    cutoff: int
    classification: str  # suggests_malignant | suggests_osteoporotic | indeterminate
    notes: tuple[str, ...]


def _key(value: str | bool | None) -> str | None:
    if value is None:
        return None
    if isinstance(value, bool):
        return "true" if value else "false"
    return value


def _make_ids(k: MriScoreKnowledge) -> tuple[str, ...]:
    return tuple(s.id for s in k.signs)


_ids = PerObject(_make_ids)  # the sign ids of each (frozen) knowledge object, in order


def score_mri(signs: MriSigns, k: MriScoreKnowledge) -> MriScoreResult:
    """Score the signs as published; classify only when the whole range is on one side."""
    values: dict[str, str | None] = {}
    for sign in _ids(k):
        value = getattr(signs, sign)
        values[sign] = value if value is None or value.__class__ is str else _key(value)
    score = score_components(k.signs, values)
    if score.min >= k.cutoff:
        classification = "suggests_malignant"
    elif score.max < k.cutoff:
        classification = "suggests_osteoporotic"
    else:
        classification = "indeterminate"
    notes: list[str] = []
    if signs.fluid_cleft is True:
        notes.append(k.fluid_cleft_note)
    if signs.contrast_enhancement is not None:
        notes.append(
            "Contrast enhancement scores 0 whether positive or negative (seed 000 item 7)."
        )
    if score.missing:
        notes.append(
            f"{len(score.missing)} sign(s) unknown: total lies in [{score.min}, {score.max}]"
            f" against a cutoff of {k.cutoff}."
        )
    return MriScoreResult(score, k.cutoff, classification, tuple(notes))
