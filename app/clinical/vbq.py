"""Vertebral bone quality score (seed 002): median L1-L4 T1 signal / CSF signal; > 3 elevated."""

from __future__ import annotations

import statistics
from collections.abc import Mapping
from dataclasses import dataclass

from app.clinical.fast_init import fast_init
from app.knowledge.schema import VbqThresholds


class VbqError(ValueError):
    """Input that cannot give a VBQ; ``field`` names the offending input."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field


@fast_init
@dataclass(frozen=True)
class VbqResult:
    vbq: float
    cutoff: float
    elevated_risk: bool
    levels_used: tuple[str, ...]
    median_signal: float
    csf: float
    field_strength_t: float | None


def compute_vbq(
    signals: Mapping[str, float | None],
    csf: float | None,
    thresholds: VbqThresholds,
    field_strength_t: float | None = None,
) -> VbqResult:
    """VBQ = median of measurable L1-L4 signals / CSF (seed 002 Methods, Statistical Analysis).

    Unmeasurable bodies (None) are excluded; at least one body and a positive CSF are needed.
    Elevated risk is VBQ > cutoff, strictly (seed 002 Results: cutoff 3).
    """
    levels = [lv for lv in thresholds.vertebral_levels if signals.get(lv) is not None]
    for lv in levels:
        value = signals[lv]
        if value is None or value <= 0:
            raise VbqError(lv.lower(), f"{lv} signal must be a positive number")
    if not levels:
        raise VbqError("l1", "at least one of L1-L4 must have a measurable signal")
    if csf is None:
        raise VbqError("csf", "the CSF signal is required")
    if csf <= 0:
        raise VbqError("csf", "the CSF signal must be positive")
    median = float(statistics.median([float(signals[lv] or 0.0) for lv in levels]))
    vbq = median / csf
    cutoff = thresholds.cutoff
    return VbqResult(
        vbq=round(vbq, 4),
        cutoff=cutoff,
        elevated_risk=vbq > cutoff,
        levels_used=tuple(levels),
        median_signal=median,
        csf=csf,
        field_strength_t=field_strength_t,
    )
