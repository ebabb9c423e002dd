"""Check feedback entries against the cards we issued and store them once each
(CDS Hooks 2.0 "Feedback")."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TypedDict

from sqlalchemy.orm import Session

from app.db.models import CardRecord, Feedback
from app.feedback import repo as feedback_repo
from app.feedback.dedup import accepted_ids, dedup_key
from app.feedback.reasons import offered_display
from app.feedback.schema import FeedbackItem, FeedbackOverrideReason, storable

log = logging.getLogger("vcf_cds.feedback")

_CARD_ID_MAX = 64  # card_record.card_uuid


class FeedbackIssue(TypedDict):
    """One rejected field, as the 400/404 OperationOutcome names it (pydantic-style)."""

    loc: list[str | int]
    msg: str
    code: str  # "invalid" | "not-found"


class FeedbackRejected(Exception):
    """The request cannot be recorded: ``status`` 404 (unknown card) or 400; ``issues`` name
    each offending field (``loc``) and are answered as an OperationOutcome."""

    def __init__(self, status: int, issues: list[FeedbackIssue]) -> None:
        super().__init__(status)
        self.status = status
        self.issues = issues


@dataclass
class Recorded:
    """Entries stored, duplicates of stored feedback, and reasons our cards do not offer
    (recorded as given)."""

    stored: int = 0
    duplicates: int = 0
    unlisted_reasons: int = 0


def record_feedback(
    session: Session,
    service_id: str,
    items: list[FeedbackItem],
    *,
    client_iss: str | None = None,
) -> Recorded:
    """Validate every entry against its card, then store each new one. Nothing is stored when
    any entry is rejected; 404 only when every problem is an unknown card. With ``client_iss``
    only that CDS Client's cards can be given feedback; another client's card is answered
    exactly like a card never issued (no existence leak)."""
    ids = {i.card for i in items if len(i.card) <= _CARD_ID_MAX and storable(i.card)}
    cards = feedback_repo.cards_by_uuid(session, ids, client_iss)
    issues: list[FeedbackIssue] = []
    for n, item in enumerate(items):
        issues += _check(n, item, cards.get(item.card), service_id)
    if issues:
        not_found = all(i["code"] == "not-found" for i in issues)
        raise FeedbackRejected(404 if not_found else 400, issues)
    result = Recorded()
    received = datetime.now(UTC)
    for item in items:
        row = _row(item, cards[item.card], received)
        if feedback_repo.insert_feedback(session, row):
            result.stored += 1
        else:
            result.duplicates += 1
        if row.override_code is not None and not offered_display(
            row.override_system, row.override_code
        ):
            result.unlisted_reasons += 1
    log.info(
        "feedback on %s: %d stored, %d duplicates, %d reasons not offered by the card",
        service_id,
        result.stored,
        result.duplicates,
        result.unlisted_reasons,
    )
    return result


def _issue(loc: list[str | int], msg: str, code: str = "invalid") -> FeedbackIssue:
    return {"loc": loc, "msg": msg, "code": code}


def _check(
    n: int, item: FeedbackItem, card: CardRecord | None, service_id: str
) -> list[FeedbackIssue]:
    base: list[str | int] = ["body", "feedback", n]
    if card is None:
        return [_issue([*base, "card"], "no card with this uuid was issued", "not-found")]
    if card.service != service_id:
        return [_issue([*base, "card"], f"the card was not issued by service '{service_id}'")]
    offered = set(card.suggestion_uuids or [])
    return [
        _issue([*base, "acceptedSuggestions", k, "id"], "is not a suggestion of this card")
        for k, s in enumerate(item.acceptedSuggestions or [])
        if s.id not in offered
    ]


def _said(override: FeedbackOverrideReason) -> bool:
    return bool(override.userComment and override.userComment.strip())


def _row(item: FeedbackItem, card: CardRecord, received: datetime) -> Feedback:
    override = item.overrideReason
    reason = override.reason if override else None
    return Feedback(
        dedup_key=dedup_key(item),
        card_uuid=card.card_uuid,
        consult_id=card.consult_id,
        service=card.service,
        outcome=item.outcome,
        accepted_suggestions=accepted_ids(item),
        override_system=reason.system if reason else None,
        override_code=reason.code if reason else None,
        override_display=reason.display if reason else None,
        # a blank comment says nothing: stored as none, so the entry counts as a plain dismissal
        user_comment=(override.userComment or None) if override and _said(override) else None,
        outcome_timestamp=item.outcomeTimestamp,
        received_at=received,
    )
