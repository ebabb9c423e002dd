"""Golden order-select / order-sign requests for each ACR variant (written after CDS Hooks 2.0
and the Argonaut "CDS Hooks for PAMA" examples: draftOrders Bundle + selections)."""

from __future__ import annotations

from typing import Any

import pytest

from tests.fhir_builders import condition, draft, hook_request, obs, procedure, v1_observations
from tests.hooks.conftest import cards_of, cards_with, checked, ext, rating_card, stated

PAMA = "http://fhir.org/argonaut/Extension/pama-rating"
CONSULT = "http://fhir.org/argonaut/Extension/pama-rating-consult-id"
MRI_WWO_LUMBAR = ("72158", "MRI lumbar spine without and with contrast")
MRI_WO_LUMBAR = "72148"
CT_WO_LUMBAR = "72131"


def rating_of(body: dict[str, Any], order_id: str) -> dict[str, str]:
    """The pama-rating codings attached by the systemAction update of an order."""
    for action in body.get("systemActions", []):
        res = action["resource"]
        if action["type"] == "update" and f"{res['resourceType']}/{res['id']}" == order_id:
            ext = {e["url"]: e for e in res["extension"]}
            assert ext[CONSULT]["valueUri"].startswith("urn:uuid:")
            return {
                c["system"].rsplit("/", 1)[1]: c["code"]
                for c in ext[PAMA]["valueCodeableConcept"]["coding"]
            }
    return {}


def test_v1_contrast_mri_is_usually_not_appropriate_with_swaps(post_hook: Any) -> None:
    # Golden shape changed (issue 10, point 3): a swap is now ONE `update` of the draft
    # ServiceRequest (same id, the alternative's code and its rating; Argonaut "CDS Hooks for
    # PAMA"), not delete + create, because EHRs such as the CDS Hooks sandbox's PAMA screen apply
    # only `update` actions to draft orders. delete + create stays available (swap_actions).
    draft_order = draft("sr1", *MRI_WWO_LUMBAR)
    draft_order["encounter"] = {"reference": "Encounter/e1"}
    draft_order["orderDetail"] = [{"text": "with and without gadolinium"}]
    req = hook_request(
        "order-select", v1_observations(), conditions=[condition("c-op", "M81.0")],
        drafts=[draft_order],
    )  # fmt: skip
    body = checked(post_hook("vcf-order-select", req))
    [card] = cards_with(body, "order-appropriateness")
    assert card["indicator"] == "warning"
    assert (ext(card)["category"], ext(card)["variant"]) == ("Usually Not Appropriate", 1)
    assert card["selectionBehavior"] == "at-most-one"
    assert all(r["display"] for r in card["overrideReasons"])
    labels = [s["label"] for s in card["suggestions"]]
    assert len(labels) == 2 and "MRI spine without IV contrast" in labels[0]
    [update] = card["suggestions"][0]["actions"]
    assert update["type"] == "update" and "resourceId" not in update
    changed = update["resource"]
    # the same draft order (id, status, intent, subject, encounter), only the procedure changed
    assert (changed["resourceType"], changed["id"]) == ("ServiceRequest", "sr1")
    assert changed["status"] == "draft" and changed["intent"] == "order"
    assert changed["subject"] == {"reference": "Patient/p1"}
    assert changed["encounter"] == {"reference": "Encounter/e1"}
    assert changed["code"]["coding"][0]["code"] == MRI_WO_LUMBAR  # same body region (lumbar)
    assert "orderDetail" not in changed  # it described the contrast study, not the alternative
    # the alternative's pre-calculated rating, under the consult id of this response
    assert rating_of({"systemActions": [update]}, "ServiceRequest/sr1") == {
        "pama-rating": "appropriate",
        "appropriateness-score": "appropriate",
    }
    [second] = card["suggestions"][1]["actions"]
    assert second["type"] == "update" and second["resource"]["id"] == "sr1"
    assert second["resource"]["code"]["coding"][0]["code"] == CT_WO_LUMBAR
    assert ext(card)["order"] == "ServiceRequest/sr1"  # the id in the machine-readable part
    assert [link["type"] for link in card["links"]] == ["absolute", "smart"]
    # the rating of the draft as ordered is unchanged
    assert rating_of(body, "ServiceRequest/sr1") == {
        "pama-rating": "not-appropriate",
        "appropriateness-score": "inappropriate",
    }
    assert (
        req["context"]["draftOrders"]["entry"][0]["resource"]["code"]["coding"][0]["code"]
        == (MRI_WWO_LUMBAR[0])
    )  # the request's draft is never modified in place


