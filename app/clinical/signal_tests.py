"""Chemical-shift and ADC interpretation (seed 004 DIXON text; seeds 001 and 004 on ADC)."""

from __future__ import annotations

from dataclasses import dataclass

from app.knowledge.schema import AdcKnowledge, ChemicalShiftThresholds


@dataclass(frozen=True)
class ChemicalShiftResult:
    drop_percent: float
    cutoff_percent: float
    interpretation: str  # favours_malignant | favours_benign | indeterminate
    source: str


def chemical_shift_drop(in_phase: float, out_of_phase: float) -> float:
    """Percent signal loss of out-of-phase relative to in-phase."""
    if in_phase <= 0:
        raise ValueError("in-phase signal must be positive")
    return (in_phase - out_of_phase) / in_phase * 100.0


def interpret_chemical_shift(
    drop_percent: float, cfg: ChemicalShiftThresholds
) -> ChemicalShiftResult:
    """< 20 % drop favours malignant, > 20 % benign, exactly 20 % indeterminate (seed 004)."""
    cutoff = cfg.cutoff_percent
    if drop_percent < cutoff:
        interpretation = "favours_malignant"
    elif drop_percent > cutoff:
        interpretation = "favours_benign"
    else:
        interpretation = "indeterminate"
    return ChemicalShiftResult(round(drop_percent, 2), cutoff, interpretation, cfg.source)


@dataclass(frozen=True)
class AdcResult:
    value: float
    unit: str
    threshold: float | None
    interpretation: str  # favours_malignant | favours_benign | not_classified
    note: str


def interpret_adc(value: float, threshold: float | None, cfg: AdcKnowledge) -> AdcResult:
    """Lower ADC favours malignancy; classified only against a site threshold (no default)."""
    if threshold is None:
        return AdcResult(value, "10*-3.mm2/s", None, "not_classified", cfg.note)
    interpretation = "favours_malignant" if value < threshold else "favours_benign"
    note = f"Classified against the site ADC threshold {threshold} ({cfg.direction})."
    return AdcResult(value, "10*-3.mm2/s", threshold, interpretation, note)
