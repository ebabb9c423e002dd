"""Synthetic, realistic CDS Hooks ``order-select`` requests for the benchmarks.

The resources are built by the tests' FHIR builders (tests/fhir_builders.py, one set for tests
and benchmarks) in the FHIR R4 shapes the service reads (finding Observations with
``bodySite`` levels, ICD-10-CM Conditions, CPT Procedures, RxNorm MedicationStatements, one draft
ServiceRequest). Every finding code used here is checked against
``app/fhir/data/finding_codes.json`` so the payload cannot silently drift from the code table.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from functools import lru_cache
from pathlib import Path
from typing import Any

import app
from tests import fhir_builders as fhir
from tests.fhir_builders import FINDING, LOINC, UCUM

OBSERVATION_CATEGORY = "http://terminology.hl7.org/CodeSystem/observation-category"
PATIENT_ID = "bench-p1"
SERVICE = "vcf-order-select"
DRAFT_CPT = "72158"

Resource = dict[str, Any]


@lru_cache(maxsize=1)
def finding_specs() -> dict[str, dict[str, Any]]:
    """The finding code table of the service, by code."""
    path = Path(app.__file__).parent / "fhir" / "data" / "finding_codes.json"
    data = json.loads(path.read_text(encoding="utf-8"))
    return {f["code"]: f for f in data["findings"]}


def _when(days_ago: float, now: datetime) -> str:
    return (now - timedelta(days=days_ago)).strftime("%Y-%m-%dT%H:%M:%SZ")


def observation(
    oid: str,
    code: str,
    value: bool | str | float | int,
    *,
    level: str | None = None,
    when: str,
) -> Resource:
    """A finding Observation (value type taken from the code table)."""
    spec = finding_specs().get(code)
    if spec is None:
        raise ValueError(f"{code!r} is not a finding code of finding_codes.json")
    if spec["per_level"] != (level is not None):
        raise ValueError(f"{code!r}: per_level={spec['per_level']} but level={level!r}")
    kind = spec["type"]
    fields: dict[str, Any]
    if kind == "boolean":
        fields = {"valueBoolean": bool(value)}
    elif kind == "coded":
        if value not in spec["values"]:
            raise ValueError(f"{code!r}: {value!r} not in {spec['values']}")
        fields = {"valueCodeableConcept": fhir.concept(FINDING, str(value))}
    elif kind == "integer":
        fields = {"valueInteger": int(value)}
    else:
        unit = spec.get("unit")
        unit = unit if unit is not None else "1"
        fields = {"valueQuantity": {"value": value, "system": UCUM, "unit": unit, "code": unit}}
    return fhir.obs(oid, code, level=level, date=when, patient_id=PATIENT_ID, **fields)


def vital_sign(oid: str, loinc: str, display: str, value: float, unit: str, when: str) -> Resource:
    """A vital-sign-like Observation the service does not read (an unknown code)."""
    return fhir.obs(
        oid,
        loinc,
        system=LOINC,
        display=display,
        date=when,
        patient_id=PATIENT_ID,
        category=[fhir.concept(OBSERVATION_CATEGORY, "vital-signs")],
        valueQuantity={"value": value, "unit": unit, "system": UCUM, "code": unit},
    )


def condition(cid: str, icd: str, display: str, onset: str) -> Resource:
    return fhir.condition(cid, icd, onset, display=display, patient_id=PATIENT_ID)


def procedure(pid: str, cpt: str, display: str, when: str) -> Resource:
    return fhir.procedure(pid, cpt, when, display=display, patient_id=PATIENT_ID)


def medication_statement(
    mid: str, rxnorm: str, display: str, start: str, end: str | None, status: str
) -> Resource:
    return fhir.medication_statement(
        mid, rxnorm, display, start, end, status, patient_id=PATIENT_ID
    )


def draft_order(sid: str = "sr-bench") -> Resource:
    display = "MRI lumbar spine without and with contrast"
    return fhir.draft(sid, DRAFT_CPT, display, patient_id=PATIENT_ID)


def patient() -> Resource:
    return fhir.patient("1948-03-14", patient_id=PATIENT_ID, gender="female")


def bundle(resources: list[Resource], btype: str = "searchset") -> Resource:
    return fhir.bundle(resources, btype, full_urls=True)


# --- the 60-resource patient ----------------------------------------------------------------

# (code, value, level, days ago): an osteoporotic woman with a new symptomatic L1 fracture, an
# older T12 fracture, MRI signs, SINS components, ESCC, VBQ signals and a few red-flag answers.
_FINDINGS: list[tuple[str, bool | str | float | int, str | None, float]] = [
    ("vcf", True, "L1", 6),
    ("vcf-acute", True, "L1", 6),
    ("marrow-edema", True, "L1", 3),
    ("vertebral-height-loss", 35, "L1", 3),
    ("dorsal-wall-height-reduction", 8, "L1", 3),
    ("fracture-etiology", "osteoporotic", "L1", 3),
    ("fluid-cleft", True, "L1", 3),
    ("vcf", True, "T12", 400),
    ("vcf-acute", False, "T12", 400),
    ("vertebral-height-loss", 15, "T12", 400),
    ("multiple-vcfs", True, None, 6),
    ("symptomatic", True, None, 6),
    ("mechanical-pain", True, None, 6),
    ("worsening-pain", False, None, 6),
    ("pulmonary-dysfunction", False, None, 6),
    ("kyphosis", 12, None, 6),
    ("scoliosis", 4, None, 6),
    ("marrow-signal-pattern", "band", "L1", 3),
    ("posterior-border", "convex", "L1", 3),
    ("signal-asymmetry", False, "L1", 3),
    ("pedicle-involvement", False, "L1", 3),
    ("cord-compression", False, "L1", 3),
    ("paraspinal-mass", False, "L1", 3),
    ("t1-low-signal", True, "L1", 3),
    ("sins-pain", "mechanical", "L1", 3),
    ("sins-alignment", "normal", "L1", 3),
    ("sins-collapse", "lt50", "L1", 3),
    ("sins-posterolateral", "none", "L1", 3),
    ("escc-grade", "0", "L1", 3),
    ("vbq-signal", 412.0, "L1", 3),
    ("vbq-signal", 398.5, "L2", 3),
    ("vbq-signal", 405.0, "L3", 3),
    ("vbq-signal", 420.5, "L4", 3),
    ("csf-signal", 131.0, "L3", 3),
    ("field-strength", 1.5, None, 3),
    ("fever", False, None, 6),
    ("unexplained-weight-loss", False, None, 6),
    ("significant-trauma", False, None, 6),
    ("minor-fall-or-lift", True, None, 6),
    ("progressive-motor-weakness", False, None, 6),
]

_CONDITIONS = [
    ("M81.0", "Age-related osteoporosis without current pathological fracture", 900),
    ("M80.08XA", "Age-related osteoporosis with current pathological vertebral fracture", 6),
    ("I10", "Essential (primary) hypertension", 3000),
    ("E11.9", "Type 2 diabetes mellitus without complications", 2500),
    ("E78.5", "Hyperlipidemia, unspecified", 2800),
    ("M54.50", "Low back pain, unspecified", 8),
    ("N18.3", "Chronic kidney disease, stage 3", 1200),
    ("K21.9", "Gastro-esophageal reflux disease without esophagitis", 1800),
    ("Z87.891", "Personal history of nicotine dependence", 4000),
    ("J44.9", "Chronic obstructive pulmonary disease, unspecified", 1500),
]

_PROCEDURES = [
    ("72100", "Radiologic examination, spine, lumbosacral; 2 or 3 views", 7),
    ("77080", "Dual-energy X-ray absorptiometry (DXA), axial skeleton", 800),
    ("99214", "Office or other outpatient visit, established patient", 7),
    ("27130", "Arthroplasty, acetabular and proximal femoral prosthetic replacement", 2100),
    ("45378", "Colonoscopy, flexible; diagnostic", 1900),
]


def realistic_resources(now: datetime) -> dict[str, list[Resource]]:
    """The 60 resources of the realistic patient, by prefetch key (and ``draft``)."""

    def day(days_ago: float) -> str:
        return _when(days_ago, now)[:10]

    observations = [
        observation(f"obs-{i}", code, value, level=level, when=_when(days, now))
        for i, (code, value, level, days) in enumerate(_FINDINGS)
    ]
    conditions = [
        condition(f"cond-{i}", icd, display, day(days))
        for i, (icd, display, days) in enumerate(_CONDITIONS)
    ]
    procedures = [
        procedure(f"proc-{i}", cpt, display, day(days))
        for i, (cpt, display, days) in enumerate(_PROCEDURES)
    ]
    medications = [
        medication_statement("med-0", "46041", "alendronate 70 MG", day(800), None, "active"),
        medication_statement("med-1", "2418", "cholecalciferol 1000 UNT", day(900), None, "active"),
        medication_statement("med-2", "8640", "prednisone 20 MG", day(40), day(33), "completed"),
    ]
    return {
        "patient": [patient()],
        "observations": observations,
        "conditions": conditions,
        "procedures": procedures,
        "medicationStatements": medications,
        "medicationRequests": [],
        "draft": [draft_order()],
    }


# --- scaling: N observations -----------------------------------------------------------------

_LEVELS = ["T6", "T7", "T8", "T9", "T10", "T11", "T12", "L1", "L2", "L3", "L4", "L5"]
_VITALS = [
    ("8867-4", "Heart rate", 60.0, 40.0, "/min"),
    ("8310-5", "Body temperature", 36.4, 1.2, "Cel"),
    ("9279-1", "Respiratory rate", 12.0, 8.0, "/min"),
    ("2708-6", "Oxygen saturation in Arterial blood", 92.0, 7.0, "%"),
    ("29463-7", "Body weight", 58.0, 9.0, "kg"),
    ("8480-6", "Systolic blood pressure", 105.0, 50.0, "mm[Hg]"),
    ("8462-4", "Diastolic blood pressure", 60.0, 30.0, "mm[Hg]"),
    ("72514-3", "Pain severity 0-10", 0.0, 10.0, "{score}"),
]
# finding codes repeated over time in a long record (per-level ones at many levels)
_REPEATED: list[tuple[str, list[bool | str | float | int]]] = [
    ("vcf", [True, False]),
    ("vcf-acute", [True, False]),
    ("marrow-edema", [True, False]),
    ("vertebral-height-loss", [5, 15, 25, 35, 45]),
    ("symptomatic", [True, False]),
    ("mechanical-pain", [True, False]),
    ("kyphosis", [5, 10, 15, 20]),
    ("sins-collapse", ["lt50", "none", "gt50"]),
    ("escc-grade", ["0", "1a", "1b"]),
    ("vbq-signal", [380.0, 400.0, 420.0, 440.0]),
    ("csf-signal", [120.0, 130.0, 140.0]),
    ("fever", [True, False]),
]


def scaled_observations(n: int, now: datetime) -> list[Resource]:
    """``n`` Observations: the 40 clinical findings (newest, so the clinical picture is that of
    the realistic patient), older repeats of finding codes over many levels and dates (newest
    wins must pick among them), and mostly vital-sign-like Observations the service skips."""
    specs = finding_specs()
    base = realistic_resources(now)["observations"][:n]
    out = list(base)
    i = 0
    while len(out) < n:
        # about one in four of the rest repeats a finding code, the others are vital signs
        minutes = 60 * 24 * 14 + 37 * i  # older than the clinical findings, all distinct
        when = (now - timedelta(minutes=minutes)).strftime("%Y-%m-%dT%H:%M:%SZ")
        if i % 4 == 0:
            code, values = _REPEATED[(i // 4) % len(_REPEATED)]
            spec = specs[code]
            level = None
            if spec["per_level"]:
                allowed = spec.get("levels") or _LEVELS
                level = allowed[(i // 7) % len(allowed)]
            value = values[(i // 3) % len(values)]
            out.append(observation(f"rep-{i}", code, value, level=level, when=when))
        else:
            loinc, display, low, span, unit = _VITALS[i % len(_VITALS)]
            value = round(low + (i * 7919 % 1000) / 1000 * span, 1)
            out.append(vital_sign(f"vs-{i}", loinc, display, value, unit, when))
        i += 1
    return out


# --- the request ----------------------------------------------------------------------------


def hook_request(parts: dict[str, list[Resource]]) -> dict[str, Any]:
    """A CDS Hooks 2.0 ``order-select`` request with every prefetch key given."""
    drafts = parts["draft"]
    return {
        "hookInstance": "3f1c2f9e-6a51-4b1e-9d53-7f1f0e2d9a11",
        "hook": "order-select",
        "fhirServer": "https://ehr.example.org/fhir",
        "context": {
            "userId": "Practitioner/bench-u1",
            "patientId": PATIENT_ID,
            "encounterId": "bench-e1",
            "selections": [f"ServiceRequest/{d['id']}" for d in drafts],
            "draftOrders": bundle(drafts, "collection"),
        },
        "prefetch": {
            "patient": parts["patient"][0],
            "observations": bundle(parts["observations"]),
            "conditions": bundle(parts["conditions"]),
            "procedures": bundle(parts["procedures"]),
            "medicationStatements": bundle(parts["medicationStatements"]),
            "medicationRequests": bundle(parts["medicationRequests"]),
            # an EHR that prefetches answers every template: this patient has no report
            "diagnosticReports": bundle([]),
        },
    }


def realistic_request(now: datetime | None = None) -> dict[str, Any]:
    return hook_request(realistic_resources(now or datetime.now(UTC)))


def scaled_request(n_observations: int, now: datetime | None = None) -> dict[str, Any]:
    now = now or datetime.now(UTC)
    parts = realistic_resources(now)
    parts["observations"] = scaled_observations(n_observations, now)
    return hook_request(parts)


def resource_count(request: dict[str, Any]) -> int:
    """Resources in the request: prefetch (Bundle entries or single resources) + draft orders."""
    total = len(request["context"]["draftOrders"]["entry"])
    for value in request["prefetch"].values():
        if value.get("resourceType") == "Bundle":
            total += len(value["entry"])
        else:
            total += 1
    return total
