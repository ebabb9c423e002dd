"""The missing-findings form of the SMART app: which questions exist (``data/questions.json``),
how an answer becomes a finding, and how answers are written back to the EHR.

An answer is turned into the FHIR Observation the app writes back (``answer_observation``) and
that very Observation is read by the normal adapter, so a re-run after write-back reads exactly
what the in-app re-run used. Codes: the standard coding of ``app/fhir/data/standard_maps.json``
when one is listed as *equivalent* (and the adapter maps it to the same finding), else the
project CodeSystem. History answers (cancer, prior treatment) are read from Conditions and
Procedures by the service, so they are applied in the app and kept in the
QuestionnaireResponse, never written as Observations.
"""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import datetime
from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict

from app.clinical.findings import HistoryFact, PatientFindings
from app.fhir.codes import code_tables
from app.fhir.concept_maps import index

DATA = Path(__file__).parent / "data"
STANDARD_MAPS = Path(__file__).parents[1] / "fhir" / "data" / "standard_maps.json"
LEVEL_SYSTEM = "http://vcf-cds.org/fhir/CodeSystem/vertebral-level"
UCUM = "http://unitsofmeasure.org"
QUESTIONNAIRE = "http://vcf-cds.org/fhir/Questionnaire/vcf-missing-findings"
#: source of a clinician-entered answer in findings and provenance (never a FHIR reference)
ENTERED = "clinician-entered:"
HISTORY_INPUTS = ("malignancy_history", "prior_vcf_treatment")

AnswerValue = bool | float | str | None


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Option(_Strict):
    value: str
    label: str


class Question(_Strict):
    id: str
    input: str
    finding: str | None
    kind: Literal["yesno", "choice", "number"]
    label: str
    per_level: bool = False
    options: list[Option] = []
    unit: str | None = None
    min: float | None = None
    max: float | None = None
    not_written: str | None = None


class InputLabel(BaseModel):
    model_config = ConfigDict(extra="allow", frozen=True)
    label: str


class QuestionSet(_Strict):
    name: Literal["smart-app-questions"]
    version: str
    source: str
    inputs: dict[str, InputLabel]
    questions: list[Question]

    def by_id(self) -> dict[str, Question]:
        return {q.id: q for q in self.questions}

    def for_input(self, name: str) -> Question | None:
        return next((q for q in self.questions if q.input == name), None)

    def value_label(self, name: str, value: object) -> str:
        """Words for a clinical-state value ("new fracture", "not documented")."""
        if value is None:
            return "unknown"
        key = str(value).lower() if isinstance(value, bool) else str(value)
        extra = (self.inputs[name].model_extra or {}) if name in self.inputs else {}
        return str(extra.get(key, key))

    def input_label(self, name: str) -> str:
        entry = self.inputs.get(name)
        return entry.label if entry else name.replace("_", " ")


@lru_cache(maxsize=1)
def question_set() -> QuestionSet:
    """Loaded and checked once: every question's finding must be a project finding code of
    the type the form asks for (a bad data file stops start-up)."""
    return checked(json.loads((DATA / "questions.json").read_text("utf-8")))


def checked(raw: object) -> QuestionSet:
    """Validate a question file against the finding codes (raises ``ValueError``)."""
    qs = QuestionSet.model_validate(raw)
    specs = code_tables().findings.by_code()
    for q in qs.questions:
        if q.input not in qs.inputs:
            raise ValueError(f"question {q.id}: unknown clinical-state input {q.input}")
        if q.finding is None:
            if q.input not in HISTORY_INPUTS or q.not_written is None:
                raise ValueError(f"question {q.id}: no finding code and not a history input")
            continue
        spec = specs.get(q.finding)
        if spec is None:
            raise ValueError(f"question {q.id}: unknown finding code {q.finding}")
        expected = {"yesno": "boolean", "choice": "coded", "number": "quantity"}[q.kind]
        if spec.type != expected or spec.per_level != q.per_level:
            raise ValueError(f"question {q.id}: the form does not fit finding {q.finding}")
        if q.kind == "choice" and not {o.value for o in q.options} <= set(spec.values or []):
            raise ValueError(f"question {q.id}: options outside the finding's values")
    return qs


