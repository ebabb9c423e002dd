"""DiagnosticReport -> findings: results, conclusionCode, narrative; text never outranks coded."""

from __future__ import annotations

import base64
from datetime import date
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from app.clinical.findings import Finding, PatientFindings
from app.fhir.adapter import read_resources
from app.fhir.reports import MAX_NARRATIVE_CHARS, MAX_NARRATIVE_REPORTS, TEXT_MARK, quote
from tests.fhir_builders import (
    FINDING,
    ICD10,
    LOINC,
    Json,
    bundle,
    concept,
    condition,
    diagnostic_report,
    hook_request,
    obs,
    patient,
)

TODAY = date(2024, 6, 1)

A_PATIENT = patient()


def report(rid: str = "r1", when: str | None = "2024-05-01T09:00:00Z", **parts: Any) -> Json:
    radiology = [concept(LOINC, "LP29684-5", "Radiology")]
    return diagnostic_report(rid, date=when, category=radiology, **parts)


def text_form(body: str) -> Json:
    return {
        "contentType": "text/plain; charset=utf-8",
        "data": base64.b64encode(body.encode()).decode(),
    }


def read(*resources: Any) -> PatientFindings:
    return read_resources([A_PATIENT, *resources], today=TODAY)


def found(pf: PatientFindings, code: str, level: str | None = None) -> Finding:
    hits = [f for f in pf.findings if f.code == code and f.level == level]
    assert len(hits) == 1, pf.findings
    return hits[0]


def messages(pf: PatientFindings) -> dict[str, str]:
    return {i.location: i.message for i in pf.issues}


# --- results only ---------------------------------------------------------------------------


def test_results_only_reads_referenced_and_contained_observations() -> None:
    inside = obs("c1", "fluid-cleft", level="L1", date=None, valueBoolean=True)
    rep = report(
        result=[
            {"reference": "Observation/o1"},
            {"reference": "#c1"},
            {"reference": "Observation/elsewhere"},
            {"reference": "#nothing"},
            {"display": "no reference"},
        ],
        contained=[inside],
    )
    pf = read(rep, obs("o1", "vcf", level="L1", valueBoolean=True))
    vcf = found(pf, "vcf", "L1")
    assert vcf.sources == ("Observation/o1",) and vcf.from_text is False  # read once
    cleft = found(pf, "fluid-cleft", "L1")
    assert cleft.value is True and cleft.sources == ("DiagnosticReport/r1#c1",)
    assert cleft.effective is not None and cleft.effective.date() == date(2024, 5, 1)
    issues = messages(pf)
    assert "not in the input" in issues["DiagnosticReport/r1.result[2]"]
    assert "no contained Observation" in issues["DiagnosticReport/r1.result[3]"]
    assert "no reference" in issues["DiagnosticReport/r1.result[4]"]


# --- conclusionCode only --------------------------------------------------------------------


def test_conclusion_code_only_counts_as_condition_and_finding_codes() -> None:
    rep = report(
        conclusionCode=[
            concept(ICD10, "M48.50XA", "Collapsed vertebra, not elsewhere classified"),
            concept(FINDING, "retropulsion"),
            concept("http://example.org/local", "X1"),
        ]
    )
    pf = read(rep)
    [fracture] = pf.documented_fractures
    assert fracture.sources == ("DiagnosticReport/r1.conclusionCode[0]",)
    assert fracture.first_documented is not None
    retro = found(pf, "retropulsion")
    assert retro.value is True and retro.from_text is False
    assert "no mapped code" in messages(pf)["DiagnosticReport/r1.conclusionCode[2]"]


# --- narrative only -------------------------------------------------------------------------


def test_narrative_only_gives_text_findings_quoting_the_sentence() -> None:
    rep = report(
        conclusion="Acute L1 compression fracture with 40% loss of height. No retropulsion. "
        "Possible epidural extension."
    )
    pf = read(rep)
    vcf = found(pf, "vcf", "L1")
    assert vcf.value is True and vcf.from_text is True
    [source] = vcf.sources
    assert source.startswith("DiagnosticReport/r1.conclusion (" + TEXT_MARK)
    assert '"Acute L1 compression fracture with 40% loss of height."' in source
    assert found(pf, "vcf-acute", "L1").value is True
    height = found(pf, "vertebral-height-loss", "L1")
    assert height.value == 40.0 and height.unit == "%"
    # no level in the sentence: the report's one fracture level
    retro = found(pf, "retropulsion", "L1")
    assert retro.value is False and "No retropulsion." in retro.sources[0]
    assert found(pf, "epidural-mass", "L1").value is None  # "possible": unknown


