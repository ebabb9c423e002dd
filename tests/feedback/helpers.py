"""Test data for feedback: consults (AuditRecord) with their cards (CardRecord), inserted with
the ORM, and CDS Hooks 2.0 feedback bodies."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from sqlalchemy.orm import Session

from app.db.models import AuditRecord, CardRecord

SERVICE = "vcf-order-select"
OTHER_SERVICE = "vcf-patient-view"
REASON_SYSTEM = "http://vcf-cds.org/fhir/CodeSystem/override-reason"
T0 = datetime(2026, 1, 10, 12, 0, tzinfo=UTC)


@dataclass
class CardSpec:
    uuid: str
    topic: str = "order-appropriateness"
    suggestions: Sequence[str] = ()
    indicator: str = "warning"


@dataclass
class Consult:
    consult_id: str
    cards: list[CardSpec] = field(default_factory=list)
    service: str = SERVICE
    created_at: datetime = T0
    orders_rated: int = 0
    orders_unrated: int = 0


def add_consult(session: Session, consult: Consult) -> None:
    """An audit record and its cards, as the audit writer stores them (committed)."""
    session.add(
        AuditRecord(
            consult_id=consult.consult_id,
            service=consult.service,
            hook="order-select",
            hook_instance=None,
            created_at=consult.created_at,
            latency_ms=1.0,
            knowledge_version="test",
            policies={},
            input_sha256="0" * 64,
            patient_hmac=None,
            client_iss=None,
            cards=[{"uuid": c.uuid} for c in consult.cards],
            system_actions=[],
            orders_rated=consult.orders_rated,
            orders_unrated=consult.orders_unrated,
        )
    )
    session.flush()
    for c in consult.cards:
        session.add(
            CardRecord(
                card_uuid=c.uuid,
                consult_id=consult.consult_id,
                service=consult.service,
                topic=c.topic,
                indicator=c.indicator,
                suggestion_uuids=list(c.suggestions),
            )
        )
    session.commit()


def accepted(card: str, *suggestions: str, ts: str = "2026-01-10T12:05:00Z") -> dict[str, Any]:
    return {
        "card": card,
        "outcome": "accepted",
        "acceptedSuggestions": [{"id": s} for s in suggestions],
        "outcomeTimestamp": ts,
    }


def overridden(
    card: str,
    code: str | None = "patient-specific-factors",
    comment: str | None = None,
    system: str = REASON_SYSTEM,
    ts: str = "2026-01-10T12:06:00Z",
) -> dict[str, Any]:
    reason: dict[str, Any] = {}
    if code is not None:
        reason["reason"] = {"system": system, "code": code}
    if comment is not None:
        reason["userComment"] = comment
    item: dict[str, Any] = {"card": card, "outcome": "overridden", "outcomeTimestamp": ts}
    if reason:
        item["overrideReason"] = reason
    return item


def post_feedback(client: Any, items: list[dict[str, Any]], service: str = SERVICE) -> Any:
    return client.post(f"/cds-services/{service}/feedback", json={"feedback": items})


def expressions(response: Any) -> list[str]:
    """The fields an OperationOutcome names."""
    body = response.json()
    assert body["resourceType"] == "OperationOutcome", body
    return [e for issue in body["issue"] for e in issue.get("expression", [])]
