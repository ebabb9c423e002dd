"""Small builders of raw FHIR R4 JSON for the FHIR-layer tests."""

from __future__ import annotations

from typing import Any

FINDING = "http://vcf-cds.org/fhir/CodeSystem/finding"
LEVEL = "http://vcf-cds.org/fhir/CodeSystem/vertebral-level"
SCT = "http://snomed.info/sct"
ICD = "http://hl7.org/fhir/sid/icd-10-cm"
CPT = "http://www.ama-assn.org/go/cpt"
LOINC = "http://loinc.org"
RXNORM = "http://www.nlm.nih.gov/research/umls/rxnorm"

Json = dict[str, Any]


def concept(system: str, code: str, display: str | None = None) -> Json:
    coding: Json = {"system": system, "code": code}
    if display:
        coding["display"] = display
    return {"coding": [coding]}


def level_site(level: str) -> Json:
    return concept(LEVEL, level)


def obs(
    oid: str,
    code: str,
    *,
    level: str | None = None,
    when: str | None = "2024-03-01T10:00:00Z",
    status: str = "final",
    **value: Any,
) -> Json:
    """An Observation of a project finding; ``value`` is e.g. ``valueBoolean=True``."""
    resource: Json = {
        "resourceType": "Observation",
        "id": oid,
        "status": status,
        "code": concept(FINDING, code),
        "subject": {"reference": "Patient/p1"},
        **value,
    }
    if level is not None:
        resource["bodySite"] = level_site(level)
    if when is not None:
        resource["effectiveDateTime"] = when
    return resource


def component(code: str, **value: Any) -> Json:
    return {"code": concept(FINDING, code), **value}


def condition(cid: str, system: str, code: str, **extra: Any) -> Json:
    return {
        "resourceType": "Condition",
        "id": cid,
        "code": concept(system, code),
        "subject": {"reference": "Patient/p1"},
        **extra,
    }


def procedure(pid: str, code: str, status: str = "completed") -> Json:
    return {
        "resourceType": "Procedure",
        "id": pid,
        "status": status,
        "code": concept(CPT, code),
        "subject": {"reference": "Patient/p1"},
    }


def service_request(sid: str, *codings: tuple[str, str], status: str = "draft") -> Json:
    return {
        "resourceType": "ServiceRequest",
        "id": sid,
        "status": status,
        "intent": "order",
        "code": {"coding": [{"system": s, "code": c} for s, c in codings]},
        "subject": {"reference": "Patient/p1"},
    }


PATIENT: Json = {"resourceType": "Patient", "id": "p1", "birthDate": "1950-06-15"}
