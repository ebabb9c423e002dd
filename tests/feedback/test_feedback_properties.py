"""Hypothesis: random feedback bodies (junk and near-valid) never give a 5xx; every answer is
200 ``{}`` or a 4xx OperationOutcome."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy.orm import Session

from tests.feedback.helpers import REASON_SYSTEM, CardSpec, Consult, add_consult

CARDS = ["card-a", "card-b"]
SUGGESTIONS = ["sugg-a", "sugg-b"]

json_scalars = (
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=20)
)
junk = st.recursive(
    json_scalars,
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4)
    ),
    max_leaves=12,
)
texts = st.text(max_size=300) | st.sampled_from(["", " ", "\x00", "a" * 5000])
timestamps = (
    st.datetimes(timezones=st.timezones()).map(lambda d: d.isoformat())
    | st.sampled_from(
        [
            "2026-01-10T12:00:00Z",
            "0001-01-01T00:00:00+01:00",
            "9999-12-31T23:59:59-01:00",
            "2026-01-10",
        ]
    )
    | junk
)
codings = st.fixed_dictionaries(
    {},
    optional={
        "system": st.sampled_from([REASON_SYSTEM]) | texts | junk,
        "code": st.sampled_from(["patient-specific-factors"]) | texts | junk,
        "display": texts | junk,
    },
)
items = st.fixed_dictionaries(
    {},
    optional={
        "card": st.sampled_from([*CARDS, "card-c"]) | texts | junk,
        "outcome": st.sampled_from(["accepted", "overridden"]) | junk,
        "acceptedSuggestions": st.lists(
            st.fixed_dictionaries({"id": st.sampled_from(SUGGESTIONS) | texts | junk}) | junk,
            max_size=3,
        )
        | junk,
        "overrideReason": st.fixed_dictionaries(
            {}, optional={"reason": codings | junk, "userComment": texts | junk}
        )
        | junk,
        "outcomeTimestamp": timestamps,
        "extension": junk,
    },
)
bodies = st.fixed_dictionaries({"feedback": st.lists(items | junk, max_size=4)}) | junk


@pytest.fixture
def cards(db: Session) -> None:
    add_consult(
        db, Consult("c1", [CardSpec(CARDS[0], suggestions=SUGGESTIONS), CardSpec(CARDS[1])])
    )
    add_consult(db, Consult("c2", [CardSpec("card-c")], service="vcf-patient-view"))


@pytest.mark.usefixtures("cards")
@settings(
    max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(body=bodies, service=st.sampled_from(["vcf-order-select", "vcf-patient-view", "nope"]))
def test_random_feedback_never_5xx(client: Any, body: Any, service: str) -> None:
    r = client.post(f"/cds-services/{service}/feedback", json=body)
    assert r.status_code < 500, r.text
    if r.status_code == 200:
        assert r.json() == {}
    else:
        assert r.status_code in (400, 404) and r.json()["resourceType"] == "OperationOutcome"
