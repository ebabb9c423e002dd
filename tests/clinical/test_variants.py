"""ACR variant matcher (seed 003; clinical-rules 1.2-1.4), three-valued."""

from __future__ import annotations

from dataclasses import replace

import pytest

from app.clinical.state import ClinicalState, derive_deformity
from app.clinical.variants import match
from app.knowledge.schema import Knowledge

V1 = ClinicalState(
    vcf_present=True,
    vcf_new=True,
    symptomatic=True,
    malignancy_history=False,
    prior_vcf_treatment=False,
    multiple_vcfs=False,
)


def test_variant_1(knowledge: Knowledge) -> None:
    r = match(V1, knowledge, "imaging")
    assert r.matched == (1,) and r.primary == 1 and r.primary_certain


def test_variant_2_malignancy_history(knowledge: Knowledge) -> None:
    r = match(
        ClinicalState(vcf_present=True, vcf_new=True, symptomatic=True, malignancy_history=True),
        knowledge,
        "imaging",
    )
    assert 2 in r.matched and r.primary == 2


def test_variant_3_prior_treatment_or_multiple(knowledge: Knowledge) -> None:
    for state in (
        ClinicalState(symptomatic=True, prior_vcf_treatment=True),
        ClinicalState(symptomatic=True, prior_vcf_treatment=False, multiple_vcfs=True),
    ):
        assert 3 in match(state, knowledge, "imaging").matched


def test_variant_4_asymptomatic_with_malignancy(knowledge: Knowledge) -> None:
    r = match(
        ClinicalState(vcf_present=True, symptomatic=False, malignancy_history=True),
        knowledge,
        "imaging",
    )
    assert r.matched == (4,) and r.primary == 4


def test_several_variants_reported_and_primary_by_precedence(knowledge: Knowledge) -> None:
    # new symptomatic VCF, malignancy history, multiple VCFs: 2 and 3 both match; 2 wins (2,4,3,1)
    state = ClinicalState(
        vcf_present=True,
        vcf_new=True,
        symptomatic=True,
        malignancy_history=True,
        multiple_vcfs=True,
    )
    r = match(state, knowledge, "imaging")
    assert r.matched == (2, 3) and r.primary == 2
    # V1 patient who also has multiple VCFs: 3 is more specific than 1
    r = match(replace(V1, multiple_vcfs=True), knowledge, "imaging")
    assert r.matched == (1, 3) and r.primary == 3


def test_unknown_malignancy_history_gives_possible_not_matched(knowledge: Knowledge) -> None:
    state = ClinicalState(
        vcf_present=True,
        vcf_new=True,
        symptomatic=True,
        prior_vcf_treatment=False,
        multiple_vcfs=False,
    )
    r = match(state, knowledge, "imaging")
    assert r.matched == () and r.primary is None
    assert r.possible == (1, 2)
    assert r.missing == ("malignancy_history",)


def test_primary_uncertain_when_earlier_variant_possible(knowledge: Knowledge) -> None:
    # V1 matched but V3 (earlier in 2,4,3,1) possible because multiple_vcfs unknown
    state = ClinicalState(
        vcf_present=True,
        vcf_new=True,
        symptomatic=True,
        malignancy_history=False,
        prior_vcf_treatment=False,
    )
    r = match(state, knowledge, "imaging")
    assert r.primary == 1 and not r.primary_certain
    assert r.possible == (3,) and "multiple_vcfs" in r.missing


def test_asymptomatic_without_malignancy_points_to_variant_5(knowledge: Knowledge) -> None:
    r = match(
        ClinicalState(vcf_present=True, symptomatic=False, malignancy_history=False),
        knowledge,
        "imaging",
    )
    assert r.matched == () and r.possible == ()
    assert any("Variant 5" in n for n in r.notes)


@pytest.mark.parametrize(
    ("state", "primary"),
    [
        (ClinicalState(etiology="pathological", mechanical_pain=True), 9),
        (
            ClinicalState(
                vcf_new=True,
                symptomatic=True,
                prior_vcf_treatment=True,
                etiology="pathological",
                mechanical_pain=False,
            ),
            7,
        ),
        (
            ClinicalState(
                etiology="osteoporotic", worsening_pain=True, symptomatic=True, vcf_new=False
            ),
            8,
        ),
        (ClinicalState(etiology="osteoporotic", deformity=True, symptomatic=False), 8),
        (
            ClinicalState(
                etiology="osteoporotic",
                symptomatic=True,
                marrow_edema_or_cleft=True,
                worsening_pain=False,
                deformity=False,
                pulmonary_dysfunction=False,
                vcf_new=True,
                prior_vcf_treatment=False,
            ),
            6,
        ),
        (
            ClinicalState(
                etiology="osteoporotic",
                symptomatic=False,
                worsening_pain=False,
                deformity=False,
                pulmonary_dysfunction=False,
            ),
            5,
        ),
    ],
)
def test_treatment_variants(knowledge: Knowledge, state: ClinicalState, primary: int) -> None:
    # seed 003 Variants 5-9; precedence 9, 7, 8, 6, 5
    r = match(state, knowledge, "treatment")
    assert r.primary == primary and primary in r.matched


def test_treatment_needing_etiology_is_possible(knowledge: Knowledge) -> None:
    # clinical-rules 1.4: treatment variant needing osteoporotic while etiology unknown
    r = match(
        ClinicalState(symptomatic=True, marrow_edema_or_cleft=True, vcf_new=False),
        knowledge,
        "treatment",
    )
    assert 6 in r.possible and r.primary is None
    assert "etiology" in r.missing
    assert any("needs etiology" in n for n in r.notes)


def test_pathological_without_mechanical_pain_matches_nothing(knowledge: Knowledge) -> None:
    r = match(
        ClinicalState(
            etiology="pathological", mechanical_pain=False, vcf_new=False, symptomatic=True
        ),
        knowledge,
        "treatment",
    )
    assert r.matched == () and r.possible == ()
    assert any("SINS" in n for n in r.notes)


@pytest.mark.parametrize(
    ("measures", "expected"),
    [
        ((15, None, None, None), True),  # kyphosis >= 15 %
        ((None, 10, None, None), True),  # scoliosis >= 10 %
        ((None, None, 10, None), True),  # dorsal wall height reduction >= 10 %
        ((None, None, None, 20), True),  # vertebral body height loss >= 20 %
        ((14.9, 9.9, 9.9, 19.9), False),  # all known and below
        ((14, 9, 9, None), None),  # one unknown: cannot say no
        ((None, None, None, None), None),
    ],
)
def test_deformity_definition(
    knowledge: Knowledge,
    measures: tuple[float | None, float | None, float | None, float | None],
    expected: bool | None,
) -> None:
    # seed 003 Variant 5/8 text
    assert derive_deformity(*measures, knowledge.thresholds.deformity) is expected
