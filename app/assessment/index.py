"""Lookup of findings by code and level."""

from __future__ import annotations

from collections.abc import Iterable

from app.clinical.findings import Finding, FindingValue


class FindingIndex:
    """Findings keyed by (code, level); the adapter already keeps the newest per key."""

    def __init__(self, findings: Iterable[Finding]) -> None:
        by_key: dict[tuple[str, str | None], Finding] = {}
        levels: dict[str, list[str | None]] = {}
        at: dict[str | None, dict[str, Finding]] = {}  # ``at``'s maps, in the same pass
        for f in findings:
            code, level = f.code, f.level
            by_key[(code, level)] = f
            found = levels.get(code)
            if found is None:
                levels[code] = [level]
            elif level not in found:
                found.append(level)
            here = at.get(level)
            if here is None:
                at[level] = {code: f}
            else:
                here[code] = f
        self._by_key = by_key
        self._levels = levels
        self._at = at

    # the rules make about a hundred lookups per assessment: each accessor is one dict lookup
    # (no chain of calls)

    def at(self, level: str | None) -> dict[str, Finding]:
        """``code -> finding`` at one level (do not modify): ``at(level).get(code)`` is
        ``get(code, level)``, for rules that read many codes at a level."""
        found = self._at.get(level)
        if found is None:
            found = self._at[level] = {}
        return found

    def get(self, code: str, level: str | None = None) -> Finding | None:
        return self._by_key.get((code, level))

    def value(self, code: str, level: str | None = None) -> FindingValue | None:
        f = self._by_key.get((code, level))
        return None if f is None else f.value

    def all(self, code: str) -> list[Finding]:
        levels = self._levels.get(code)
        if not levels:
            return []
        by_key = self._by_key
        return [by_key[(code, lv)] for lv in levels]

    def levels_with(self, codes: Iterable[str]) -> list[str | None]:
        out: list[str | None] = []
        for code in codes:
            for lv in self._levels.get(code, ()):
                if lv not in out:
                    out.append(lv)
        return out

    def boolean(self, code: str, level: str | None = None) -> bool | None:
        f = self._by_key.get((code, level))
        if f is None:
            return None
        v = f.value
        return v if isinstance(v, bool) else None

    def number(self, code: str, level: str | None = None) -> float | None:
        f = self._by_key.get((code, level))
        if f is None:
            return None
        return as_number(f.value)

    def text(self, code: str, level: str | None = None) -> str | None:
        f = self._by_key.get((code, level))
        if f is None:
            return None
        v = f.value
        return v if isinstance(v, str) else None

    def any_boolean(self, code: str) -> tuple[bool | None, tuple[str, ...]]:
        """Across levels: True if any is True; False only if some are False and none True."""
        levels = self._levels.get(code)
        if not levels:
            return None, ()
        if len(levels) == 1:  # the usual case: one finding of this code
            f = self._by_key[(code, levels[0])]
            v = f.value
            if v is True or v is False:
                return v, f.sources
            if not isinstance(v, bool):
                return None, ()
        found = [f for lv in levels if isinstance((f := self._by_key[(code, lv)]).value, bool)]
        trues = [f for f in found if f.value is True]
        if trues:
            return True, tuple(s for f in trues for s in f.sources)
        if found:
            return False, tuple(s for f in found for s in f.sources)
        return None, ()

    def sources(self, code: str, level: str | None = None) -> tuple[str, ...]:
        f = self._by_key.get((code, level))
        return () if f is None else f.sources


def as_number(value: FindingValue | None) -> float | None:
    """A numeric finding value as a float (booleans and text are no numbers)."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return float(value)
