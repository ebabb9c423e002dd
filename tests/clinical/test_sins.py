"""SINS rules (seed 004 Table 3; categories seeds 002-004; clinical-rules 5)."""

from __future__ import annotations

import pytest

from app.clinical.levels import LevelError
from app.clinical.sins import SinsInput, derive_collapse, index_level, score_sins
from app.knowledge.schema import Knowledge

FULL = {
    "pain": "none",
    "lesion": "blastic",
    "alignment": "normal",
    "collapse": "none",
    "posterolateral": "none",
}


@pytest.mark.parametrize(
    ("level", "cls", "points"),
    [
        ("C1", "junctional", 3),
        ("C2", "junctional", 3),
        ("C3", "mobile", 2),
        ("C6", "mobile", 2),
        ("C7", "junctional", 3),
        ("T2", "junctional", 3),
        ("T3", "semi-rigid", 1),
        ("T10", "semi-rigid", 1),
        ("T11", "junctional", 3),
        ("L1", "junctional", 3),
        ("L2", "mobile", 2),
        ("L4", "mobile", 2),
        ("L5", "junctional", 3),
        ("S1", "junctional", 3),
        ("S2", "rigid", 0),
        ("S5", "rigid", 0),
    ],
)
def test_location_points(knowledge: Knowledge, level: str, cls: str, points: int) -> None:
    # seed 004 Table 3: junctional occiput-C2, C7-T2, T11-L1, L5-S1 = 3; mobile C3-C6, L2-L4 = 2;
    # semi-rigid T3-T10 = 1; rigid S2-S5 = 0
    r = score_sins(SinsInput(level=level, **FULL), knowledge)
    assert r.location_class == cls
    assert r.score.points["location"] == points
    assert r.total == points


@pytest.mark.parametrize(
    ("component", "value", "points"),
    [
        ("pain", "mechanical", 3),
        ("pain", "occasional", 1),
        ("pain", "none", 0),
        ("lesion", "lytic", 2),
        ("lesion", "mixed", 1),
        ("lesion", "blastic", 0),
        ("alignment", "subluxation", 4),
        ("alignment", "deformity", 2),
        ("alignment", "normal", 0),
        ("collapse", "gt50", 3),
        ("collapse", "lt50", 2),
        ("collapse", "none-gt50-involved", 1),
        ("collapse", "none", 0),
        ("posterolateral", "bilateral", 3),
        ("posterolateral", "unilateral", 1),
        ("posterolateral", "none", 0),
    ],
)
def test_component_points(knowledge: Knowledge, component: str, value: str, points: int) -> None:
    # seed 004 Table 3, each row
    r = score_sins(SinsInput(level="S3", **{**FULL, component: value}), knowledge)
    assert r.score.points[component] == points
    assert r.total == points


@pytest.mark.parametrize(
    ("total_inputs", "category"),
    [
        ({"level": "S3", **FULL}, "stable"),  # 0: stable, not invalid (Table 3 says 0-6)
        (
            {
                "level": "T6",
                "pain": "mechanical",
                "lesion": "lytic",
                "alignment": "normal",
                "collapse": "none",
                "posterolateral": "unilateral",
            },
            "potentially_unstable",
        ),  # 1+3+2+0+0+1 = 7
        (
            {
                "level": "T6",
                "pain": "mechanical",
                "lesion": "lytic",
                "alignment": "deformity",
                "collapse": "none",
                "posterolateral": "none",
            },
            "potentially_unstable",
        ),  # 8
        (
            {
                "level": "L1",
                "pain": "mechanical",
                "lesion": "lytic",
                "alignment": "deformity",
                "collapse": "gt50",
                "posterolateral": "none",
            },
            "unstable",
        ),  # 3+3+2+2+3 = 13
    ],
)
def test_category_bands(knowledge: Knowledge, total_inputs: dict[str, str], category: str) -> None:
    # seed 004 Table 3 / seed 003: 0-6 stable, 7-12 potentially unstable, 13-18 unstable
    r = score_sins(SinsInput(**total_inputs), knowledge)
    assert r.category == category
    assert r.possible_categories == (category,)


def test_band_edges(knowledge: Knowledge) -> None:
    six = score_sins(
        SinsInput(
            level="T6",
            pain="mechanical",
            lesion="lytic",
            alignment="normal",
            collapse="none",
            posterolateral="none",
        ),
        knowledge,
    )
    assert (six.total, six.category) == (6, "stable")
    twelve = score_sins(
        SinsInput(
            level="C1",
            pain="mechanical",
            lesion="lytic",
            alignment="subluxation",
            collapse="none",
            posterolateral="none",
        ),
        knowledge,
    )
    assert (twelve.total, twelve.category) == (12, "potentially_unstable")


def test_unknowns_give_range_and_no_category(knowledge: Knowledge) -> None:
    r = score_sins(SinsInput(level="T6", pain="mechanical"), knowledge)
    assert r.total is None
    assert (r.score.min, r.score.max) == (1 + 3, 1 + 3 + 2 + 4 + 3 + 3)
    assert r.category is None
    assert r.possible_categories == ("stable", "potentially_unstable", "unstable")
    assert r.score.missing == ("lesion", "alignment", "collapse", "posterolateral")


def test_unknown_component_within_one_band_still_categorised(knowledge: Knowledge) -> None:
    # S3 (0) + none + blastic + normal + none, posterolateral unknown: 0..3, all stable
    r = score_sins(
        SinsInput(level="S3", pain="none", lesion="blastic", alignment="normal", collapse="none"),
        knowledge,
    )
    assert r.total is None
    assert (r.score.min, r.score.max) == (0, 3)
    assert r.category == "stable"


@pytest.mark.parametrize("label", ["L6", "T13", "coccyx", "Co1", "", "C0", "S6"])
def test_levels_outside_c1_s5_rejected(knowledge: Knowledge, label: str) -> None:
    with pytest.raises(LevelError):
        score_sins(SinsInput(level=label), knowledge)


def test_level_is_case_insensitive(knowledge: Knowledge) -> None:
    assert score_sins(SinsInput(level=" t12 "), knowledge).level == "T12"


def test_index_level_is_highest_total(knowledge: Knowledge) -> None:
    # seed 002 Methods: the lesion with the highest SINS is the index level
    a = score_sins(SinsInput(level="T6", **FULL), knowledge)
    b = score_sins(SinsInput(level="L1", **{**FULL, "pain": "mechanical"}), knowledge)
    c = score_sins(SinsInput(level="L3", **FULL), knowledge)
    chosen = index_level([a, b, c])
    assert chosen is not None and chosen.level == "L1"
    assert index_level([]) is None


@pytest.mark.parametrize(
    ("collapse", "involved", "policy", "expected"),
    [
        (60, None, "lt50", "gt50"),
        (50, None, "lt50", "lt50"),  # policy sins_collapse_exactly_50 default: scores 2
        (50, None, "gt50", "gt50"),
        (30, None, "lt50", "lt50"),
        (0, 70, "lt50", "none-gt50-involved"),
        (0, 40, "lt50", "none"),
        (0, None, "lt50", None),  # involvement unknown: unknown, not "none"
        (None, 80, "lt50", None),
    ],
)
def test_derive_collapse(
    collapse: float | None, involved: float | None, policy: str, expected: str | None
) -> None:
    assert derive_collapse(collapse, involved, policy) == expected


def test_derive_collapse_rejects_impossible_percent() -> None:
    with pytest.raises(ValueError):
        derive_collapse(120, None)
