"""Conditions, Procedures and corticosteroids -> history facts; the closed-world rule."""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest

from app.clinical.findings import PatientFindings
from app.fhir.adapter import read_resources
from tests.fhir_builders import CPT, ICD10, RXNORM, SCT, concept, condition, patient, procedure

TODAY = date(2024, 6, 1)

A_PATIENT = patient()


def read(*resources: Any, obtained: dict[str, bool] | None = None) -> PatientFindings:
    return read_resources([A_PATIENT, *resources], today=TODAY, obtained=obtained)


@pytest.mark.parametrize(
    ("system", "code"),
    [
        (ICD10, "C50.911"),
        (ICD10, "C7A.00"),
        (ICD10, "c7951"),
        (ICD10, "Z85.3"),
        (SCT, "363346000"),
        (SCT, "109989006"),
    ],
)
def test_malignancy_codes(system: str, code: str) -> None:
    pf = read(condition("c", code, onset=None, status=None, system=system))
    assert pf.malignancy_history.value is True
    assert pf.malignancy_history.sources == ("Condition/c",)


@pytest.mark.parametrize("code", ["D05.10", "Z86.010", "M81.0", "C97", "B99"])
def test_not_malignancy(code: str) -> None:
    assert (
        read(condition("c", code, onset=None, status=None, system=ICD10)).malignancy_history.value
        is None
    )


def test_closed_world_malignancy_needs_obtained_conditions() -> None:
    other = condition("c", "I10", onset=None, status=None, system=ICD10)
    assert read(other, obtained={"Condition": True}).malignancy_history.value is False
    assert read(other).malignancy_history.value is None
    assert read(other, obtained={"Condition": False}).malignancy_history.value is None
    assert read(obtained={"Condition": True}).malignancy_history.value is False


def test_closed_world_prior_treatment() -> None:
    assert read(obtained={"Procedure": True}).prior_vcf_treatment.value is False
    assert read().prior_vcf_treatment.value is None
    pf = read(procedure("p", "22513", date=None), obtained={"Procedure": True})
    assert (pf.prior_vcf_treatment.value, pf.prior_vcf_treatment.sources) == (
        True,
        ("Procedure/p",),
    )


@pytest.mark.parametrize(
    "code", ["22510", "22511", "22512", "22513", "22514", "22515", "22612", "63047"]
)
def test_prior_treatment_codes(code: str) -> None:
    assert read(procedure("p", code, date=None)).prior_vcf_treatment.value is True


def test_procedure_must_be_completed() -> None:
    pf = read(procedure("p", "22514", date=None, status="not-done"), obtained={"Procedure": True})
    assert pf.prior_vcf_treatment.value is False
    assert [i.location for i in pf.issues] == ["Procedure/p.status"]


@pytest.mark.parametrize("status", ["entered-in-error", "refuted"])
def test_condition_verification_status_ignored(status: str) -> None:
    c = condition(
        "c",
        "C50.911",
        onset=None,
        status=None,
        system=ICD10,
        verificationStatus=concept("x", status),
    )
    pf = read(c, obtained={"Condition": True})
    assert pf.malignancy_history.value is False
    assert pf.issues[0].location == "Condition/c.verificationStatus"


@pytest.mark.parametrize("clinical", ["active", "recurrence", "relapse", "remission", "resolved"])
def test_every_clinical_status_counts(clinical: str) -> None:
    c = condition(
        "c", "C61", onset=None, status=None, system=ICD10, clinicalStatus=concept("x", clinical)
    )
    assert read(c).malignancy_history.value is True


def test_etiology_bone_metastasis_fracture_and_osteoporosis() -> None:
    pf = read(
        condition("m", "C79.51", onset=None, status=None, system=ICD10),
        condition(
            "p",
            "M84.58XA",
            onset=None,
            status=None,
            system=ICD10,
            onsetDateTime="2024-05-01",
            bodySite=[{"text": "T9"}],
        ),
        condition(
            "v", "M48.50XA", onset=None, status=None, system=ICD10, recordedDate="2024-04-01"
        ),
        condition("o", "M81.0", onset=None, status=None, system=ICD10),
    )
    assert pf.bone_metastasis.value is True
    assert pf.osteoporosis.value is True
    assert [(e.value, e.sources) for e in pf.etiology] == [("pathological", ("Condition/p",))]
    levels = {d.level: d for d in pf.documented_fractures}
    assert set(levels) == {"T9", None}
    assert levels[None].first_documented is not None


def test_osteoporotic_vertebral_fracture() -> None:
    pf = read(condition("o", "M80.08XA", onset=None, status=None, system=ICD10))
    assert [e.value for e in pf.etiology] == ["osteoporotic"]
    assert pf.osteoporosis.value is True
    assert len(pf.documented_fractures) == 1


def test_osteoporotic_hip_fracture_is_no_vcf_etiology() -> None:
    pf = read(condition("h", "M80.051A", onset=None, status=None, system=ICD10))
    assert pf.etiology == []
    assert pf.documented_fractures == []
    assert pf.osteoporosis.value is True


