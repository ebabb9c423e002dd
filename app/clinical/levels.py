"""Vertebral levels C1-C7, T1-T12, L1-L5, S1-S5 (clinical-rules 5; fhir-input code system)."""

from __future__ import annotations

from app.knowledge.schema import Anatomy


class LevelError(ValueError):
    """A label that is not a vertebral level the service accepts (e.g. L6, T13, coccyx)."""


def normalize_level(label: str, anatomy: Anatomy) -> str:
    """Return the canonical level (``"t12"`` -> ``"T12"``) or raise ``LevelError``."""
    candidate = label.strip().upper().replace(" ", "")
    if candidate in anatomy.levels():
        return candidate
    raise LevelError(
        f"{label!r} is not a vertebral level; expected one of C1-C7, T1-T12, L1-L5, S1-S5"
    )


def level_index(level: str, anatomy: Anatomy) -> int:
    """Position of a canonical level from the skull down (C1 = 0)."""
    return anatomy.levels().index(level)
