"""patient-view cards and POST /api/v1/assessments (same cards as the hook)."""

from __future__ import annotations

import json
from typing import Any

from app.cds_hooks.card_rules import validate_cds_response
from tests.fhir_builders import (
    bundle,
    condition,
    draft,
    hook_request,
    obs,
    patient,
    v1_observations,
)
from tests.hooks.conftest import (
    assert_cards_agree,
    assert_clinician_language,
    cards_of,
    checked,
    ext,
    family,
    stated,
)

MRI_SIGNS_FIG1 = [
    obs("m1", "marrow-signal-pattern", "diffuse", "L1"),
    obs("m2", "posterior-border", "convex", "L1"),
    obs("m3", "fluid-cleft", False, "L1"),
    obs("m4", "signal-asymmetry", True, "L1"),
    obs("m5", "pedicle-involvement", True, "L1"),
    obs("m6", "posterior-wall-axial", "double-peaked", "L1"),
    obs("m7", "contrast-enhancement", True, "L1"),
    obs("m8", "cord-compression", False, "L1"),
    obs("m9", "paraspinal-mass", False, "L1"),
]


def test_patient_view_recommends_variant_1(client: Any) -> None:
    req = hook_request("patient-view", v1_observations(), conditions=[condition("c", "M81.0")])
    body = checked(client.post("/cds-services/vcf-patient-view", json=req))
    [card] = body["cards"]  # one summary card, nothing critical
    assert family(card) == "summary" and card["indicator"] == "info"
    assert stated(card)[("acr-imaging-variant", None)] == "1"
    assert stated(card)[("malignancy-history", None)] == "false"
    assert (
        "MRI spine without IV contrast" in card["summary"]
        and "CT spine without IV contrast" in card["summary"]
    )
    assert "0 mSv" in card["detail"]  # MRI: ACR relative radiation level O
    assert card["links"][0]["url"].endswith("/explain/variants/1")
    smart = card["links"][1]
    assert smart["type"] == "smart" and smart["url"].endswith("/app/launch.html")
    assert json.loads(smart["appContext"]) == {"consultId": ext(card)["consultId"], "orders": []}
    assert "systemActions" not in body


def test_patient_view_figure_1_score_and_work_up(client: Any) -> None:
    observations = [
        obs("v", "vcf", True, "L1"),
        obs("a", "vcf-acute", True, "L1"),
        obs("s", "symptomatic", True),
        *MRI_SIGNS_FIG1,
    ]
    body = checked(
        client.post(
            "/cds-services/vcf-patient-view", json=hook_request("patient-view", observations)
        )
    )
    [card] = body["cards"]
    assert card["indicator"] == "warning"  # a malignant-looking score while the cause is unknown
    assert stated(card)[("mri-classification", "L1")] == "suggests-malignant"
    assert stated(card)[("cord-compression", "L1")] == "absent"
    assert "**MRI malignancy score** 5 at L1" in card["detail"] and "Work-up" in card["detail"]
    assert "Treatment considerations" not in card["detail"]  # the cause is not established


def test_red_flags_cauda_equina_is_critical(client: Any) -> None:
    observations = [
        *v1_observations(),
        obs("rf", "saddle-anesthesia", True),
        obs("rf2", "fever", True),
    ]
    req = hook_request(
        "order-select",
        observations,
        conditions=[condition("c", "M81.0")],
        drafts=[draft("s", "72148", "MRI L")],
    )
    body = checked(client.post("/cds-services/vcf-order-select", json=req))
    [card] = cards_of(body, "safety")
    assert card["indicator"] == "critical" and ext(card)["critical"] == ["red-flag"]
    assert "saddle anesthesia" in card["summary"]
    assert body["cards"][0] is card  # the most urgent card first


def test_assessment_bundle_round_trip_and_same_cards(client: Any) -> None:
    resources = [
        patient(),
        *v1_observations(),
        condition("c", "M81.0"),
        draft("sr1", "72158", "MRI L w/wo"),
    ]
    # complete=Procedure: the Bundle holds the whole procedure history (none), so prior
    # augmentation is known false; otherwise Variant 3 stays possible and the order is not rated
    r = client.post(
        "/api/v1/assessments?complete=Procedure",
        json=bundle(resources, "collection"),
        headers={"content-type": "application/fhir+json"},
    )
    assert r.status_code == 200, r.text
    a = r.json()
    assert a["clinical_state"]["vcf_present"] == {"value": True, "sources": ["Observation/o-vcf"]}
    assert a["clinical_state"]["malignancy_history"]["value"] is False
    assert a["imaging"]["primary"] == 1 and a["imaging"]["matched"] == [1]
    [order] = a["orders"]
    assert order["id"] == "ServiceRequest/sr1" and order["category"] == "Usually Not Appropriate"
    assert order["rating_range"] == [1, 3] and len(order["alternatives"]) == 2
    assert set(a["scores"]) >= {
        "mri_malignancy",
        "sins",
        "escc",
        "vbq",
        "sign_evidence",
        "chemical_shift",
    }
    assert a["knowledge_version"] and a["policies"]["escc_1c"] == "low"
    assert validate_cds_response({"cards": a["cards"], "systemActions": a["system_actions"]}) == []
    assert_clinician_language(a["cards"])
    assert_cards_agree(a["cards"])
    assert [family(c) for c in a["cards"]] == ["summary", "order-rating"]


def test_assessment_without_conditions_leaves_malignancy_unknown_unless_complete(
    client: Any,
) -> None:
    resources = [*v1_observations()]
    a = client.post("/api/v1/assessments", json=bundle(resources)).json()
    assert a["clinical_state"]["malignancy_history"]["value"] is None
    assert a["imaging"]["possible"] == [1, 2, 3]  # procedures unknown too: Variant 3 possible
    a = client.post(
        "/api/v1/assessments?complete=Condition&complete=Procedure", json=bundle(resources)
    ).json()
    assert (
        a["clinical_state"]["malignancy_history"]["value"] is False and a["imaging"]["primary"] == 1
    )


def test_assessment_bad_input(client: Any) -> None:
    r = client.post("/api/v1/assessments", json={"resourceType": "Patient"})
    assert r.status_code == 400 and r.json()["issue"][0]["expression"] == ["body.resourceType"]
    r = client.post("/api/v1/assessments?complete=Nope", json=bundle([]))
    assert r.status_code == 400


def test_explanation_pages(client: Any) -> None:
    r = client.get("/explain/variants/2")
    assert (
        r.status_code == 200 and "MRI spine area of interest without and with IV contrast" in r.text
    )
    assert "licence" in r.text
    assert client.get("/explain/topics/sins").status_code == 200
    assert client.get("/explain/topics/nope").status_code == 404
