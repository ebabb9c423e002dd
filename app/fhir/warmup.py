"""Start-up warm-up: load the code tables, build the CodeSystems, parse one resource of each
FHIR type the service uses once with ``fhir.resources.R4B`` (the first parse of a type is
slow) and build the report-text extractor. The hot path itself never validates with R4B
models (``app.fhir.adapter``)."""

from __future__ import annotations

import importlib

from app.fhir.adapter import read_resources
from app.fhir.codes import code_tables
from app.fhir.derived import derived_rules
from app.json_types import JsonObject

_SUBJECT = {"reference": "Patient/warm-up"}
_CODE = {"coding": [{"system": "http://vcf-cds.org/fhir/CodeSystem/finding", "code": "vcf"}]}
SAMPLES: dict[str, JsonObject] = {
    "Patient": {"id": "warm-up", "birthDate": "1950-01-01"},
    "Observation": {"status": "final", "code": _CODE, "subject": _SUBJECT, "valueBoolean": True},
    "Condition": {"code": {"text": "warm-up"}, "subject": _SUBJECT},
    "Procedure": {"status": "completed", "subject": _SUBJECT},
    "MedicationStatement": {
        "status": "active",
        "medicationCodeableConcept": {"text": "prednisone"},
        "subject": _SUBJECT,
    },
    "MedicationRequest": {
        "status": "active",
        "intent": "order",
        "medicationCodeableConcept": {"text": "prednisone"},
        "subject": _SUBJECT,
    },
    "ServiceRequest": {"status": "draft", "intent": "order", "subject": _SUBJECT},
    # a narrative builds the report-text extractor (medspaCy pipeline) once, here
    "DiagnosticReport": {
        "status": "final",
        "code": {"text": "warm-up"},
        "subject": _SUBJECT,
        "conclusion": "Acute L1 compression fracture. No retropulsion.",
    },
    "OperationOutcome": {"issue": [{"severity": "error", "code": "not-found"}]},
}


def warm_up() -> None:
    """Do every slow first-time step once (call at start-up)."""
    code_tables()
    derived_rules()  # validated at start-up like the code tables
    from app.fhir.codesystems import code_system_bundle
    from app.fhir.reports import text_codes

    text_codes()  # the narrative kinds' finding codes: a bad table stops start-up

    code_system_bundle()
    resources = []
    for rtype, body in SAMPLES.items():
        sample = {"resourceType": rtype, **body}
        module = importlib.import_module(f"fhir.resources.R4B.{rtype.lower()}")
        getattr(module, rtype).model_validate(sample)
        resources.append(sample)
    read_resources(resources)