def test_swap_as_delete_and_create_when_configured(settings: Any) -> None:
    from fastapi.testclient import TestClient

    from app.main import create_app

    req = hook_request(
        "order-select", v1_observations(), conditions=[condition("c-op", "M81.0")],
        drafts=[draft("sr1", *MRI_WWO_LUMBAR)],
    )  # fmt: skip
    app = create_app(settings.model_copy(update={"swap_actions": "delete-create"}))
    with TestClient(app) as client:
        body = checked(client.post("/cds-services/vcf-order-select", json=req))
    [card] = cards_with(body, "order-appropriateness")
    first = card["suggestions"][0]["actions"]
    assert first[0] == {
        "type": "delete",
        "description": first[0]["description"],
        "resourceId": "ServiceRequest/sr1",
    }
    created = first[1]["resource"]
    assert first[1]["type"] == "create" and "id" not in created
    assert created["code"]["coding"][0]["code"] == MRI_WO_LUMBAR  # same body region (lumbar)
    assert created["subject"] == {"reference": "Patient/p1"}
    assert (
        card["suggestions"][1]["actions"][1]["resource"]["code"]["coding"][0]["code"]
        == CT_WO_LUMBAR
    )


def test_accepting_a_swap_suggestion_is_recorded(post_hook: Any, client: Any) -> None:
    req = hook_request(
        "order-select", v1_observations(), conditions=[condition("c-op", "M81.0")],
        drafts=[draft("sr1", *MRI_WWO_LUMBAR)],
    )  # fmt: skip
    body = checked(post_hook("vcf-order-select", req))
    [card] = cards_with(body, "order-appropriateness")
    feedback = {
        "feedback": [
            {
                "card": card["uuid"],
                "outcome": "accepted",
                "acceptedSuggestions": [{"id": card["suggestions"][0]["uuid"]}],
                "outcomeTimestamp": "2026-01-10T12:05:00Z",
            }
        ]
    }
    assert client.app.state.audit.wait_idle(10.0)  # the consult is in the audit trail
    r = client.post("/cds-services/vcf-order-select/feedback", json=feedback)
    assert r.status_code == 200, r.text


def test_v2_malignancy_history_contrast_mri_usually_appropriate(post_hook: Any) -> None:
    req = hook_request(
        "order-select", v1_observations(), conditions=[condition("c-ca", "C50.911")],
        drafts=[draft("sr2", *MRI_WWO_LUMBAR)],
    )  # fmt: skip
    body = checked(post_hook("vcf-order-select", req))
    [card] = cards_with(body, "order-appropriateness")
    assert card["indicator"] == "info" and ext(card)["variant"] == 2
    assert "suggestions" not in card
    assert rating_of(body, "ServiceRequest/sr2") == {
        "pama-rating": "appropriate",
        "appropriateness-score": "appropriate",
    }


def test_v2_contrast_only_mri_disagreement_rated_5(post_hook: Any) -> None:
    req = hook_request(
        "order-select", v1_observations(), conditions=[condition("c-ca", "C50.911")],
        drafts=[draft("sr3", "72149", "MRI lumbar spine with contrast")],
    )  # fmt: skip
    body = checked(post_hook("vcf-order-select", req))
    [card] = cards_with(body, "order-appropriateness")
    assert ext(card)["category"] == "May Be Appropriate (Disagreement)"
    assert ext(card)["rating"] == [5, 5]
    assert card["indicator"] == "info" and len(card["suggestions"]) == 3
    assert rating_of(body, "ServiceRequest/sr3")["appropriateness-score"] == "uncertain"


