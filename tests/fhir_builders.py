"""The one set of FHIR R4 JSON builders (shapes per fhir-input.md), used by the tests and by the
benchmarks (bench/payload.py). Every builder returns a plain dict (the hot path reads raw
JSON); optional parts are left out when given ``None``; extra keyword arguments become
top-level fields of the resource (``valueBoolean=True``, ``dataAbsentReason=...``)."""

from __future__ import annotations

from typing import Any

FINDING = "http://vcf-cds.org/fhir/CodeSystem/finding"
LEVEL = "http://vcf-cds.org/fhir/CodeSystem/vertebral-level"
ICD10 = "http://hl7.org/fhir/sid/icd-10-cm"
CPT = "http://www.ama-assn.org/go/cpt"
SCT = "http://snomed.info/sct"
LOINC = "http://loinc.org"
RXNORM = "http://www.nlm.nih.gov/research/umls/rxnorm"
UCUM = "http://unitsofmeasure.org"
CONDITION_CLINICAL = "http://terminology.hl7.org/CodeSystem/condition-clinical"
PATIENT = "p1"

Json = dict[str, Any]


def concept(system: str, code: str, display: str | None = None) -> Json:
    """A CodeableConcept with one coding."""
    coding: Json = {"system": system, "code": code}
    if display:
        coding["display"] = display
    return {"coding": [coding]}


def level_site(level: str) -> Json:
    """The ``bodySite`` of a per-level finding."""
    return concept(LEVEL, level)


def subject(patient_id: str = PATIENT) -> Json:
    return {"reference": f"Patient/{patient_id}"}


def obs(
    oid: str,
    code: str,
    value: Any = None,
    level: str | None = None,
    date: str | None = "2026-11-20T10:00:00Z",
    unit: str | None = None,
    status: str = "final",
    *,
    system: str = FINDING,
    display: str | None = None,
    patient_id: str = PATIENT,
    **fields: Any,
) -> Json:
    """An Observation. ``value``: a bool (valueBoolean), a str (a finding-code
    valueCodeableConcept) or a number (valueQuantity in ``unit``, default %); any other value
    field as a keyword (``valueInteger=3``)."""
    r: Json = {
        "resourceType": "Observation",
        "id": oid,
        "status": status,
        "code": concept(system, code, display),
        "subject": subject(patient_id),
    }
    if date is not None:
        r["effectiveDateTime"] = date
    if isinstance(value, bool):
        r["valueBoolean"] = value
    elif isinstance(value, str):
        r["valueCodeableConcept"] = concept(FINDING, value)
    elif isinstance(value, int | float):
        r["valueQuantity"] = {
            "value": value,
            "unit": unit or "%",
            "system": UCUM,
            "code": unit or "%",
        }
    if level:
        r["bodySite"] = level_site(level)
    r.update(fields)
    return r


def component(code: str, **value: Any) -> Json:
    """An Observation component of a finding code (``valueBoolean=...`` etc.)."""
    return {"code": concept(FINDING, code), **value}


def condition(
    cid: str,
    icd: str,
    onset: str | None = "2026-11-15",
    status: str | None = "active",
    *,
    system: str = ICD10,
    display: str | None = None,
    patient_id: str = PATIENT,
    **extra: Any,
) -> Json:
    """A Condition (ICD-10-CM unless ``system``); ``status`` is its clinicalStatus."""
    r: Json = {"resourceType": "Condition", "id": cid}
    if status is not None:
        r["clinicalStatus"] = {"coding": [{"system": CONDITION_CLINICAL, "code": status}]}
    r["code"] = concept(system, icd, display)
    r["subject"] = subject(patient_id)
    if onset is not None:
        r["onsetDateTime"] = onset
    r.update(extra)
    return r


def procedure(
    pid: str,
    cpt: str,
    date: str | None = "2025-06-01",
    *,
    status: str = "completed",
    display: str | None = None,
    patient_id: str = PATIENT,
) -> Json:
    """A Procedure coded in CPT."""
    r: Json = {
        "resourceType": "Procedure",
        "id": pid,
        "status": status,
        "code": concept(CPT, cpt, display),
        "subject": subject(patient_id),
    }
    if date is not None:
        r["performedDateTime"] = date
    return r


def medication_statement(
    mid: str,
    rxnorm: str,
    display: str,
    start: str,
    end: str | None = None,
    status: str = "active",
    *,
    patient_id: str = PATIENT,
) -> Json:
    """A MedicationStatement of an RxNorm drug taken by mouth over ``start``..``end``."""
    period: dict[str, str] = {"start": start}
    if end is not None:
        period["end"] = end
    return {
        "resourceType": "MedicationStatement",
        "id": mid,
        "status": status,
        "medicationCodeableConcept": {**concept(RXNORM, rxnorm, display), "text": display},
        "subject": subject(patient_id),
        "effectivePeriod": period,
        "dosage": [{"text": "by mouth", "route": {"text": "oral"}}],
    }


