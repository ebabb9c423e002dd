"""Observations -> findings (fhir-input.md "Observations")."""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest

from app.clinical.findings import Finding, PatientFindings
from app.fhir.adapter import read_resources
from tests.fhir_builders import FINDING, LEVEL, SCT, component, concept, obs, patient

TODAY = date(2024, 6, 1)

A_PATIENT = patient()


def read(*resources: Any) -> PatientFindings:
    return read_resources([A_PATIENT, *resources], today=TODAY)


def only(pf: PatientFindings, code: str, level: str | None = None) -> Finding:
    hits = [f for f in pf.findings if f.code == code and f.level == level]
    assert len(hits) == 1, pf.findings
    return hits[0]


def locations(pf: PatientFindings, severity: str) -> list[str]:
    return [i.location for i in pf.issues if i.severity == severity]


def test_boolean_finding_with_level() -> None:
    f = only(read(obs("o1", "vcf", level="L1", valueBoolean=True)), "vcf", "L1")
    assert f.value is True
    assert f.sources == ("Observation/o1",)
    assert f.effective is not None and f.effective.year == 2026  # the builder's default date


def test_newest_wins_per_code_and_level() -> None:
    pf = read(
        obs("old", "marrow-edema", level="L1", date="2023-01-01", valueBoolean=True),
        obs("new", "marrow-edema", level="L1", date="2024-01-01", valueBoolean=False),
        obs("other", "marrow-edema", level="L2", date="2020-01-01", valueBoolean=True),
    )
    assert only(pf, "marrow-edema", "L1").value is False
    assert only(pf, "marrow-edema", "L1").sources == ("Observation/new",)
    assert only(pf, "marrow-edema", "L2").value is True
    assert len([f for f in pf.findings if f.code == "marrow-edema"]) == 2


def test_period_end_and_issued_count_as_time() -> None:
    period = obs("p", "ecog", date=None, valueInteger=1)
    period["effectivePeriod"] = {"start": "2023-01-01", "end": "2024-05-01"}
    issued = obs("i", "ecog", date=None, valueInteger=3)
    issued["issued"] = "2024-02-01T00:00:00+02:00"
    assert only(read(period, issued), "ecog").value == 1


def test_same_value_at_same_time_keeps_all_sources() -> None:
    pf = read(obs("a", "fever", valueBoolean=True), obs("b", "fever", valueBoolean=True))
    assert only(pf, "fever").sources == ("Observation/a", "Observation/b")


def test_conflicting_values_at_same_time_are_unknown() -> None:
    pf = read(obs("a", "fever", valueBoolean=True), obs("b", "fever", valueBoolean=False))
    assert only(pf, "fever").value is None
    assert any("conflicting" in i.message for i in pf.issues)


def test_newer_unknown_does_not_hide_older_known_value() -> None:
    absent: dict[str, Any] = {
        "dataAbsentReason": concept("http://terminology.hl7.org/CodeSystem/x", "unknown")
    }
    pf = read(
        obs("old", "cord-compression", level="T5", date="2023-01-01", valueBoolean=True),
        obs("new", "cord-compression", level="T5", date="2024-01-01", **absent),
    )
    assert only(pf, "cord-compression", "T5").value is True


@pytest.mark.parametrize("status", ["entered-in-error", "cancelled", "registered"])
def test_unused_statuses_are_ignored(status: str) -> None:
    pf = read(
        obs("ok", "vcf", level="L1", date="2023-01-01", valueBoolean=True),
        obs("bad", "vcf", level="L1", date="2024-01-01", status=status, valueBoolean=False),
    )
    assert only(pf, "vcf", "L1").value is True
    assert "Observation/bad.status" in locations(pf, "information")


@pytest.mark.parametrize("status", ["final", "amended", "corrected", "preliminary"])
def test_used_statuses(status: str) -> None:
    assert only(read(obs("o", "fever", status=status, valueBoolean=True)), "fever").value


