"""Request and response of POST /app/api/assessment (the SMART app's backend). The response
is shaped for the page: clinician words, with the machine-readable ids kept in their own
fields. FHIR resources (write-back drafts) are typed as plain JSON objects."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from app.cds_hooks.prefetch import is_fhir_id
from app.json_types import JsonObject

MAX_ANSWERS = 50


class _In(BaseModel):
    model_config = ConfigDict(extra="forbid")


class OrderCoding(_In):
    """A draft order's coding as carried in the launch's appContext."""

    system: str = Field(min_length=1, max_length=512)
    code: str = Field(min_length=1, max_length=64)
    display: str | None = Field(default=None, max_length=512)


class Answer(_In):
    """A missing finding the clinician answered: yes/no (true/false), a choice, a number,
    or null for "unknown"."""

    question: str = Field(min_length=1, max_length=64, description="question id of the form")
    value: bool | float | str | None = None


class AssessmentRequest(_In):
    fhirServer: str = Field(min_length=1, max_length=2048, description="the launch's iss")
    patient: str = Field(description="FHIR id of the patient in context")
    orders: list[OrderCoding] = Field(default_factory=list, max_length=100)
    answers: list[Answer] = Field(default_factory=list, max_length=MAX_ANSWERS)
    consultId: str | None = Field(default=None, max_length=128)

    @field_validator("patient")
    @classmethod
    def _patient_id(cls, value: str) -> str:
        if not is_fhir_id(value):
            raise ValueError("not a FHIR id ([A-Za-z0-9-.]{1,64})")
        return value


class _Out(BaseModel):
    model_config = ConfigDict(extra="forbid")


class SourceLink(_Out):
    reference: str = Field(description="Type/id on the FHIR server, or clinician-entered:<q>")
    label: str = Field(description='"Observation: MRI lumbar spine, 2026-11-02"')
    clinicianEntered: bool = False


class FindingView(_Out):
    code: str
    label: str
    value: str
    level: str | None = None
    sources: list[SourceLink]


class StateInputView(_Out):
    input: str
    label: str
    value: str
    known: bool
    sources: list[SourceLink]


class VariantView(_Out):
    id: int
    title: str
    status: Literal["matched", "possible", "not_matched"]
    primary: bool = False
    explanation: str = Field(description="why matched, possible or ruled out, in words")
    decidingInputs: list[str] = Field(description="clinical-state inputs that decide it")


class QuestionVariants(_Out):
    question: Literal["imaging", "treatment"]
    heading: str
    variants: list[VariantView]
    missing: list[str] = Field(description="labels of the inputs that would decide it")


class AcrRow(_Out):
    procedure: str
    category: str
    ratingRange: list[int]
    radiation: str | None = None
    ordered: bool = False


class AcrTable(_Out):
    variant: int
    title: str
    status: Literal["matched", "possible"]
    rows: list[AcrRow]


class OrderView(_Out):
    index: int
    coding: OrderCoding
    label: str
    procedure: str | None
    rated: bool
    rating: str = Field(description='"Usually Appropriate (7-9), Variant 2" or why not rated')
    category: str | None = None
    variant: int | None = None
    missing: list[str] = []


class ScoreComponent(_Out):
    id: str
    label: str
    points: str = Field(description='"3" or "0-2" while unknown')
    known: bool


class SinsView(_Out):
    level: str
    range: str
    category: str
    components: list[ScoreComponent]
    index: bool = False


class MriScoreView(_Out):
    level: str | None
    range: str
    classification: str
    components: list[ScoreComponent]


class RedFlagView(_Out):
    id: str
    label: str
    status: Literal["present", "absent", "unknown"]


class QuestionOption(_Out):
    value: str
    label: str


class QuestionView(_Out):
    id: str
    label: str
    kind: Literal["yesno", "choice", "number"]
    options: list[QuestionOption] = []
    unit: str | None = None
    min: float | None = None
    max: float | None = None
    answer: bool | float | str | None = None
    answered: bool = False
    affects: str = Field(description="what it decides, in words")
    writable: bool = Field(description="can be written back as an Observation")
    note: str | None = None


class WriteBack(_Out):
    observations: list[JsonObject] = Field(
        description="Observations (no id) to create on the EHR with the launch token"
    )
    questionnaireResponse: JsonObject | None = None


class Citation(_Out):
    topic: str
    text: str


class AssessmentView(_Out):
    patient: str
    patientName: str | None = Field(default=None, description="the Patient's name, for the banner")
    fhirServer: str
    consultId: str | None = None
    knowledgeVersion: str
    headline: str
    findings: list[FindingView]
    clinicalState: list[StateInputView]
    variants: list[QuestionVariants]
    acrTables: list[AcrTable]
    orders: list[OrderView]
    sins: list[SinsView]
    mriScores: list[MriScoreView]
    redFlags: list[RedFlagView]
    questions: list[QuestionView]
    writeBack: WriteBack
    notices: list[str] = Field(description="data that could not be read, in words")
    citations: list[Citation]
    acrNotice: str
