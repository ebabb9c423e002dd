"""Prefetch cases (data, null, empty Bundle, OperationOutcome, absent), the fetch path with a
time budget, 412, and structurally invalid requests (400 naming the field)."""

from __future__ import annotations

import asyncio
import json
import time
from typing import Any

import httpx
import pytest
import respx
from fastapi.testclient import TestClient

from app.main import create_app
from tests.fhir_builders import bundle, condition, draft, hook_request, v1_observations
from tests.hooks.conftest import cards_with, checked, ext

EHR = "https://ehr.example.org/fhir"
MRI_WWO = ("72158", "MRI lumbar spine without and with contrast")


@pytest.fixture
def fetching_client(settings: Any) -> Any:
    s = settings.model_copy(
        update={"fhir_server_allowlist": [EHR], "fhir_fetch_budget_seconds": 0.5}
    )
    with TestClient(create_app(s)) as c:
        yield c


def no_reports(mock: Any) -> None:
    """The EHR holds no radiology DiagnosticReport for the patient."""
    mock.get(f"{EHR}/DiagnosticReport").respond(200, json=bundle([]))


def order_card(body: dict[str, Any]) -> dict[str, Any]:
    [card] = cards_with(body, "order-appropriateness")
    return card


def test_null_prefetch_means_record_read_and_empty(client: Any) -> None:
    # null: "the client has no data for the key" -> no Conditions -> no known malignancy (V1)
    req = hook_request("order-select", v1_observations(), drafts=[draft("s", *MRI_WWO)])
    req["prefetch"]["conditions"] = None
    body = checked(client.post("/cds-services/vcf-order-select", json=req))
    assert ext(order_card(body))["variant"] == 1


def test_empty_bundle_prefetch_is_read_and_empty(client: Any) -> None:
    req = hook_request(
        "order-select", v1_observations(), conditions=[], drafts=[draft("s", *MRI_WWO)]
    )
    body = checked(client.post("/cds-services/vcf-order-select", json=req))
    assert ext(order_card(body))["variant"] == 1


def test_absent_prefetch_is_fetched_from_fhir_server(fetching_client: Any) -> None:
    req = hook_request("order-select", v1_observations(), drafts=[draft("s", *MRI_WWO)])
    del req["prefetch"]["conditions"]
    req["fhirAuthorization"] = {
        "access_token": "tok-123",
        "token_type": "Bearer",
        "expires_in": 300,
        "scope": "patient/*.read",
        "subject": "cds",
    }
    with respx.mock(assert_all_called=True) as mock:
        no_reports(mock)  # the optional diagnosticReports key is fetched too
        route = mock.get(f"{EHR}/Condition", params={"patient": "p1"}).respond(
            200, json=bundle([condition("c", "C61")])
        )
        body = checked(fetching_client.post("/cds-services/vcf-order-select", json=req))
    assert route.calls.last.request.headers["Authorization"] == "Bearer tok-123"
    assert ext(order_card(body))["variant"] == 2  # prostate cancer history fetched


def test_operation_outcome_prefetch_is_refetched(fetching_client: Any) -> None:
    req = hook_request("order-select", v1_observations(), drafts=[draft("s", *MRI_WWO)])
    req["prefetch"]["conditions"] = {
        "resourceType": "OperationOutcome",
        "issue": [{"severity": "error", "code": "exception"}],
    }
    with respx.mock(assert_all_called=True) as mock:
        no_reports(mock)  # the optional diagnosticReports key is fetched too
        mock.get(f"{EHR}/Condition").respond(200, json=bundle([]))
        body = checked(fetching_client.post("/cds-services/vcf-order-select", json=req))
    assert ext(order_card(body))["variant"] == 1


def test_prefetch_not_required_and_never_required_at_all(fetching_client: Any) -> None:
    req = hook_request("order-select", v1_observations(), drafts=[draft("s", *MRI_WWO)])
    del req["prefetch"]
    data = {
        "Patient/p1": {"resourceType": "Patient", "id": "p1"},
        "Observation": bundle(v1_observations()),
        "Condition": bundle([condition("c", "M81.0")]),
    }
    with respx.mock() as mock:
        no_reports(mock)  # the optional diagnosticReports key is fetched too
        mock.get(f"{EHR}/Patient/p1").respond(200, json=data["Patient/p1"])
        mock.get(f"{EHR}/Observation").respond(200, json=data["Observation"])
        mock.get(f"{EHR}/Condition").respond(200, json=data["Condition"])
        mock.get(url__regex=rf"{EHR}/(Procedure|MedicationStatement|MedicationRequest).*").respond(
            200, json=bundle([])
        )
        body = checked(fetching_client.post("/cds-services/vcf-order-select", json=req))
    assert ext(order_card(body))["variant"] == 1


def test_required_data_unavailable_is_412(client: Any) -> None:
    # observations absent and fhirServer not allow-listed: cannot be had -> 412 OperationOutcome
    req = hook_request("order-select", v1_observations(), drafts=[draft("s", *MRI_WWO)])
    del req["prefetch"]["observations"]
    r = client.post("/cds-services/vcf-order-select", json=req)
    assert r.status_code == 412
    oo = r.json()
    assert oo["resourceType"] == "OperationOutcome" and oo["issue"][0]["expression"] == [
        "prefetch.observations"
    ]


def test_fhir_server_error_is_412_when_required(fetching_client: Any) -> None:
    req = hook_request("order-select", v1_observations(), drafts=[draft("s", *MRI_WWO)])
    del req["prefetch"]["observations"]
    with respx.mock() as mock:
        no_reports(mock)  # the optional diagnosticReports key is fetched too
        mock.get(f"{EHR}/Observation").respond(500)
        r = fetching_client.post("/cds-services/vcf-order-select", json=req)
    assert r.status_code == 412


