"""REST behaviour through the ASGI app: errors name the field, tables round-trip, health."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from app.knowledge.schema import Knowledge
from tests.conftest import ClientFactory


@pytest.mark.parametrize(
    ("path", "body", "loc"),
    [
        ("/api/v1/scores/sins", {"level": "L6"}, ["body", "level"]),
        ("/api/v1/scores/sins", {"level": "T13"}, ["body", "level"]),
        ("/api/v1/scores/sins", {"level": "coccyx"}, ["body", "level"]),
        ("/api/v1/scores/sins", {"level": "T6", "pain": "sometimes"}, ["body", "pain"]),
        ("/api/v1/scores/sins", {"pain": "none"}, ["body", "level"]),
        ("/api/v1/scores/sins", {"level": "T6", "colapse": "gt50"}, ["body", "colapse"]),
        ("/api/v1/scores/mri-malignancy", {"fluid_cleft": "maybe"}, ["body", "fluid_cleft"]),
        (
            "/api/v1/scores/mri-malignancy",
            {"signal_pattern": "speckled"},
            ["body", "signal_pattern"],
        ),
        ("/api/v1/scores/vbq", {"l1": 300, "csf": 0}, ["body", "csf"]),
        ("/api/v1/scores/vbq", {"l1": 300}, ["body", "csf"]),
        ("/api/v1/scores/vbq", {"csf": 100}, ["body", "l1"]),
        ("/api/v1/scores/escc", {"grade": "4"}, ["body", "grade"]),
        ("/api/v1/scores/escc", {"grade": 2}, ["body", "grade"]),
        ("/api/v1/acr/match", {"etiology": "infectious"}, ["body", "etiology"]),
        ("/api/v1/acr/match", {"symptomatic": "perhaps"}, ["body", "symptomatic"]),
    ],
)
def test_bad_input_is_4xx_naming_the_field(
    client: Any, path: str, body: dict[str, Any], loc: list[str]
) -> None:
    r = client.post(path, json=body)
    assert 400 <= r.status_code < 500, r.text
    assert any(d["loc"] == loc for d in r.json()["detail"]), r.json()
    assert "input" not in r.json()["detail"][0]  # the offending value is not echoed back


@pytest.mark.parametrize("n", ["0", "10", "-1"])
def test_unknown_variant_is_404_naming_n(client: Any, n: str) -> None:
    r = client.get(f"/api/v1/acr/variants/{n}")
    assert r.status_code == 404
    assert r.json()["detail"][0]["loc"] == ["path", "n"]


def test_non_integer_variant_is_422(client: Any) -> None:
    r = client.get("/api/v1/acr/variants/two")
    assert r.status_code == 422 and r.json()["detail"][0]["loc"] == ["path", "n"]


def test_malformed_json_is_422(client: Any) -> None:
    r = client.post(
        "/api/v1/scores/sins", content=b"{level:", headers={"content-type": "application/json"}
    )
    assert r.status_code == 422


def test_every_variant_table_round_trips_in_seed_order(client: Any, knowledge: Knowledge) -> None:
    listed = client.get("/api/v1/acr/variants").json()
    assert [v["id"] for v in listed] == list(range(1, 10))
    for variant in knowledge.acr.variants:
        one = client.get(f"/api/v1/acr/variants/{variant.id}").json()
        assert one == listed[variant.id - 1]
        assert one["title"] == variant.title
        assert one["question"] == ("imaging" if variant.id <= 4 else "treatment")
        assert [(p["name"], p["category"]) for p in one["procedures"]] == [
            (p.name, p.category) for p in variant.procedures
        ]
        for p in one["procedures"]:
            assert p["rating_range"] == list(knowledge.category(p["category"]).rating_range)


def test_sins_response_shape(client: Any) -> None:
    r = client.post("/api/v1/scores/sins", json={"level": "T12", "pain": "mechanical"}).json()
    assert r["total"] is None and r["category"] is None
    assert r["points"] == {
        "location": 3,
        "pain": 3,
        "lesion": None,
        "alignment": None,
        "collapse": None,
        "posterolateral": None,
    }
    assert r["missing"] == ["lesion", "alignment", "collapse", "posterolateral"]
    assert r["possible_categories"] == ["stable", "potentially_unstable", "unstable"]
    assert (r["min"], r["max"]) == (6, 18)


def test_escc_policy_named_and_configurable(client: Any, make_client: ClientFactory) -> None:
    assert client.post("/api/v1/scores/escc", json={"grade": "1c"}).json()["policy"] == {
        "escc_1c": "low"
    }
    high = make_client(policy_escc_1c="high")
    body = high.post("/api/v1/scores/escc", json={"grade": "1c"}).json()
    assert body["high_grade"] is True and body["policy"] == {"escc_1c": "high"}


def test_match_response_has_policies_and_version(client: Any) -> None:
    r = client.post("/api/v1/acr/match", json={"vcf_present": True}).json()
    assert r["policies"]["escc_1c"] == "low"
    assert set(r["imaging"]) >= {"matched", "primary", "possible", "missing"}
    assert r["knowledge_version"]


def test_health(client: Any) -> None:
    assert client.get("/api/v1/health/live").json()["status"] == "ok"
    ready = client.get("/api/v1/health/ready")
    assert ready.status_code == 200
    assert ready.json()["checks"] == {"knowledge": True, "database": True, "schema": True}
    assert ready.headers["x-knowledge-version"] == ready.json()["knowledge_version"]


def test_ready_fails_when_database_unreachable(make_client: ClientFactory) -> None:
    bad = make_client(database_url="sqlite:////nonexistent-dir/x/y.db")  # start-up goes on
    r = bad.get("/api/v1/health/ready")
    assert r.status_code == 503 and r.json()["checks"]["database"] is False


@settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    body=st.dictionaries(
        st.sampled_from(["level", "pain", "lesion", "collapse", "x"]),
        st.one_of(st.none(), st.text(max_size=5), st.integers(), st.booleans()),
        max_size=5,
    )
)
def test_sins_never_500(client: Any, body: dict[str, Any]) -> None:
    assert client.post("/api/v1/scores/sins", json=body).status_code < 500
