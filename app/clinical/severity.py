"""Which findings are critical - they need action now, whatever was ordered - and the card
indicator that follows from them. The rules, each with its source:

- Red flags of the epidural spinal cord compression group (cauda equina syndrome, progressive
  or severe neurologic deficit): ACR Appropriateness Criteria, Management of Vertebral
  Compression Fractures, Appendix 1; Montoya-Bordón et al. 2023, Figure 1.
- High-grade epidural spinal cord compression (ESCC 2-3; 1c when policy escc_1c = high):
  "requires minimal initial surgical decompression of the epidural space" (Montoya-Bordón et
  al. 2023, ESCC scale of Bilsky et al., J Neurosurg Spine 2010).
- Unstable spine, SINS 13-18: "warrants urgent surgical intervention" (Montoya-Bordón et al.
  2023, Table 3 and text; Fourney et al., J Clin Oncol 2011).

Potentially unstable spine (SINS 7-12), a malignant-looking MRI score and other red flags are
warnings: they change the work-up but are shown in the summary, not as their own card.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Literal

from app.clinical.fast_init import fast_init

Indicator = Literal["info", "warning", "critical"]
CriticalKind = Literal["red-flag", "high-grade-escc", "unstable-spine"]

URGENT_RED_FLAG_GROUP = "epidural-cord-compression"  # ACR Appendix 1 group id (red_flags.json)
UNSTABLE_SINS_CATEGORY = "unstable"  # sins.json category id (13-18)
WARNING_SINS_CATEGORY = "potentially_unstable"  # sins.json category id (7-12)
CITATION_KEYS: dict[CriticalKind, str] = {  # card_policy.json citations
    "red-flag": "red-flags",
    "high-grade-escc": "escc",
    "unstable-spine": "sins",
}


@dataclass(frozen=True)
class CriticalFinding:
    kind: CriticalKind
    level: str | None  # vertebral level, when the finding has one
    detail: str  # the grade, the score or the flag labels, for the card text
    citation: str  # key of card_policy.json citations


@fast_init
@dataclass(frozen=True)
class EsccAtLevel:
    level: str | None
    grade: str
    high_grade: bool


def is_urgent(red_flag_groups: Sequence[str]) -> bool:
    """A red flag of the epidural spinal cord compression group (ACR Appendix 1)."""
    return URGENT_RED_FLAG_GROUP in red_flag_groups


def critical_findings(
    red_flags_present: Iterable[tuple[str, Sequence[str]]],
    escc: Iterable[EsccAtLevel],
    sins_index: tuple[str, str | None, str] | None,
) -> list[CriticalFinding]:
    """The critical findings of one assessment, most urgent first.

    ``red_flags_present``: (label, groups) of each present red flag; ``escc``: every graded
    level; ``sins_index``: (level, category or None when undetermined, score text) of the SINS
    index level. An unknown value is never critical: it is a missing finding."""
    out: list[CriticalFinding] = []
    urgent = [label for label, groups in red_flags_present if is_urgent(groups)]
    if urgent:
        out.append(CriticalFinding("red-flag", None, "; ".join(urgent), CITATION_KEYS["red-flag"]))
    for e in escc:
        if e.high_grade:
            out.append(
                CriticalFinding(
                    "high-grade-escc", e.level, e.grade, CITATION_KEYS["high-grade-escc"]
                )
            )
    if sins_index is not None and sins_index[1] == UNSTABLE_SINS_CATEGORY:
        level, _, score = sins_index
        out.append(CriticalFinding("unstable-spine", level, score, CITATION_KEYS["unstable-spine"]))
    return out


def order_rating_indicator(category: str | None) -> Indicator:
    """A rated order is a warning only when Usually Not Appropriate (ACR category names)."""
    return "warning" if category == "Usually Not Appropriate" else "info"


def summary_indicator(
    critical: Sequence[CriticalFinding],
    sins_category: str | None,
    suspected_malignant: bool,
    other_red_flags: bool,
) -> Indicator:
    """The patient summary: critical findings have their own card, so the summary is a warning
    when something needs a decision soon (potentially unstable spine, a malignant-looking MRI
    score without a known cause, other red flags), info otherwise."""
    if critical or sins_category == WARNING_SINS_CATEGORY or suspected_malignant or other_red_flags:
        return "warning"
    return "info"


def passes(indicator: Indicator, minimum: Indicator) -> bool:
    """Whether a card of ``indicator`` may be shown under a policy minimum."""
    order: tuple[Indicator, ...] = ("info", "warning", "critical")
    return order.index(indicator) >= order.index(minimum)