@lru_cache(maxsize=1)
def _standard_codings() -> dict[str, dict[str, str]]:
    """finding code -> the first *equivalent* standard coding the adapter maps back to it."""
    maps = json.loads(STANDARD_MAPS.read_text("utf-8"))
    idx = index()
    out: dict[str, dict[str, str]] = {}
    for row in maps["findings"]:
        key = (row["system"], row["code"])
        if row.get("equivalence") != "equivalent" or row["finding"] in out:
            continue
        if idx.finding_by_coding.get(key) == row["finding"]:
            out[row["finding"]] = {
                "system": row["system"],
                "code": row["code"],
                "display": row["display"],
            }
    return out


def finding_coding(finding: str) -> dict[str, str]:
    """The coding an answer Observation carries (standard first, else the project system)."""
    standard = _standard_codings().get(finding)
    if standard is not None:
        return dict(standard)
    tables = code_tables().findings
    return {
        "system": tables.system,
        "code": finding,
        "display": tables.by_code()[finding].display,
    }


def answer_observation(
    q: Question,
    value: AnswerValue,
    *,
    patient: str,
    level: str | None,
    when: datetime,
) -> dict[str, object] | None:
    """The Observation that records one answer (status final, subject, effectiveDateTime);
    None for "unknown" or a history question (not written as an Observation)."""
    if q.finding is None or value is None:
        return None
    obs: dict[str, object] = {
        "resourceType": "Observation",
        "status": "final",
        "code": {
            "coding": [finding_coding(q.finding)],
            "text": code_tables().findings.by_code()[q.finding].display,
        },
        "subject": {"reference": f"Patient/{patient}"},
        "effectiveDateTime": when.isoformat(timespec="seconds"),
    }
    if q.kind == "yesno":
        obs["valueBoolean"] = bool(value)
    elif q.kind == "choice":
        obs["valueCodeableConcept"] = {
            "coding": [{"system": code_tables().findings.system, "code": str(value)}]
        }
    else:
        unit = q.unit or ""
        obs["valueQuantity"] = {"value": value, "unit": unit, "system": UCUM, "code": unit}
    if q.per_level and level is not None:
        obs["bodySite"] = {"coding": [{"system": LEVEL_SYSTEM, "code": level}]}
    return obs


def apply_history_answers(pf: PatientFindings, answers: dict[str, AnswerValue]) -> None:
    """Cancer history and prior treatment answered in the app (history facts, not findings);
    only where the record left them unknown."""
    for qid, attr in (
        ("malignancy-history", "malignancy_history"),
        ("prior-vcf-treatment", "prior_vcf_treatment"),
    ):
        value = answers.get(qid)
        current: HistoryFact = getattr(pf, attr)
        if isinstance(value, bool) and current.value is None:
            setattr(pf, attr, HistoryFact(value, (f"{ENTERED}{qid}",)))


def mark_entered(pf: PatientFindings, labels: dict[str, str]) -> None:
    """Findings read from answer Observations name the clinician as their source."""
    pf.findings = [
        replace(f, sources=tuple(labels.get(s, s) for s in f.sources))
        if any(s in labels for s in f.sources)
        else f
        for f in pf.findings
    ]


def questionnaire_response(
    answers: list[tuple[Question, AnswerValue]], *, patient: str, when: datetime
) -> dict[str, object]:
    """The answers as a completed QuestionnaireResponse (kept when Observations cannot be
    written: written to the EHR, or downloaded)."""
    items = []
    for q, value in answers:
        item: dict[str, object] = {"linkId": q.id, "text": q.label}
        if value is None:
            item["answer"] = [{"valueCoding": {"display": "Unknown"}}]
        elif q.kind == "yesno":
            item["answer"] = [{"valueBoolean": bool(value)}]
        elif q.kind == "choice":
            shown = next((o.label for o in q.options if o.value == value), str(value))
            system = code_tables().findings.system
            coding = {"system": system, "code": str(value), "display": shown}
            item["answer"] = [{"valueCoding": coding}]
        else:
            unit = q.unit or ""
            item["answer"] = [
                {"valueQuantity": {"value": value, "unit": unit, "system": UCUM, "code": unit}}
            ]
        items.append(item)
    return {
        "resourceType": "QuestionnaireResponse",
        "questionnaire": QUESTIONNAIRE,
        "status": "completed",
        "subject": {"reference": f"Patient/{patient}"},
        "authored": when.isoformat(timespec="seconds"),
        "item": items,
    }