def test_presented_form_text_plain_is_read_other_forms_reported() -> None:
    rep = report(
        presentedForm=[
            text_form("FINDINGS: Compression fractures of T11 and T12. The pedicles are intact."),
            {"contentType": "application/pdf", "data": "JVBERi0="},
            {"contentType": "text/plain", "url": "Binary/b1"},
            {"contentType": "text/plain", "data": "***not base64***"},
        ]
    )
    pf = read(rep)
    for level in ("T11", "T12"):
        assert found(pf, "vcf", level).value is True
    # no level in the sentence and two fracture levels in the report: no level
    pedicle = found(pf, "pedicle-involvement")
    assert pedicle.value is False and "presentedForm[0]" in pedicle.sources[0]
    assert found(pf, "multiple-vcfs").value is True
    issues = messages(pf)
    assert "only text/plain" in issues["DiagnosticReport/r1.presentedForm[1]"]
    assert "url is not fetched" in issues["DiagnosticReport/r1.presentedForm[2]"]
    assert "not valid base64" in issues["DiagnosticReport/r1.presentedForm[3].data"]


def test_long_narrative_is_capped_and_reported() -> None:
    filler = "Degenerative changes. " * (MAX_NARRATIVE_CHARS // 20)
    pf = read(report(conclusion="No retropulsion. " + filler + "Retropulsion at L2."))
    assert found(pf, "retropulsion").value is False  # the L2 sentence lies past the cap
    assert all(f.level != "L2" for f in pf.findings)
    assert "only the start is read" in messages(pf)["DiagnosticReport/r1.conclusion"]
    pf = read(report(presentedForm=[text_form("No retropulsion. " + filler)]))
    assert "only the start is read" in messages(pf)["DiagnosticReport/r1.presentedForm[0].data"]


def test_narratives_per_read_are_capped() -> None:
    reports = [
        report(f"r{i}", conclusion=f"Retropulsion at L{1 + i % 5}.")
        for i in range(MAX_NARRATIVE_REPORTS + 2)
    ]
    pf = read(*reports)
    read_from = {s.split(".", 1)[0] for f in pf.findings for s in f.sources}
    assert len(read_from) == MAX_NARRATIVE_REPORTS
    late = [i for i in pf.issues if "reports with narrative; text not read" in i.message]
    assert [i.location for i in late] == [f"DiagnosticReport/r{n}.conclusion" for n in (50, 51)]


def test_quoted_sentence_cannot_break_card_markdown() -> None:
    assert quote('A "big" | `x` **<b>L1</b>**\n fracture') == "A 'big' / 'x' ‹b›L1‹/b› fracture"


def test_contradicting_sentences_in_one_report_give_unknown() -> None:
    pf = read(report(conclusion="Retropulsion at L1. No retropulsion at L1."))
    assert found(pf, "retropulsion", "L1").value is None
    pf = read(report(conclusion="Possible retropulsion at L1. Retropulsion at L1 measures 3 mm."))
    assert found(pf, "retropulsion", "L1").value is True


# --- text never outranks coded --------------------------------------------------------------


@pytest.mark.parametrize(
    ("coded_level", "sentence"),
    [
        ("L1", "No retropulsion at L1."),  # same level
        (None, "No retropulsion at L1."),  # coded without level
        ("L1", "No retropulsion."),  # text without level, coded at some level
    ],
)
def test_coded_value_wins_over_newer_text(coded_level: str | None, sentence: str) -> None:
    coded = obs("o1", "retropulsion", level=coded_level, date="2019-01-01", valueBoolean=True)
    pf = read(report(when="2024-05-01", conclusion=sentence), coded)
    retro = [f for f in pf.findings if f.code == "retropulsion"]
    assert [(f.value, f.sources, f.from_text) for f in retro] == [
        (True, ("Observation/o1",), False)
    ]
    assert any("a coded value is used instead" in m for m in messages(pf).values())


def test_conclusion_code_wins_over_the_same_reports_narrative() -> None:
    rep = report(conclusionCode=[concept(FINDING, "retropulsion")], conclusion="No retropulsion.")
    retro = found(read(rep), "retropulsion")
    assert retro.value is True and retro.sources == ("DiagnosticReport/r1.conclusionCode[0]",)


def test_coded_false_wins_over_text_true_and_text_fills_other_levels() -> None:
    coded = obs("o1", "cord-compression", level="T9", date="2019-01-01", valueBoolean=False)
    rep = report(conclusion="Cord compression at T9. Cord compression at T10.")
    pf = read(rep, coded)
    assert found(pf, "cord-compression", "T9").value is False
    t10 = found(pf, "cord-compression", "T10")
    assert t10.value is True and t10.from_text is True


def test_coded_unknown_does_not_hide_text_value() -> None:
    absent = obs("o1", "retropulsion", level="L1", dataAbsentReason=concept("x", "unknown"))
    pf = read(report(conclusion="No retropulsion at L1."), absent)
    retro = found(pf, "retropulsion", "L1")
    assert retro.value is False and retro.from_text is True


# --- malformed reports are never fatal ------------------------------------------------------


@pytest.mark.parametrize(
    "broken",
    [
        {"result": "Observation/o1"},
        {"result": [None, 3, {"reference": 7}]},
        {"conclusion": 5},
        {"conclusion": "\x00" * 50},
        {"conclusionCode": "M48.50XA"},
        {"conclusionCode": [{"coding": "bad"}, None]},
        {"presentedForm": [{"contentType": "text/plain", "data": 7}]},
        {"presentedForm": {"contentType": "text/plain"}},
        {
            "contained": [{"resourceType": "Observation", "id": "c1"}],
            "result": [{"reference": "#c1"}],
        },
        {"effectiveDateTime": "yesterday", "conclusion": "L1 fracture."},
        {"status": None},
    ],
)
def test_malformed_report_is_reported_never_fatal(broken: Json) -> None:
    rep = {**report(), **broken}
    pf = read(rep, obs("v", "vcf", level="L2", valueBoolean=True))
    assert found(pf, "vcf", "L2").value is True  # the rest of the input is still read
    assert not any(i.message.startswith("could not be read") for i in pf.issues)
    if broken != {"conclusion": "\x00" * 50}:
        assert any(i.location.startswith("DiagnosticReport/r1") for i in pf.issues)


def test_report_with_unused_status_is_reported() -> None:
    pf = read(report(status="cancelled", conclusion="Acute L1 fracture."))
    assert pf.findings == []
    assert "status cancelled" in messages(pf)["DiagnosticReport/r1.status"]


# --- marked everywhere it appears -----------------------------------------------------------


def test_text_findings_are_marked_in_assessment_json_and_cards(client: Any) -> None:
    # tests.fhir_builders.v1_observations (ACR Variant 1) with the fracture and its acuity read
    # from a report instead of coded Observations
    rep = report(conclusion="Acute L1 compression fracture. No retropulsion.")
    others = [
        obs("o-sym", "symptomatic", True),
        obs("o-mult", "multiple-vcfs", False),
    ]
    osteoporosis = [condition("c", "M81.0")]
    payload = bundle([rep, *others, *osteoporosis])
    body = client.post(
        "/api/v1/assessments?complete=Condition&complete=Procedure", json=payload
    ).json()
    assert body["imaging"]["primary"] == 1
    present = body["clinical_state"]["vcf_present"]
    assert present["value"] is True
    [source] = present["sources"]
    assert TEXT_MARK in source and '"Acute L1 compression fracture."' in source
    assert body["clinical_state"]["multiple_vcfs"]["sources"] == ["Observation/o-mult"]  # coded
    req = hook_request("patient-view", [rep, *others], conditions=osteoporosis)
    cards = client.post("/cds-services/vcf-patient-view", json=req).json()["cards"]
    [summary] = cards  # patient-view: one summary card
    assert summary["extension"]["vcf-cds"]["findings"][0] == {
        "finding": "acr-imaging-variant",
        "value": "1",
    }
    assert TEXT_MARK in summary["detail"] and "Acute L1 compression fracture." in summary["detail"]
    assert "DiagnosticReport/" not in summary["detail"]  # the kind of record, not its id


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=40),
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=12), inner, max_size=3)
    ),
    max_leaves=8,
)
report_fields = st.sampled_from(
    [
        "status",
        "result",
        "contained",
        "conclusion",
        "conclusionCode",
        "presentedForm",
        "effectiveDateTime",
        "issued",
    ]
)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.dictionaries(report_fields, json_values, max_size=4))
def test_any_report_shape_is_read_without_error(fields: dict[str, Any]) -> None:
    pf = read({**report(), **fields}, obs("v", "vcf", level="L2", valueBoolean=True))
    assert found(pf, "vcf", "L2").value is True
    assert not any(i.message.startswith("could not be read") for i in pf.issues)
