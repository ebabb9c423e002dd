"""The optional ``diagnosticReports`` prefetch key (radiology reports, US Core DiagnosticReport
category LOINC LP29684-5): read when sent or fetched; absent and not fetchable it changes no
card (its absence is machine-readable only)."""

from __future__ import annotations

import asyncio
import copy
import re
from typing import Any

import httpx
import pytest
import respx
from fastapi.testclient import TestClient

from app.cds_hooks.catalog import ServiceCatalog, service_catalog
from app.cds_hooks.models import HookRequest
from app.cds_hooks.prefetch import resolve_prefetch
from app.main import create_app
from tests.fhir_builders import PATIENT, bundle, draft, hook_request, obs
from tests.hooks.conftest import checked, ext

EHR = "https://ehr.example.org/fhir"
MRI_WWO = ("72158", "MRI lumbar spine without and with contrast")


def spine_report(conclusion: str) -> dict[str, Any]:
    return {
        "resourceType": "DiagnosticReport",
        "id": "r1",
        "status": "final",
        "category": [{"coding": [{"system": "http://loinc.org", "code": "LP29684-5"}]}],
        "code": {"coding": [{"system": "http://loinc.org", "code": "24967-2"}]},
        "subject": {"reference": f"Patient/{PATIENT}"},
        "effectiveDateTime": "2026-11-20T10:00:00Z",
        "conclusion": conclusion,
    }


def v3_request() -> dict[str, Any]:
    """Symptomatic, one coded fracture at L1: multiple VCFs unknown without a complete list."""
    observations = [obs("o-sym", "symptomatic", True), obs("o-vcf", "vcf", True, "L1")]
    return hook_request("order-select", observations, drafts=[draft("s", *MRI_WWO)])


_UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")


def _cards(body: dict[str, Any]) -> str:
    """Cards and system actions with the per-call ids masked."""
    return _UUID.sub("<uuid>", repr({k: body.get(k) for k in ("cards", "systemActions")}))


def order_ext(body: dict[str, Any]) -> dict[str, Any]:
    """The machine-readable part of the one order-rating card."""
    [card] = [c for c in body["cards"] if c["source"]["topic"]["code"] == "order-appropriateness"]
    return ext(card)


def test_absent_reports_change_no_card(client: TestClient) -> None:
    absent = v3_request()
    assert "diagnosticReports" not in absent["prefetch"]  # not fetchable: no allow-listed server
    empty = copy.deepcopy(absent)
    empty["prefetch"]["diagnosticReports"] = bundle([])
    a = checked(client.post("/cds-services/vcf-order-select", json=absent))
    b = checked(client.post("/cds-services/vcf-order-select", json=empty))
    assert _cards(a) == _cards(b)
    assert "diagnosticReports" not in repr(a["cards"])


def test_a_prefetched_final_spine_report_is_read(client: TestClient) -> None:
    without = checked(client.post("/cds-services/vcf-order-select", json=v3_request()))
    req = v3_request()
    req["prefetch"]["diagnosticReports"] = bundle([spine_report("Compression fracture of L1.")])
    body = checked(client.post("/cds-services/vcf-order-select", json=req))
    # one fracture and no complete list: not rated; the report lists only L1: Variant 1
    assert order_ext(without)["status"] == "not-rated"
    assert order_ext(without)["missing"] == ["multiple-vcfs"]
    assert order_ext(body)["status"] == "rated"
    assert "/explain/variants/1" in repr(body["cards"])


@pytest.fixture
def fetching_client(settings: Any) -> Any:
    s = settings.model_copy(
        update={"fhir_server_allowlist": [EHR], "fhir_fetch_budget_seconds": 0.5}
    )
    with TestClient(create_app(s)) as c:
        yield c


def test_reports_are_fetched_with_the_radiology_category(fetching_client: TestClient) -> None:
    req = v3_request()
    with respx.mock(assert_all_called=True) as mock:
        route = mock.get(f"{EHR}/DiagnosticReport").respond(
            200, json=bundle([spine_report("Compression fracture of L1.")])
        )
        body = checked(fetching_client.post("/cds-services/vcf-order-select", json=req))
    params = route.calls.last.request.url.params
    assert params["patient"] == PATIENT and params["category"] == "http://loinc.org|LP29684-5"
    assert order_ext(body)["status"] == "rated"


def test_a_failing_report_fetch_adds_no_card(fetching_client: TestClient) -> None:
    req = v3_request()
    with respx.mock(assert_all_called=True) as mock:
        mock.get(f"{EHR}/DiagnosticReport").respond(500)
        failed = checked(fetching_client.post("/cds-services/vcf-order-select", json=req))
    with respx.mock(assert_all_called=True) as mock:
        mock.get(f"{EHR}/DiagnosticReport").respond(200, json=bundle([]))
        empty = checked(fetching_client.post("/cds-services/vcf-order-select", json=req))
    assert _cards(failed) == _cards(empty)


def test_absence_is_an_information_issue_only() -> None:
    req = HookRequest.model_validate(v3_request())

    async def resolve() -> Any:
        async with httpx.AsyncClient() as http:
            return await resolve_prefetch(
                req, PATIENT, service_catalog(), http, allowlist=[], budget_seconds=0.1,
                refetch_on_operation_outcome=False,
            )  # fmt: skip

    pre = asyncio.run(resolve())
    [issue] = [i for i in pre.issues if i.location == "prefetch.diagnosticReports"]
    assert issue.severity == "information" and "diagnosticReports" in pre.unavailable


def test_a_key_cannot_be_required_and_optional() -> None:
    data = service_catalog().model_dump()
    data["optional_prefetch"] = ["observations"]
    with pytest.raises(ValueError, match="both required and optional"):
        ServiceCatalog.model_validate(data)