def test_component_form_equals_separate_observations() -> None:
    separate = read(
        obs("a", "fluid-cleft", level="T12", valueBoolean=True),
        obs("b", "marrow-signal-pattern", level="T12", valueString="diffuse"),
        obs("c", "adc", level="T12", valueQuantity={"value": 1.2, "code": "10*-3.mm2/s"}),
    )
    report = {
        "resourceType": "Observation",
        "id": "r",
        "status": "final",
        "code": {"text": "MRI spine structured report"},
        "effectiveDateTime": "2026-11-20T10:00:00Z",  # the date obs() gives the separate ones
        "bodySite": concept(LEVEL, "T12"),
        "component": [
            component("fluid-cleft", valueBoolean=True),
            component("marrow-signal-pattern", valueString="diffuse"),
            component("adc", valueQuantity={"value": 1.2, "code": "10*-3.mm2/s"}),
        ],
    }
    combined = read(report)

    def strip(pf: PatientFindings) -> list[tuple[Any, ...]]:
        return [(f.code, f.value, f.level, f.unit, f.effective) for f in pf.findings]

    assert strip(separate) == strip(combined)
    assert only(combined, "adc", "T12").sources == ("Observation/r#component[2]",)
    assert not locations(combined, "information")


def test_level_from_vertebral_level_component() -> None:
    report = {
        "resourceType": "Observation",
        "id": "r",
        "status": "final",
        "code": {"text": "report"},
        "component": [
            {
                "code": concept(FINDING, "vertebral-level"),
                "valueCodeableConcept": concept(LEVEL, "L3"),
            },
            component("sins-lesion", valueCodeableConcept=concept(FINDING, "lytic")),
        ],
    }
    assert only(read(report), "sins-lesion", "L3").value == "lytic"


def test_disagreeing_level_components_are_an_error() -> None:
    report = {
        "resourceType": "Observation",
        "id": "r",
        "status": "final",
        "code": {"text": "report"},
        "component": [
            {"code": concept(FINDING, "vertebral-level"), "valueString": "L3"},
            {"code": concept(FINDING, "vertebral-level"), "valueString": "L4"},
            component("retropulsion", valueBoolean=True),
        ],
    }
    pf = read(report)
    assert not pf.findings
    assert "Observation/r.component[0]" in locations(pf, "error")


def test_data_absent_reason_is_unknown_value() -> None:
    absent: dict[str, Any] = {"dataAbsentReason": {"text": "not assessed"}}
    f = only(
        read(obs("o", "pedicle-involvement", level="L2", **absent)), "pedicle-involvement", "L2"
    )
    assert f.value is None


def test_no_value_is_unknown_value() -> None:
    assert only(read(obs("o", "fever")), "fever").value is None


def test_snomed_yes_no_and_value_string_accepted() -> None:
    pf = read(
        obs("y", "fever", valueCodeableConcept=concept(SCT, "373066001", "Yes")),
        obs("n", "saddle-anesthesia", valueCodeableConcept=concept(SCT, "373067005", "No")),
        obs("s", "sins-alignment", level="T8", valueString="Subluxation"),
        obs("b", "iv-drug-use", valueString="no"),
    )
    assert only(pf, "fever").value is True
    assert only(pf, "saddle-anesthesia").value is False
    assert only(pf, "sins-alignment", "T8").value == "subluxation"
    assert only(pf, "iv-drug-use").value is False


def test_standard_synonym_code_accepted() -> None:
    adc = obs("o", "adc", level="L1", valueQuantity={"value": 800, "code": "10*-6.mm2/s"})
    adc["code"] = concept("http://dicom.nema.org/resources/ontology/DCM", "113041")
    f = only(read(adc), "adc", "L1")
    assert f.value == pytest.approx(0.8)
    assert f.unit == "10*-3.mm2/s"


@pytest.mark.parametrize("label", ["L6", "T13", "coccyx", "lumbar spine"])
def test_level_outside_c1_s5_is_an_issue(label: str) -> None:
    bad = obs("bad", "vcf", valueBoolean=True)
    bad["bodySite"] = {"text": label}
    pf = read(bad, obs("ok", "vcf", level="l2", valueBoolean=True))
    assert [f.level for f in pf.findings] == ["L2"]
    assert "Observation/bad.bodySite" in locations(pf, "error")


def test_level_coding_outside_c1_s5_is_an_issue() -> None:
    pf = read(obs("bad", "vcf", level="L6", valueBoolean=True))
    assert not pf.findings
    assert "Observation/bad.bodySite" in locations(pf, "error")


def test_global_finding_ignores_body_site() -> None:
    f = obs("o", "symptomatic", valueBoolean=True)
    f["bodySite"] = {"text": "back"}
    assert only(read(f), "symptomatic").value is True


