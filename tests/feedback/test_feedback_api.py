"""POST /cds-services/{id}/feedback through the ASGI app (CDS Hooks 2.0 "Feedback")."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from typing import Any

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from app.db.models import Feedback
from tests.feedback.helpers import (
    OTHER_SERVICE,
    REASON_SYSTEM,
    CardSpec,
    Consult,
    accepted,
    add_consult,
    expressions,
    overridden,
    post_feedback,
)

CARD = "4e0a3a1e-3283-4575-ab82-028d55fe2719"
SUGG = "e56e1945-20b3-4393-8503-a1a20fd73152"
SUGG2 = "0c6c4a0b-7a55-4d5b-9c33-6f1d2a9f8e10"
INFO_CARD = "9368d37b-283f-44a0-93ea-547cebab93ed"
VIEW_CARD = "f6b95768-b1c8-40dc-8385-bf3504b82ffb"


@pytest.fixture
def cards(db: Session) -> None:
    add_consult(
        db,
        Consult(
            "urn:uuid:c1",
            [CardSpec(CARD, suggestions=[SUGG, SUGG2]), CardSpec(INFO_CARD, topic="sins")],
        ),
    )
    add_consult(db, Consult("urn:uuid:c2", [CardSpec(VIEW_CARD)], service=OTHER_SERVICE))


def rows(db: Session) -> list[Feedback]:
    """Stored feedback; ends the read transaction so the app can write (SQLite takes the write
    lock at BEGIN IMMEDIATE)."""
    db.expire_all()
    try:
        return list(db.scalars(select(Feedback).order_by(Feedback.id)))
    finally:
        db.commit()


@pytest.mark.usefixtures("cards")
def test_accepted_feedback_is_stored_against_card_and_consult(client: Any, db: Session) -> None:
    r = post_feedback(client, [accepted(CARD, SUGG, SUGG, ts="2021-12-11T10:05:31Z")])
    assert r.status_code == 200, r.text
    assert r.json() == {}
    [row] = rows(db)
    assert (row.card_uuid, row.consult_id, row.service) == (CARD, "urn:uuid:c1", "vcf-order-select")
    assert row.outcome == "accepted" and row.accepted_suggestions == [SUGG]
    assert row.override_code is None and row.user_comment is None
    assert row.outcome_timestamp.replace(tzinfo=UTC) == datetime(
        2021, 12, 11, 10, 5, 31, tzinfo=UTC
    )
    assert len(row.dedup_key) == 64


@pytest.mark.usefixtures("cards")
def test_overridden_with_offered_and_other_reasons_is_recorded(client: Any, db: Session) -> None:
    items = [
        overridden(INFO_CARD, "alternative-recently-done", comment="MRI last week"),
        overridden(CARD, "d7ecf885", system="https://example.com/reasons"),
        overridden(CARD, code=None, comment="not relevant here"),
    ]
    assert post_feedback(client, items).status_code == 200
    stored = [(r.override_system, r.override_code, r.user_comment) for r in rows(db)]
    assert stored == [
        (REASON_SYSTEM, "alternative-recently-done", "MRI last week"),
        ("https://example.com/reasons", "d7ecf885", None),
        (None, None, "not relevant here"),
    ]


@pytest.mark.usefixtures("cards")
def test_duplicate_is_accepted_and_stored_once(client: Any, db: Session) -> None:
    item = accepted(CARD, SUGG, SUGG2)
    same = accepted(CARD, SUGG2, SUGG, ts="2026-01-10T13:05:00+01:00")  # same instant and ids
    assert post_feedback(client, [item, same]).status_code == 200
    assert post_feedback(client, [item]).status_code == 200
    assert len(rows(db)) == 1
    assert post_feedback(client, [accepted(CARD, SUGG)]).status_code == 200  # a different set
    assert len(rows(db)) == 2


@pytest.mark.usefixtures("cards")
@pytest.mark.parametrize(
    "item",
    [
        overridden(CARD, code=None),  # the spec's "overridden guidance without overrideReason"
        {**overridden(CARD, code=None), "overrideReason": {}},
        overridden(CARD, code=None, comment="   "),
    ],
    ids=["no-overrideReason", "empty-overrideReason", "blank-comment"],
)
def test_plain_dismissal_is_stored(client: Any, db: Session, item: dict[str, Any]) -> None:
    """CDS Hooks 2.0 "Overridden guidance": a card dismissed without a reason is feedback too;
    it is stored (never lost) as a plain dismissal and a resend is stored once."""
    assert post_feedback(client, [item]).status_code == 200
    assert post_feedback(client, [item]).status_code == 200
    [row] = rows(db)
    assert row.outcome == "overridden" and row.card_uuid == CARD
    assert (row.override_system, row.override_code, row.user_comment) == (None, None, None)


@pytest.mark.usefixtures("cards")
def test_concurrent_duplicates_are_stored_once(client: Any, db: Session) -> None:
    item = overridden(CARD, comment="concurrent")
    with ThreadPoolExecutor(8) as pool:
        codes = list(pool.map(lambda _: post_feedback(client, [item]).status_code, range(16)))
    assert codes == [200] * 16
    assert db.scalar(select(func.count()).select_from(Feedback)) == 1


@pytest.mark.usefixtures("cards")
@pytest.mark.parametrize(
    ("item", "field"),
    [
        ({**accepted(CARD), "acceptedSuggestions": None}, "acceptedSuggestions"),
        (accepted(CARD), "acceptedSuggestions"),  # empty list
        ({**accepted(CARD, SUGG), "outcome": "ignored"}, "outcome"),
        ({**accepted(CARD, SUGG), "outcome": 1}, "outcome"),
        ({**overridden(CARD, code=None), "overrideReason": "dismissed"}, "overrideReason"),
        (
            {**overridden(CARD, code=None), "overrideReason": {"reason": None, "userComment": 5}},
            "userComment",
        ),
        ({**overridden(CARD, code=None), "outcomeTimestamp": None}, "outcomeTimestamp"),
        ({**overridden(CARD), "acceptedSuggestions": [{"id": SUGG}]}, "acceptedSuggestions"),
        ({**accepted(CARD, SUGG), "overrideReason": {"userComment": "x"}}, "overrideReason"),
        ({**overridden(CARD), "overrideReason": {"reason": {"code": "x"}}}, "system"),
        ({**overridden(CARD, comment="a\x00b")}, "userComment"),
        ({**accepted(CARD, SUGG), "outcomeTimestamp": None}, "outcomeTimestamp"),
        ({**accepted(CARD, SUGG), "outcomeTimestamp": "2026-01-10"}, "outcomeTimestamp"),
        ({**accepted(CARD, SUGG), "outcomeTimestamp": 1767000000}, "outcomeTimestamp"),
        ({**accepted(CARD, SUGG), "outcomeTimestamp": "yesterday"}, "outcomeTimestamp"),
        ({k: v for k, v in accepted(CARD, SUGG).items() if k != "card"}, "card"),
    ],
)
def test_invalid_entry_is_400_naming_the_field(client: Any, item: Any, field: str) -> None:
    r = post_feedback(client, [accepted(CARD, SUGG), item])
    assert r.status_code == 400, r.text
    assert any(e.startswith("body.feedback.1") and field in e for e in expressions(r)), r.json()


@pytest.mark.usefixtures("cards")
def test_accepted_suggestion_not_of_the_card_is_400(client: Any, db: Session) -> None:
    r = post_feedback(client, [accepted(CARD, SUGG), accepted(INFO_CARD, SUGG)])
    assert r.status_code == 400
    assert expressions(r) == ["body.feedback.1.acceptedSuggestions.0.id"]
    assert rows(db) == []  # all or nothing


@pytest.mark.usefixtures("cards")
def test_unknown_card_is_404_naming_it(client: Any, db: Session) -> None:
    r = post_feedback(
        client, [accepted(CARD, SUGG), overridden("never-issued"), overridden("x" * 99)]
    )
    assert r.status_code == 404
    assert r.json()["issue"][0]["code"] == "not-found"
    assert expressions(r) == ["body.feedback.1.card", "body.feedback.2.card"]
    assert rows(db) == []


@pytest.mark.usefixtures("cards")
def test_card_of_another_service_is_400(client: Any) -> None:
    r = post_feedback(client, [overridden(VIEW_CARD)])
    assert r.status_code == 400
    assert expressions(r) == ["body.feedback.0.card"]
    assert post_feedback(client, [overridden(VIEW_CARD)], service=OTHER_SERVICE).status_code == 200


def test_unknown_service_is_404_whatever_the_body(client: Any) -> None:
    r = client.post("/cds-services/no-such-service/feedback", json={"feedback": "junk"})
    assert r.status_code == 404
    assert expressions(r) == ["path.service_id"]


@pytest.mark.parametrize(
    "body",
    [{}, {"feedback": []}, {"feedback": {}}, [], {"feedback": [1]}],
)
def test_malformed_body_is_400(client: Any, body: Any) -> None:
    r = client.post("/cds-services/vcf-order-select/feedback", json=body)
    assert r.status_code == 400, r.text
    assert r.headers["content-type"].startswith("application/fhir+json")
    assert expressions(r)[0].startswith("body")


def test_invalid_json_is_400(client: Any) -> None:
    r = client.post(
        "/cds-services/vcf-order-select/feedback",
        content=b"{not json",
        headers={"content-type": "application/json"},
    )
    assert r.status_code == 400


@pytest.mark.usefixtures("cards")
@pytest.mark.parametrize(
    ("text", "status"),
    [
        (b'"card":"\\ud800","outcome":"overridden","overrideReason":{"userComment":"x"}', 404),
        (
            b'"card":"'
            + CARD.encode()
            + b'","outcome":"overridden","overrideReason":{"userComment":"\\ud800"}',
            400,
        ),
    ],
)
def test_unpaired_surrogates_are_4xx(client: Any, text: bytes, status: int) -> None:
    raw = b'{"feedback":[{' + text + b',"outcomeTimestamp":"2026-01-10T12:00:00Z"}]}'
    r = client.post(
        "/cds-services/vcf-order-select/feedback",
        content=raw,
        headers={"content-type": "application/json"},
    )
    assert r.status_code == status


def test_openapi_documents_both_endpoints(client: Any) -> None:
    paths = client.get("/openapi.json").json()["paths"]
    assert "post" in paths["/cds-services/{service_id}/feedback"]
    assert "get" in paths["/api/v1/analytics"]
