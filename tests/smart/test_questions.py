"""The missing-findings form: every answer the app can write back is read back by the FHIR
adapter as the same finding (so a re-run after write-back gives the in-app result), with the
standard code where standard_maps.json lists an equivalent one."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import pytest

from app.clinical.findings import PatientFindings
from app.fhir.adapter import read_resources
from app.smart.questions import (
    DATA,
    ENTERED,
    AnswerValue,
    Question,
    answer_observation,
    apply_history_answers,
    checked,
    question_set,
    questionnaire_response,
)
from tests.fhir_builders import FINDING, patient

WHEN = datetime(2026, 12, 1, 9, 30, tzinfo=UTC)


def _values(q: Question) -> list[AnswerValue]:
    if q.kind == "yesno":
        return [True, False]
    if q.kind == "choice":
        return [o.value for o in q.options]
    assert q.min is not None and q.max is not None
    return [q.min, (q.min + q.max) / 2, q.max]


CASES = [(q, v) for q in question_set().questions if q.finding is not None for v in _values(q)]


@pytest.mark.parametrize(("q", "value"), CASES, ids=[f"{q.id}={v}" for q, v in CASES])
def test_written_answer_reads_back_as_the_same_finding(q: Question, value: AnswerValue) -> None:
    level = "L2" if q.per_level else None
    obs = answer_observation(q, value, patient="p1", level=level, when=WHEN)
    assert obs is not None
    assert obs["status"] == "final" and obs["subject"] == {"reference": "Patient/p1"}
    assert obs["effectiveDateTime"] == "2026-12-01T09:30:00+00:00"
    pf = read_resources([patient(), {**obs, "id": "written"}], today=WHEN.date())
    found = [f for f in pf.findings if f.code == q.finding]
    assert len(found) == 1, pf.issues
    assert found[0].value == value
    assert found[0].level == level
    assert found[0].sources == ("Observation/written",)
    assert not [i for i in pf.issues if i.severity != "information"]


def test_standard_code_first_then_the_project_code() -> None:
    by_id = question_set().by_id()
    vcf: dict[str, Any] | None = answer_observation(
        by_id["vcf"], True, patient="p1", level="L2", when=WHEN
    )
    assert vcf is not None
    assert vcf["code"]["coding"] == [
        {
            "system": "http://snomed.info/sct",
            "code": "42942008",
            "display": "Compression fracture of vertebral column (disorder)",
        }
    ]
    worse: dict[str, Any] | None = answer_observation(
        by_id["worsening-pain"], True, patient="p1", level=None, when=WHEN
    )
    assert worse is not None
    assert worse["code"]["coding"][0] == {
        "system": FINDING,
        "code": "worsening-pain",
        "display": "Worsening pain",
    }


def test_unknown_and_history_answers_write_no_observation() -> None:
    by_id = question_set().by_id()
    assert (
        answer_observation(by_id["symptomatic"], None, patient="p", level=None, when=WHEN) is None
    )
    history = by_id["malignancy-history"]
    assert answer_observation(history, True, patient="p", level=None, when=WHEN) is None


def test_history_answer_fills_only_an_unknown_history() -> None:
    pf = PatientFindings()
    apply_history_answers(pf, {"malignancy-history": False, "prior-vcf-treatment": True})
    assert pf.malignancy_history.value is False
    assert pf.malignancy_history.sources == (f"{ENTERED}malignancy-history",)
    assert pf.prior_vcf_treatment.value is True
    read = read_resources([patient()], today=WHEN.date(), obtained={"Condition": True})
    assert read.malignancy_history.value is False  # the record was read: it decides
    apply_history_answers(read, {"malignancy-history": True})
    assert read.malignancy_history.value is False and read.malignancy_history.sources == ()


def test_questionnaire_response_keeps_every_answer() -> None:
    by_id = question_set().by_id()
    qr: dict[str, Any] = questionnaire_response(
        [
            (by_id["symptomatic"], True),
            (by_id["fracture-etiology"], "pathological"),
            (by_id["vertebral-height-loss"], 30.0),
            (by_id["multiple-vcfs"], None),
        ],
        patient="p1",
        when=WHEN,
    )
    assert qr["resourceType"] == "QuestionnaireResponse" and qr["status"] == "completed"
    answers: dict[str, Any] = {i["linkId"]: i["answer"][0] for i in qr["item"]}
    assert answers["symptomatic"] == {"valueBoolean": True}
    assert answers["fracture-etiology"]["valueCoding"]["code"] == "pathological"
    assert answers["vertebral-height-loss"]["valueQuantity"]["value"] == 30.0
    assert answers["multiple-vcfs"] == {"valueCoding": {"display": "Unknown"}}


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"finding": "no-such-finding"}, "unknown finding code"),
        ({"kind": "number"}, "does not fit"),
        ({"per_level": True}, "does not fit"),
        ({"input": "no_such_input"}, "unknown clinical-state input"),
    ],
)
def test_a_bad_question_file_is_refused(change: dict[str, Any], message: str) -> None:
    raw = json.loads((DATA / "questions.json").read_text("utf-8"))
    symptomatic = next(q for q in raw["questions"] if q["id"] == "symptomatic")
    symptomatic.update(change)
    with pytest.raises(ValueError, match=message):
        checked(raw)
