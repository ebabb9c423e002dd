"""End to end through the ASGI app: a hook call or an assessment leaves a retrievable record
with the cards of the response (patient references pseudonymised)."""

from __future__ import annotations

import json
from typing import Any

from fastapi.testclient import TestClient

from app.audit.canonical import input_digest, keyed_hash, pseudonymise
from app.audit.recorder import AuditRecorder
from tests.audit.support import PATIENT_ID, distinctive, order_select_request
from tests.audit.test_recorder import wait_for
from tests.fhir_builders import bundle, draft, patient, v1_observations

CONSULT = "http://fhir.org/argonaut/Extension/pama-rating-consult-id"


def consult_id_of(body: dict[str, Any]) -> str:
    """The consult id from the PAMA rating extension of the rated order."""
    for action in body["systemActions"]:
        for ext in action["resource"].get("extension", []):
            if ext["url"] == CONSULT:
                return str(ext["valueUri"])
    raise AssertionError("no pama consult id")


def fetch(client: TestClient, consult_id: str) -> dict[str, Any]:
    got: dict[str, Any] = {}

    def ready() -> bool:
        r = client.get(f"/api/v1/audit/{consult_id}")
        got.update(r.json() if r.status_code == 200 else {})
        return bool(r.status_code == 200)

    assert wait_for(ready, timeout=10)
    return got


def test_hook_call_is_recorded_with_the_same_cards(
    audited: tuple[TestClient, AuditRecorder],
) -> None:
    client, _ = audited
    request = order_select_request()
    response = client.post("/cds-services/vcf-order-select", json=request)
    assert response.status_code == 200, response.text
    body = response.json()
    record = fetch(client, consult_id_of(body))

    mac = keyed_hash(PATIENT_ID, b"test-secret")
    assert record["patient_hmac"] == mac
    assert record["cards"] == pseudonymise(body["cards"], PATIENT_ID, mac)
    assert [c["uuid"] for c in record["cards"]] == [c["uuid"] for c in body["cards"]]
    assert record["system_actions"] == pseudonymise(body["systemActions"], PATIENT_ID, mac)
    assert record["input_sha256"] == input_digest(request)
    assert (record["service"], record["hook"]) == ("vcf-order-select", "order-select")
    assert record["hook_instance"] == request["hookInstance"]
    assert (record["orders_rated"], record["orders_unrated"]) == (1, 0)
    assert record["knowledge_version"] == response.headers["X-Knowledge-Version"]
    assert set(record["policies"]) >= {"escc_1c", "vcf_new_days", "sins_collapse_exactly_50"}
    assert record["latency_ms"] > 0 and record["created_at"].endswith(("Z", "+00:00"))
    assert PATIENT_ID not in json.dumps(record)


def test_assessment_is_recorded(audited: tuple[TestClient, AuditRecorder]) -> None:
    client, _ = audited
    sr = draft("sr9", "72158", "MRI lumbar spine without and with contrast")
    payload = distinctive(bundle([patient(), *v1_observations(), sr], "collection"))
    response = client.post("/api/v1/assessments?complete=Condition", json=payload)
    assert response.status_code == 200, response.text
    body = response.json()
    record = fetch(client, body["consult_id"])
    mac = keyed_hash(PATIENT_ID, b"test-secret")
    assert record["cards"] == pseudonymise(body["cards"], PATIENT_ID, mac)
    assert record["system_actions"] == pseudonymise(body["system_actions"], PATIENT_ID, mac)
    assert (record["service"], record["hook"], record["hook_instance"]) == (
        "assessments",
        "assessment",
        None,
    )
    assert record["input_sha256"] == input_digest(payload)
    assert record["patient_hmac"] == mac


def test_unknown_consult_id_is_a_404_naming_the_field(
    audited: tuple[TestClient, AuditRecorder],
) -> None:
    client, _ = audited
    response = client.get("/api/v1/audit/urn:uuid:00000000-0000-0000-0000-000000000000")
    assert response.status_code == 404
    [detail] = response.json()["detail"]
    assert detail["loc"] == ["path", "consult_id"]
