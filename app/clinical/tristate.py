"""Three-valued (Kleene) logic: ``None`` means unknown and is never read as ``False``."""

from __future__ import annotations

from collections.abc import Iterable

Tri = bool | None


def tri_all(values: Iterable[Tri]) -> Tri:
    """False if any is False, else None if any is unknown, else True."""
    seen_unknown = False
    for v in values:
        if v is False:
            return False
        if v is None:
            seen_unknown = True
    return None if seen_unknown else True


def tri_any(values: Iterable[Tri]) -> Tri:
    """True if any is True, else None if any is unknown, else False."""
    seen_unknown = False
    for v in values:
        if v is True:
            return True
        if v is None:
            seen_unknown = True
    return None if seen_unknown else False


def tri_not(value: Tri) -> Tri:
    return None if value is None else not value


def tri_compare(value: float | None, op: str, threshold: float) -> Tri:
    """Compare a possibly unknown number with a threshold (``<``, ``<=``, ``>``, ``>=``, ``==``)."""
    if value is None:
        return None
    match op:
        case "<":
            return value < threshold
        case "<=":
            return value <= threshold
        case ">":
            return value > threshold
        case ">=":
            return value >= threshold
        case "==":
            return value == threshold
    raise ValueError(f"unknown comparison {op!r}")
