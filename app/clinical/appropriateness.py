"""Appropriateness of an ordered ACR procedure under a variant (clinical-rules 1.5; seed 003)."""

from __future__ import annotations

from dataclasses import dataclass

from app.knowledge.per_object import BoundedMemo, PerObject
from app.knowledge.schema import Knowledge

USUALLY_APPROPRIATE = "Usually Appropriate"
USUALLY_NOT_APPROPRIATE = "Usually Not Appropriate"


@dataclass(frozen=True)
class Alternative:
    name: str
    category: str
    rating_range: tuple[int, int]
    relative_radiation_level: str | None


@dataclass(frozen=True)
class Rating:
    variant: int
    procedure: str
    category: str | None  # None = not rated under this variant
    rating_range: tuple[int, int] | None
    alternatives: tuple[Alternative, ...]
    reason: str | None  # why not rated


_MAX_RATINGS = 1024  # (procedure, variant) pairs per knowledge object; emptied when full


def _new_memo(_knowledge: Knowledge) -> BoundedMemo[tuple[str, int], Rating]:
    return BoundedMemo(_MAX_RATINGS)


_ratings = PerObject(_new_memo)  # one memo per knowledge object


def rate(procedure: str, variant_id: int, knowledge: Knowledge) -> Rating:
    """``_rate`` remembered per knowledge object (frozen; a Rating is immutable): at most
    4 objects (``PerObject``) and ``_MAX_RATINGS`` pairs each (the ACR tables have a few
    hundred). Errors are not remembered."""
    memo = _ratings(knowledge)
    rating = memo.get((procedure, variant_id))
    if rating is None:
        rating = memo.put((procedure, variant_id), _rate(procedure, variant_id, knowledge))
    return rating


def _rate(procedure: str, variant_id: int, knowledge: Knowledge) -> Rating:
    """Category and rating range of ``procedure`` under ``variant_id``.

    A procedure not listed for the variant is "not rated", never "appropriate". For anything
    short of Usually Appropriate, the alternatives are the variant's Usually Appropriate
    procedures (other than the one ordered), in seed order.
    """
    variant = knowledge.variant(variant_id)
    if variant is None:
        raise ValueError(f"no ACR variant {variant_id}")
    procs = {p.name: p for p in knowledge.acr.procedures}
    listed = {p.name: p.category for p in variant.procedures}
    alternatives = tuple(
        Alternative(
            p.name,
            p.category,
            knowledge.category(p.category).rating_range,
            procs[p.name].relative_radiation_level,
        )
        for p in variant.procedures
        if p.category == USUALLY_APPROPRIATE and p.name != procedure
    )
    if procedure not in listed:
        return Rating(
            variant_id,
            procedure,
            None,
            None,
            alternatives,
            f"'{procedure}' is not listed for Variant {variant_id} in seed 003",
        )
    category = listed[procedure]
    alts = () if category == USUALLY_APPROPRIATE else alternatives
    return Rating(
        variant_id, procedure, category, knowledge.category(category).rating_range, alts, None
    )
