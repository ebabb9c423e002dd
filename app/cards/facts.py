"""The derived values every card of one response reads (issue 9: never two cards that
disagree). Built once per assessment; the card families read these views and never the raw
assessment scores, so cord compression, etiology, the index level and the critical findings
are computed in exactly one place.

Each card also states, machine-readably, which findings it shows (``Stated``), so a test can
check that no two cards of one response disagree without matching strings.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TypedDict

from app.assessment.model import (
    Assessment,
    EsccGrade,
    MriLevelScore,
    SignEvidenceLevel,
    SinsLevelScore,
    VbqScore,
)
from app.clinical.escc import cord_compressed
from app.clinical.severity import CriticalFinding, EsccAtLevel, critical_findings
from app.clinical.tristate import Tri
from app.knowledge.schema import Knowledge

EXTENSION_KEY = "vcf-cds"  # card.extension key of the machine-readable part


class IssueRow(TypedDict):
    """An input skipped or read with a caveat: where (resource id, path) and why."""

    location: str
    message: str


class CardExtension(TypedDict, total=False):
    """The machine-readable part of a card (``card.extension["vcf-cds"]``; docs/cards.md).
    ``kit.card`` sets ``family`` and ``consultId`` and the stated findings; each family adds
    its own members (the dict keeps the order they are added in)."""

    family: str
    consultId: str
    findings: list[dict[str, str]]  # Stated.json()
    conflicts: list[dict[str, str]]
    order: str  # order-rating: "ServiceRequest/<id>"
    orders: list[str]  # the orders no ACR table can rate
    status: str  # order-rating status: rated | not-rated
    issues: list[IssueRow]
    variant: int
    category: str
    rating: list[int]  # [low, high]
    reason: str
    missing: list[str]
    critical: list[str]  # safety: the kinds of critical finding


@dataclass(frozen=True)
class CardFacts:
    """The typed scores the cards show, and the values composed once per assessment."""

    cord_compression: Tri  # Assessment.consensus: a stated sign or any ESCC grade 2-3
    escc: tuple[EsccGrade, ...]
    compressed: frozenset[str | None]  # levels whose ESCC grade is cord compression (2-3)
    etiology: str  # osteoporotic | pathological | unknown (Assessment.consensus)
    suspected_pathological: bool  # unknown cause but an MRI score suggests malignancy
    index_level: str | None  # SINS index level (highest SINS)
    sins: SinsLevelScore | None  # at the index level
    mri: tuple[MriLevelScore, ...]
    vbq: VbqScore | None
    red_flags: tuple[tuple[str, tuple[str, ...]], ...]  # (label, groups) of present flags
    critical: tuple[CriticalFinding, ...]
    sign_evidence: tuple[SignEvidenceLevel, ...]


def score_text(total: int | None, lo: int, hi: int) -> str:
    """'16', or '9-14' while components are unknown."""
    return str(total) if total is not None else f"{lo}-{hi}"


def card_facts(a: Assessment, k: Knowledge) -> CardFacts:
    """The one reading of an assessment that all cards share: the composed values come from
    ``Assessment.consensus`` (app/clinical/consensus.py), computed once per assessment."""
    escc = a.scores.escc
    sins = a.scores.sins.index
    v = a.scores.vbq
    red = tuple((h.label, tuple(h.groups)) for h in a.red_flags.present)
    critical = critical_findings(
        red,
        [EsccAtLevel(e.level, e.grade, e.high_grade) for e in escc],
        (sins.level, sins.category, score_text(sins.total, sins.min, sins.max)) if sins else None,
    )
    etiology = a.consensus.etiology
    return CardFacts(
        cord_compression=a.consensus.cord_compression.value,
        escc=escc,
        compressed=frozenset(e.level for e in escc if cord_compressed(e.grade, k.thresholds.escc)),
        etiology=etiology.value,
        suspected_pathological=etiology.suspected_pathological,
        index_level=a.consensus.index_level,
        sins=sins,
        mri=a.scores.mri_malignancy,
        vbq=v if isinstance(v, VbqScore) else None,
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
