"""The sekmet FHIR harness: start, seed a transaction, read back with patient-scoped searches."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.support import fhir_server
from tests.support.fhir_server import run_fhir_server, seed_transaction

PATIENT_URN = "urn:uuid:0c7e5a52-3b0e-4f51-9d0a-7b1f4a2f6e01"
OTHER_URN = "urn:uuid:0c7e5a52-3b0e-4f51-9d0a-7b1f4a2f6e02"
HEADERS = {"Accept": "application/fhir+json"}


def _entry(
    resource: dict[str, Any], method: str, url: str, full_url: str | None = None
) -> dict[str, Any]:
    entry: dict[str, Any] = {"resource": resource, "request": {"method": method, "url": url}}
    if full_url:
        entry["fullUrl"] = full_url
    return entry


def _observation(subject: str, loinc: str, value: float) -> dict[str, Any]:
    return {
        "resourceType": "Observation",
        "status": "final",
        "code": {"coding": [{"system": "http://loinc.org", "code": loinc}]},
        "subject": {"reference": subject},
        "effectiveDateTime": "2024-05-01T10:00:00Z",
        "valueQuantity": {"value": value, "unit": "kg", "system": "http://unitsofmeasure.org"},
    }


def _bundle() -> dict[str, Any]:
    patient = {
        "resourceType": "Patient",
        "id": "pat-1",
        "gender": "female",
        "birthDate": "1948-03-02",
    }
    other = {"resourceType": "Patient", "id": "pat-2", "gender": "male", "birthDate": "1950-07-09"}
    condition = {
        "resourceType": "Condition",
        "code": {"coding": [{"system": "http://snomed.info/sct", "code": "64859006"}]},
        "subject": {"reference": PATIENT_URN},
    }
    procedure = {
        "resourceType": "Procedure",
        "status": "completed",
        "code": {"coding": [{"system": "http://snomed.info/sct", "code": "429616001"}]},
        "subject": {"reference": PATIENT_URN},
        "performedDateTime": "2023-11-20",
    }
    return {
        "resourceType": "Bundle",
        "type": "transaction",
        "entry": [
            _entry(patient, "PUT", "Patient/pat-1", PATIENT_URN),
            _entry(other, "PUT", "Patient/pat-2", OTHER_URN),
            _entry(_observation(PATIENT_URN, "29463-7", 61.5), "POST", "Observation"),
            _entry(_observation(PATIENT_URN, "8302-2", 158.0), "POST", "Observation"),
            _entry(_observation(OTHER_URN, "29463-7", 80.0), "POST", "Observation"),
            _entry(condition, "POST", "Condition"),
            _entry(procedure, "POST", "Procedure"),
        ],
    }


def _search(client: httpx.Client, query: str) -> dict[str, Any]:
    r = client.get(query)
    assert r.status_code == 200, r.text
    bundle: dict[str, Any] = r.json()
    assert bundle["resourceType"] == "Bundle"
    assert bundle["type"] == "searchset"
    return bundle


def _ids(bundle: dict[str, Any]) -> list[str]:
    return [
        e["resource"]["id"]
        for e in bundle.get("entry", [])
        if e.get("search", {}).get("mode") == "match"
    ]


def test_seed_and_search(tmp_path: Path) -> None:
    with run_fhir_server(tmp_path) as base_url:
        assert base_url.startswith("http://127.0.0.1:")
        reply = seed_transaction(base_url, _bundle())
        statuses = [e["response"]["status"] for e in reply["entry"]]
        assert statuses == ["201 Created"] * 7
        created = [e["resource"] for e in reply["entry"]]
        obs_ids = [created[2]["id"], created[3]["id"]]
        condition_id, procedure_id = created[5]["id"], created[6]["id"]
        # urn:uuid references were rewritten to the PUT ids
        assert created[2]["subject"]["reference"] == "Patient/pat-1"

        with httpx.Client(base_url=base_url, headers=HEADERS, trust_env=False) as c:
            patient = c.get("Patient/pat-1")
            assert patient.status_code == 200
            assert patient.json()["birthDate"] == "1948-03-02"
            assert c.get("Patient/missing").status_code == 404

            obs = _search(c, "Observation?patient=pat-1")
            assert obs["total"] == 2
            assert sorted(_ids(obs)) == sorted(obs_ids)
            assert _ids(_search(c, "Observation?patient=Patient/pat-1")) == _ids(obs)
            assert _search(c, "Observation?patient=pat-2")["total"] == 1

            page = _search(c, "Observation?patient=pat-1&_count=1")
            assert page["total"] == 2
            assert len(_ids(page)) == 1
            assert "next" in {link["relation"] for link in page["link"]}

            assert _ids(_search(c, "Condition?patient=pat-1")) == [condition_id]
            assert _ids(_search(c, "Procedure?patient=pat-1")) == [procedure_id]
            for rtype in ("MedicationStatement", "MedicationRequest"):
                empty = _search(c, f"{rtype}?patient=pat-1")
                assert empty["total"] == 0
                assert "entry" not in empty


def test_missing_sekmet_skips_locally_and_fails_in_ci(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setattr(fhir_server, "SEKMET", tmp_path / "absent" / "sekmet")
    for value in ("", "false", "0"):
        monkeypatch.setenv("CI", value)
        with (
            pytest.raises(pytest.skip.Exception, match=r"setup_sekmet\.sh"),
            fhir_server.run_fhir_server(tmp_path),
        ):
            pass
    monkeypatch.delenv("CI")
    with pytest.raises(pytest.skip.Exception, match=r"setup_sekmet\.sh"):
        fhir_server.require_sekmet()
    monkeypatch.setenv("CI", "true")
    with (
        pytest.raises(pytest.fail.Exception, match="required in CI"),
        fhir_server.run_fhir_server(tmp_path),
    ):
        pass
