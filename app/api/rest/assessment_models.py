"""Response models of POST /api/v1/assessments (shared/spec/api.md): the OpenAPI 200 schema and
the serialisation of the typed assessment are one definition.

The score families, considerations, etiology assessment, red flags and issues are the
assessment's own dataclasses (``app.assessment.model``), serialised as they are; orders,
variant matches and coverage get a response shape here. Response dataclasses are filled from
already-typed values and serialised by one ``TypeAdapter``: nothing is validated on the way
out. ``AssessmentResponse`` (the documented model) is checked against the output by a test.
"""

from __future__ import annotations

from dataclasses import dataclass

from pydantic import TypeAdapter

from app.api.rest.schemas import MatchOut
from app.assessment.model import Assessment, EtiologyAssessment, Scores
from app.assessment.state import StateInput
from app.cds_hooks.models import Action, Card
from app.clinical.appropriateness import Rating
from app.clinical.considerations import Consideration
from app.clinical.findings import FindingValue, InputIssue
from app.clinical.order_rating import NotRatedReason, OrderRating, PamaRating, Status
from app.clinical.red_flags import RedFlagReport
from app.clinical.variants import Question
from app.fhir.coverage import Ignored, ResourceCoverage
from app.json_types import JsonObject
from app.settings import SitePolicies


@dataclass(frozen=True, slots=True)
class AlternativeOut:
    procedure: str
    category: str
    rating_range: tuple[int, int]
    relative_radiation_level: str | None


@dataclass(frozen=True, slots=True)
class RatingOut:
    """The order's rating under one ACR variant."""

    variant: int
    category: str | None  # None: the procedure is not listed under this variant
    rating_range: tuple[int, int] | None
    alternatives: tuple[AlternativeOut, ...]  # Usually Appropriate under this variant


@dataclass(frozen=True, slots=True)
class OrderCode:
    """The draft order's code as sent (any part may be absent)."""

    system: str | None
    code: str | None
    display: str | None


@dataclass(frozen=True, slots=True)
class OrderOut:
    """One entry of ``orders``: the draft order's rating (clinical-rules 1.5)."""

    id: str  # ResourceType/id of the draft order
    code: OrderCode
    procedure: str | None  # ACR procedure the code maps to
    question: Question | None
    status: Status
    variant: int | None
    category: str | None
    rating_range: tuple[int, int] | None
    alternatives: tuple[AlternativeOut, ...]
    other_variants: tuple[RatingOut, ...]  # the ratings under the other matched variants
    candidates: tuple[RatingOut, ...]  # not rated: the rating under each possible variant
    reason: NotRatedReason | None
    reason_text: str | None
    missing: tuple[str, ...]  # clinical-state inputs that would decide it
    pama_rating: PamaRating | None


@dataclass(frozen=True, slots=True)
class ContributionOut:
    input: str
    level: str | None
    value: FindingValue | None


@dataclass(frozen=True, slots=True)
class UnmappedCoding:
    system: str
    code: str


@dataclass(frozen=True, slots=True)
class CoverageOut:
    """Per resource: what it contributed, why anything was ignored, codings no map knows."""

    resource: str
    contributed: tuple[ContributionOut, ...]
    ignored: tuple[Ignored, ...]
    unmapped_codings: tuple[UnmappedCoding, ...]


@dataclass(frozen=True, slots=True)
class AssessmentBody:
    """Everything derived for the patient and its draft orders (without the cards)."""

    patient_id: str | None
    clinical_state: dict[str, StateInput]  # clinical-rules 1.1 inputs with their sources
    imaging: MatchOut
    treatment: MatchOut
    orders: tuple[OrderOut, ...]
    scores: Scores
    etiology_assessment: EtiologyAssessment
    red_flags: RedFlagReport
    considerations: tuple[Consideration, ...]
    issues: tuple[InputIssue, ...]
    knowledge_version: str
    policies: SitePolicies  # the site policies in force


@dataclass(frozen=True, slots=True)
class AssessmentResponse(AssessmentBody):
    """The 200 body of POST /api/v1/assessments: the members of :class:`AssessmentBody`, then
    these (the route adds them to the serialised body; a test checks the whole)."""

    consult_id: str  # urn:uuid:..., the audit key (GET /api/v1/audit/{consult_id})
    coverage: tuple[CoverageOut, ...]
    cards: tuple[Card, ...]  # exactly the cards the CDS hook would return
    system_actions: tuple[Action, ...]


_BODY = TypeAdapter(AssessmentBody)
_COVERAGE = TypeAdapter(list[CoverageOut])


def _rating(r: Rating) -> RatingOut:
    return RatingOut(
        variant=r.variant,
        category=r.category,
        rating_range=r.rating_range,
        alternatives=tuple(
            AlternativeOut(
                procedure=a.name,
                category=a.category,
                rating_range=a.rating_range,
                relative_radiation_level=a.relative_radiation_level,
            )
            for a in r.alternatives
        ),
    )


def order_out(o: OrderRating) -> OrderOut:
    primary = _rating(o.rating) if o.rating else None
    order = o.order
    return OrderOut(
        id=f"{order.resource_type}/{order.resource_id}",
        code=OrderCode(system=order.code_system, code=order.code, display=order.display),
        procedure=order.procedure,
        question=o.question,
        status=o.status,
        variant=primary.variant if primary else None,
        category=primary.category if primary else None,
        rating_range=primary.rating_range if primary else None,
        alternatives=primary.alternatives if primary else (),
        other_variants=tuple(_rating(r) for r in o.other_ratings),
        candidates=tuple(_rating(r) for r in o.candidates),
        reason=o.reason,
        reason_text=o.reason_text,
        missing=o.missing,
        pama_rating=o.pama,
    )


def coverage_out(c: ResourceCoverage) -> CoverageOut:
    return CoverageOut(
        resource=c.resource,
        contributed=tuple(
            ContributionOut(input=x.input, level=x.level, value=x.value) for x in c.contributed
        ),
        ignored=tuple(c.ignored),
        unmapped_codings=tuple(UnmappedCoding(system=s, code=code) for s, code in c.unmapped),
    )


def assessment_body(a: Assessment) -> JsonObject:
    """The assessment members of the 200 body, JSON-ready."""
    body = AssessmentBody(
        patient_id=a.findings.patient_id,
        clinical_state=a.derived.inputs,
        imaging=MatchOut.of(a.matches["imaging"]),
        treatment=MatchOut.of(a.matches["treatment"]),
        orders=tuple(order_out(o) for o in a.orders),
        scores=a.scores,
        etiology_assessment=a.etiology_assessment,
        red_flags=a.red_flags,
        considerations=a.considerations,
        issues=a.issues,
        knowledge_version=a.knowledge_version,
        policies=a.policies,
    )
    dumped: JsonObject = _BODY.dump_python(body, mode="json")
    return dumped


def dump_coverage(coverage: list[ResourceCoverage]) -> list[JsonObject]:
    """The ``coverage`` member of the 200 body, JSON-ready."""
    dumped: list[JsonObject] = _COVERAGE.dump_python(
        [coverage_out(c) for c in coverage], mode="json"
    )
    return dumped
