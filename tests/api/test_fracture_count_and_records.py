"""Counting fractures (issue 8 item 6; fhir-input.md "Other resources") and the record
categories a REST caller read completely, through POST /api/v1/assessments."""

from __future__ import annotations

from typing import Any

import pytest

from tests.fhir_builders import PATIENT, condition, obs, patient

RADELEMENT = "http://radelement.org"


def panel(
    pid: str, members: list[str], status: str = "final", components: list[Any] | None = None
) -> dict[str, Any]:
    """A RadElement RDES230 vertebral-compression-fracture assessment listing its findings."""
    r: dict[str, Any] = {
        "resourceType": "Observation",
        "id": pid,
        "status": status,
        "code": {"coding": [{"system": RADELEMENT, "code": "RDES230"}]},
        "subject": {"reference": f"Patient/{PATIENT}"},
        "effectiveDateTime": "2026-11-20T10:00:00Z",
        "hasMember": [{"reference": f"Observation/{m}"} for m in members],
    }
    if components is not None:
        r["component"] = components
    return r


def symptomatic_new_vcf(level: str = "L1", oid: str = "o-vcf") -> list[dict[str, Any]]:
    return [
        obs(oid, "vcf", True, level),
        obs("o-acute", "vcf-acute", True, level),
        obs("o-sym", "symptomatic", True),
    ]


def post(client: Any, resources: list[dict[str, Any]], **wrapped: Any) -> dict[str, Any]:
    bundle = {"resourceType": "Bundle", "entry": [{"resource": r} for r in resources]}
    body: dict[str, Any] = {"bundle": bundle, **wrapped} if wrapped else bundle
    response = client.post("/api/v1/assessments", json=body)
    assert response.status_code == 200, response.text
    out: dict[str, Any] = response.json()
    return out


def missing_card(out: dict[str, Any]) -> dict[str, Any] | None:
    """The summary card when it lists missing findings (issue 9: what is missing is a section
    of the one summary card, its codes in the machine-readable part)."""
    cards = [c for c in out["cards"] if "missing" in c["extension"]["vcf-cds"]]
    return cards[0] if cards else None


# --- multiple_vcfs -------------------------------------------------------------------------------


def test_one_level_without_a_complete_list_is_unknown_and_asked_once(client: Any) -> None:
    out = post(client, [patient(), *symptomatic_new_vcf()])
    assert out["clinical_state"]["multiple_vcfs"]["value"] is None
    card = missing_card(out)
    assert card is not None and "multiple-vcfs" in card["extension"]["vcf-cds"]["missing"]
    assert card["detail"].count("How many vertebrae are fractured?") == 1


def test_a_complete_assessment_with_one_level_makes_it_false(client: Any) -> None:
    out = post(client, [patient(), *symptomatic_new_vcf(), panel("rde", ["o-vcf"])])
    state = out["clinical_state"]["multiple_vcfs"]
    assert state["value"] is False
    assert "Observation/rde" in state["sources"] and "L1" in state["note"]
    card = missing_card(out)
    assert card is None or "How many vertebrae" not in card["detail"]


def test_a_complete_assessment_with_two_levels_makes_it_true(client: Any) -> None:
    resources = [
        patient(),
        *symptomatic_new_vcf(),
        obs("o-vcf2", "vcf", True, "L3"),
        obs("o-no", "vcf", False, "L2"),
        panel("rde", ["o-vcf", "o-vcf2", "o-no"]),
    ]
    out = post(client, resources)
    assert out["clinical_state"]["multiple_vcfs"]["value"] is True


@pytest.mark.parametrize(
    ("status", "members"),
    [("preliminary", ["o-vcf"]), ("final", ["o-vcf", "o-absent"])],
)
def test_a_preliminary_or_partial_assessment_does_not_count(
    client: Any, status: str, members: list[str]
) -> None:
    out = post(client, [patient(), *symptomatic_new_vcf(), panel("rde", members, status)])
    assert out["clinical_state"]["multiple_vcfs"]["value"] is None
    if "o-absent" in members:
        assert any(i["location"] == "Observation/rde.hasMember" for i in out["issues"])


