"""Additive scores with unknown components: exact ranges and achievable totals.

Shared by the SINS (seed 004 Table 3) and the MRI malignancy score (seed 000): each component
contributes the points of its known value, or any of its possible points when unknown.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from app.clinical.fast_init import fast_init
from app.knowledge.per_object import PerObject
from app.knowledge.schema import ScoredItem


@fast_init
@dataclass(frozen=True)
class ComponentScore:
    id: str
    value: str | None
    points: int | None


@fast_init
@dataclass(frozen=True)
class AdditiveScore:
    components: tuple[ComponentScore, ...]
    total: int | None
    min: int
    max: int
    achievable: frozenset[int]
    missing: tuple[str, ...]

    @property
    def points(self) -> dict[str, int | None]:
        return {c.id: c.points for c in self.components}


def _make_plan(items: list[ScoredItem]) -> tuple[tuple[str, dict[str, int], frozenset[int]], ...]:
    """Per item: its id, its points by option and the set of its possible points."""
    return tuple((item.id, item.points, frozenset(item.points.values())) for item in items)


_plans = PerObject(_make_plan)  # per item list of a (frozen) knowledge object


def score_components(items: list[ScoredItem], values: Mapping[str, str | None]) -> AdditiveScore:
    """Score ``values`` (component id -> option key or None) against the item tables.

    ``min``/``max`` are tight bounds over every completion of the unknowns and ``achievable``
    is the exact set of totals those completions give.
    """
    comps: list[ComponentScore] = []
    achievable: set[int] = {0}
    missing: list[str] = []
    for item_id, points, options in _plans(items):
        value = values.get(item_id)
        if value is None:
            comps.append(ComponentScore(item_id, None, None))
            missing.append(item_id)
            achievable = {a + o for a in achievable for o in options}
        else:
            got = points.get(value)
            if got is None:
                raise ValueError(f"{item_id}: {value!r} is not one of {sorted(points)}")
            comps.append(ComponentScore(item_id, value, got))
            achievable = {a + got for a in achievable}
    total = None if missing else next(iter(achievable))
    return AdditiveScore(
        components=tuple(comps),
        total=total,
        min=min(achievable),
        max=max(achievable),
        achievable=frozenset(achievable),
        missing=tuple(missing),
    )
