"""Vertebral levels C1-C7, T1-T12, L1-L5, S1-S5 (clinical-rules 5; fhir-input code system)."""

from __future__ import annotations

from app.knowledge.per_object import PerObject
from app.knowledge.schema import Anatomy


class LevelError(ValueError):
    """A label that is not a vertebral level the service accepts (e.g. L6, T13, coccyx)."""


def _make_positions(anatomy: Anatomy) -> dict[str, int]:
    """``level -> position`` of ``anatomy.levels()`` (which builds its list anew on each call)."""
    positions: dict[str, int] = {}
    for i, level in enumerate(anatomy.levels()):
        positions.setdefault(level, i)  # the first, as list.index gives it
    return positions


_positions = PerObject(_make_positions)  # per (frozen) anatomy object


def normalize_level(label: str, anatomy: Anatomy) -> str:
    """Return the canonical level (``"t12"`` -> ``"T12"``) or raise ``LevelError``."""
    candidate = label.strip().upper().replace(" ", "")
    if candidate in _positions(anatomy):
        return candidate
    raise LevelError(
        f"{label!r} is not a vertebral level; expected one of C1-C7, T1-T12, L1-L5, S1-S5"
    )


def level_index(level: str, anatomy: Anatomy) -> int:
    """Position of a canonical level from the skull down (C1 = 0)."""
    position = _positions(anatomy).get(level)
    if position is None:
        raise ValueError(f"{level!r} is not in list")  # what list.index raised
    return position
