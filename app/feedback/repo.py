"""Queries for CDS Hooks 2.0 "Feedback": card look-up, idempotent insert and the analytics
aggregates. Functions only query and add; the caller's session owns the transaction."""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime
from typing import TypeVarTuple

from sqlalchemy import Select, case, func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from app.db.models import AuditRecord, CardRecord, Feedback

_Ts = TypeVarTuple("_Ts")


@dataclass(frozen=True)
class Window:
    """Consults created in ``[since, until)`` by ``service`` for the CDS Client ``client_iss``;
    ``None`` leaves a bound open (``client_iss`` None: every client's consults)."""

    since: datetime | None = None
    until: datetime | None = None
    service: str | None = None
    client_iss: str | None = None


@dataclass(frozen=True)
class ReasonRow:
    """Overrides of one topic grouped by reason Coding (``code`` None: comment only, or a
    plain dismissal when ``commented`` is False)."""

    topic: str
    system: str | None
    code: str | None
    display: str | None
    count: int
    commented: bool = True


def cards_by_uuid(
    session: Session, uuids: Collection[str], client_iss: str | None = None
) -> dict[str, CardRecord]:
    """The issued cards among ``uuids``, by uuid; with ``client_iss``, only the cards issued to
    that CDS Client (the issuer stored on their consult's audit record)."""
    if not uuids:
        return {}
    stmt = select(CardRecord).where(CardRecord.card_uuid.in_(set(uuids)))
    if client_iss is not None:
        stmt = stmt.join(AuditRecord, AuditRecord.consult_id == CardRecord.consult_id).where(
            AuditRecord.client_iss == client_iss
        )
    return {row.card_uuid: row for row in session.scalars(stmt)}


def insert_feedback(session: Session, row: Feedback) -> bool:
    """Add ``row`` in a SAVEPOINT; False when its ``dedup_key`` is already stored (the unique
    constraint decides, so concurrent duplicates are safe). Other integrity errors propagate."""
    try:
        with session.begin_nested():
            session.add(row)
    except IntegrityError:
        if session.scalar(select(Feedback.id).where(Feedback.dedup_key == row.dedup_key)) is None:
            raise
        return False
    return True


def _in_window(stmt: Select[*_Ts], window: Window) -> Select[*_Ts]:
    if window.since is not None:
        stmt = stmt.where(AuditRecord.created_at >= window.since)
    if window.until is not None:
        stmt = stmt.where(AuditRecord.created_at < window.until)
    if window.service is not None:
        stmt = stmt.where(AuditRecord.service == window.service)
    if window.client_iss is not None:
        stmt = stmt.where(AuditRecord.client_iss == window.client_iss)
    return stmt


def cards_by_topic(session: Session, window: Window) -> dict[str, int]:
    """Cards issued per topic."""
    stmt = (
        select(CardRecord.topic, func.count())
        .join(AuditRecord, AuditRecord.consult_id == CardRecord.consult_id)
        .group_by(CardRecord.topic)
    )
    return {topic: int(n) for topic, n in session.execute(_in_window(stmt, window))}


def outcomes_by_topic(session: Session, window: Window) -> dict[tuple[str, str], int]:
    """Feedback entries per (topic, outcome) on the cards issued in the window."""
    stmt = (
        select(CardRecord.topic, Feedback.outcome, func.count())
        .join(CardRecord, CardRecord.card_uuid == Feedback.card_uuid)
        .join(AuditRecord, AuditRecord.consult_id == CardRecord.consult_id)
        .group_by(CardRecord.topic, Feedback.outcome)
    )
    return {(t, o): int(n) for t, o, n in session.execute(_in_window(stmt, window))}


def override_reasons(session: Session, window: Window) -> list[ReasonRow]:
    """Overrides per topic and reason Coding, as stored (offered or not); those without a
    reason are split into comment-only and plain dismissals (no reason, no comment)."""
    commented = Feedback.user_comment.is_not(None)
    stmt = (
        select(
            CardRecord.topic,
            Feedback.override_system,
            Feedback.override_code,
            func.max(Feedback.override_display),
            func.count(),
            func.sum(case((commented, 1), else_=0)),
        )
        .join(CardRecord, CardRecord.card_uuid == Feedback.card_uuid)
        .join(AuditRecord, AuditRecord.consult_id == CardRecord.consult_id)
        .where(Feedback.outcome == "overridden")
        .group_by(CardRecord.topic, Feedback.override_system, Feedback.override_code)
    )
    rows: list[ReasonRow] = []
    for t, s, c, d, n, with_comment in session.execute(_in_window(stmt, window)):
        if c is not None:
            rows.append(ReasonRow(topic=t, system=s, code=c, display=d, count=int(n)))
            continue
        with_comment = int(with_comment or 0)
        if with_comment:
            rows.append(ReasonRow(t, s, None, None, with_comment, commented=True))
        if int(n) - with_comment:
            rows.append(ReasonRow(t, s, None, None, int(n) - with_comment, commented=False))
    return rows


def order_totals(session: Session, window: Window) -> tuple[int, int]:
    """(orders rated, orders not rated) over the consults in the window."""
    stmt = select(
        func.coalesce(func.sum(AuditRecord.orders_rated), 0),
        func.coalesce(func.sum(AuditRecord.orders_unrated), 0),
    )
    rated, unrated = session.execute(_in_window(stmt, window)).one()
    return int(rated), int(unrated)