def test_slow_fhir_server_is_cut_by_the_budget(fetching_client: Any) -> None:
    req = hook_request("order-select", v1_observations(), drafts=[draft("s", *MRI_WWO)])
    del req["prefetch"]["observations"]

    async def slow(request: httpx.Request) -> httpx.Response:
        await asyncio.sleep(5)
        return httpx.Response(200, json=bundle([]))

    with respx.mock(assert_all_called=False) as mock:
        no_reports(mock)  # the optional diagnosticReports key is fetched too
        mock.get(f"{EHR}/Observation").mock(side_effect=slow)
        started = time.monotonic()
        r = fetching_client.post("/cds-services/vcf-order-select", json=req)
        elapsed = time.monotonic() - started
    assert r.status_code == 412
    assert elapsed < 4  # cut by the 0.5 s budget, not after the server's 5 s


def test_optional_data_unavailable_still_answers_with_missing_data(client: Any) -> None:
    req = hook_request("order-select", v1_observations(), drafts=[draft("s", *MRI_WWO)])
    del req["prefetch"]["conditions"]  # not allow-listed: cannot fetch
    body = checked(client.post("/cds-services/vcf-order-select", json=req))
    assert ext(order_card(body))["status"] == "not-rated"
    assert "malignancy-history" in ext(order_card(body))["missing"]  # named, not guessed


def test_unlisted_fhir_server_is_never_called(client: Any) -> None:
    req = hook_request("order-select", v1_observations(), drafts=[draft("s", *MRI_WWO)])
    del req["prefetch"]["conditions"]
    req["fhirServer"] = "https://attacker.example.com/fhir"
    with respx.mock(assert_all_mocked=True) as mock:
        body = checked(client.post("/cds-services/vcf-order-select", json=req))
        assert not mock.calls
    assert "malignancy-history" in ext(order_card(body))["missing"]


def test_sandbox_oddities_are_tolerated(client: Any) -> None:
    odd = draft("s", *MRI_WWO)
    odd["reasonCode"] = []
    junk = {
        "resourceType": "ServiceRequest",
        "id": "junk",
        "status": "draft",
        "intent": "order",
        "code": {"coding": [{}]},
    }
    req = hook_request(
        "order-select", v1_observations(), conditions=[condition("c", "M81.0")], drafts=[odd, junk]
    )
    del req["context"]["draftOrders"]["type"]  # the public sandbox omits Bundle.type
    req["extraClaim"] = {"anything": True}
    raw = json.dumps(req).encode()
    r = client.post(
        "/cds-services/vcf-order-select",
        content=raw,
        headers={"content-type": "application/json;charset=UTF-8"},
    )
    body = checked(r)
    assert any(
        ext(c).get("category") == "Usually Not Appropriate"
        for c in cards_with(body, "order-appropriateness")
    )


def test_bad_resources_are_skipped_and_reported(client: Any) -> None:
    observations: list[Any] = [  # a string among them on purpose
        *v1_observations(),
        {"resourceType": "Observation", "id": "bad", "status": "final", "code": "oops"},
        "not even a resource",
    ]
    req = hook_request(
        "order-select",
        observations,
        conditions=[condition("c", "M81.0")],
        drafts=[draft("s", *MRI_WWO)],
    )
    body = checked(client.post("/cds-services/vcf-order-select", json=req))
    card = order_card(body)
    assert ext(card)["category"] == "Usually Not Appropriate"
    assert "1 input skipped or read with a caveat" in card["detail"]  # a count in words
    locations = [i["location"] for i in ext(card)["issues"]]
    assert locations == ["prefetch.observations.entry[5].resource"]  # where, machine-readable


@pytest.mark.parametrize(
    ("mutate", "field"),
    [
        (lambda r: r.pop("hookInstance"), "hookInstance"),
        (lambda r: r.pop("context"), "context"),
        (lambda r: r.update(hook="patient-view"), "hook"),
        (lambda r: r["context"].pop("patientId"), "context.patientId"),
        (lambda r: r["context"].update(patientId="../../etc"), "context.patientId"),
        (lambda r: r["context"].update(draftOrders=[1, 2]), "context.draftOrders"),
        (lambda r: r["context"].pop("selections"), "context.selections"),
        (
            lambda r: r.update(
                fhirAuthorization={
                    "access_token": "x",
                    "token_type": "Bearer",
                    "expires_in": 1,
                    "scope": "s",
                    "subject": "c",
                },
                fhirServer=None,
            ),
            "fhirAuthorization",
        ),
    ],
)
def test_structurally_invalid_request_is_400_naming_the_field(
    client: Any, mutate: Any, field: str
) -> None:
    req = hook_request("order-select", v1_observations(), drafts=[draft("s", *MRI_WWO)])
    mutate(req)
    r = client.post("/cds-services/vcf-order-select", json=req)
    assert r.status_code == 400, r.text
    oo = r.json()
    assert oo["resourceType"] == "OperationOutcome"
    assert field in oo["issue"][0]["expression"][0] or field == oo["issue"][0]["expression"][0]


def test_invalid_json_is_400(client: Any) -> None:
    r = client.post(
        "/cds-services/vcf-order-select",
        content=b"{not json",
        headers={"content-type": "application/json"},
    )
    assert r.status_code == 400 and r.json()["resourceType"] == "OperationOutcome"


def test_unknown_service_is_404_operation_outcome(client: Any) -> None:
    r = client.post("/cds-services/nope", json=hook_request("order-select", [], drafts=[]))
    assert r.status_code == 404 and r.json()["resourceType"] == "OperationOutcome"