def test_v3_prior_vertebroplasty_order_sign_rates_every_draft(post_hook: Any) -> None:
    obs_ = [obs("o-sym", "symptomatic", True), obs("o-vcf", "vcf", True, "T12")]
    req = hook_request(
        "order-sign", obs_, conditions=[condition("c-op", "M81.0")], procedures=[procedure("pr1", "22511")],
        drafts=[draft("sr4", "72133", "CT lumbar spine without and with contrast"), draft("sr5", "71046", "Chest x-ray")],
    )  # fmt: skip
    body = checked(post_hook("vcf-order-sign", req))
    rated = rating_card(body, "ServiceRequest/sr4")
    assert (ext(rated)["variant"], ext(rated)["category"]) == (3, "Usually Not Appropriate")
    assert rated["indicator"] == "warning"
    [unknown] = [c for c in cards_of(body, "order-rating") if "orders" in ext(c)]
    assert ext(unknown) | {"consultId": "-"} == {
        "family": "order-rating", "consultId": "-", "orders": ["ServiceRequest/sr5"],
        "status": "not-rated",
    }  # fmt: skip
    assert "Chest x-ray" in unknown["summary"] and len(body["cards"]) == 2
    assert rating_of(body, "ServiceRequest/sr4")["pama-rating"] == "not-appropriate"
    assert rating_of(body, "ServiceRequest/sr5") == {}  # unrelated order: nothing attached


def test_v4_asymptomatic_with_malignancy_bone_scan_may_be_appropriate(post_hook: Any) -> None:
    obs_ = [obs("o-vcf", "vcf", True, "T8"), obs("o-sym", "symptomatic", False)]
    req = hook_request(
        "order-select",
        obs_,
        conditions=[condition("c-ca", "Z85.3")],
        drafts=[draft("sr6", "78306", "Bone scan")],
    )
    body = checked(post_hook("vcf-order-select", req))
    [card] = cards_with(body, "order-appropriateness")
    assert (ext(card)["category"], ext(card)["rating"], ext(card)["variant"]) == (
        "May Be Appropriate",
        [4, 6],
        4,
    )
    assert card["indicator"] == "info" and len(card["suggestions"]) == 3


def test_order_select_looks_at_selections_only(post_hook: Any) -> None:
    req = hook_request(
        "order-select", v1_observations(), conditions=[condition("c-op", "M81.0")],
        drafts=[draft("sr7", *MRI_WWO_LUMBAR), draft("sr8", "72148", "MRI lumbar")],
        selections=["ServiceRequest/sr8"],
    )  # fmt: skip
    body = checked(post_hook("vcf-order-select", req))
    [card] = cards_with(body, "order-appropriateness")
    assert ext(card)["category"] == "Usually Appropriate"
    assert ext(card)["order"] == "ServiceRequest/sr8"
    assert rating_of(body, "ServiceRequest/sr7") == {}


@pytest.mark.parametrize(
    ("observations", "conditions", "cpt", "category", "variant"),
    [
        # V6: symptomatic osteoporotic VCF with marrow edema -> augmentation usually appropriate
        ([obs("a", "vcf", True, "L2"), obs("b", "symptomatic", True), obs("c", "marrow-edema", True, "L2"), obs("d", "worsening-pain", False), obs("e", "pulmonary-dysfunction", False), obs("f", "kyphosis", 5), obs("g", "scoliosis", 2), obs("h", "dorsal-wall-height-reduction", 3), obs("i", "vertebral-height-loss", 10, "L2")],
         [condition("c1", "M80.08XA")], "22511", "Usually Appropriate", 6),
        # V5: asymptomatic osteoporotic VCF -> augmentation usually not appropriate
        ([obs("a", "vcf", True, "L2"), obs("b", "symptomatic", False), obs("d", "worsening-pain", False), obs("e", "pulmonary-dysfunction", False), obs("f", "kyphosis", 5), obs("g", "scoliosis", 2), obs("h", "dorsal-wall-height-reduction", 3), obs("i", "vertebral-height-loss", 10, "L2")],
         [condition("c1", "M80.08XA")], "22511", "Usually Not Appropriate", 5),
        # V9: pathological VCF with mechanical pain -> augmentation usually appropriate
        ([obs("a", "vcf", True, "T12"), obs("b", "mechanical-pain", True), obs("c", "symptomatic", True), obs("v", "vcf-acute", False)],
         [condition("c1", "M84.58XA"), condition("c2", "C34.90")], "22511", "Usually Appropriate", 9),
    ],
)  # fmt: skip
def test_treatment_variants(
    post_hook: Any,
    observations: list[Any],
    conditions: list[Any],
    cpt: str,
    category: str,
    variant: int,
) -> None:
    req = hook_request(
        "order-sign",
        observations,
        conditions=conditions,
        drafts=[draft("tx", cpt, "Vertebroplasty")],
    )
    body = checked(post_hook("vcf-order-sign", req))
    [card] = cards_with(body, "order-appropriateness")
    assert (ext(card)["category"], ext(card)["variant"]) == (category, variant)
    if category == "Usually Not Appropriate":
        [s] = card["suggestions"]
        assert "Medical management" in s["label"]


