"""Additive scores with unknown components: exact ranges and achievable totals.

Shared by the SINS (seed 004 Table 3) and the MRI malignancy score (seed 000): each component
contributes the points of its known value, or any of its possible points when unknown.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from app.clinical.fast_init import fast_init
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


def score_components(items: list[ScoredItem], values: Mapping[str, str | None]) -> AdditiveScore:
    """Score ``values`` (component id -> option key or None) against the item tables.

    ``min``/``max`` are tight bounds over every completion of the unknowns and ``achievable``
    is the exact set of totals those completions give.
    """
    comps: list[ComponentScore] = []
    achievable: set[int] = {0}
    missing: list[str] = []
    for item in items:
        value = values.get(item.id)
        if value is None:
            options = set(item.points.values())
            comps.append(ComponentScore(item.id, None, None))
            missing.append(item.id)
        else:
            if value not in item.points:
                raise ValueError(f"{item.id}: {value!r} is not one of {sorted(item.points)}")
            options = {item.points[value]}
            comps.append(ComponentScore(item.id, value, item.points[value]))
        achievable = {a + o for a in achievable for o in options}
    total = None if missing else next(iter(achievable))
    return AdditiveScore(
        components=tuple(comps),
        total=total,
        min=min(achievable),
        max=max(achievable),
        achievable=frozenset(achievable),
        missing=tuple(missing),
    )
