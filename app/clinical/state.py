"""The clinical state the ACR matcher reads (clinical-rules 1.1) and derived inputs."""

from __future__ import annotations

from dataclasses import asdict, dataclass, fields
from typing import Literal, TypeAlias

from app.clinical.fast_init import fast_init
from app.clinical.tristate import Tri, tri_compare
from app.knowledge.schema import STATE_INPUTS, DeformityThresholds

Etiology = Literal["osteoporotic", "pathological", "unknown"]
StateValue: TypeAlias = Tri | Etiology  # the value of one clinical-state input


@fast_init
@dataclass(frozen=True)
class ClinicalState:
    """Each input is True, False or None (unknown); etiology is a three-valued category."""

    vcf_present: Tri = None
    vcf_new: Tri = None
    symptomatic: Tri = None
    malignancy_history: Tri = None
    prior_vcf_treatment: Tri = None
    multiple_vcfs: Tri = None
    etiology: Etiology = "unknown"
    marrow_edema_or_cleft: Tri = None
    worsening_pain: Tri = None
    deformity: Tri = None
    pulmonary_dysfunction: Tri = None
    mechanical_pain: Tri = None

    def value(self, name: str) -> StateValue:
        return getattr(self, name)  # type: ignore[no-any-return]

    def as_dict(self) -> dict[str, StateValue]:
        return asdict(self)


STATE_FIELDS: tuple[str, ...] = tuple(f.name for f in fields(ClinicalState))
TRI_INPUTS: frozenset[str] = frozenset(STATE_FIELDS) - {"etiology"}  # the true/false/null ones
if STATE_FIELDS != STATE_INPUTS:  # the knowledge schema's list cannot import this type
    raise RuntimeError(f"knowledge STATE_INPUTS {STATE_INPUTS} != ClinicalState {STATE_FIELDS}")


def derive_deformity(
    kyphosis_percent: float | None,
    scoliosis_percent: float | None,
    dorsal_wall_height_reduction_percent: float | None,
    vertebral_height_loss_percent: float | None,
    cfg: DeformityThresholds,
) -> Tri:
    """Spinal deformity per seed 003 (Variants 5 and 8): any measurement at or above its
    threshold makes it True; False only when all four are known and below."""
    checks = [
        tri_compare(kyphosis_percent, ">=", cfg.kyphosis_percent),
        tri_compare(scoliosis_percent, ">=", cfg.scoliosis_percent),
        tri_compare(
            dorsal_wall_height_reduction_percent, ">=", cfg.dorsal_wall_height_reduction_percent
        ),
        tri_compare(vertebral_height_loss_percent, ">=", cfg.vertebral_height_loss_percent),
    ]
    if any(c is True for c in checks):
        return True
    if all(c is False for c in checks):
        return False
    return None
