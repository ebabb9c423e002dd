"""feedback_repo on SQLite and a real PostgreSQL: idempotent insert (also concurrent), request
atomicity, and the analytics aggregates."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import Engine, func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from app.db.engine import make_engine
from app.db.models import Feedback
from app.feedback import repo as feedback_repo
from app.feedback.analytics import build_analytics
from app.feedback.record import FeedbackRejected, record_feedback
from app.feedback.repo import Window
from app.feedback.schema import FeedbackBody
from tests.feedback.helpers import REASON_SYSTEM, T0, CardSpec, Consult, add_consult, overridden


@pytest.fixture
def engine(database_url: str) -> Iterator[Engine]:
    engine = make_engine(database_url)
    yield engine
    engine.dispose()


@pytest.fixture
def factory(engine: Engine) -> sessionmaker[Session]:
    factory = sessionmaker(engine, expire_on_commit=False)
    with factory() as s:
        add_consult(s, Consult("c1", [CardSpec("card-1", suggestions=["s1"])]))
    return factory


def row(key: str, card: str = "card-1") -> Feedback:
    now = datetime.now(UTC)
    return Feedback(
        dedup_key=key,
        card_uuid=card,
        consult_id="c1",
        service="vcf-order-select",
        outcome="overridden",
        accepted_suggestions=[],
        outcome_timestamp=now,
        received_at=now,
    )


def keys(factory: sessionmaker[Session]) -> list[str]:
    with factory() as s:
        return sorted(s.scalars(select(Feedback.dedup_key)))


def test_duplicate_insert_is_skipped_and_request_stays_atomic(
    factory: sessionmaker[Session],
) -> None:
    with factory() as s:
        assert feedback_repo.insert_feedback(s, row("a"))
        assert not feedback_repo.insert_feedback(s, row("a"))
        assert feedback_repo.insert_feedback(s, row("b"))
        s.rollback()
    assert keys(factory) == []  # the SAVEPOINTs did not commit anything on their own
    with factory() as s:
        assert feedback_repo.insert_feedback(s, row("a"))
        assert not feedback_repo.insert_feedback(s, row("a"))
        s.commit()
    with factory() as s:
        assert not feedback_repo.insert_feedback(s, row("a"))
        assert feedback_repo.insert_feedback(s, row("b"))
        s.commit()
    assert keys(factory) == ["a", "b"]


def test_other_integrity_errors_propagate(factory: sessionmaker[Session]) -> None:
    with factory() as s, pytest.raises(IntegrityError):
        feedback_repo.insert_feedback(s, row("c", card="no-such-card"))  # foreign key


def test_concurrent_duplicates_store_one_row(factory: sessionmaker[Session]) -> None:
    barrier = threading.Barrier(6)
    results: list[bool] = []

    def worker() -> None:
        with factory() as s:
            barrier.wait()
            results.append(feedback_repo.insert_feedback(s, row("same")))
            s.commit()

    threads = [threading.Thread(target=worker) for _ in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(results) == [False] * 5 + [True]
    assert keys(factory) == ["same"]


def test_record_feedback_checks_cards_and_deduplicates(factory: sessionmaker[Session]) -> None:
    body = FeedbackBody.model_validate(
        {"feedback": [overridden("card-1", comment="x"), overridden("card-1", comment="x")]}
    )
    with factory() as s:
        result = record_feedback(s, "vcf-order-select", body.feedback)
        s.commit()
    assert (result.stored, result.duplicates, result.unlisted_reasons) == (1, 1, 0)
    with factory() as s, pytest.raises(FeedbackRejected) as exc:
        record_feedback(s, "vcf-order-sign", body.feedback)
    assert exc.value.status == 400


def test_analytics_aggregates(factory: sessionmaker[Session]) -> None:
    with factory() as s:
        add_consult(
            s,
            Consult(
                "c2",
                [CardSpec("card-2"), CardSpec("card-3", topic="sins")],
                created_at=T0 + timedelta(days=1),
                orders_rated=3,
                orders_unrated=1,
            ),
        )
        body = FeedbackBody.model_validate(
            {
                "feedback": [
                    overridden("card-1"),
                    overridden("card-2"),
                    overridden("card-2", "other", system="urn:x", ts="2026-01-11T00:00:00Z"),
                    overridden("card-3", code=None, comment="c"),
                ]
            }
        )
        record_feedback(s, "vcf-order-select", body.feedback)
        s.commit()
        report = build_analytics(s, Window(), "kv")
        later = build_analytics(s, Window(since=T0 + timedelta(hours=1)), "kv")
        assert feedback_repo.order_totals(s, Window(until=T0)) == (0, 0)
    order = report.topics[0]
    assert (order.topic, order.cards_issued, order.overridden_count) == (
        "order-appropriateness",
        2,
        3,
    )
    assert [(r.code, r.count, r.offered) for r in order.override_reasons] == [
        ("patient-specific-factors", 2, True),
        ("other", 1, False),
    ]
    assert order.override_reasons[0].system == REASON_SYSTEM
    assert report.overall.overridden_without_reason == 1 and report.overall.feedback_count == 4
    assert (report.orders_rated, report.orders_unrated, report.unrated_order_share) == (3, 1, 0.25)
    assert [t.topic for t in later.topics] == ["order-appropriateness", "sins"]
    assert later.topics[0].cards_issued == 1 and later.overall.feedback_count == 3


def test_empty_database_gives_null_rates(engine: Engine) -> None:
    with Session(engine) as s:
        report = build_analytics(s, Window(), "kv")
        assert s.scalar(select(func.count()).select_from(Feedback)) == 0
    assert report.topics == [] and report.overall.accepted_rate is None
    assert report.unrated_order_share is None
