"""An order's indication (reasonReference) fetched from a real FHIR R4 server on loopback
(sekmet-fhir over SQLite) when the prefetch does not hold it (issue 8 item 3)."""

from __future__ import annotations

import os
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient

from app.main import create_app
from tests.fhir_builders import bundle, condition, draft, hook_request, obs, patient
from tests.hooks.conftest import cards_with, checked, ext
from tests.support.fhir_server import SEKMET, run_fhir_server, seed_resources

if not SEKMET.is_file() and os.environ.get("CI") != "true":
    pytest.skip(
        "sekmet-fhir is not installed (bash scripts/setup_sekmet.sh)", allow_module_level=True
    )


def fracture_only() -> list[dict[str, Any]]:
    return [
        obs("o-vcf", "vcf", True, "L1"),
        obs("o-acute", "vcf-acute", True, "L1"),
        obs("o-mult", "multiple-vcfs", False),
    ]


@pytest.fixture(scope="module")
def fhir_base(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    with run_fhir_server(tmp_path_factory.mktemp("sekmet-reason")) as base:
        resources = [patient(), *fracture_only(), condition("c-lbp", "M54.50")]
        seed_resources(base, resources)
        yield base


def request_for(base: str) -> dict[str, Any]:
    sr = draft("sr1", "72158", "MRI lumbar w/wo")
    sr["reasonReference"] = [{"reference": "Condition/c-lbp"}]
    # the EHR prefetched the Observations and an empty problem list: the indication is not there
    req = hook_request("order-select", fracture_only(), conditions=[], drafts=[sr])
    req["fhirServer"] = base
    return req


def rating(body: dict[str, Any]) -> tuple[int | None, str | None]:
    """(variant, category) of the one order-rating card (None, None when not rated)."""
    [card] = cards_with(body, "order-appropriateness")
    return ext(card).get("variant"), ext(card).get("category")


def test_reason_reference_is_fetched_from_the_fhir_server(fhir_base: str, settings: Any) -> None:
    app = create_app(
        settings.model_copy(
            update={"fhir_server_allowlist": [fhir_base], "fhir_fetch_budget_seconds": 5.0}
        )
    )
    with TestClient(app) as client:
        body = checked(client.post("/cds-services/vcf-order-select", json=request_for(fhir_base)))
    # low back pain (M54.50) from the fetched Condition -> symptomatic -> Variant 1
    assert rating(body) == (1, "Usually Not Appropriate")


def test_without_the_allow_list_the_indication_stays_unknown(fhir_base: str, settings: Any) -> None:
    app = create_app(settings.model_copy(update={"fhir_server_allowlist": []}))
    with TestClient(app) as client:
        body = checked(client.post("/cds-services/vcf-order-select", json=request_for(fhir_base)))
    assert rating(body)[0] != 1


def test_a_missing_reference_on_the_server_is_reported_not_fatal(
    fhir_base: str, settings: Any
) -> None:
    app = create_app(
        settings.model_copy(
            update={"fhir_server_allowlist": [fhir_base], "fhir_fetch_budget_seconds": 5.0}
        )
    )
    req = request_for(fhir_base)
    sr = req["context"]["draftOrders"]["entry"][0]["resource"]
    sr["reasonReference"] = [{"reference": "Condition/does-not-exist"}]
    req["prefetch"]["conditions"] = bundle([])
    with TestClient(app) as client:
        body = checked(client.post("/cds-services/vcf-order-select", json=req))
    assert rating(body)[0] != 1
