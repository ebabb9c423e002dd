"""Nine-sign MRI malignancy score (seed 000)."""

from __future__ import annotations

from dataclasses import fields

import pytest

from app.clinical.mri_score import MriSigns, score_mri
from app.knowledge.schema import Knowledge

ALL_ZERO = MriSigns("band", "sharp", False, False, False, "single-peaked", False, False, False)


def test_figure_1_totals_5(knowledge: Knowledge) -> None:
    # seed 000 Figure 1: diffuse, convex, asymmetric, pedicle, double-peaked, enhancement -> 5
    r = score_mri(
        MriSigns("diffuse", "convex", False, True, True, "double-peaked", True, False, False),
        knowledge.mri_score,
    )
    assert r.score.total == 5
    assert r.classification == "suggests_malignant"


def test_figure_2_totals_3(knowledge: Knowledge) -> None:
    # seed 000 Figure 2: diffuse, convex, single-peaked, symmetric, cord compression,
    # enhancement -> 3
    r = score_mri(
        MriSigns("diffuse", "convex", False, False, False, "single-peaked", True, True, False),
        knowledge.mri_score,
    )
    assert r.score.total == 3
    assert r.classification == "suggests_osteoporotic"


@pytest.mark.parametrize(
    ("field", "value", "points"),
    [
        ("signal_pattern", "round", 1),
        ("signal_pattern", "diffuse", 1),
        ("signal_pattern", "band", 0),
        ("posterior_border", "convex", 1),
        ("fluid_cleft", True, 1),
        ("signal_asymmetry", True, 1),
        ("pedicle_involvement", True, 1),
        ("posterior_wall_axial", "double-peaked", 1),
        ("contrast_enhancement", True, 0),
        ("contrast_enhancement", False, 0),
        ("cord_compression", True, 1),
        ("paraspinal_mass", True, 1),
    ],
)
def test_each_sign_weight(knowledge: Knowledge, field: str, value: object, points: int) -> None:
    # seed 000 Patients and Methods, scoring items 1-9
    signs = MriSigns(
        **{**{f.name: getattr(ALL_ZERO, f.name) for f in fields(MriSigns)}, field: value}
    )
    assert score_mri(signs, knowledge.mri_score).score.total == points


def test_cutoff_is_4_inclusive(knowledge: Knowledge) -> None:
    # seed 000: total >= 4 indicates malignant, < 4 osteoporotic
    four = MriSigns("round", "convex", False, True, True, "single-peaked", False, False, False)
    assert score_mri(four, knowledge.mri_score).classification == "suggests_malignant"
    three = MriSigns("round", "convex", False, True, False, "single-peaked", False, False, False)
    assert score_mri(three, knowledge.mri_score).classification == "suggests_osteoporotic"


def test_unknown_signs_range_straddling_cutoff_is_indeterminate(knowledge: Knowledge) -> None:
    r = score_mri(
        MriSigns(signal_pattern="diffuse", posterior_border="convex"), knowledge.mri_score
    )
    assert r.score.total is None
    assert (r.score.min, r.score.max) == (2, 8)
    assert r.classification == "indeterminate"
    assert len(r.score.missing) == 7


def test_unknown_signs_range_wholly_above_cutoff_classifies(knowledge: Knowledge) -> None:
    r = score_mri(
        MriSigns("round", "convex", True, True, None, None, None, None, None), knowledge.mri_score
    )
    assert r.score.min == 4
    assert r.classification == "suggests_malignant"


def test_unknown_signs_range_wholly_below_cutoff_classifies(knowledge: Knowledge) -> None:
    r = score_mri(
        MriSigns("band", "sharp", False, False, False, "single-peaked", None, None, False),
        knowledge.mri_score,
    )
    assert (r.score.min, r.score.max) == (0, 1)
    assert r.classification == "suggests_osteoporotic"


def test_fluid_cleft_scored_as_published_with_note(knowledge: Knowledge) -> None:
    # clinical-rules 2: score the cleft +1 as published, and say so
    r = score_mri(
        MriSigns("band", "sharp", True, False, False, "single-peaked", False, False, False),
        knowledge.mri_score,
    )
    assert r.score.total == 1
    assert any("osteoporotic" in n and "+1" in n for n in r.notes)
    r2 = score_mri(ALL_ZERO, knowledge.mri_score)
    assert not any("+1" in n for n in r2.notes)


def test_performance_figures(knowledge: Knowledge) -> None:
    p = knowledge.mri_score.performance
    assert (p["sensitivity"], p["specificity"], p["ppv"], p["npv"], p["auc"]) == (
        61.5,
        81.8,
        40.0,
        82.5,
        0.724,
    )
    assert knowledge.mri_score.cutoff == 4