def test_v9_treatment_order_gets_considerations_and_sins(post_hook: Any) -> None:
    observations = [
        obs("a", "vcf", True, "T12"), obs("b", "mechanical-pain", True), obs("c", "symptomatic", True),
        obs("v", "vcf-acute", False),
        obs("s1", "sins-lesion", "lytic", "T12"), obs("s2", "sins-alignment", "deformity", "T12"),
        obs("s3", "sins-collapse", "gt50", "T12"), obs("s4", "sins-posterolateral", "bilateral", "T12"),
        obs("e1", "escc-grade", "2", "T12"),
    ]  # fmt: skip
    req = hook_request(
        "order-sign", observations, conditions=[condition("c1", "M84.58XA"), condition("c2", "C34.90")],
        drafts=[draft("tx", "22511", "Vertebroplasty")],
    )  # fmt: skip
    body = checked(post_hook("vcf-order-sign", req))
    # order-sign: the rating of the order plus ONE critical safety card (card policy)
    [safety, rating] = body["cards"]
    assert safety["indicator"] == "critical"
    assert ext(safety)["critical"] == ["high-grade-escc", "unstable-spine"]
    # junctional 3 + mechanical 3 + lytic 2 + deformity 2 + gt50 3 + bilateral 3 = 16
    assert "SINS 16" in safety["summary"]
    assert stated(safety)[("sins-category", "T12")] == "unstable"
    assert stated(safety)[("escc-grade", "T12")] == "2"
    assert stated(safety)[("cord-compression", "T12")] == "present"
    # the treatment order of a pathological VCF carries the considerations in its detail,
    # with the same cord compression as the safety card
    assert ext(rating)["variant"] == 9
    assert stated(rating)[("etiology", None)] == "pathological"
    assert stated(rating)[("cord-compression", None)] == "present"
    assert "Treatment considerations" in rating["detail"]


def test_insufficient_information_is_not_rated_and_names_the_gap(post_hook: Any) -> None:
    # conditions could not be had (OperationOutcome, no fhirServer allowed): malignancy unknown
    oo = {"resourceType": "OperationOutcome", "issue": [{"severity": "error", "code": "timeout"}]}
    req = hook_request(
        "order-select", v1_observations(), drafts=[draft("sr9", *MRI_WWO_LUMBAR)], conditions=None
    )
    req["prefetch"]["conditions"] = oo
    body = checked(post_hook("vcf-order-select", req))
    [card] = cards_with(body, "order-appropriateness")
    assert ext(card)["status"] == "not-rated"
    assert ext(card)["reason"] == "insufficient-information"
    assert ext(card)["missing"] == ["malignancy-history"]
    assert stated(card)[("malignancy-history", None)] == "unknown"
    assert rating_of(body, "ServiceRequest/sr9") == {}
    assert len(body["cards"]) == 1  # what is missing is in the rating card, no extra card


def test_mirrors_system_actions_for_pre_2_0_clients(settings: Any) -> None:
    from fastapi.testclient import TestClient

    from app.main import create_app

    client = TestClient(create_app(settings.model_copy(update={"mirror_system_actions": True})))
    req = hook_request(
        "order-select",
        v1_observations(),
        conditions=[condition("c", "M81.0")],
        drafts=[draft("s", *MRI_WWO_LUMBAR)],
    )
    body = checked(client.post("/cds-services/vcf-order-select", json=req))
    assert body["extension"]["systemActions"] == body["systemActions"]
