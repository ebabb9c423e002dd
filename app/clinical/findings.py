"""Findings: the FHIR-independent facts the clinical core reads (fhir-input.md codes).

The FHIR adapter (``app.fhir``) turns resources into ``PatientFindings``; the assessment service
turns findings into assessments. Every finding keeps the ids of the resources it came from.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Literal

from app.clinical.fast_init import fast_init

FindingValue = bool | str | float | int


@fast_init
@dataclass(frozen=True)
class Finding:
    """One observed fact. ``value`` None = known to be unknown (dataAbsentReason / no value)."""

    code: str  # project finding code, e.g. "fluid-cleft", "sins-pain", "vbq-signal"
    value: FindingValue | None
    sources: tuple[str, ...]  # "Observation/abc", "Observation/abc#component[2]"
    level: str | None = None  # canonical vertebral level (C1..S5) or None
    unit: str | None = None
    effective: datetime | None = None
    # read from a report's narrative text (each source then quotes its sentence); a coded
    # value of the same finding always wins over text
    from_text: bool = False


@fast_init
@dataclass(frozen=True)
class HistoryFact:
    """A closed-world history input: True/False only when the record was actually read."""

    value: bool | None
    sources: tuple[str, ...] = ()


@fast_init
@dataclass(frozen=True)
class EtiologyEvidence:
    value: Literal["osteoporotic", "pathological"]
    sources: tuple[str, ...]
    effective: datetime | None = None


@fast_init
@dataclass(frozen=True)
class DocumentedFracture:
    """A VCF documented by a Condition (e.g. ICD-10-CM M48.5*), for vcf_present / vcf_new."""

    sources: tuple[str, ...]
    first_documented: datetime | None
    level: str | None = None


@dataclass(frozen=True)
class FractureEnumeration:
    """A source that lists every fractured vertebral level it found (fhir-input.md "Other
    resources"): one RadElement vertebral-compression-fracture assessment, or one final spine
    imaging report. ``levels`` empty = it found none. Only such a source can make
    ``multiple_vcfs`` false; a partial list (one Observation per level) never does."""

    source: str
    levels: tuple[str, ...]
    effective: datetime | None = None
    from_text: bool = False  # levels read from a report's narrative (the source says so)


@fast_init
@dataclass(frozen=True)
class DraftOrder:
    """A draft ServiceRequest being ordered (order-select/order-sign draftOrders, or a draft
    ServiceRequest in a posted Bundle). ``procedure`` is the ACR procedure name or None."""

    resource_type: str
    resource_id: str
    code_system: str | None
    code: str | None
    display: str | None
    procedure: str | None
    not_mapped_reason: str | None
    body_site: str | None
    resource: dict[str, object]  # the raw JSON, kept so it round-trips untouched


@fast_init
@dataclass(frozen=True)
class InputIssue:
    """A resource (or part of one) that was skipped or read with a caveat."""

    severity: Literal["error", "warning", "information"]
    location: str  # "Observation/abc.valueQuantity" or "prefetch.conditions"
    message: str


@dataclass
class PatientFindings:
    """Everything the adapter read for one patient."""

    patient_id: str | None = None
    birth_date: date | None = None
    findings: list[Finding] = field(default_factory=list)
    malignancy_history: HistoryFact = field(default_factory=lambda: HistoryFact(None))
    prior_vcf_treatment: HistoryFact = field(default_factory=lambda: HistoryFact(None))
    prolonged_corticosteroids: HistoryFact = field(default_factory=lambda: HistoryFact(None))
    etiology: list[EtiologyEvidence] = field(default_factory=list)
    documented_fractures: list[DocumentedFracture] = field(default_factory=list)
    orders: list[DraftOrder] = field(default_factory=list)
    issues: list[InputIssue] = field(default_factory=list)
    # which kinds of record were actually obtained (closed-world history needs them)
    obtained: dict[str, bool] = field(default_factory=dict)
    # Condition facts that are never closed-world (True or unknown): bone metastasis
    # (ICD-10-CM C79.51/C79.52, SNOMED CT 94222008) and osteoporosis (M80.*, M81.*)
    bone_metastasis: HistoryFact = field(default_factory=lambda: HistoryFact(None))
    osteoporosis: HistoryFact = field(default_factory=lambda: HistoryFact(None))
    # complete enumerations of the fractured levels (multiple_vcfs false needs one)
    fracture_enumerations: list[FractureEnumeration] = field(default_factory=list)
