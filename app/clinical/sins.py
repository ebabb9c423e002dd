"""Spinal Instability Neoplastic Score (seed 004 Table 3; categories seeds 002-004).

Location points come from the level (junctional 3, mobile 2, semi-rigid 1, rigid 0). Unknown
components give a [min, max] range; a category is given only when every completion falls in
one band. With several lesions the index level is the highest total (seed 002 Methods).
"""

from __future__ import annotations

from dataclasses import dataclass

from app.clinical.fast_init import fast_init
from app.clinical.levels import normalize_level
from app.clinical.scoring import AdditiveScore, score_components
from app.knowledge.per_object import PerObject
from app.knowledge.schema import Knowledge, SinsKnowledge


@fast_init
@dataclass(frozen=True)
class SinsInput:
    level: str
    pain: str | None = None  # mechanical | occasional | none
    lesion: str | None = None  # lytic | mixed | blastic
    alignment: str | None = None  # subluxation | deformity | normal
    collapse: str | None = None  # gt50 | lt50 | none-gt50-involved | none
    posterolateral: str | None = None  # bilateral | unilateral | none


@fast_init
@dataclass(frozen=True)
class SinsResult:
    level: str
    location_class: str
    score: AdditiveScore
    category: str | None
    possible_categories: tuple[str, ...]
    action: str | None

    @property
    def total(self) -> int | None:
        return self.score.total


@dataclass(frozen=True)
class _Bands:
    """Per SINS knowledge object (frozen): what ``score_sins`` looked up by scanning lists."""

    sins: SinsKnowledge
    location: dict[str, str]  # level -> location class (first class listing it)
    category: dict[int, str]  # total -> category id (first band containing it)
    order: dict[str, int]  # category id -> position
    action: dict[str, str]  # category id -> action (first category with that id)


def _make_bands(sins: SinsKnowledge) -> _Bands:
    """The lookups of one SINS knowledge object."""
    location: dict[str, str] = {}
    for cls, levels in sins.location_classes.items():
        for level in levels:
            location.setdefault(level, cls)
    category: dict[int, str] = {}
    for cat in sins.categories:
        for total in range(cat.range[0], cat.range[1] + 1):
            category.setdefault(total, cat.id)
    order: dict[str, int] = {}
    action: dict[str, str] = {}
    for i, cat in enumerate(sins.categories):
        order.setdefault(cat.id, i)
        action.setdefault(cat.id, cat.action)
    return _Bands(sins, location, category, order, action)


_bands = PerObject(_make_bands)  # per SINS knowledge object


def location_class(level: str, sins: SinsKnowledge) -> str:
    """Junctional / mobile / semi-rigid / rigid for a canonical level (seed 004 Table 3)."""
    for cls, levels in sins.location_classes.items():
        if level in levels:
            return cls
    raise ValueError(f"level {level} has no SINS location class")


def category_of(total: int, sins: SinsKnowledge) -> str:
    for cat in sins.categories:
        if cat.range[0] <= total <= cat.range[1]:
            return cat.id
    raise ValueError(f"SINS total {total} outside every category")


def score_sins(inp: SinsInput, knowledge: Knowledge) -> SinsResult:
    """Score one level. Raises ``LevelError`` for levels outside C1-S5, ValueError for bad codes."""
    sins = knowledge.sins
    bands = _bands(sins)
    level = normalize_level(inp.level, knowledge.anatomy)
    loc = bands.location.get(level)
    if loc is None:
        loc = location_class(level, sins)  # raises: the level has no class
    score = score_components(
        sins.components,
        {
            "location": loc,
            "pain": inp.pain,
            "lesion": inp.lesion,
            "alignment": inp.alignment,
            "collapse": inp.collapse,
            "posterolateral": inp.posterolateral,
        },
    )
    by_total = bands.category
    possible = sorted(
        {by_total[t] if t in by_total else category_of(t, sins) for t in score.achievable},
        key=bands.order.__getitem__,
    )
    category = possible[0] if len(possible) == 1 else None
    action = bands.action.get(category) if category is not None else None
    return SinsResult(level, loc, score, category, tuple(possible), action)


def index_level(results: list[SinsResult]) -> SinsResult | None:
    """The lesion with the highest SINS (seed 002 Methods).

    With unknown components the comparison uses the certain minimum, then the maximum, then
    the cranio-caudal order, so the choice is deterministic; callers report ranges anyway.
    """
    if not results:
        return None
    return max(results, key=lambda r: (r.score.min, r.score.max, -results.index(r)))


def derive_collapse(
    collapse_percent: float | None,
    body_involvement_percent: float | None,
    exactly_50: str = "lt50",
) -> str | None:
    """Collapse category from measurements (seed 004 Table 3; policy sins_collapse_exactly_50).

    > 50 % -> gt50; 0 < x < 50 % -> lt50; exactly 50 % -> the policy value; no collapse with
    > 50 % of the body involved -> none-gt50-involved; no collapse and <= 50 % involved -> none.
    Unknown when the needed measurement is missing.
    """
    if collapse_percent is None:
        return None
    if collapse_percent < 0 or collapse_percent > 100:
        raise ValueError("collapse percent must be within 0-100")
    if collapse_percent > 50:
        return "gt50"
    if collapse_percent == 50:
        return exactly_50
    if collapse_percent > 0:
        return "lt50"
    if body_involvement_percent is None:
        return None
    return "none-gt50-involved" if body_involvement_percent > 50 else "none"
