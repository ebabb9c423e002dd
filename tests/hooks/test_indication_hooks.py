"""The order's indication (ServiceRequest.reasonCode / reasonReference) feeds the variant matcher
exactly like the same Condition does (issue 8 item 3), through the CDS Hooks services and the
REST API. Low back pain: ICD-10-CM M54.50 / SNOMED CT 279039007 (symptomatic, clinical-rules
1.1); collapsed vertebra M48.56XA (vcf, fhir-input.md); malignancy C50.911 (C00-C96)."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from app.fhir.adapter import read_resources
from tests.fhir_builders import ICD10, condition, draft, hook_request, obs
from tests.hooks.conftest import cards_with, checked

SNOMED = "http://snomed.info/sct"
MRI_WWO_LUMBAR = ("72158", "MRI lumbar spine without and with contrast")
AUTHORED = "2026-11-28T09:00:00Z"


def lbp_condition(cid: str = "c-lbp", code: str = "M54.50", system: str = ICD10) -> dict[str, Any]:
    c = condition(cid, code, onset=AUTHORED)
    c["code"] = {"coding": [{"system": system, "code": code}]}
    return c


def order(sid: str = "sr1", **reason: Any) -> dict[str, Any]:
    sr = draft(sid, *MRI_WWO_LUMBAR)
    sr["authoredOn"] = AUTHORED
    sr.update(reason)
    return sr


def fracture_only() -> list[dict[str, Any]]:
    """A new VCF at L1 with no documented symptoms: no imaging variant is certain."""
    return [
        obs("o-vcf", "vcf", True, "L1"),
        obs("o-acute", "vcf-acute", True, "L1"),
        obs("o-mult", "multiple-vcfs", False),
    ]


def outcome(body: dict[str, Any]) -> tuple[Any, ...]:
    """What the clinician and the EHR see of the order: card summary, indicator, rating."""
    [card] = cards_with(body, "order-appropriateness")
    ratings = [
        e["valueCodeableConcept"]
        for a in body.get("systemActions", [])
        if a["type"] == "update" and a["resource"]["id"] == "sr1"
        for e in a["resource"]["extension"]
        if "valueCodeableConcept" in e  # not the per-call consult id
    ]
    return card["summary"], card["indicator"], str(ratings)


@pytest.mark.parametrize("hook", ["order-select", "order-sign"])
def test_low_back_pain_as_reason_code_equals_the_condition(post_hook: Any, hook: str) -> None:
    service = f"vcf-{hook}"
    with_condition = hook_request(
        hook, fracture_only(), conditions=[lbp_condition()], drafts=[order()]
    )
    reason: dict[str, Any] = {"reasonCode": [{"coding": [{"system": ICD10, "code": "M54.50"}]}]}
    with_reason = hook_request(hook, fracture_only(), conditions=[], drafts=[order(**reason)])
    reference: dict[str, Any] = {"reasonReference": [{"reference": "Condition/c-lbp"}]}
    with_reference = hook_request(
        hook, fracture_only(), conditions=[lbp_condition()], drafts=[order(**reference)]
    )
    without = hook_request(hook, fracture_only(), conditions=[], drafts=[order()])

    a = outcome(checked(post_hook(service, with_condition)))
    b = outcome(checked(post_hook(service, with_reason)))
    c = outcome(checked(post_hook(service, with_reference)))
    d = outcome(checked(post_hook(service, without)))
    assert a == b == c
    assert "Variant 1" in a[0] and "Usually Not Appropriate" in a[0]
    assert a != d  # without the indication the symptom is unknown


def test_snomed_low_back_pain_reason_equals_the_condition(post_hook: Any) -> None:
    cond = lbp_condition(code="279039007", system=SNOMED)
    reason: dict[str, Any] = {"reasonCode": [{"coding": [{"system": SNOMED, "code": "279039007"}]}]}
    a = hook_request("order-select", fracture_only(), conditions=[cond], drafts=[order()])
    b = hook_request("order-select", fracture_only(), conditions=[], drafts=[order(**reason)])
    assert outcome(checked(post_hook("vcf-order-select", a))) == outcome(
        checked(post_hook("vcf-order-select", b))
    )


def test_vcf_and_malignancy_as_reason_equal_the_conditions(post_hook: Any) -> None:
    symptoms = [obs("o-sym", "symptomatic", True)]
    conds = [condition("c-vcf", "M48.56XA", onset=AUTHORED), condition("c-ca", "C50.911")]
    coded = [{"coding": [{"system": ICD10, "code": c}]} for c in ("M48.56XA", "C50.911")]
    a = hook_request("order-select", symptoms, conditions=conds, drafts=[order()])
    b = hook_request("order-select", symptoms, conditions=[], drafts=[order(reasonCode=coded)])
    out_a = outcome(checked(post_hook("vcf-order-select", a)))
    out_b = outcome(checked(post_hook("vcf-order-select", b)))
    assert out_a == out_b
    assert "Variant 2" in out_a[0]  # new symptomatic VCF with a history of malignancy


def test_reason_text_only_is_reported_as_uncoded_never_guessed(client: Any) -> None:
    sr = order(reasonCode=[{"text": "low back pain"}])
    bundle = {"resourceType": "Bundle", "entry": [{"resource": r} for r in [*fracture_only(), sr]]}
    out = client.post("/api/v1/assessments", json=bundle).json()
    assert out["clinical_state"]["symptomatic"]["value"] is None
    [issue] = [i for i in out["issues"] if i["location"] == "ServiceRequest/sr1.reasonCode[0]"]
    assert "text only" in issue["message"]


def test_provenance_names_the_order_field(client: Any) -> None:
    sr = order(
        reasonCode=[{"coding": [{"system": ICD10, "code": "M54.50"}]}],
        reasonReference=[{"reference": "Condition/c-ca"}],
    )
    resources = [*fracture_only(), condition("c-ca", "C50.911"), sr]
    bundle = {"resourceType": "Bundle", "entry": [{"resource": r} for r in resources]}
    out = client.post("/api/v1/assessments", json=bundle).json()
    state = out["clinical_state"]
    assert state["symptomatic"] == {
        "value": True,
        "sources": ["ServiceRequest/sr1.reasonCode[0]"],
    }
    assert "ServiceRequest/sr1.reasonReference[0]" in state["malignancy_history"]["sources"]
    assert "Condition/c-ca" in state["malignancy_history"]["sources"]


def test_reason_reference_to_an_observation_and_unresolved_references() -> None:
    sym = obs("o-sym", "symptomatic", True)
    sr = order(
        reasonReference=[
            {"reference": "Observation/o-sym"},
            {"reference": "Condition/missing"},
            {"reference": "Procedure/p1"},
        ]
    )
    pf = read_resources([sym], draft_orders=[sr])
    [f] = [f for f in pf.findings if f.code == "symptomatic"]
    assert f.value is True
    assert set(f.sources) == {"Observation/o-sym", "ServiceRequest/sr1.reasonReference[0]"}
    where = {i.location: i.message for i in pf.issues}
    assert "not read" in where["ServiceRequest/sr1.reasonReference[1]"]
    assert "not a Condition or Observation" in where["ServiceRequest/sr1.reasonReference[2]"]


def test_reason_reference_to_another_patients_condition_is_skipped() -> None:
    other = lbp_condition()
    other["subject"] = {"reference": "Patient/someone-else"}
    sr = order(reasonReference=[{"reference": "Condition/c-lbp"}])
    patient = {"resourceType": "Patient", "id": "p1"}
    pf = read_resources([patient, other], draft_orders=[sr])
    assert not [f for f in pf.findings if f.code == "symptomatic"]
    assert any("another patient" in i.message for i in pf.issues)


def test_unknown_reason_code_is_reported_and_ignored() -> None:
    sr = order(reasonCode=[{"coding": [{"system": "urn:local", "code": "BACK"}]}])
    pf = read_resources(copy.deepcopy(fracture_only()), draft_orders=[sr])
    assert not [f for f in pf.findings if f.code == "symptomatic"]
    [issue] = [i for i in pf.issues if i.location == "ServiceRequest/sr1.reasonCode[0]"]
    assert "urn:local|BACK" in issue.message