@pytest.mark.parametrize(
    ("code", "value", "where"),
    [
        ("vcf", {"valueQuantity": {"value": 1}}, "valueQuantity"),
        ("vcf", {"valueBoolean": "yes"}, "valueBoolean"),
        ("adc", {"valueQuantity": {"value": "abc", "code": "10*-3.mm2/s"}}, "valueQuantity.value"),
        ("adc", {"valueQuantity": {"value": 1.0, "code": "kg"}}, "valueQuantity.unit"),
        ("adc", {"valueBoolean": True}, "valueBoolean"),
        ("sins-pain", {"valueString": "sometimes"}, "valueString"),
        ("sins-pain", {"valueCodeableConcept": {"coding": [{}]}}, "valueCodeableConcept"),
        ("ecog", {"valueInteger": 7}, "valueInteger"),
        ("ecog", {"valueString": "good"}, "valueString"),
        ("vcf", {"valueBoolean": True, "valueString": "x"}, "value[x]"),
    ],
)
def test_bad_value_type_is_an_issue_and_other_findings_kept(
    code: str, value: dict[str, Any], where: str
) -> None:
    pf = read(obs("bad", code, level="L1", **value), obs("ok", "fever", valueBoolean=True))
    assert [f.code for f in pf.findings] == ["fever"]
    assert f"Observation/bad.{where}" in locations(pf, "error")


def test_bad_component_skipped_other_components_kept() -> None:
    report = obs("r", "vcf", level="L4", valueBoolean=True)
    report["component"] = [
        component("adc", valueQuantity={"value": "abc"}),
        component("cord-compression", valueBoolean=False),
    ]
    pf = read(report)
    assert {f.code for f in pf.findings} == {"vcf", "cord-compression"}
    assert "Observation/r.component[0].valueQuantity.value" in locations(pf, "error")


def test_unknown_code_is_information_not_fatal() -> None:
    weight = obs("w", "fever", valueQuantity={"value": 70, "unit": "kg"})
    weight["code"] = concept("http://loinc.org", "29463-7")
    pf = read(weight, obs("ok", "fever", valueBoolean=True))
    assert [f.code for f in pf.findings] == ["fever"]
    assert "Observation/w.code" in locations(pf, "information")


def test_empty_coding_is_unknown_code() -> None:
    odd = obs("odd", "fever", valueBoolean=True)
    odd["code"] = {"coding": [{}]}
    pf = read(odd)
    assert not pf.findings
    assert "Observation/odd.code" in locations(pf, "information")


def test_quantity_units_and_conversion() -> None:
    pf = read(
        obs("le", "life-expectancy", valueQuantity={"value": 2, "code": "a"}),
        obs("fs", "field-strength", valueQuantity={"value": 3, "unit": "T"}),
        obs("pct", "vertebral-height-loss", level="L1", valueQuantity={"value": 35}),
    )
    assert only(pf, "life-expectancy").value == 24
    assert only(pf, "field-strength").value == 3
    assert only(pf, "vertebral-height-loss", "L1").value == 35
    assert "Observation/pct" in locations(pf, "warning")  # unit assumed


def test_vbq_signal_outside_l1_l4_is_skipped() -> None:
    pf = read(obs("t", "vbq-signal", level="T12", valueQuantity={"value": 300}))
    assert not pf.findings
    assert any(i.location.startswith("Observation/t") for i in pf.issues)


def test_in_and_out_of_phase_signals_read_as_is() -> None:
    pf = read(
        obs("i", "in-phase-signal", level="L2", valueQuantity={"value": 500}),
        obs("o", "out-of-phase-signal", level="L2", valueQuantity={"value": 300}),
    )
    assert only(pf, "in-phase-signal", "L2").value == 500
    assert only(pf, "out-of-phase-signal", "L2").value == 300


def test_escc_grade_coded_value() -> None:
    pf = read(obs("e", "escc-grade", level="T4", valueCodeableConcept={"text": "1C"}))
    assert only(pf, "escc-grade", "T4").value == "1c"


def test_boolean_concept_text_accepted() -> None:
    pf = read(obs("t", "fever", valueCodeableConcept={"text": "Yes"}))
    assert only(pf, "fever").value is True


def test_parent_finding_takes_component_level_without_body_site() -> None:
    parent = obs("p", "vcf", valueBoolean=True)
    parent["component"] = [{"code": concept(FINDING, "vertebral-level"), "valueString": "T7"}]
    assert only(read(parent), "vcf", "T7").value is True
