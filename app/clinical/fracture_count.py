"""How many vertebrae are fractured: ``multiple_vcfs`` (clinical-rules 1.1; fhir-input.md
"Other resources").

True when the documented fractures name more than one level (any sources together). False only
when a source enumerates the fractures completely (``FractureEnumeration``: one RadElement
assessment or one final spine imaging report) and, with every other documented level, one level
or none is named. An explicit ``multiple-vcfs`` finding decides when the levels do not. Anything
else is unknown: one question (how many vertebrae are fractured) settles it.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime

from app.clinical.fast_init import fast_init
from app.clinical.findings import FractureEnumeration
from app.clinical.tristate import Tri

_OLDEST = datetime.min.replace(tzinfo=UTC)


@fast_init
@dataclass(frozen=True)
class FractureCount:
    value: Tri
    levels: tuple[str, ...]  # every fractured level known, sorted
    basis: str  # "levels" | "finding" | "complete-enumeration" | "unknown"
    enumeration: FractureEnumeration | None = None


def _when(e: FractureEnumeration) -> datetime:
    moment = e.effective
    if moment is None:
        return _OLDEST
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def count_fractures(
    documented_levels: Iterable[str],
    stated: Tri,
    enumerations: Iterable[FractureEnumeration],
) -> FractureCount:
    """``documented_levels``: levels with a fracture from any source; ``stated``: the
    ``multiple-vcfs`` finding; ``enumerations``: complete lists (the newest counts)."""
    complete = list(enumerations)
    latest = max((_when(e) for e in complete), default=None)
    newest_all = [e for e in complete if _when(e) == latest]  # lists of the same moment: all
    newest = newest_all[0] if newest_all else None
    levels = set(documented_levels)
    for e in newest_all:
        levels |= set(e.levels)
    ordered = tuple(sorted(levels))
    if len(levels) > 1:
        return FractureCount(True, ordered, "levels", newest)
    if stated is not None:
        return FractureCount(stated, ordered, "finding", newest)
    if newest is not None:
        return FractureCount(False, ordered, "complete-enumeration", newest)
    return FractureCount(None, ordered, "unknown")
