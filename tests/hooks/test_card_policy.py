"""Card economy and clinical language (issue 9): the per-hook card policy, one set of derived
values behind every card, citations instead of internal names, the SMART link."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from app.knowledge.card_codes import card_codes
from app.knowledge.loader import DATA_DIR, KnowledgeError, default_knowledge, load_knowledge
from app.main import create_app
from tests.fhir_builders import condition, draft, hook_request, obs
from tests.hooks.conftest import (
    IDENTIFIER,
    cards_of,
    checked,
    ext,
    family,
    rating_card,
    stated,
)

LUNG_CANCER = [condition("c1", "M84.58XA"), condition("c2", "C34.90")]
# a fully documented metastatic VCF at T12: fracture, symptoms, SINS, ESCC, the nine MRI signs,
# VBQ and the Variant 9 factors
METASTATIC_T12 = [
    obs("a", "vcf", True, "T12"), obs("b", "mechanical-pain", True), obs("c", "symptomatic", True),
    obs("v", "vcf-acute", False), obs("mv", "multiple-vcfs", False),
    obs("s1", "sins-lesion", "lytic", "T12"), obs("s2", "sins-alignment", "deformity", "T12"),
    obs("s3", "sins-collapse", "gt50", "T12"), obs("s4", "sins-posterolateral", "bilateral", "T12"),
    obs("e1", "escc-grade", "2", "T12"),
    obs("m1", "marrow-signal-pattern", "diffuse", "T12"), obs("m2", "posterior-border", "convex", "T12"),
    obs("m3", "fluid-cleft", False, "T12"), obs("m4", "signal-asymmetry", True, "T12"),
    obs("m5", "pedicle-involvement", True, "T12"), obs("m6", "posterior-wall-axial", "double-peaked", "T12"),
    obs("m7", "contrast-enhancement", True, "T12"), obs("m9", "paraspinal-mass", True, "T12"),
    obs("q1", "vbq-signal", 320, "L1"), obs("q2", "vbq-signal", 300, "L2"),
    obs("q3", "vbq-signal", 340, "L3"), obs("q4", "vbq-signal", 310, "L4"), obs("q5", "csf-signal", 100, "L3"),
    obs("l", "life-expectancy", 12, unit="mo"), obs("g", "ecog", 1), obs("vm", "visceral-metastases", "few"),
    obs("h", "tumor-histology", "other"), obs("n", "compression-levels", 1),
]  # fmt: skip


def test_fully_documented_metastatic_vcf_patient_view_at_most_three_cards(client: Any) -> None:
    req = hook_request("patient-view", METASTATIC_T12, conditions=LUNG_CANCER)
    body = checked(client.post("/cds-services/vcf-patient-view", json=req))
    assert len(body["cards"]) <= 3
    [safety, summary] = body["cards"]  # the critical card first, then the one summary
    assert (family(safety), family(summary)) == ("safety", "summary")
    assert safety["indicator"] == "critical"
    assert ext(safety)["critical"] == ["high-grade-escc", "unstable-spine"]
    assert "issues" not in ext(summary) and "missing" not in ext(summary)  # fully documented
    # scores, treatment and evidence are sections of the summary, not cards of their own
    for section in ("**SINS** 16 at T12", "**ESCC** grade 2", "**MRI malignancy score** 7 at T12"):
        assert section in summary["detail"], section
    assert "**VBQ** 3.15" in summary["detail"]
    assert "Treatment considerations, pathological VCF" in summary["detail"]
    # one set of derived values: the MRI score's cord-compression sign (not recorded) is read
    # from the ESCC grade at the same level, so the cards agree on it
    facts = stated(summary)
    assert facts[("cord-compression", "T12")] == "present"
    assert facts[("cord-compression", None)] == "present"
    assert facts[("sins-index-level", None)] == stated(safety)[("sins-index-level", None)] == "T12"
    assert facts[("etiology", None)] == "pathological"
    # no double negative: the ablation criterion says what is there
    assert "epidural cord compression present" in summary["detail"]
    assert "No metastatic epidural spinal cord compression" not in summary["detail"]
    # human labels and publications, never identifiers or internal names
    assert "Montoya-Bordón et al. 2023" in summary["detail"]
    assert "Sahib & Kadhim" in summary["detail"]


def test_cause_unknown_shows_no_pathological_considerations(client: Any) -> None:
    # malignancy history and MRI signs suggesting malignancy, but the cause is not established:
    # the summary gives the work-up and never "Pathological VCF considerations"
    observations = [
        obs("a", "vcf", True, "L1"), obs("b", "symptomatic", True), obs("v", "vcf-acute", True, "L1"),
        obs("m1", "marrow-signal-pattern", "diffuse", "L1"), obs("m2", "posterior-border", "convex", "L1"),
        obs("m4", "signal-asymmetry", True, "L1"), obs("m5", "pedicle-involvement", True, "L1"),
        obs("m6", "posterior-wall-axial", "double-peaked", "L1"),
    ]  # fmt: skip
    req = hook_request("patient-view", observations, conditions=[condition("c", "C50.911")])
    body = checked(client.post("/cds-services/vcf-patient-view", json=req))
    [summary] = body["cards"]
    assert stated(summary)[("acr-imaging-variant", None)] == "2"
    assert stated(summary)[("mri-classification", "L1")] == "suggests-malignant"
    assert "Work-up" in summary["detail"]
    assert "Treatment considerations" not in summary["detail"]
    assert ("etiology", None) not in stated(summary) or stated(summary)[("etiology", None)] != (
        "pathological"
    )


def test_order_hooks_show_ratings_and_only_critical_safety(client: Any) -> None:
    drafts = [
        draft("tx", "22511", "Vertebroplasty"),
        draft("mri", "72158", "MRI lumbar w/wo"),
        draft("cxr", "71046", "Chest x-ray"),
    ]
    req = hook_request("order-sign", METASTATIC_T12, conditions=LUNG_CANCER, drafts=drafts)
    body = checked(client.post("/cds-services/vcf-order-sign", json=req))
    policy = default_knowledge().card_policy.hooks["order-sign"]
    assert len(body["cards"]) <= policy.max_cards.limit(len(drafts))
    assert [family(c) for c in body["cards"]] == ["safety", *["order-rating"] * 3]
    assert ext(rating_card(body, "ServiceRequest/tx"))["variant"] == 9
    assert ext(rating_card(body, "ServiceRequest/mri"))["status"] in ("rated", "not-rated")
    # no scores, considerations or missing-data cards on order hooks
    assert {c["source"]["topic"]["code"] for c in body["cards"]} == {
        "urgent-findings",
        "order-appropriateness",
    }


def test_order_select_without_anything_critical_shows_only_the_rating(client: Any) -> None:
    observations = [o for o in METASTATIC_T12 if o["id"] not in ("e1", "s3", "s4")]
    req = hook_request(
        "order-select", observations, conditions=LUNG_CANCER, drafts=[draft("tx", "22511", "VP")]
    )
    body = checked(client.post("/cds-services/vcf-order-select", json=req))
    assert [family(c) for c in body["cards"]] == ["order-rating"]


def test_draft_order_without_a_code_gets_only_a_clear_sentence(client: Any) -> None:
    codeless = {
        "resourceType": "ServiceRequest",
        "id": "nc",
        "status": "draft",
        "intent": "order",
        "code": {"text": "Spine imaging please"},
        "subject": {"reference": "Patient/p1"},
    }
    req = hook_request(
        "order-select", METASTATIC_T12[:5], conditions=LUNG_CANCER, drafts=[codeless]
    )
    body = checked(client.post("/cds-services/vcf-order-select", json=req))
    [card] = cards_of(body, "order-rating")
    assert card["summary"] == "Spine imaging please: order has no code we can rate"
    assert "no code (" not in card["detail"] and "ServiceRequest" not in card["detail"]
    assert ext(card)["orders"] == ["ServiceRequest/nc"]
    assert "systemActions" not in body


def test_smart_link_carries_the_consult_and_the_coded_orders(client: Any, settings: Any) -> None:
    req = hook_request(
        "order-select", METASTATIC_T12[:5], conditions=LUNG_CANCER,
        drafts=[draft("tx", "22511", "Vertebroplasty")],
    )  # fmt: skip
    body = checked(client.post("/cds-services/vcf-order-select", json=req))
    card = rating_card(body, "ServiceRequest/tx")
    [smart] = [link for link in card["links"] if link["type"] == "smart"]
    assert smart["label"] == "Open VCF workspace"
    assert smart["url"] == f"{settings.public_base_url.rstrip('/')}/app/launch.html"
    context = json.loads(smart["appContext"])
    assert context == {
        "consultId": ext(card)["consultId"],
        "orders": [
            {
                "system": "http://www.ama-assn.org/go/cpt",
                "code": "22511",
                "display": "Vertebroplasty",
            }
        ],
    }
    off = settings.model_copy(update={"smart_app_enabled": False})
    with TestClient(create_app(off)) as c2:
        body = checked(c2.post("/cds-services/vcf-order-select", json=req))
    assert all(link["type"] == "absolute" for c in body["cards"] for link in c["links"])


# --- the policy data ------------------------------------------------------------------------


def test_policy_families_have_card_topics() -> None:
    k = default_knowledge()
    topics = card_codes().topics
    for name, fam in k.card_policy.families.items():
        assert fam.topic is None or fam.topic in topics, name
    assert set(k.card_policy.topic_publications) <= set(topics)
    for text in card_codes().topic_explanations.values():
        assert "seed" not in text.lower() and not IDENTIFIER.search(text)


def _broken(tmp_path: Path, edit: Any) -> Path:
    data = tmp_path / "data"
    shutil.copytree(DATA_DIR, data)
    path = data / "card_policy.json"
    policy = json.loads(path.read_text(encoding="utf-8"))
    edit(policy)
    path.write_text(json.dumps(policy), encoding="utf-8")
    return data


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        (lambda p: p["hooks"].pop("order-sign"), "exactly the hooks"),
        (lambda p: p["hooks"]["order-select"]["cards"].append("scores"), "shown as cards"),
        (lambda p: p["hooks"]["order-select"].update(cards=["safety"]), "one rating card"),
        (
            lambda p: p["hooks"]["order-select"].update(summary_sections=["scores"]),
            "need the summary card",
        ),
        (lambda p: p["hooks"]["patient-view"]["max_cards"].update(fixed=0), "fixed"),
        (lambda p: p["citations"]["sins"].update(publication="nobody"), "unknown publication"),
        (lambda p: p["relative_radiation_levels"]["labels"].pop("O"), "radiation level"),
        (lambda p: p["labels"]["sins-category"].pop("unstable"), "SINS category"),
        (lambda p: p["state_inputs"].pop("etiology"), "clinical-state input"),
        (lambda p: p["labels"].pop("etiology"), "labels.etiology"),
    ],
)
def test_a_bad_card_policy_stops_start_up(tmp_path: Path, edit: Any, message: str) -> None:
    with pytest.raises(KnowledgeError, match=message):
        load_knowledge(_broken(tmp_path, edit))


def test_card_policy_is_part_of_the_knowledge_version(tmp_path: Path) -> None:
    def louder(p: dict[str, Any]) -> None:
        p["notes"]["ratios"] += " "

    assert load_knowledge(_broken(tmp_path, louder)).version != default_knowledge().version


# --- explanation pages -------------------------------------------------------------------


def test_explanation_pages_cite_publications_and_show_the_acr_notice_only_with_acr_content(
    client: Any,
) -> None:
    for n in range(1, 10):
        text = client.get(f"/explain/variants/{n}").text
        assert "seed" not in text.lower() and "licence" in text
        assert "O<" not in text  # the relative radiation level reads 0 mSv, not the letter O
    assert "0 mSv" in client.get("/explain/variants/1").text
    for topic in card_codes().topic_explanations:
        text = client.get(f"/explain/topics/{topic}").text
        assert "seed" not in text.lower(), topic
        acr = "acr-vcf" in default_knowledge().card_policy.topic_publications.get(topic, [])
        assert ("licence" in text) is acr, topic
    sins = client.get("/explain/topics/sins").text
    assert "Montoya-Bordón J, Elvira-Ruiz P" in sins and "Fourney DR" in sins
    assert "journal name is not printed" in sins  # what the copy held does not print is said
