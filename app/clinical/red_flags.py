"""Red flags (seed 003 Appendix 1; seed 004 Figure 1): each present flag with its group(s)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from app.clinical.fast_init import fast_init
from app.clinical.tristate import Tri
from app.knowledge.schema import RedFlagsKnowledge


@fast_init
@dataclass(frozen=True)
class RedFlagHit:
    id: str
    label: str
    groups: tuple[str, ...]


@fast_init
@dataclass(frozen=True)
class RedFlagReport:
    present: tuple[RedFlagHit, ...]
    absent: tuple[str, ...]
    unknown: tuple[str, ...]
    groups_present: tuple[str, ...]
    cauda_equina: Tri
    source: str


_CAUDA_EQUINA = (
    "urinary-retention-or-overflow",
    "fecal-incontinence-or-sphincter-loss",
    "saddle-anesthesia",
)


def assess_red_flags(findings: Mapping[str, Tri], k: RedFlagsKnowledge) -> RedFlagReport:
    """Classify every flag as present / absent / unknown; never treat unknown as absent."""
    present: list[RedFlagHit] = []
    absent: list[str] = []
    unknown: list[str] = []
    for flag in k.flags:
        value = findings.get(flag.id)
        if value is True:
            present.append(RedFlagHit(flag.id, flag.label, tuple(flag.groups)))
        elif value is False:
            absent.append(flag.id)
        else:
            unknown.append(flag.id)
    order = [g.id for g in k.groups]
    groups = sorted({g for hit in present for g in hit.groups}, key=order.index)
    ce_values = [findings.get(f) for f in _CAUDA_EQUINA]
    cauda: Tri
    if any(v is True for v in ce_values):
        cauda = True
    elif all(v is False for v in ce_values):
        cauda = False
    else:
        cauda = None
    return RedFlagReport(
        tuple(present), tuple(absent), tuple(unknown), tuple(groups), cauda, k.source
    )
