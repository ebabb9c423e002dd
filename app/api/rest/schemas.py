"""Request/response models of the REST API (shared/spec/api.md). snake_case, closed enums,
unknown fields rejected so a typo is an error rather than a silently unknown input. Request
booleans are strict: only JSON ``true``/``false`` (or ``null``), never ``0``, ``1`` or ``"no"``."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    StrictBool,
    ValidationInfo,
    field_validator,
    with_config,
)
from pydantic_core import PydanticCustomError

from app.clinical.state import TRI_INPUTS, ClinicalState
from app.clinical.variants import MatchResult
from app.knowledge.schema import VbqPerformance
from app.settings import SitePolicies

Category = Literal["stable", "potentially_unstable", "unstable"]


class Closed(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Versioned(BaseModel):
    knowledge_version: str


# --- SINS ----------------------------------------------------------------------------------


class SinsRequest(Closed):
    level: str = Field(
        description="Vertebral level C1-C7, T1-T12, L1-L5 or S1-S5", examples=["T12"]
    )
    pain: Literal["mechanical", "occasional", "none"] | None = None
    lesion: Literal["lytic", "mixed", "blastic"] | None = None
    alignment: Literal["subluxation", "deformity", "normal"] | None = None
    collapse: Literal["gt50", "lt50", "none-gt50-involved", "none"] | None = None
    posterolateral: Literal["bilateral", "unilateral", "none"] | None = None


class SinsPoints(BaseModel):
    location: int
    pain: int | None
    lesion: int | None
    alignment: int | None
    collapse: int | None
    posterolateral: int | None


class SinsResponse(Versioned):
    level: str
    location_class: Literal["junctional", "mobile", "semi-rigid", "rigid"]
    total: int | None
    min: int
    max: int
    category: Category | None
    possible_categories: list[Category]
    action: str | None
    points: SinsPoints
    missing: list[str]
    source: str


# --- MRI malignancy score --------------------------------------------------------------------


class MriScoreRequest(Closed):
    signal_pattern: Literal["round", "diffuse", "band"] | None = None
    posterior_border: Literal["convex", "sharp"] | None = None
    fluid_cleft: StrictBool | None = None
    signal_asymmetry: StrictBool | None = None
    pedicle_involvement: StrictBool | None = None
    posterior_wall_axial: Literal["double-peaked", "single-peaked"] | None = None
    contrast_enhancement: StrictBool | None = None
    cord_compression: StrictBool | None = None
    paraspinal_mass: StrictBool | None = None


class MriScoreResponse(Versioned):
    total: int | None
    min: int
    max: int
    cutoff: int
    classification: Literal["suggests_malignant", "suggests_osteoporotic", "indeterminate"]
    points: dict[str, int | None]
    missing: list[str]
    notes: list[str]
    performance: dict[str, float | int | str]  # published figures and their source
    source: str


# --- VBQ -----------------------------------------------------------------------------------


#: A finite number: Python's JSON parser accepts ``NaN`` and ``Infinity``, which no signal is.
FiniteFloat = Annotated[float, Field(allow_inf_nan=False)]


class VbqRequest(Closed):
    l1: FiniteFloat | None = Field(
        default=None, description="T1 signal of L1 (null = unmeasurable)"
    )
    l2: FiniteFloat | None = None
    l3: FiniteFloat | None = None
    l4: FiniteFloat | None = None
    csf: FiniteFloat = Field(description="CSF signal at L3 (or L2/L4); must be positive")
    field_strength_t: FiniteFloat | None = Field(
        default=None, gt=0, description="Field strength (T)"
    )


class VbqResponse(Versioned):
    vbq: float
    cutoff: float
    elevated_risk: bool
    levels_used: list[str]
    median_signal: float
    csf: float
    field_strength_t: float | None
    performance: VbqPerformance
    source: str


# --- ESCC ----------------------------------------------------------------------------------


class EsccRequest(Closed):
    grade: Literal["0", "1a", "1b", "1c", "2", "3"]


class EsccResponse(Versioned):
    grade: str
    high_grade: bool
    description: str
    implication: str
    policy: dict[str, str]
    source: str


# --- ACR -----------------------------------------------------------------------------------


@with_config(ConfigDict(extra="forbid"))
@dataclass(frozen=True)
class ClinicalStateRequest(ClinicalState):
    """The clinical state of clinical-rules 1.1: each input true, false or null (unknown);
    booleans are strict and unknown fields are rejected."""

    @field_validator("*", mode="before")
    @classmethod
    def _strict_bool(cls, value: object, info: ValidationInfo) -> object:
        """The inputs of the state type, JSON ``true``/``false``/``null`` only (never 0/1/"no");
        etiology is checked by its own type."""
        if info.field_name in TRI_INPUTS and value is not None and not isinstance(value, bool):
            raise PydanticCustomError("bool_type", "Input should be a valid boolean")
        return value


@dataclass(frozen=True, slots=True)
class VariantStatusOut:
    id: int
    status: Literal["matched", "possible", "not_matched"]
    deciding_inputs: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class MatchOut:
    matched: tuple[int, ...]
    primary: int | None
    possible: tuple[int, ...]
    missing: tuple[str, ...]
    primary_certain: bool
    precedence: tuple[int, ...]
    statuses: tuple[VariantStatusOut, ...]
    notes: tuple[str, ...]

    @classmethod
    def of(cls, m: MatchResult) -> MatchOut:
        """The match of one question (clinical-rules 1.3), from already-typed values."""
        return cls(
            matched=m.matched,
            primary=m.primary,
            possible=m.possible,
            missing=m.missing,
            primary_certain=m.primary_certain,
            precedence=m.precedence,
            statuses=tuple(
                VariantStatusOut(id=s.id, status=s.status, deciding_inputs=s.deciding_inputs)
                for s in m.statuses
            ),
            notes=m.notes,
        )


class MatchResponse(Versioned):
    imaging: MatchOut
    treatment: MatchOut
    policies: SitePolicies


class ProcedureOut(BaseModel):
    name: str
    category: str
    rating_range: tuple[int, int]
    relative_radiation_level: str | None


class VariantOut(Versioned):
    id: int
    title: str
    question: Literal["imaging", "treatment"]
    procedures: list[ProcedureOut]
    summary: str
    source: str


# --- health --------------------------------------------------------------------------------


class HealthResponse(BaseModel):
    status: Literal["ok", "unavailable"]
    checks: dict[str, bool] = {}
    knowledge_version: str | None = None
    message: str | None = Field(
        default=None, description="When not ready: what is wrong and the command to run"
    )
