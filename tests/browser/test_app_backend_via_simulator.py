"""The SMART app's backend (POST /app/api/assessment) against the EHR simulator, without a
browser: a token from an EHR launch with the app's own scopes (GET /app/config.json) reads the
seeded patient through the scope-enforcing proxy; answering "symptomatic" rates the order."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from tests.browser.conftest import Stack
from tests.browser.scenario import MRI_ORDER, OTHER_PATIENT, READ_PATIENT
from tests.browser.smart_client import ehr_launch_token


@pytest.fixture
def http() -> Iterator[httpx.Client]:
    with httpx.Client(timeout=60.0, trust_env=False) as client:
        yield client


def _assess(
    http: httpx.Client, stack: Stack, token: str, patient: str, answers: list[dict[str, Any]]
) -> httpx.Response:
    body = {
        "fhirServer": stack.sim.fhir_base,
        "patient": patient,
        "orders": [MRI_ORDER],
        "answers": answers,
    }
    return http.post(
        f"{stack.service_url}/app/api/assessment",
        json=body,
        headers={"Authorization": f"Bearer {token}"},
    )


def test_backend_reads_through_the_proxy_and_answers_change_the_rating(
    stack: Stack, http: httpx.Client
) -> None:
    config = http.get(f"{stack.service_url}/app/config.json").json()
    assert stack.sim.fhir_base in config["fhirServers"]
    tok = ehr_launch_token(http, stack, READ_PATIENT, config["scopes"])
    r = _assess(http, stack, tok["access_token"], READ_PATIENT, [])
    assert r.status_code == 200, r.text
    view = r.json()
    assert view["notices"] == []  # every read the app needs was allowed by its scopes
    [order] = view["orders"]
    assert not order["rated"]
    assert any(q["id"] == "symptomatic" for q in view["questions"])
    answered = _assess(
        http, stack, tok["access_token"], READ_PATIENT, [{"question": "symptomatic", "value": True}]
    ).json()
    [order] = answered["orders"]
    assert order["rated"] and order["category"] == "Usually Appropriate"
    [obs] = answered["writeBack"]["observations"]
    assert obs["subject"]["reference"] == f"Patient/{READ_PATIENT}"


def test_backend_with_another_patients_token_is_refused(stack: Stack, http: httpx.Client) -> None:
    config = http.get(f"{stack.service_url}/app/config.json").json()
    tok = ehr_launch_token(http, stack, OTHER_PATIENT, config["scopes"])
    r = _assess(http, stack, tok["access_token"], READ_PATIENT, [])
    assert r.status_code == 403, r.text
    assert r.json()["resourceType"] == "OperationOutcome"
