"""CodeSystems: valid R4 (fhir.resources.R4B), complete, and served by the /fhir router."""

from __future__ import annotations

import warnings

import pytest
from fhir.resources.R4B.bundle import Bundle
from fhir.resources.R4B.codesystem import CodeSystem

from app.fhir.adapter import read_resources
from app.fhir.codes import code_tables
from app.fhir.codesystems import code_system_bundle, code_system_ids, get_code_system
from app.fhir.derived import derived_rules
from app.fhir.narrative.engine import pipeline
from app.fhir.reports import text_codes
from app.fhir.warmup import SAMPLES, warm_up
from app.knowledge.schema import Knowledge

with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    from fastapi.testclient import TestClient

IDS = ["finding", "vertebral-level", "card-topic", "order", "override-reason"]


def codes(cs_id: str) -> list[str]:
    found = get_code_system(cs_id)
    assert found is not None
    return [c["code"] for c in found["concept"]]


@pytest.mark.parametrize("cs_id", IDS)
def test_code_system_is_valid_r4(cs_id: str) -> None:
    resource = get_code_system(cs_id)
    assert resource is not None
    parsed = CodeSystem.model_validate(resource)
    assert parsed.url == f"http://vcf-cds.org/fhir/CodeSystem/{cs_id}"
    assert parsed.status == "active" and parsed.content == "complete"
    assert parsed.count == len(resource["concept"]) == len(set(codes(cs_id)))
    assert all(c.get("display") and c.get("definition") for c in resource["concept"])


def test_contents() -> None:
    assert set(codes("finding")) == {f.code for f in code_tables().findings.findings} | {
        "vertebral-level"
    }
    assert codes("vertebral-level")[:2] == ["C1", "C2"] and codes("vertebral-level")[-1] == "S5"
    assert len(codes("vertebral-level")) == 29
    topics = codes("card-topic")
    assert [f"acr-variant-{i}" for i in range(1, 10)] == topics[:9]
    assert {"order-appropriateness", "sins", "missing-data", "red-flags"} <= set(topics)
    assert set(codes("order")) == {
        "medical-management",
        "surgical-consultation",
        "radiation-oncology-consultation",
        "systemic-radionuclide-therapy",
        "percutaneous-ablation-spine",
    }


def test_levels_match_knowledge(knowledge: Knowledge) -> None:
    assert codes("vertebral-level") == knowledge.anatomy.levels()


def test_returned_dicts_are_copies() -> None:
    first = get_code_system("finding")
    assert first is not None
    first["concept"].clear()
    assert codes("finding")


def test_unknown_id() -> None:
    assert get_code_system("nope") is None


def test_bundle_is_valid_searchset() -> None:
    bundle = code_system_bundle()
    parsed = Bundle.model_validate(bundle)
    assert parsed.type == "searchset" and parsed.total == len(IDS)
    assert [e["resource"]["id"] for e in bundle["entry"]] == code_system_ids() == IDS


def test_warm_up_does_every_slow_first_step() -> None:
    warm_up()
    # the tables and the report-text pipeline are built: the first request pays none of it
    for loaded in (code_tables, derived_rules, text_codes, pipeline):
        assert loaded.cache_info().currsize == 1, loaded.__name__
    # its samples cover the resource types the hot path reads, and read as the hot path reads
    assert set(SAMPLES) >= {"Patient", "Observation", "Condition", "Procedure", "ServiceRequest"}
    read = read_resources([{"resourceType": t, **body} for t, body in SAMPLES.items()])
    assert read.patient_id == "warm-up"
    assert {(f.code, f.value, f.from_text) for f in read.findings} >= {
        ("vcf", True, False),  # the coded Observation
        ("vcf-acute", True, True),  # the DiagnosticReport conclusion, through medspaCy
        ("retropulsion", False, True),
    }


@pytest.mark.parametrize("cs_id", IDS)
def test_route_reads_code_system(client: TestClient, cs_id: str) -> None:
    response = client.get(f"/fhir/CodeSystem/{cs_id}")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("application/fhir+json")
    assert response.json() == get_code_system(cs_id)


def test_route_lists_code_systems(client: TestClient) -> None:
    response = client.get("/fhir/CodeSystem")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("application/fhir+json")
    assert response.json()["type"] == "searchset"
    assert response.json()["total"] == len(IDS)


def test_route_unknown_id_is_404_operation_outcome(client: TestClient) -> None:
    response = client.get("/fhir/CodeSystem/unknown")
    assert response.status_code == 404
    body = response.json()
    assert body["resourceType"] == "OperationOutcome"
    assert body["issue"][0]["expression"] == ["path.id"]
    assert body["issue"][0]["code"] == "not-found"
