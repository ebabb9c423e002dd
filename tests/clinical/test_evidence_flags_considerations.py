"""Seed 001 sign evidence, seed 004 Table 1 signs, red flags (seed 003 App. 1), Variant 9
considerations (seed 003)."""

from __future__ import annotations

import pytest

from app.clinical.considerations import PatientFactors, assess_considerations
from app.clinical.red_flags import assess_red_flags
from app.clinical.sign_evidence import qualitative_evidence, quantitative_evidence
from app.knowledge.schema import Knowledge


def test_sign_evidence_counts_and_likelihood_ratio(knowledge: Knowledge) -> None:
    # seed 001 Table 4: nodular enhancement benign 5/76, malignant 70/74
    [row] = quantitative_evidence({"enhancement-pattern": "nodular"}, knowledge.sign_evidence)
    assert (row.benign_count, row.benign_n, row.malignant_count, row.malignant_n) == (5, 76, 70, 74)
    assert row.likelihood_ratio == round((70 / 74) / (5 / 76), 2) == 14.38
    assert row.favours == "malignant"


def test_sign_evidence_favouring_benign(knowledge: Knowledge) -> None:
    # seed 001 Table 2: compression degree II benign 41, malignant 7
    [row] = quantitative_evidence({"compression-degree": "II"}, knowledge.sign_evidence)
    assert row.likelihood_ratio == round((7 / 74) / (41 / 76), 2) and row.favours == "benign"


def test_derived_complement_rows_are_marked(knowledge: Knowledge) -> None:
    [row] = quantitative_evidence({"t1-low-signal": False}, knowledge.sign_evidence)
    assert row.derived and (row.benign_count, row.malignant_count) == (5, 27)


def test_unknown_signs_are_skipped_and_bad_values_rejected(knowledge: Knowledge) -> None:
    assert quantitative_evidence({"dwi-signal": None}, knowledge.sign_evidence) == []
    with pytest.raises(ValueError):
        quantitative_evidence({"lesion-extent": "G5"}, knowledge.sign_evidence)


def test_zero_count_not_computable(knowledge: Knowledge) -> None:
    from app.knowledge.schema import EvidenceSign, EvidenceValue, SignEvidenceKnowledge

    k = knowledge.sign_evidence
    sign = EvidenceSign(
        id="x",
        label="x",
        table="t",
        values={
            "a": EvidenceValue(label="a", benign=0, malignant=74),
            "b": EvidenceValue(label="b", benign=76, malignant=0),
        },
    )
    patched = SignEvidenceKnowledge.model_construct(**{**k.__dict__, "signs": [sign]})
    [row] = quantitative_evidence({"x": "a"}, patched)
    assert row.likelihood_ratio is None and row.favours == "neither"


def test_qualitative_signs(knowledge: Knowledge) -> None:
    rows = qualitative_evidence(
        {
            "jigsaw-sign": True,
            "cortical-destruction": True,
            "vacuum-phenomenon": False,
            "retropulsion": False,
            "fever": True,
        },
        knowledge.sign_evidence,
    )
    got = {r.sign: r.favours for r in rows}
    # seed 004 Table 1: jigsaw osteoporotic; cortical destruction metastatic; absence of
    # intravertebral osteonecrosis metastatic; absent retropulsion says nothing
    assert got == {
        "jigsaw-sign": "osteoporotic",
        "cortical-destruction": "metastatic",
        "vacuum-phenomenon": "metastatic",
    }


def test_red_flags_groups_and_unknowns(knowledge: Knowledge) -> None:
    r = assess_red_flags(
        {"fever": True, "prolonged-corticosteroids": True, "saddle-anesthesia": False},
        knowledge.red_flags,
    )
    assert [h.id for h in r.present] == ["prolonged-corticosteroids", "fever"]
    assert r.groups_present == ("cancer-or-infection", "spinal-fracture")
    assert "saddle-anesthesia" in r.absent and "iv-drug-use" in r.unknown
    assert r.cauda_equina is None  # two cauda equina items unknown: not "no"


def test_cauda_equina(knowledge: Knowledge) -> None:
    r = assess_red_flags({"urinary-retention-or-overflow": True}, knowledge.red_flags)
    assert r.cauda_equina is True and r.groups_present == ("epidural-cord-compression",)


