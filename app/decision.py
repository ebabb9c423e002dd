"""One decision: resources in -> findings -> assessment -> cards out (shared by the CDS Hooks
services and POST /api/v1/assessments, so both return exactly the same cards)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import cached_property

from app.assessment.service import Assessment, assess
from app.cards.builder import CardBuilder, CardContext, Hook
from app.cds_hooks.models import CdsResponse
from app.clinical.findings import InputIssue
from app.fhir.adapter import read_resources
from app.fhir.alternatives import coding_for
from app.fhir.coverage import ResourceCoverage, coverage_report, unmapped_codings
from app.ids import new_uuid
from app.knowledge.schema import Knowledge
from app.settings import Settings


@dataclass(frozen=True)
class Decision:
    consult_id: str
    assessment: Assessment
    response: CdsResponse
    resources: Sequence[dict[str, object]] = field(default=(), repr=False)
    draft_orders: Sequence[dict[str, object]] = field(default=(), repr=False)

    @cached_property
    def coverage(self) -> list[ResourceCoverage]:
        """Per resource: what it contributed, why anything was ignored, unmapped codings
        (built on first use, off the decision itself)."""
        return coverage_report(self.resources, self.draft_orders, self.assessment.findings)

    def unmapped_codings(self) -> list[tuple[str, str]]:
        """The coverage report's unmapped codings (for the metric); the report is not built
        for them when nothing else asked for it."""
        if "coverage" in self.__dict__:
            return [u for c in self.coverage for u in c.unmapped]
        return unmapped_codings(self.resources, self.draft_orders, self.assessment.findings)


def decide(
    resources: Sequence[dict[str, object]],
    draft_orders: Sequence[dict[str, object]],
    *,
    obtained: Mapping[str, bool],
    issues: Sequence[InputIssue],
    hook: Hook,
    selections: frozenset[str] | None,
    knowledge: Knowledge,
    settings: Settings,
    now: datetime | None = None,
) -> Decision:
    now = now or datetime.now(UTC)
    findings = read_resources(
        resources, draft_orders=draft_orders, today=now.date(), obtained=obtained
    )
    findings.issues[:0] = list(issues)
    assessment = assess(findings, knowledge, settings.policies(), now)
    consult_id = f"urn:uuid:{new_uuid()}"
    ctx = CardContext(
        hook=hook,
        base_url=settings.public_base_url.rstrip("/"),
        consult_id=consult_id,
        selections=selections,
        mirror_system_actions=settings.mirror_system_actions,
        swap_actions=settings.swap_actions,
        smart_app_enabled=getattr(settings, "smart_app_enabled", True),
    )
    response = CardBuilder(knowledge, ctx, coding_for).build(assessment)
    return Decision(consult_id, assessment, response, resources, draft_orders)