def test_an_assessment_with_one_level_in_its_components_counts(client: Any) -> None:
    level = {
        "code": {"coding": [{"system": "http://vcf-cds.org/fhir/CodeSystem/finding",
                             "code": "vertebral-level"}]},
        "valueCodeableConcept": {"coding": [{"system":
            "http://vcf-cds.org/fhir/CodeSystem/vertebral-level", "code": "T12"}]},
    }  # fmt: skip
    vcf = {
        "code": {"coding": [{"system": "http://vcf-cds.org/fhir/CodeSystem/finding", "code": "vcf"}]},
        "valueBoolean": True,
    }  # fmt: skip
    resources = [
        patient(),
        obs("o-sym", "symptomatic", True),
        panel("rde", [], components=[level, vcf]),
    ]
    out = post(client, resources)
    state = out["clinical_state"]
    assert state["vcf_present"]["value"] is True
    assert state["multiple_vcfs"]["value"] is False


def test_levels_from_other_sources_join_the_complete_list(client: Any) -> None:
    resources = [
        patient(), *symptomatic_new_vcf(), panel("rde", ["o-vcf"]),
        condition("c-t12", "M48.54XA"),  # collapsed vertebra, thoracic: no level in bodySite
    ]  # fmt: skip
    resources[-1]["bodySite"] = [{"text": "T12"}]
    out = post(client, resources)
    assert out["clinical_state"]["multiple_vcfs"]["value"] is True


# --- records read completely ---------------------------------------------------------------------


def test_an_unrelated_resource_no_longer_closes_history_when_categories_are_stated(
    client: Any,
) -> None:
    unrelated = condition("c-htn", "I10")  # hypertension says nothing about cancer
    legacy = post(client, [patient(), *symptomatic_new_vcf(), unrelated])
    assert legacy["clinical_state"]["malignancy_history"]["value"] is False  # as before
    stated = post(client, [patient(), *symptomatic_new_vcf(), unrelated],
                  records_read_completely=["procedures"])  # fmt: skip
    assert stated["clinical_state"]["malignancy_history"]["value"] is None
    assert stated["clinical_state"]["prior_vcf_treatment"]["value"] is False


def test_stated_categories_close_history_without_any_resource(client: Any) -> None:
    out = post(client, [patient(), *symptomatic_new_vcf()],
               records_read_completely=["conditions", "procedures", "medications"])  # fmt: skip
    state = out["clinical_state"]
    assert state["malignancy_history"]["value"] is False
    assert state["prior_vcf_treatment"]["value"] is False
    assert out["imaging"]["primary"] == 1  # new symptomatic VCF, no known malignancy
    assert "prolonged-corticosteroids" in out["red_flags"]["absent"]  # medications read
    assert "history-of-cancer" in out["red_flags"]["absent"]


def test_the_query_parameter_still_works_with_a_bare_bundle(client: Any) -> None:
    bundle = {"resourceType": "Bundle", "entry": [{"resource": r} for r in symptomatic_new_vcf()]}
    out = client.post("/api/v1/assessments?complete=Condition", json=bundle).json()
    assert out["clinical_state"]["malignancy_history"]["value"] is False


@pytest.mark.parametrize(
    ("body", "loc"),
    [
        ({"bundle": {"resourceType": "Bundle"}, "records_read_completely": ["labs"]},
         ["body", "records_read_completely"]),
        ({"bundle": {"resourceType": "Bundle"}, "records_read_completely": "conditions"},
         ["body", "records_read_completely"]),
        ({"bundle": {"resourceType": "Patient"}, "records_read_completely": []},
         ["body", "resourceType"]),
        ({"bundle": {"resourceType": "Bundle"}, "records_read_completely": [], "x": 1},
         ["body", "x"]),
    ],
)  # fmt: skip
def test_bad_wrapped_bodies_are_400_naming_the_field(
    client: Any, body: dict[str, Any], loc: list[str]
) -> None:
    response = client.post("/api/v1/assessments", json=body)
    assert response.status_code == 400
    outcome = response.json()
    assert outcome["resourceType"] == "OperationOutcome"
    assert any(".".join(loc) in str(i.get("expression") or i.get("diagnostics"))
               for i in outcome["issue"]), outcome  # fmt: skip
