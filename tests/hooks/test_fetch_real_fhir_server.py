"""The fetch path against a real FHIR R4 server on loopback (sekmet-fhir over SQLite):
no prefetch at all, every key fetched with the EHR's token from an allow-listed fhirServer."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient

from app.main import create_app
from tests.fhir_builders import condition, hook_request, obs, patient, procedure
from tests.hooks.conftest import (
    cards_with,
    checked,
    ext,
    order_select_fetching_everything,
)
from tests.support.fhir_server import run_fhir_server, seed_resources


@pytest.fixture(scope="module")
def fhir_base(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    with run_fhir_server(tmp_path_factory.mktemp("sekmet")) as base:
        resources = [
            patient(),
            obs("o-vcf", "vcf", True, "L3"),
            obs("o-acute", "vcf-acute", True, "L3"),
            obs("o-sym", "symptomatic", True),
            obs("o-mult", "multiple-vcfs", False),
            condition("c-op", "M81.0"),
            procedure("pr-other", "99213"),
        ]
        seed_resources(base, resources)
        yield base


def test_order_select_fetches_everything_from_the_fhir_server(
    fhir_base: str, settings: Any
) -> None:
    body = order_select_fetching_everything(fhir_base, settings)
    [card] = cards_with(body, "order-appropriateness")
    # fetched: VCF at L3, new, symptomatic, Conditions read with no malignancy -> Variant 1
    assert (ext(card)["category"], ext(card)["variant"]) == ("Usually Not Appropriate", 1)
    [update] = card["suggestions"][0]["actions"]  # one update of the draft (Argonaut PAMA)
    assert update["resource"]["id"] == "sr1"
    assert update["resource"]["code"]["coding"][0]["code"] == "72148"
    assert body["systemActions"][0]["resource"]["id"] == "sr1"


def test_patient_view_against_real_server_for_unknown_patient(
    fhir_base: str, settings: Any
) -> None:
    app = create_app(
        settings.model_copy(
            update={"fhir_server_allowlist": [fhir_base], "fhir_fetch_budget_seconds": 5.0}
        )
    )
    req = hook_request("patient-view", [])
    del req["prefetch"]
    req["fhirServer"] = fhir_base
    req["context"]["patientId"] = "nobody"
    with TestClient(app) as client:
        body = checked(client.post("/cds-services/vcf-patient-view", json=req))
    assert not cards_with(body, "order-appropriateness")
    assert not any(c["indicator"] == "critical" for c in body["cards"])
