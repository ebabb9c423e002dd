"""GET /api/v1/analytics on a known fixture: rates, reasons, unrated-order share, filters."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy.orm import Session

from tests.feedback.helpers import (
    OTHER_SERVICE,
    T0,
    CardSpec,
    Consult,
    accepted,
    add_consult,
    overridden,
    post_feedback,
)

DAY = timedelta(days=1)


@pytest.fixture
def known(client: Any, db: Session) -> None:
    """Day 0: 4 order cards + 1 SINS card (3 rated, 1 unrated order); day 2: 1 order card
    (0 rated, 2 unrated); a patient-view consult on day 1 with one card and no orders."""
    add_consult(
        db,
        Consult(
            "c0",
            [CardSpec(f"o{i}", suggestions=[f"s{i}"]) for i in range(4)]
            + [CardSpec("k0", topic="sins")],
            orders_rated=3,
            orders_unrated=1,
        ),
    )
    add_consult(
        db,
        Consult(
            "c2", [CardSpec("o9", suggestions=["s9"])], created_at=T0 + 2 * DAY, orders_unrated=2
        ),
    )
    add_consult(
        db, Consult("v1", [CardSpec("p1", topic="vbq")], service=OTHER_SERVICE, created_at=T0 + DAY)
    )
    items = [
        accepted("o0", "s0"),
        accepted("o1", "s1"),
        overridden("o2", "alternative-recently-done"),
        overridden("o3", "patient-specific-factors"),
        overridden("o3", "patient-specific-factors", ts="2026-01-10T12:07:00Z"),  # again, later
        overridden("o9", "patient-specific-factors", comment="seen"),
        overridden("k0", "https-unknown", system="https://example.com/r"),
        overridden("k0", code=None, comment="no reason given"),
    ]
    assert post_feedback(client, items).status_code == 200
    assert post_feedback(client, items).status_code == 200  # duplicates change nothing
    assert post_feedback(client, [overridden("p1")], service=OTHER_SERVICE).status_code == 200


def get(client: Any, **params: str) -> Any:
    r = client.get("/api/v1/analytics", params=params)
    assert r.status_code == 200, r.text
    return r.json()


@pytest.mark.usefixtures("known")
def test_rates_and_reasons_per_topic(client: Any) -> None:
    body = get(client)
    topics = {t["topic"]: t for t in body["topics"]}
    assert list(topics) == ["order-appropriateness", "sins", "vbq"]
    order = topics["order-appropriateness"]
    assert order["display"] == "Order appropriateness (ACR Appropriateness Criteria)"
    assert (order["cards_issued"], order["feedback_count"]) == (5, 6)
    assert (order["accepted_count"], order["accepted_rate"]) == (2, pytest.approx(2 / 6))
    assert (order["overridden_count"], order["overridden_rate"]) == (4, pytest.approx(4 / 6))
    assert [(r["code"], r["count"]) for r in order["override_reasons"]] == [
        ("patient-specific-factors", 3),
        ("alternative-recently-done", 1),
    ]
    assert (
        order["override_reasons"][0]["display"]
        == "Patient-specific clinical factors not captured here"
    )
    sins = topics["sins"]
    assert sins["accepted_rate"] == 0.0 and sins["overridden_rate"] == 1.0
    assert sins["overridden_without_reason"] == 1
    assert sins["override_reasons"] == [
        {
            "system": "https://example.com/r",
            "code": "https-unknown",
            "display": None,
            "offered": False,
            "count": 1,
        }
    ]
    overall = body["overall"]
    assert (overall["cards_issued"], overall["feedback_count"], overall["accepted_count"]) == (
        7,
        9,
        2,
    )
    assert overall["override_reasons"][0] == {
        "system": "http://vcf-cds.org/fhir/CodeSystem/override-reason",
        "code": "patient-specific-factors",
        "display": "Patient-specific clinical factors not captured here",
        "offered": True,
        "count": 4,
    }
    assert body["knowledge_version"] and body["since"] is None


@pytest.mark.usefixtures("known")
def test_unrated_order_share(client: Any) -> None:
    body = get(client)
    assert (body["orders_rated"], body["orders_unrated"]) == (3, 3)
    assert body["unrated_order_share"] == 0.5
    assert get(client, service=OTHER_SERVICE)["unrated_order_share"] is None  # no orders


@pytest.mark.usefixtures("known")
def test_since_until_and_service_filter_consults(client: Any) -> None:
    first_day = get(client, until="2026-01-11T00:00:00Z")
    assert first_day["overall"]["cards_issued"] == 5
    assert first_day["unrated_order_share"] == 0.25
    later = get(client, since="2026-01-11T00:00:00+00:00")
    assert {t["topic"]: t["cards_issued"] for t in later["topics"]} == {
        "order-appropriateness": 1,
        "vbq": 1,
    }
    assert later["unrated_order_share"] == 1.0
    assert later["since"].startswith("2026-01-11T00:00:00")
    middle = get(client, since="2026-01-11T00:00:00Z", until="2026-01-12T00:00:00Z")
    assert [t["topic"] for t in middle["topics"]] == ["vbq"]
    assert middle["overall"]["overridden_rate"] == 1.0
    # an offset is honoured: 2026-01-10T13:00+02:00 is 11:00Z, before the day-0 consult
    assert get(client, until="2026-01-10T13:00:00+02:00")["topics"] == []
    select = get(client, service="vcf-order-select")
    assert [t["topic"] for t in select["topics"]] == ["order-appropriateness", "sins"]


def test_empty_window_has_null_rates(client: Any) -> None:
    body = get(client)
    assert body["topics"] == [] and body["overall"]["accepted_rate"] is None
    assert body["overall"]["overridden_rate"] is None and body["unrated_order_share"] is None


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"since": "last week"}, "since"),
        ({"since": "2026-01-01"}, "since"),
        ({"until": "1767000000"}, "until"),
        ({"until": "2026-13-01T00:00:00Z"}, "until"),
        ({"since": "2026-02-01T00:00:00Z", "until": "2026-01-01T00:00:00Z"}, "until"),
        ({"service": "no-such-service"}, "service"),
    ],
)
def test_invalid_query_is_422_naming_the_field(
    client: Any, params: dict[str, str], field: str
) -> None:
    r = client.get("/api/v1/analytics", params=params)
    assert r.status_code == 422, r.text
    assert [d["loc"] for d in r.json()["detail"]] == [["query", field]]
