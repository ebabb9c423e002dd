"""Small builders of FHIR R4 JSON for tests (shapes per fhir-input.md)."""

from __future__ import annotations

from typing import Any

FINDING = "http://vcf-cds.org/fhir/CodeSystem/finding"
LEVEL = "http://vcf-cds.org/fhir/CodeSystem/vertebral-level"
ICD10 = "http://hl7.org/fhir/sid/icd-10-cm"
CPT = "http://www.ama-assn.org/go/cpt"
PATIENT = "p1"


def obs(
    oid: str,
    code: str,
    value: Any,
    level: str | None = None,
    date: str = "2026-11-20T10:00:00Z",
    unit: str | None = None,
    status: str = "final",
) -> dict[str, Any]:
    r: dict[str, Any] = {
        "resourceType": "Observation",
        "id": oid,
        "status": status,
        "code": {"coding": [{"system": FINDING, "code": code}]},
        "subject": {"reference": f"Patient/{PATIENT}"},
        "effectiveDateTime": date,
    }
    if isinstance(value, bool):
        r["valueBoolean"] = value
    elif isinstance(value, str):
        r["valueCodeableConcept"] = {"coding": [{"system": FINDING, "code": value}]}
    elif isinstance(value, int | float):
        r["valueQuantity"] = {
            "value": value,
            "unit": unit or "%",
            "system": "http://unitsofmeasure.org",
            "code": unit or "%",
        }
    if level:
        r["bodySite"] = {"coding": [{"system": LEVEL, "code": level}]}
    return r


def condition(
    cid: str, icd: str, onset: str = "2026-11-15", status: str = "active"
) -> dict[str, Any]:
    return {
        "resourceType": "Condition",
        "id": cid,
        "clinicalStatus": {
            "coding": [
                {
                    "system": "http://terminology.hl7.org/CodeSystem/condition-clinical",
                    "code": status,
                }
            ]
        },
        "code": {"coding": [{"system": ICD10, "code": icd}]},
        "subject": {"reference": f"Patient/{PATIENT}"},
        "onsetDateTime": onset,
    }


def procedure(pid: str, cpt: str, date: str = "2025-06-01") -> dict[str, Any]:
    return {
        "resourceType": "Procedure",
        "id": pid,
        "status": "completed",
        "code": {"coding": [{"system": CPT, "code": cpt}]},
        "subject": {"reference": f"Patient/{PATIENT}"},
        "performedDateTime": date,
    }


def draft(sid: str, cpt: str, display: str = "", system: str = CPT) -> dict[str, Any]:
    return {
        "resourceType": "ServiceRequest",
        "id": sid,
        "status": "draft",
        "intent": "order",
        "code": {"coding": [{"system": system, "code": cpt, "display": display}]},
        "subject": {"reference": f"Patient/{PATIENT}"},
    }


def bundle(resources: list[dict[str, Any]], btype: str | None = "searchset") -> dict[str, Any]:
    b: dict[str, Any] = {"resourceType": "Bundle", "entry": [{"resource": r} for r in resources]}
    if btype:
        b["type"] = btype
    return b


def patient(birth: str = "1950-05-01") -> dict[str, Any]:
    return {"resourceType": "Patient", "id": PATIENT, "birthDate": birth}


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
