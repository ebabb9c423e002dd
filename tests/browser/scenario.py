"""The patients the browser tests seed into the real FHIR server (FHIR R4 JSON, shapes per
fhir-input.md): an older woman with osteoporosis and bone metastases and a new lumbar VCF whose
symptoms are not documented. With "symptomatic" unknown the ACR variant (seed 003: Variant 2 vs
3/4) is open and an MRI order cannot be rated; answering "symptomatic: yes" rates it."""

from __future__ import annotations

import copy
from typing import Any

from tests.fhir_builders import CPT, condition, obs, patient

# two copies of one clinical picture: one that tests only read, one that write-back tests change
READ_PATIENT = "vcf-meta-read"
WRITE_PATIENT = "vcf-meta-write"
OTHER_PATIENT = "other-patient"  # outside every launch context: the compartment checks use it
MRI_ORDER = {
    "system": CPT,
    "code": "72158",
    "display": "MRI lumbar spine without and with contrast",
}


def _for_patient(resource: dict[str, Any], pid: str) -> dict[str, Any]:
    """``resource`` (built for tests.fhir_builders.PATIENT) moved to patient ``pid``."""
    r = copy.deepcopy(resource)
    if r["resourceType"] == "Patient":
        r["id"] = pid
    else:
        r["id"] = f"{pid}-{r['id']}"
        r["subject"] = {"reference": f"Patient/{pid}"}
    return r


def vcf_patient(pid: str, family: str) -> list[dict[str, Any]]:
    """Patient ``pid``: osteoporosis (M81.0), secondary malignancy of bone (C79.51), a new
    (acute) VCF at L2 on imaging; symptoms and further fractures not documented."""
    person = patient("1948-03-14")
    person["name"] = [{"family": family, "given": ["Margaret"]}]
    person["gender"] = "female"
    resources = [
        person,
        obs("o-vcf", "vcf", True, "L2"),
        obs("o-acute", "vcf-acute", True, "L2"),
        condition("c-op", "M81.0", onset="2019-04-02"),
        condition("c-met", "C79.51", onset="2026-06-10"),
    ]
    return [_for_patient(r, pid) for r in resources]


def seed_resources_all() -> list[dict[str, Any]]:
    other = patient("1990-01-01")
    other["id"] = OTHER_PATIENT
    other["name"] = [{"family": "Other", "given": ["Olga"]}]
    other_obs = _for_patient(obs("o-x", "vcf", False), OTHER_PATIENT)
    return [
        *vcf_patient(READ_PATIENT, "Reader"),
        *vcf_patient(WRITE_PATIENT, "Writer"),
        other,
        other_obs,
    ]
