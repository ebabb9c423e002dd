"""Hypothesis: junk input (wrong types, missing fields, deep nesting, huge strings) never
raises from ``read_resources`` or ``unpack``; every problem is an InputIssue."""

from __future__ import annotations

from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from app.clinical.findings import PatientFindings
from app.fhir.adapter import read_resources, unpack
from tests.fhir_builders import FINDING, LEVEL, obs

TYPES = [
    "Observation",
    "Condition",
    "Procedure",
    "MedicationStatement",
    "MedicationRequest",
    "Patient",
    "ServiceRequest",
    "Bundle",
    "OperationOutcome",
    "Medication",
]
KEYS = [
    "resourceType",
    "id",
    "status",
    "code",
    "coding",
    "system",
    "text",
    "display",
    "value",
    "valueBoolean",
    "valueQuantity",
    "valueCodeableConcept",
    "valueString",
    "valueInteger",
    "dataAbsentReason",
    "bodySite",
    "component",
    "effectiveDateTime",
    "effectivePeriod",
    "issued",
    "subject",
    "reference",
    "clinicalStatus",
    "verificationStatus",
    "onsetDateTime",
    "recordedDate",
    "performedDateTime",
    "dosage",
    "dosageInstruction",
    "timing",
    "repeat",
    "boundsDuration",
    "effective",
    "birthDate",
    "intent",
    "entry",
    "resource",
    "unit",
    "start",
    "end",
    "medicationCodeableConcept",
    "medicationReference",
    "dispenseRequest",
    "contained",
    "authoredOn",
    "issue",
]
VALUES = [
    "final",
    "draft",
    "completed",
    "active",
    FINDING,
    LEVEL,
    "L1",
    "L6",
    "vcf",
    "adc",
    "ecog",
    "sins-pain",
    "vertebral-level",
    "373066001",
    "http://snomed.info/sct",
    "C50.9",
    "M48.50XA",
    "http://hl7.org/fhir/sid/icd-10-cm",
    "http://www.ama-assn.org/go/cpt",
    "72148",
    "62304",
    "72126",
    "2024-01-01",
    "2024-13-45T99:00",
    "Patient/p1",
    "prednisone",
    "d",
    "mo",
]

scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(10**30), max_value=10**30),
    st.floats(allow_nan=True, allow_infinity=True),
    st.sampled_from(VALUES),
    st.text(max_size=30),
    st.just("x" * 200_000),
    st.sampled_from(TYPES),
)
junk = st.recursive(
    scalars,
    lambda children: st.one_of(
        st.lists(children, max_size=4),
        st.dictionaries(st.sampled_from(KEYS), children, max_size=6),
    ),
    max_leaves=40,
)
resources = st.builds(
    lambda rtype, body: {**body, "resourceType": rtype} if isinstance(body, dict) else body,
    st.sampled_from(TYPES),
    junk,
)


def _mutations() -> st.SearchStrategy[dict[str, Any]]:
    """Valid-looking Observations with one field replaced by junk."""
    base = obs("o", "vcf", level="L1", valueBoolean=True)
    return st.builds(
        lambda key, value: {**base, key: value}, st.sampled_from(sorted(base) + KEYS), junk
    )


def _deep(depth: int) -> Any:
    value: Any = {"resourceType": "Observation"}
    for _ in range(depth):
        value = {"resourceType": "Bundle", "entry": [{"resource": value}], "component": [value]}
    return value


SETTINGS = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@SETTINGS
@given(st.lists(st.one_of(resources, junk, _mutations()), max_size=8))
def test_read_resources_never_raises(items: list[Any]) -> None:
    pf = read_resources(items, obtained={"Condition": True}, draft_orders=items[:2])
    assert isinstance(pf, PatientFindings)
    keys = [(f.code, f.level) for f in pf.findings]
    assert len(keys) == len(set(keys))  # at most one finding per (code, level)


@SETTINGS
@given(junk)
def test_unpack_never_raises(value: Any) -> None:
    found, issues = unpack(value, "prefetch.x")
    assert all(isinstance(r, dict) for r in found)
    assert all(i.location.startswith("prefetch.x") for i in issues)


def test_deep_nesting_never_raises() -> None:
    pf = read_resources([_deep(500)])
    assert isinstance(pf, PatientFindings)
