"""Card outcome analytics from CDS Hooks 2.0 "Feedback": per card topic and overall, with the
share of orders that could not be rated. The window selects consults by creation time; the
feedback counted is all feedback on the cards of those consults."""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime

from pydantic import BaseModel, Field
from sqlalchemy.orm import Session

from app.db import feedback_repo
from app.db.feedback_repo import ReasonRow, Window
from app.feedback.reasons import offered_display
from app.knowledge.card_codes import card_codes


class ReasonCount(BaseModel):
    """Overrides giving one reason Coding."""

    system: str
    code: str
    display: str | None = Field(description="Our display for offered reasons, else as sent")
    offered: bool = Field(description="One of the override reasons our cards offer")
    count: int


class OutcomeStats(BaseModel):
    """Feedback counts; rates are shares of the feedback entries, null when there are none."""

    cards_issued: int
    feedback_count: int
    accepted_count: int
    accepted_rate: float | None
    overridden_count: int
    overridden_rate: float | None
    overridden_without_reason: int = Field(description="Overrides with a comment only")
    dismissed_without_reason: int = Field(
        default=0,
        description="Plain dismissals: overridden with neither a reason nor a comment "
        "(CDS Hooks 2.0 'Overridden guidance' without overrideReason)",
    )
    override_reasons: list[ReasonCount] = Field(description="Sorted by count, then code")


class TopicStats(OutcomeStats):
    topic: str
    display: str | None


class AnalyticsResponse(BaseModel):
    knowledge_version: str
    since: datetime | None
    until: datetime | None
    service: str | None
    client_iss: str | None = Field(
        default=None, description="The CDS Client whose consults are counted; null: all clients"
    )
    topics: list[TopicStats] = Field(description="Topics with cards issued or feedback, by code")
    overall: OutcomeStats
    orders_rated: int
    orders_unrated: int
    unrated_order_share: float | None = Field(
        description="orders_unrated / (orders_rated + orders_unrated); null without orders"
    )


def _rate(part: int, whole: int) -> float | None:
    return part / whole if whole else None


def _reasons(rows: list[ReasonRow]) -> tuple[list[ReasonCount], int, int]:
    """Reason counts merged over ``rows`` (sorted), the number of comment-only overrides and
    the number of plain dismissals."""
    counts: dict[tuple[str, str], int] = defaultdict(int)
    sent: dict[tuple[str, str], str | None] = {}
    comment_only = dismissed = 0
    for row in rows:
        if row.system is None or row.code is None:
            if row.commented:
                comment_only += row.count
            else:
                dismissed += row.count
            continue
        key = (row.system, row.code)
        counts[key] += row.count
        sent[key] = max(filter(None, [sent.get(key), row.display]), default=None)
    out = []
    for (system, code), count in counts.items():
        ours = offered_display(system, code)
        out.append(
            ReasonCount(
                system=system,
                code=code,
                display=ours or sent[(system, code)],
                offered=ours is not None,
                count=count,
            )
        )
    out.sort(key=lambda r: (-r.count, r.code, r.system))
    return out, comment_only, dismissed


def _stats(cards: int, outcomes: dict[str, int], rows: list[ReasonRow]) -> OutcomeStats:
    accepted = outcomes.get("accepted", 0)
    overridden = outcomes.get("overridden", 0)
    total = accepted + overridden
    reasons, comment_only, dismissed = _reasons(rows)
    return OutcomeStats(
        cards_issued=cards,
        feedback_count=total,
        accepted_count=accepted,
        accepted_rate=_rate(accepted, total),
        overridden_count=overridden,
        overridden_rate=_rate(overridden, total),
        overridden_without_reason=comment_only,
        dismissed_without_reason=dismissed,
        override_reasons=reasons,
    )


def build_analytics(session: Session, window: Window, knowledge_version: str) -> AnalyticsResponse:
    """Aggregate cards, feedback and order ratings of the consults in ``window``."""
    cards = feedback_repo.cards_by_topic(session, window)
    outcomes = feedback_repo.outcomes_by_topic(session, window)
    reasons = feedback_repo.override_reasons(session, window)
    rated, unrated = feedback_repo.order_totals(session, window)
    by_topic: dict[str, dict[str, int]] = defaultdict(dict)
    all_outcomes: dict[str, int] = defaultdict(int)
    for (topic, outcome), n in outcomes.items():
        by_topic[topic][outcome] = n
        all_outcomes[outcome] += n
    displays = card_codes().topics
    topics = [
        TopicStats(
            topic=topic,
            display=displays.get(topic),
            **_stats(
                cards.get(topic, 0),
                by_topic.get(topic, {}),
                [r for r in reasons if r.topic == topic],
            ).model_dump(),
        )
        for topic in sorted(set(cards) | set(by_topic))
    ]
    return AnalyticsResponse(
        knowledge_version=knowledge_version,
        since=window.since,
        until=window.until,
        service=window.service,
        client_iss=window.client_iss,
        topics=topics,
        overall=_stats(sum(cards.values()), all_outcomes, reasons),
        orders_rated=rated,
        orders_unrated=unrated,
        unrated_order_share=_rate(unrated, rated + unrated),
    )
