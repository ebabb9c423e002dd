"""VBQ (seed 002), ESCC (seed 004), chemical shift and ADC (seeds 001, 004)."""

from __future__ import annotations

import pytest

from app.clinical.escc import classify_escc
from app.clinical.signal_tests import chemical_shift_drop, interpret_adc, interpret_chemical_shift
from app.clinical.vbq import VbqError, compute_vbq
from app.knowledge.schema import Knowledge


def test_vbq_median_of_four(knowledge: Knowledge) -> None:
    r = compute_vbq({"L1": 320, "L2": 300, "L3": 340, "L4": 310}, 100, knowledge.thresholds.vbq)
    assert r.vbq == 3.15 and r.elevated_risk


def test_vbq_excludes_unmeasurable_levels(knowledge: Knowledge) -> None:
    # seed 002: an unmeasurable body (collapse, metastasis) is excluded, e.g. L2
    r = compute_vbq({"L1": 300, "L2": None, "L3": 330, "L4": 360}, 100, knowledge.thresholds.vbq)
    assert r.levels_used == ("L1", "L3", "L4")
    assert r.vbq == 3.3


def test_vbq_exactly_3_is_not_elevated(knowledge: Knowledge) -> None:
    # seed 002 / clinical-rules 4: VBQ > 3 strictly
    r = compute_vbq({"L1": 300}, 100, knowledge.thresholds.vbq)
    assert r.vbq == 3.0 and not r.elevated_risk


@pytest.mark.parametrize(
    ("signals", "csf", "field"),
    [
        ({"L1": 300}, 0, "csf"),
        ({"L1": 300}, -5, "csf"),
        ({"L1": 300}, None, "csf"),
        ({}, 100, "l1"),
        ({"L2": -1}, 100, "l2"),
    ],
)
def test_vbq_invalid_inputs_name_the_field(
    knowledge: Knowledge, signals: dict[str, float], csf: float | None, field: str
) -> None:
    with pytest.raises(VbqError) as err:
        compute_vbq(signals, csf, knowledge.thresholds.vbq)
    assert err.value.field == field


@pytest.mark.parametrize(
    ("grade", "high"),
    [("0", False), ("1a", False), ("1b", False), ("1c", False), ("2", True), ("3", True)],
)
def test_escc_default_policy(knowledge: Knowledge, grade: str, high: bool) -> None:
    # seed 004: low grade 0 and 1 (a-c), high grade 2 and 3; escc_1c default low
    r = classify_escc(grade, knowledge.thresholds.escc)
    assert r.grade == grade and r.high_grade is high
    assert r.policy == {"escc_1c": "low"}


def test_escc_1c_policy_high(knowledge: Knowledge) -> None:
    r = classify_escc("1c", knowledge.thresholds.escc, "high")
    assert r.high_grade and r.policy == {"escc_1c": "high"}
    assert "decompression" in r.implication


@pytest.mark.parametrize("grade", ["1", "4", "2a", ""])
def test_escc_rejects_unknown_grades(knowledge: Knowledge, grade: str) -> None:
    with pytest.raises(ValueError):
        classify_escc(grade, knowledge.thresholds.escc)


@pytest.mark.parametrize(
    ("drop", "interp"),
    [
        (10.0, "favours_malignant"),
        (19.99, "favours_malignant"),
        (20.0, "indeterminate"),
        (20.01, "favours_benign"),
        (45.0, "favours_benign"),
    ],
)
def test_chemical_shift(knowledge: Knowledge, drop: float, interp: str) -> None:
    # seed 004: signal loss < 20 % malignant, > 20 % benign; exactly 20 % indeterminate
    assert (
        interpret_chemical_shift(drop, knowledge.thresholds.chemical_shift).interpretation == interp
    )


def test_chemical_shift_from_signals() -> None:
    assert chemical_shift_drop(200, 150) == 25.0
    with pytest.raises(ValueError):
        chemical_shift_drop(0, 10)


def test_adc_without_threshold_is_reported_not_classified(knowledge: Knowledge) -> None:
    r = interpret_adc(0.9, None, knowledge.thresholds.adc)
    assert r.interpretation == "not_classified" and r.value == 0.9


def test_adc_with_site_threshold(knowledge: Knowledge) -> None:
    assert interpret_adc(0.8, 1.0, knowledge.thresholds.adc).interpretation == "favours_malignant"
    assert interpret_adc(1.4, 1.0, knowledge.thresholds.adc).interpretation == "favours_benign"
