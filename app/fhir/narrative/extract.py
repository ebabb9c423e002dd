"""Report narrative -> ``TextFinding``s (one per finding kind per sentence).

Findings read (issue 8 item 4): fracture and its levels, acuity (acute/subacute/new -> acute,
chronic/old/healed -> not acute, "indeterminate age" -> unknown), marrow edema, height loss
(with its percentage), multiple fractures (an explicit "multiple/multilevel/numerous", or
fractures at two or more levels in one sentence; "solitary" -> not multiple, "no additional
fractures" -> not multiple), retropulsion, cord compression, epidural mass, pedicle / posterior
element involvement, fluid cleft, vacuum phenomenon, paraspinal mass.

Values: asserted -> true, negated ("no retropulsion") -> false, uncertain ("possible", "cannot
exclude", "may represent") -> ``None`` (unknown); hypothetical mentions ("if there is concern
for fracture") are not findings. Levels are those the sentence names.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from functools import lru_cache

from pydantic import BaseModel, ConfigDict, TypeAdapter

from app.fhir.narrative.engine import DATA, Mention, Method, mentions
from app.fhir.narrative.levels import levels_in

KINDS = (
    "fracture",
    "acuity",
    "marrow_edema",
    "height_loss",
    "multiple",
    "retropulsion",
    "cord_compression",
    "epidural_mass",
    "posterior_element",
    "fluid_cleft",
    "vacuum",
    "paraspinal_mass",
)
_ACUTE = frozenset({"acute", "subacute", "new", "recent"})
_CHRONIC = frozenset({"chronic", "old", "healed", "remote"})
_MULTIPLE = frozenset({"multiple", "multilevel", "numerous", "several"})
_ADDITIONAL = frozenset({"additional", "other", "further"})
_SINGLE = frozenset({"solitary", "single", "isolated"})
_PERCENT = re.compile(r"(\d{1,3}(?:\.\d+)?)\s*(?:%|percent\b)", re.I)
_WORD = re.compile(r"[a-z]+")


@dataclass(frozen=True)
class TextFinding:
    """One finding read from one sentence of a report narrative."""

    kind: str  # one of KINDS
    value: bool | None  # None: stated as uncertain
    levels: tuple[str, ...]  # vertebral levels the sentence names
    sentence: str  # the sentence, as written
    percent: float | None = None  # height loss
    pedicle: bool = False  # posterior_element: the pedicle is named


class ContextWords(BaseModel):
    """Words that must (``after``) or must not (``not_after``) follow a kind's target within
    ``window`` words (targets.json ``context_words``)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    window: int
    after: frozenset[str] | None = None
    not_after: frozenset[str] | None = None


_CONTEXT_WORDS = TypeAdapter(dict[str, ContextWords])


@lru_cache(maxsize=1)
def _context_words() -> dict[str, ContextWords]:
    data = json.loads((DATA / "targets.json").read_text(encoding="utf-8"))
    return _CONTEXT_WORDS.validate_python(data["context_words"])


def _kept(m: Mention) -> bool:
    """Kind-specific checks on the words after the target ("epidural" needs "mass"...)."""
    rule = _context_words().get(m.kind)
    if m.kind == "ignore" or m.status == "hypothetical":
        return False
    if rule is None:
        return True
    window = m.following[: rule.window]
    if rule.after is not None and not any(w in rule.after for w in window):
        return False
    return not (rule.not_after is not None and any(w in rule.not_after for w in window))


def _value(status: str) -> bool | None:
    return True if status == "present" else False if status == "absent" else None


def _combine(values: list[bool | None]) -> bool | None:
    """One value per kind per sentence: agreeing values stand; true beats unknown; a true and
    a false (or a false and an unknown) give unknown."""
    kinds = set(values)
    if len(kinds) == 1:
        return values[0]
    return True if kinds == {True, None} else None


def _percent(m: Mention, text: str) -> float | None:
    """The percentage nearest to the height-loss words in their sentence."""
    lo = m.sentence_start  # a sentence starts at a token: no leading white space
    best: tuple[int, float] | None = None
    for match in _PERCENT.finditer(text, lo, lo + len(m.sentence)):
        distance = min(abs(match.start() - m.end), abs(match.end() - m.start))
        value = float(match.group(1))
        if 0 <= value <= 100 and (best is None or distance < best[0]):
            best = (distance, value)
    return None if best is None else best[1]


class _Sentence:
    def __init__(self, sentence: str, levels: tuple[str, ...]) -> None:
        self.sentence = sentence
        self.levels = levels
        self.values: dict[str, list[bool | None]] = {}
        self.percent: float | None = None
        self.pedicle = False

    def add(self, kind: str, value: bool | None) -> None:
        self.values.setdefault(kind, []).append(value)

    def fracture(self, m: Mention) -> None:
        words = set(_WORD.findall(m.text.lower()))
        value = _value(m.status)
        if words & _ADDITIONAL:  # "no additional fractures": about the count, not the level
            self.add("multiple", value)
            if value is not False:
                self.add("fracture", value)
            return
        self.add("fracture", value)
        if words & _MULTIPLE or (len(self.levels) >= 2 and value is not False):
            self.add("multiple", value)
        elif words & _SINGLE and value is True:
            self.add("multiple", False)
        if words & _ACUTE:
            self.add("acuity", value)
        elif words & _CHRONIC and value is not False:
            self.add("acuity", False if value else None)

    def acuity(self, m: Mention) -> None:
        value = _value(m.status)
        if m.fixed is True:
            self.add("acuity", value)
        elif m.fixed is False:
            if value is not False:
                self.add("acuity", False if value else None)
        else:
            self.add("acuity", None)

    def findings(self) -> list[TextFinding]:
        out = []
        for kind in KINDS:
            if kind not in self.values:
                continue
            value = _combine(self.values[kind])
            percent = self.percent if kind == "height_loss" and value is True else None
            pedicle = self.pedicle if kind == "posterior_element" else False
            out.append(TextFinding(kind, value, self.levels, self.sentence, percent, pedicle))
        return out


def extract(text: str, method: Method = "context") -> list[TextFinding]:
    """The findings stated in a report narrative, sentence by sentence (pure, synchronous)."""
    by_sentence: dict[int, list[Mention]] = {}
    for m in mentions(text, method):
        if _kept(m):
            by_sentence.setdefault(m.sentence_start, []).append(m)
    out: list[TextFinding] = []
    for start in sorted(by_sentence):
        group = by_sentence[start]
        sentence = _Sentence(group[0].sentence, levels_in(group[0].sentence))
        has_fracture = any(m.kind in ("fracture", "marrow_edema") for m in group)
        for m in group:
            if m.kind == "fracture":
                sentence.fracture(m)
            elif m.kind == "acuity":
                if has_fracture:  # "acute" alone is about the fracture of the sentence
                    sentence.acuity(m)
            elif m.kind == "height_loss" and m.fixed is False:
                sentence.add("height_loss", False if m.status != "uncertain" else None)
            else:
                sentence.add(m.kind, _value(m.status))
                if m.kind == "height_loss" and m.status == "present":
                    sentence.percent = sentence.percent or _percent(m, text)
                if m.kind == "posterior_element" and "pedicle" in m.text.lower():
                    sentence.pedicle = True
        out.extend(sentence.findings())
    return out


@lru_cache(maxsize=512)
def extract_cached(text: str) -> tuple[TextFinding, ...]:
    """``extract(text)`` remembered for the last 512 narratives: EHRs send the same reports
    with every hook call (each selection change, each chart opening). Results are immutable."""
    return tuple(extract(text))
