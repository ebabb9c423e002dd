"""Precision and recall of the extractor on a labelled sentence corpus (JSON lines).

Each line: ``{"id", "text", "labels": {kind: {"value": "present"|"absent"|"uncertain",
"levels"?: [...], "percent"?: n}}}``; a kind not labelled is not stated in the sentence. Each
(sentence, kind) is one decision: what the extractor read (present / absent / uncertain / not
read) against the label. Used by scripts/narrative_metrics.py and the corpus test.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, TypeAdapter

from app.fhir.narrative.engine import Method
from app.fhir.narrative.extract import KINDS, extract

CLASSES = ("present", "absent", "uncertain")


def _label(value: bool | None) -> str:
    return "present" if value is True else "absent" if value is False else "uncertain"


@dataclass
class Counts:
    tp: int = 0
    fp: int = 0
    fn: int = 0

    @property
    def precision(self) -> float | None:
        return self.tp / (self.tp + self.fp) if self.tp + self.fp else None

    @property
    def recall(self) -> float | None:
        return self.tp / (self.tp + self.fn) if self.tp + self.fn else None


@dataclass
class Result:
    method: str
    sentences: int = 0
    counts: dict[tuple[str, str], Counts] = field(default_factory=dict)  # (kind, class)
    negated_read_present: list[str] = field(default_factory=list)  # ids
    errors: list[str] = field(default_factory=list)  # "s012 fracture: expected x, read y"
    level_checked: int = 0
    level_exact: int = 0
    percent_checked: int = 0
    percent_exact: int = 0
    seconds: float = 0.0

    def get(self, kind: str, cls: str) -> Counts:
        return self.counts.setdefault((kind, cls), Counts())

    def total(self, cls: str) -> Counts:
        out = Counts()
        for (_, c), n in self.counts.items():
            if c == cls:
                out.tp, out.fp, out.fn = out.tp + n.tp, out.fp + n.fp, out.fn + n.fn
        return out


class Label(BaseModel):
    """What one sentence states about one kind."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    value: Literal["present", "absent", "uncertain"]
    levels: list[str] | None = None  # the levels named, where the labeller checked them
    percent: float | None = None  # the height loss stated, where the labeller checked it


class Sentence(BaseModel):
    """One labelled sentence of the corpus; a kind not in ``labels`` is not stated."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    id: str
    text: str
    labels: dict[str, Label]


_SENTENCE = TypeAdapter(Sentence)


def load_corpus(path: Path) -> list[Sentence]:
    """The corpus, one validated ``Sentence`` per non-blank line."""
    lines = path.read_text(encoding="utf-8").splitlines()
    return [_SENTENCE.validate_python(json.loads(line)) for line in lines if line.strip()]


def evaluate(corpus: Iterable[Sentence], method: Method = "context") -> Result:
    result = Result(method)
    started = time.perf_counter()
    for item in corpus:
        result.sentences += 1
        read = {f.kind: f for f in extract(item.text, method)}
        labels = item.labels
        for kind in KINDS:
            label = labels.get(kind)
            gold = None if label is None else label.value
            found = read.get(kind)
            pred = None if found is None else _label(found.value)
            for cls in CLASSES:
                counts = result.get(kind, cls)
                if gold == cls and pred == cls:
                    counts.tp += 1
                elif pred == cls:
                    counts.fp += 1
                elif gold == cls:
                    counts.fn += 1
            if gold != pred:
                result.errors.append(f"{item.id} {kind}: expected {gold}, read {pred}")
            if gold == "absent" and pred == "present":
                result.negated_read_present.append(item.id)
            if found is not None and label is not None and gold == pred == "present":
                if label.levels is not None and kind == "fracture":
                    result.level_checked += 1
                    result.level_exact += list(found.levels) == label.levels
                if label.percent is not None:
                    result.percent_checked += 1
                    result.percent_exact += found.percent == label.percent
    result.seconds = time.perf_counter() - started
    return result
