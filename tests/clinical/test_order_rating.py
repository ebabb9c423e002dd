"""When a draft order can be rated (clinical-rules 1.5, seed 003 variant tables; Argonaut "CDS
Hooks for PAMA" ratings): rated only when every variant that could still be primary gives the
same category; otherwise not rated, naming the findings that would decide it."""

from __future__ import annotations

from typing import Any

from app.clinical.findings import DraftOrder
from app.clinical.order_rating import pama_for, rate_order
from app.clinical.state import ClinicalState
from app.clinical.variants import MatchResult, Question, match
from app.knowledge.schema import Knowledge

MRI = "MRI spine area of interest without IV contrast"
MRI_WITH = "MRI spine area of interest with IV contrast"
MRI_WITHOUT_AND_WITH = "MRI spine area of interest without and with IV contrast"
CT_WITH = "CT spine area of interest with IV contrast"
BONE_SCAN = "Bone scan whole body"
BIOPSY = "Image-guided biopsy spine area of interest"
NEW_SYMPTOMATIC: dict[str, Any] = {"vcf_present": True, "vcf_new": True, "symptomatic": True}
# seed 003 Variant 1: new symptomatic VCF, no malignancy, nothing treated before, a single VCF
V1_CERTAIN = ClinicalState(
    **NEW_SYMPTOMATIC, malignancy_history=False, prior_vcf_treatment=False, multiple_vcfs=False
)


def order(procedure: str | None) -> DraftOrder:
    return DraftOrder(
        "ServiceRequest", "sr1", "http://www.ama-assn.org/go/cpt", "x", None, procedure,
        None if procedure else "code maps to no ACR procedure", None, {},
    )  # fmt: skip


def matches(state: ClinicalState, k: Knowledge) -> dict[Question, MatchResult]:
    return {"imaging": match(state, k, "imaging"), "treatment": match(state, k, "treatment")}


def test_rated_under_the_certain_primary_variant(knowledge: Knowledge) -> None:
    r = rate_order(order(MRI), matches(V1_CERTAIN, knowledge), True, knowledge)
    assert (r.status, r.question, r.reason, r.pama) == ("rated", "imaging", None, "appropriate")
    assert r.rating is not None and r.rating.variant == 1
    assert (r.rating.category, r.rating.rating_range) == ("Usually Appropriate", (7, 9))


def test_usually_not_appropriate_is_not_appropriate_with_the_alternatives(
    knowledge: Knowledge,
) -> None:
    r = rate_order(order(CT_WITH), matches(V1_CERTAIN, knowledge), True, knowledge)
    assert r.status == "rated" and r.pama == "not-appropriate"
    assert r.rating is not None and r.rating.category == "Usually Not Appropriate"
    # seed 003 Variant 1: MRI and CT without IV contrast are Usually Appropriate
    assert {a.name for a in r.rating.alternatives} == {
        MRI,
        "CT spine area of interest without IV contrast",
    }


def test_not_listed_for_the_variant_is_not_rated_never_appropriate(knowledge: Knowledge) -> None:
    # clinical-rules 1.5: "not listed for the matched variant is not rated"; biopsy is not in
    # the Variant 1 table
    r = rate_order(order(BIOPSY), matches(V1_CERTAIN, knowledge), True, knowledge)
    assert (r.status, r.reason, r.pama) == ("not_rated", "not_listed", "no-criteria-apply")


def test_an_earlier_possible_variant_with_another_category_blocks_the_rating(
    knowledge: Knowledge,
) -> None:
    # prior treatment unknown: Variant 3 (earlier in the precedence) may still apply; MRI without
    # and with contrast is Usually Not Appropriate under 1 but May Be Appropriate under 3
    state = ClinicalState(**NEW_SYMPTOMATIC, malignancy_history=False, multiple_vcfs=False)
    m = matches(state, knowledge)
    assert m["imaging"].primary == 1 and 3 in m["imaging"].possible
    r = rate_order(order(MRI_WITHOUT_AND_WITH), m, True, knowledge)
    assert (r.status, r.reason, r.pama) == ("not_rated", "insufficient_information", None)
    assert [c.variant for c in r.candidates] == [3, 1]
    assert "prior_vcf_treatment" in r.missing


def test_the_same_category_under_every_contender_is_rated(knowledge: Knowledge) -> None:
    state = ClinicalState(**NEW_SYMPTOMATIC, malignancy_history=False, multiple_vcfs=False)
    r = rate_order(order(MRI_WITH), matches(state, knowledge), True, knowledge)
    # Usually Not Appropriate under Variant 3 and Variant 1 alike: the unknown cannot change it
    assert (r.status, r.pama) == ("rated", "not-appropriate")


def test_no_certain_variant_gives_candidates_and_no_pama_rating(knowledge: Knowledge) -> None:
    r = rate_order(order(BONE_SCAN), matches(ClinicalState(**NEW_SYMPTOMATIC), knowledge), True, knowledge)  # fmt: skip
    assert (r.status, r.reason, r.pama) == ("not_rated", "insufficient_information", None)
    assert {c.variant for c in r.candidates} == {1, 2, 3}
    assert set(r.missing) >= {"malignancy_history"}


def test_no_vcf_and_no_matching_variant_are_told_apart(knowledge: Knowledge) -> None:
    none = ClinicalState(vcf_present=False, symptomatic=False, malignancy_history=False)
    r = rate_order(order(MRI), matches(none, knowledge), False, knowledge)
    assert (r.status, r.reason, r.pama) == ("not_rated", "no_vcf", "no-criteria-apply")
    r = rate_order(order(MRI), matches(none, knowledge), None, knowledge)
    assert r.reason == "no_matching_variant"


def test_unknown_procedure_is_not_rated_with_the_mapping_reason(knowledge: Knowledge) -> None:
    r = rate_order(order(None), matches(V1_CERTAIN, knowledge), True, knowledge)
    assert (r.status, r.reason, r.question, r.pama) == (
        "not_rated",
        "unknown_procedure",
        None,
        None,
    )
    assert r.reason_text == "code maps to no ACR procedure"


def test_pama_rating_of_each_category() -> None:
    # Argonaut PAMA: only Usually Not Appropriate is not an appropriate use
    assert pama_for("Usually Appropriate") == "appropriate"
    assert pama_for("May Be Appropriate (Disagreement)") == "appropriate"
    assert pama_for("Usually Not Appropriate") == "not-appropriate"
    assert pama_for(None) == "no-criteria-apply"