def draft(
    sid: str, cpt: str, display: str = "", system: str = CPT, *, patient_id: str = PATIENT
) -> Json:
    """A draft ServiceRequest (an order being written) with one coding."""
    return {
        "resourceType": "ServiceRequest",
        "id": sid,
        "status": "draft",
        "intent": "order",
        "code": {"coding": [{"system": system, "code": cpt, "display": display}]},
        "subject": subject(patient_id),
    }


def service_request(sid: str, *codings: tuple[str, str], status: str = "draft") -> Json:
    """A ServiceRequest with any number of (system, code) codings (none: no code)."""
    return {
        "resourceType": "ServiceRequest",
        "id": sid,
        "status": status,
        "intent": "order",
        "code": {"coding": [{"system": s, "code": c} for s, c in codings]},
        "subject": subject(),
    }


def diagnostic_report(
    rid: str = "r1",
    conclusion: str | None = None,
    *,
    date: str | None = "2026-11-20T10:00:00Z",
    status: str = "final",
    code: tuple[str, str] = (LOINC, "24967-2"),
    category: list[Json] | None = None,
    patient_id: str = PATIENT,
    **parts: Any,
) -> Json:
    """A DiagnosticReport (default code: LOINC 24967-2, an MRI report of the spine)."""
    r: Json = {"resourceType": "DiagnosticReport", "id": rid, "status": status}
    if category is not None:
        r["category"] = category
    r |= {
        "code": concept(*code),
        "subject": subject(patient_id),
    }
    if date is not None:
        r["effectiveDateTime"] = date
    r.update(parts)
    if conclusion is not None:
        r["conclusion"] = conclusion
    return r


def bundle(
    resources: list[Json], btype: str | None = "searchset", *, full_urls: bool = False
) -> Json:
    """A Bundle of ``resources``; ``full_urls`` adds urn:uuid fullUrls and the total."""
    if full_urls:
        entries = [
            {"fullUrl": f"urn:uuid:{r['resourceType']}-{r['id']}", "resource": r} for r in resources
        ]
        b: Json = {"resourceType": "Bundle", "type": btype, "total": len(resources)}
        return b | {"entry": entries}
    b = {"resourceType": "Bundle", "entry": [{"resource": r} for r in resources]}
    if btype:
        b["type"] = btype
    return b


def patient(birth: str = "1950-05-01", *, patient_id: str = PATIENT, **extra: Any) -> Json:
    return {"resourceType": "Patient", "id": patient_id, "birthDate": birth, **extra}


def hook_request(
    hook: str,
    observations: list[dict[str, Any]],
    conditions: list[dict[str, Any]] | None = None,
    procedures: list[dict[str, Any]] | None = None,
    drafts: list[dict[str, Any]] | None = None,
    selections: list[str] | None = None,
    **extra_prefetch: Any,
) -> dict[str, Any]:
    """A CDS Hooks 2.0 request with every prefetch key satisfied (null when the list is None
    is NOT used here: None means 'record read, nothing there' is expressed as an empty Bundle)."""
    context: dict[str, Any] = {
        "userId": "Practitioner/u1",
        "patientId": PATIENT,
        "encounterId": "e1",
    }
    if hook in ("order-select", "order-sign"):
        context["draftOrders"] = bundle(drafts or [], "collection")
    if hook == "order-select":
        context["selections"] = (
            selections
            if selections is not None
            else [f"ServiceRequest/{d['id']}" for d in drafts or []]
        )
    prefetch: dict[str, Any] = {
        "patient": patient(),
        "observations": bundle(observations),
        "conditions": bundle(conditions or []),
        "procedures": bundle(procedures or []),
        "medicationStatements": bundle([]),
        "medicationRequests": bundle([]),
    }
    prefetch.update(extra_prefetch)
    return {
        "hookInstance": "d1577c69-dfbe-44ad-ba6d-3e05e953b2ea",
        "hook": hook,
        "fhirServer": "https://ehr.example.org/fhir",
        "context": context,
        "prefetch": prefetch,
    }


# Typical patients ---------------------------------------------------------------------------


def v1_observations() -> list[dict[str, Any]]:
    """New symptomatic VCF at L1 on radiographs (seed 003 Variant 1 when no malignancy)."""
    return [
        obs("o-vcf", "vcf", True, "L1"),
        obs("o-acute", "vcf-acute", True, "L1"),
        obs("o-sym", "symptomatic", True),
        obs("o-mult", "multiple-vcfs", False),
    ]