def test_conflicting_etiology_kept_and_reported() -> None:
    pf = read(
        condition("a", "M80.08XA", onset=None, status=None, system=ICD10),
        condition("b", "M84.58XA", onset=None, status=None, system=ICD10),
    )
    assert {e.value for e in pf.etiology} == {"osteoporotic", "pathological"}
    assert any("both" in i.message for i in pf.issues)


def test_bone_metastasis_and_osteoporosis_never_false() -> None:
    pf = read(obtained={"Condition": True})
    assert pf.bone_metastasis.value is None
    assert pf.osteoporosis.value is None


def _steroid(mid: str, start: str, end: str | None = None, **extra: Any) -> dict[str, Any]:
    period = {"start": start, **({"end": end} if end else {})}
    return {
        "resourceType": "MedicationStatement",
        "id": mid,
        "status": extra.pop("status", "completed"),
        "medicationCodeableConcept": extra.pop(
            "medication", concept(RXNORM, "312617", "predniSONE 5 MG Oral Tablet")
        ),
        "effectivePeriod": period,
        "subject": {"reference": "Patient/p1"},
        **extra,
    }


MEDS = {"MedicationStatement": True}


def test_corticosteroid_over_three_months() -> None:
    pf = read(_steroid("m", "2024-01-01", "2024-04-15"), obtained=MEDS)
    assert pf.prolonged_corticosteroids.value is True
    assert pf.prolonged_corticosteroids.sources == ("MedicationStatement/m",)


def test_corticosteroid_short_course_is_false_when_obtained() -> None:
    short = _steroid("m", "2024-01-01", "2024-01-20")
    assert read(short, obtained=MEDS).prolonged_corticosteroids.value is False
    assert read(short).prolonged_corticosteroids.value is None


def test_consecutive_prescriptions_are_merged() -> None:
    parts = [
        _steroid("a", "2024-01-01", "2024-01-31"),
        _steroid("b", "2024-02-05", "2024-03-05"),
        _steroid("c", "2024-03-10", "2024-04-10"),
    ]
    assert read(*parts, obtained=MEDS).prolonged_corticosteroids.value is True


def test_open_active_course_runs_to_today() -> None:
    active = _steroid("m", "2024-01-15", status="active")
    assert read(active, obtained=MEDS).prolonged_corticosteroids.value is True


def test_request_supply_duration_with_repeats() -> None:
    request = {
        "resourceType": "MedicationRequest",
        "id": "r",
        "status": "completed",
        "intent": "order",
        "authoredOn": "2023-01-01",
        "medicationCodeableConcept": concept(RXNORM, "6902", "methylprednisolone"),
        "dispenseRequest": {
            "expectedSupplyDuration": {"value": 30, "code": "d"},
            "numberOfRepeatsAllowed": 3,
        },
    }
    pf = read(request, obtained={"MedicationRequest": True})
    assert pf.prolonged_corticosteroids.value is True


def test_unknown_duration_is_unknown() -> None:
    no_dates = {
        "resourceType": "MedicationStatement",
        "id": "m",
        "status": "completed",
        "medicationCodeableConcept": {"text": "Dexamethasone 4 mg tablet"},
    }
    pf = read(no_dates, obtained=MEDS)
    assert pf.prolonged_corticosteroids.value is None
    assert pf.prolonged_corticosteroids.sources == ("MedicationStatement/m",)


@pytest.mark.parametrize(
    "medication",
    [
        {"text": "hydrocortisone 1 % topical cream"},
        {"text": "fluticasone inhaler"},
        {"text": "dexamethasone 0.1 % eye drops"},
        {"text": "atorvastatin 20 mg"},
    ],
)
def test_non_systemic_or_other_drugs_do_not_count(medication: dict[str, Any]) -> None:
    course = _steroid("m", "2023-01-01", "2024-01-01", medication=medication)
    assert read(course, obtained=MEDS).prolonged_corticosteroids.value is False


def test_route_makes_it_non_systemic() -> None:
    course = _steroid(
        "m",
        "2023-01-01",
        "2024-01-01",
        medication=concept(RXNORM, "10759", "triamcinolone"),
        dosage=[{"route": {"text": "intra-articular"}}],
    )
    assert read(course, obtained=MEDS).prolonged_corticosteroids.value is False


def test_contained_medication_reference() -> None:
    course = _steroid("m", "2023-01-01", "2024-01-01")
    del course["medicationCodeableConcept"]
    course["medicationReference"] = {"reference": "#med"}
    course["contained"] = [
        {"resourceType": "Medication", "id": "med", "code": {"text": "Prednisolone"}}
    ]
    assert read(course, obtained=MEDS).prolonged_corticosteroids.value is True


def test_cpt_code_list_is_checked() -> None:
    assert (
        read(
            procedure("p", "99213", date=None), obtained={"Procedure": True}
        ).prior_vcf_treatment.value
        is False
    )
    assert CPT.startswith("http")
