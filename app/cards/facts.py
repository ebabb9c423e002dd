"""The derived values every card of one response reads (issue 9: never two cards that
disagree). Built once per assessment; the card families read these views and never the raw
assessment scores, so cord compression, etiology, the index level and the critical findings
are computed in exactly one place.

Each card also states, machine-readably, which findings it shows (``Stated``), so a test can
check that no two cards of one response disagree without matching strings.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from app.assessment.model import Assessment, SignEvidenceLevel, VbqScore
from app.clinical.escc import cord_compressed
from app.clinical.severity import CriticalFinding, EsccAtLevel, critical_findings
from app.clinical.tristate import Tri
from app.knowledge.schema import Knowledge

EXTENSION_KEY = "vcf-cds"  # card.extension key of the machine-readable part


@dataclass(frozen=True)
class Escc:
    level: str | None
    grade: str
    description: str
    high_grade: bool
    compressed: bool  # the cord itself is compressed (grades 2-3)
    implication: str


@dataclass(frozen=True)
class Sins:
    level: str
    score: str  # "16" or "9-14" when components are unknown
    category: str | None  # None: undetermined
    possible: tuple[str, ...]
    action: str | None
    points: dict[str, int | None]
    missing: tuple[str, ...]


@dataclass(frozen=True)
class Mri:
    level: str | None
    score: str
    cutoff: int
    classification: str
    points: dict[str, int | None]
    fluid_cleft: bool
    contrast_known: bool


@dataclass(frozen=True)
class Vbq:
    value: float
    cutoff: float
    elevated: bool
    levels_used: tuple[str, ...]


@dataclass(frozen=True)
class CardFacts:
    cord_compression: Tri  # composed: the stated sign or any ESCC grade 2-3, at any level
    escc: tuple[Escc, ...]
    etiology: str  # osteoporotic | pathological | unknown (the clinical state)
    suspected_pathological: bool  # unknown cause but an MRI score suggests malignancy
    index_level: str | None  # SINS index level (highest SINS)
    sins: Sins | None  # at the index level
    mri: tuple[Mri, ...]
    vbq: Vbq | None
    red_flags: tuple[tuple[str, tuple[str, ...]], ...]  # (label, groups) of present flags
    critical: tuple[CriticalFinding, ...]
    sign_evidence: tuple[SignEvidenceLevel, ...]


def _score_text(total: int | None, lo: int, hi: int) -> str:
    return str(total) if total is not None else f"{lo}-{hi}"


def card_facts(a: Assessment, k: Knowledge) -> CardFacts:
    """The one reading of an assessment that all cards share: the composed values come from
    ``Assessment.consensus`` (app/clinical/consensus.py), computed once per assessment."""
    esc = k.thresholds.escc
    escc = tuple(
        Escc(
            e.level,
            e.grade,
            e.description,
            e.high_grade,
            cord_compressed(e.grade, esc),
            e.implication,
        )
        for e in a.scores.escc
    )
    index_level = a.consensus.index_level
    idx = next((s for s in a.scores.sins.levels if s.level == index_level), None)
    sins = (
        Sins(
            idx.level,
            _score_text(idx.total, idx.min, idx.max),
            idx.category,
            tuple(idx.possible_categories),
            idx.action,
            dict(idx.points),
            tuple(idx.missing),
        )
        if idx is not None
        else None
    )
    mri = tuple(
        Mri(
            m.level,
            _score_text(m.total, m.min, m.max),
            m.cutoff,
            m.classification,
            dict(m.points),
            m.points.get("fluid_cleft") not in (None, 0),
            "contrast-enhancement" not in m.missing,
        )
        for m in a.scores.mri_malignancy
    )
    v = a.scores.vbq
    vbq = (
        Vbq(v.vbq, v.cutoff, v.elevated_risk, tuple(v.levels_used))
        if isinstance(v, VbqScore)
        else None
    )
    red = tuple((h.label, tuple(h.groups)) for h in a.red_flags.present)
    critical = critical_findings(
        red,
        [EsccAtLevel(e.level, e.grade, e.high_grade) for e in escc],
        (sins.level, sins.category, sins.score) if sins else None,
    )
    etiology = a.consensus.etiology
    return CardFacts(
        cord_compression=a.consensus.cord_compression.value,
        escc=escc,
        etiology=etiology.value,
        suspected_pathological=etiology.suspected_pathological,
        index_level=index_level,
        sins=sins,
        mri=mri,
        vbq=vbq,
        red_flags=red,
        critical=tuple(critical),
        sign_evidence=a.scores.sign_evidence,
    )


@dataclass
class Stated:
    """The findings one card shows, machine-readably: (finding, level) -> value."""

    values: dict[tuple[str, str | None], str] = field(default_factory=dict)
    conflicts: list[dict[str, str]] = field(default_factory=list)

    def add(self, finding: str, level: str | None, value: object) -> None:
        text = (
            "unknown"
            if value is None
            else (str(value).lower() if isinstance(value, bool) else str(value))
        )
        key = (finding, level)
        if self.values.get(key, text) != text:  # a card contradicting itself: a defect
            self.conflicts.append(_row(finding, level, text))
            return
        self.values[key] = text

    def json(self) -> list[dict[str, str]]:
        return [_row(f, lv, v) for (f, lv), v in self.values.items()]


def _row(finding: str, level: str | None, value: str) -> dict[str, str]:
    return {"finding": finding, "value": value} | ({"level": level} if level else {})
