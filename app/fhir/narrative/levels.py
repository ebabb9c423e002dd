"""Vertebral levels named in report text: "L1", "T12-L1", "T11 and T12", "L1 through L3".

"T1"/"T2" naming an MRI sequence ("T2-weighted", "T2 signal") is not a level.
A hyphen or "through"/"to" between two vertebrae is a range of vertebrae ("T11-L2" is T11, T12,
L1, L2); disc levels written with a bare number ("L4-5") are not vertebrae and are skipped.
Levels outside C1-S5 are ignored (the text is not an input error).
"""

from __future__ import annotations

import re

_REGIONS = (("C", 7), ("T", 12), ("L", 5), ("S", 5))
ORDER: tuple[str, ...] = tuple(f"{r}{n}" for r, count in _REGIONS for n in range(1, count + 1))
_INDEX = {level: i for i, level in enumerate(ORDER)}
_LEVEL = r"\b([CTLS])(\d{1,2})\b"
_RANGE = re.compile(_LEVEL + r"\s*(?:-|–|through|thru|to)\s*" + r"([CTLS])(\d{1,2})\b", re.I)
_SINGLE = re.compile(_LEVEL + r"(?!\s*-\s*\d)", re.I)
# "T1"/"T2" followed by these words are MRI sequences, not vertebrae
_SEQUENCE_AFTER = re.compile(
    r"^\s*(?:-\s*)?(?:weighted|signal|hyper|hypo|imag|sequence|stir|flair|and\s+(?:t[12]|stir|flair)\b|,\s*t[12]\b"
    r"|post|fat|bright|dark|shine|map|relax|intens)",
    re.I,
)
_DISC_AFTER = re.compile(r"^\s*(?:disc|disk|intervertebral|interspace|level)", re.I)


def _level(region: str, number: str) -> str | None:
    level = f"{region.upper()}{int(number)}"
    return level if level in _INDEX else None


def levels_in(text: str) -> tuple[str, ...]:
    """Canonical levels named in ``text``, in spinal order, each once."""
    found: set[str] = set()
    covered: list[tuple[int, int]] = []
    for m in _RANGE.finditer(text):
        covered.append(m.span())
        if _DISC_AFTER.match(text[m.end() :]):
            continue  # "L4-L5 disc": a disc level, not two vertebrae
        first, last = _level(m.group(1), m.group(2)), _level(m.group(3), m.group(4))
        if first is None or last is None:
            continue
        lo, hi = sorted((_INDEX[first], _INDEX[last]))
        if hi - lo <= 6:  # a longer "range" is more likely two separate mentions
            found.update(ORDER[lo : hi + 1])
        else:
            found.update((first, last))
    for m in _SINGLE.finditer(text):
        if any(start <= m.start() < end for start, end in covered):
            continue
        level = _level(m.group(1), m.group(2))
        if level in ("T1", "T2") and _SEQUENCE_AFTER.match(text[m.end() :]):
            continue
        if level is not None:
            found.add(level)
    return tuple(sorted(found, key=_INDEX.__getitem__))