def _by_id(f: PatientFactors, knowledge: Knowledge) -> dict[str, str]:
    return {
        c.id: c.status for c in assess_considerations(f, knowledge.considerations, knowledge.sins)
    }


def test_ablation_candidate_all_criteria_met(knowledge: Knowledge) -> None:
    f = PatientFactors(
        life_expectancy_months=12,
        ecog=1,
        visceral_metastases="few",
        cord_compression=False,
        sins_category="stable",
    )
    assert _by_id(f, knowledge)["percutaneous-ablation"] == "met"


def test_ablation_unknown_and_not_met(knowledge: Knowledge) -> None:
    f = PatientFactors(
        life_expectancy_months=12, ecog=1, visceral_metastases="few", cord_compression=False
    )
    assert _by_id(f, knowledge)["percutaneous-ablation"] == "unknown"  # SINS unknown
    f2 = PatientFactors(life_expectancy_months=4, sins_category=None)
    assert _by_id(f2, knowledge)["percutaneous-ablation"] == "not_met"  # <= 6 months


def test_short_course_radiation(knowledge: Knowledge) -> None:
    assert (
        _by_id(PatientFactors(tumor_histology="seminoma"), knowledge)["short-course-radiation"]
        == "met"
    )
    assert (
        _by_id(PatientFactors(life_expectancy_months=2), knowledge)["short-course-radiation"]
        == "met"
    )
    assert (
        _by_id(PatientFactors(tumor_histology="other", life_expectancy_months=12), knowledge)[
            "short-course-radiation"
        ]
        == "not_met"
    )
    assert (
        _by_id(PatientFactors(tumor_histology="other"), knowledge)["short-course-radiation"]
        == "unknown"
    )


def test_decompressive_surgery_criteria(knowledge: Knowledge) -> None:
    f = PatientFactors(
        cord_compression=True,
        neurologic_deficit=True,
        age_years=60,
        compression_levels=1,
        neurologic_deficit_hours=24,
        life_expectancy_months=6,
    )
    assert _by_id(f, knowledge)["decompressive-surgery-then-rt"] == "met"
    f2 = PatientFactors(
        cord_compression=True,
        neurologic_deficit=True,
        age_years=70,
        compression_levels=1,
        neurologic_deficit_hours=24,
        life_expectancy_months=6,
    )
    assert _by_id(f2, knowledge)["decompressive-surgery-then-rt"] == "not_met"


def test_surgery_and_consultation_from_sins(knowledge: Knowledge) -> None:
    got = _by_id(PatientFactors(sins_category="unstable", neurologic_deficit=False), knowledge)
    assert got["surgery-standard-of-care"] == "met" and got["surgical-consultation"] == "not_met"
    got = _by_id(
        PatientFactors(sins_category="potentially_unstable", neurologic_deficit=False), knowledge
    )
    assert got["surgery-standard-of-care"] == "not_met" and got["surgical-consultation"] == "met"
    got = _by_id(PatientFactors(sins_possible=("stable", "potentially_unstable")), knowledge)
    assert got["surgical-consultation"] == "unknown"
    assert got["medical-management"] == "met"  # always offered (seed 003)


def test_consideration_labels_state_the_sins_bands_of_the_knowledge(knowledge: Knowledge) -> None:
    """The SINS bands in the labels are sins.json's (Montoya-Bordón et al. 2023, Table 3), not
    typed again: a changed band changes the label."""
    cs = assess_considerations(PatientFactors(), knowledge.considerations, knowledge.sins)
    labels = {c.id: c.label for c in cs}
    labels |= {cr.id: cr.label for c in cs for cr in c.criteria}
    assert labels["surgical-consultation"] == "Surgical consultation (SINS 7-12)"
    assert labels["stable-vcf"] == "Stable pathological VCF (SINS 0-6)"
    assert labels["sins-unstable"] == "Frank instability (SINS 13-18)"
    bands = [
        c.model_copy(update={"range": (c.range[0], 19)}) if c.id == "unstable" else c
        for c in knowledge.sins.categories
    ]
    sins = knowledge.sins.model_copy(update={"categories": bands})
    cs = assess_considerations(PatientFactors(), knowledge.considerations, sins)
    crit = {cr.id: cr.label for c in cs for cr in c.criteria}
    assert crit["sins-unstable"] == "Frank instability (SINS 13-19)"
