"""The typed assessment: every score family, the considerations, the etiology assessment, the
issues and the order ratings, read by attribute everywhere.

Field names are the JSON keys of ``POST /api/v1/assessments`` (shared/spec/api.md), so the
REST body is these objects serialised as they are (``app.api.rest.assessment_models``).
Plain frozen dataclasses: built on the decision's hot path, they cost no validation.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Annotated

from pydantic import Field

from app.assessment.state import DerivedState
from app.clinical.consensus import Consensus
from app.clinical.considerations import Consideration
from app.clinical.findings import InputIssue, PatientFindings
from app.clinical.order_rating import OrderRating
from app.clinical.red_flags import RedFlagReport
from app.clinical.sign_evidence import QualitativeEvidence, SignEvidence
from app.clinical.variants import MatchResult, Question
from app.settings import SitePolicies


@dataclass(frozen=True, slots=True)
class MriLevelScore:
    """MRI malignancy score at one level (seed 000): exact total or its range."""

    level: str | None
    total: int | None
    min: int
    max: int
    cutoff: int
    classification: str  # suggests_malignant | suggests_osteoporotic | indeterminate
    points: dict[str, int | None]  # sign -> points, None = unknown
    missing: tuple[str, ...]  # finding codes that would narrow the range
    notes: tuple[str, ...]
    sources: tuple[str, ...]

    @property
    def suggests_malignant(self) -> bool:
        return self.classification == "suggests_malignant"


@dataclass(frozen=True, slots=True)
class SinsLevelScore:
    """SINS at one level (seed 004 Table 3): components, exact total or range, category."""

    level: str
    location_class: str
    total: int | None
    min: int
    max: int
    category: str | None  # stable | potentially_unstable | unstable; None while undetermined
    possible_categories: tuple[str, ...]
    action: str | None
    points: dict[str, int | None]  # component -> points, None = unknown
    missing: tuple[str, ...]
    sources: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class SinsScores:
    levels: tuple[SinsLevelScore, ...]
    index_level: str | None  # highest SINS (seed 002)

    @property
    def index(self) -> SinsLevelScore | None:
        """The score at the index level."""
        return next((s for s in self.levels if s.level == self.index_level), None)


@dataclass(frozen=True, slots=True)
class EsccGrade:
    """One Bilsky epidural spinal cord compression grade (seed 004)."""

    level: str | None
    grade: str
    description: str
    high_grade: bool
    policy: dict[str, str]
    implication: str
    sources: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class VbqScore:
    """Vertebral bone quality (seed 002)."""

    vbq: float
    cutoff: float
    elevated_risk: bool
    levels_used: tuple[str, ...]
    csf_level: str | None
    field_strength_t: float | None
    note: str
    sources: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class VbqNotComputed:
    """VBQ signals were given but the score cannot be computed; ``missing`` says what is needed."""

    vbq: None
    error: str
    missing: tuple[str, ...]
    sources: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class SignEvidenceLevel:
    """Per-sign evidence at one level: counts of seed 001 and the signs of seed 004 Table 1."""

    level: str | None
    seed_001: tuple[SignEvidence, ...]
    seed_004_table_1: tuple[QualitativeEvidence, ...]


@dataclass(frozen=True, slots=True)
class ChemicalShiftLevel:
    """Out-of-phase signal drop at one level (seed 004)."""

    level: str | None
    drop_percent: float
    cutoff_percent: float
    interpretation: str  # favours_malignant | favours_benign | indeterminate
    source: str
    sources: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class AdcValue:
    """Apparent diffusion coefficient at one level."""

    level: str | None
    value: float
    unit: str
    threshold: float | None
    interpretation: str  # favours_malignant | favours_benign | not_classified
    note: str
    sources: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class Scores:
    mri_malignancy: tuple[MriLevelScore, ...]
    sins: SinsScores
    escc: tuple[EsccGrade, ...]
    vbq: VbqScore | VbqNotComputed | None
    sign_evidence: tuple[SignEvidenceLevel, ...]
    chemical_shift: tuple[ChemicalShiftLevel, ...]
    adc: tuple[AdcValue, ...]


@dataclass(frozen=True, slots=True)
class EtiologyAssessment:
    """``etiology_assessment`` of api.md: the documented etiology and, while it is unknown and an
    MRI score suggests malignancy, the basis and the work-up to complete (clinical-rules 1.4)."""

    etiology: str
    suspected_pathological: bool
    # present in the JSON only when suspected
    basis: Annotated[tuple[str, ...], Field(exclude_if=lambda v: not v)] = ()
    recommendation: Annotated[str | None, Field(exclude_if=lambda v: v is None)] = None


@dataclass(frozen=True, slots=True)
class Assessment:
    """Everything derived for one patient and its draft orders."""

    findings: PatientFindings
    derived: DerivedState
    matches: Mapping[Question, MatchResult]
    orders: tuple[OrderRating, ...]
    scores: Scores
    sins_index_category: str | None
    red_flags: RedFlagReport
    considerations: tuple[Consideration, ...]
    etiology_assessment: EtiologyAssessment
    consensus: Consensus
    knowledge_version: str
    policies: SitePolicies  # the site policies in force (settings)
    issues: tuple[InputIssue, ...] = field(default=())
