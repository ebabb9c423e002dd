"""Prefetch values and Bundles -> resources (null and OperationOutcome are issues)."""

from __future__ import annotations

from typing import Any

import pytest

from app.fhir.adapter import read_resources, unpack
from tests.fhir_builders import obs, patient

OUTCOME = {
    "resourceType": "OperationOutcome",
    "issue": [{"severity": "error", "code": "forbidden"}],
}

A_PATIENT = patient()  # one object: a test checks raw dicts are kept, not copied


def test_bundle_without_type() -> None:
    bundle = {
        "resourceType": "Bundle",
        "entry": [{"resource": A_PATIENT}, {"resource": obs("o", "fever")}],
    }
    resources, issues = unpack(bundle, "prefetch.observations")
    assert [r["resourceType"] for r in resources] == ["Patient", "Observation"]
    assert resources[0] is A_PATIENT  # raw dicts are kept, not copied
    assert issues == []


@pytest.mark.parametrize("value", [None, OUTCOME])
def test_null_and_operation_outcome_are_issues(value: Any) -> None:
    resources, issues = unpack(value, "prefetch.conditions")
    assert resources == []
    assert [(i.severity, i.location) for i in issues] == [("warning", "prefetch.conditions")]


def test_operation_outcome_inside_searchset() -> None:
    bundle = {
        "resourceType": "Bundle",
        "type": "searchset",
        "entry": [{"resource": OUTCOME, "search": {"mode": "outcome"}}, {"resource": A_PATIENT}],
    }
    resources, issues = unpack(bundle, "prefetch.x")
    assert resources == [A_PATIENT]
    assert issues[0].location == "prefetch.x.entry[0].resource"


def test_single_resource_list_and_nested_bundle() -> None:
    inner = {"resourceType": "Bundle", "type": "searchset", "entry": [{"resource": A_PATIENT}]}
    outer = {"resourceType": "Bundle", "type": "batch-response", "entry": [{"resource": inner}]}
    assert unpack(A_PATIENT, "p")[0] == [A_PATIENT]
    assert unpack([A_PATIENT, A_PATIENT], "p")[0] == [A_PATIENT, A_PATIENT]
    assert unpack(outer, "p")[0] == [A_PATIENT]


@pytest.mark.parametrize(
    "value",
    ["text", 42, {"no": "resourceType"}, {"resourceType": "Bundle", "entry": "x"}, [1, 2]],
)
def test_junk_is_reported_not_raised(value: Any) -> None:
    resources, issues = unpack(value, "prefetch.x")
    assert resources == []
    assert issues and all(i.location.startswith("prefetch.x") for i in issues)


def test_entries_without_resource_and_empty_bundle() -> None:
    bundle = {"resourceType": "Bundle", "entry": [{"fullUrl": "x"}, {"resource": None}]}
    resources, _ = unpack(bundle, "b")
    assert resources == []
    assert unpack({"resourceType": "Bundle"}, "b") == ([], [])


def test_deep_nesting_is_bounded() -> None:
    value: Any = A_PATIENT
    for _ in range(50):
        value = {"resourceType": "Bundle", "entry": [{"resource": value}]}
    resources, issues = unpack(value, "b")
    assert resources == []
    assert any("deeply" in i.message for i in issues)


def test_read_resources_accepts_bundles_and_outcomes() -> None:
    bundle = {
        "resourceType": "Bundle",
        "entry": [{"resource": obs("o", "fever", valueBoolean=True)}],
    }
    pf = read_resources([A_PATIENT, bundle, OUTCOME, None])
    assert [f.code for f in pf.findings] == ["fever"]
    assert {i.location for i in pf.issues} == {"resources[2]", "resources[3]"}


def test_duplicate_resources_read_once() -> None:
    o = obs("o", "fever", valueBoolean=True)
    pf = read_resources([A_PATIENT, o, dict(o)])
    assert pf.findings[0].sources == ("Observation/o",)


def test_other_patient_is_skipped() -> None:
    other = obs("x", "fever", valueBoolean=True)
    other["subject"] = {"reference": "https://ehr.example/fhir/Patient/p2"}
    pf = read_resources([A_PATIENT, other])
    assert pf.patient_id == "p1"
    assert pf.birth_date is not None and pf.birth_date.isoformat() == "1950-05-01"
    assert not pf.findings
    assert [i.location for i in pf.issues if i.severity == "error"] == ["Observation/x.subject"]


def test_partial_birth_date_is_unknown_age() -> None:
    pf = read_resources([{"resourceType": "Patient", "id": "p", "birthDate": "1950"}])
    assert pf.birth_date is None
    assert pf.issues[0].location == "Patient/p.birthDate"
