"""Draft orders -> ACR procedure names (fhir-input.md, draft ServiceRequest)."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from app.clinical.findings import DraftOrder
from app.fhir.adapter import read_resources
from app.fhir.codes import OrderSystem, code_tables
from app.fhir.orders import NO_CODE, NOT_AN_ORDER, UNKNOWN_CODE, UNSUPPORTED_SYSTEM
from tests.fhir_builders import CPT, LOINC, SCT, patient, service_request

CT_MYELO = "CT myelography spine area of interest"

A_PATIENT = patient()


def order_of(resource: dict[str, Any]) -> DraftOrder:
    pf = read_resources([A_PATIENT], draft_orders=[resource])
    assert len(pf.orders) == 1
    return pf.orders[0]


ENTRIES = [(c.system, c.code, c.procedure) for c in code_tables().orders.codes]


@pytest.mark.parametrize(("system", "code", "procedure"), ENTRIES)
def test_every_listed_code_maps(system: OrderSystem, code: str, procedure: str) -> None:
    url = code_tables().orders.systems[system]
    order = order_of(service_request("s", (url, code)))
    assert (order.procedure, order.not_mapped_reason) == (procedure, None)
    assert (order.code_system, order.code) == (url, code)


@pytest.mark.parametrize(
    ("code", "procedure"),
    [
        ("72141", "MRI spine area of interest without IV contrast"),
        ("72149", "MRI spine area of interest with IV contrast"),
        ("72157", "MRI spine area of interest without and with IV contrast"),
        ("72131", "CT spine area of interest without IV contrast"),
        ("72126", "CT spine area of interest with IV contrast"),
        ("72133", "CT spine area of interest without and with IV contrast"),
        ("78306", "Bone scan whole body"),
        ("78830", "SPECT or SPECT/CT spine area of interest"),
        ("78815", "FDG-PET/CT skull base to mid-thigh"),
        ("20225", "Image-guided biopsy spine area of interest"),
        ("22514", "Percutaneous vertebral augmentation"),
        ("20983", "Percutaneous ablation spine"),
        ("62304", CT_MYELO),
    ],
)
def test_contract_cpt_examples(code: str, procedure: str) -> None:
    assert order_of(service_request("s", (CPT, code))).procedure == procedure


@pytest.mark.parametrize("ct", ["72126", "72129", "72132"])
@pytest.mark.parametrize("myelo", ["62284", "62302", "62303", "62304", "62305"])
def test_ct_with_contrast_plus_myelography_is_ct_myelography(ct: str, myelo: str) -> None:
    order = order_of(service_request("s", (CPT, myelo), (CPT, ct)))
    assert order.procedure == CT_MYELO
    assert order.code == ct


def test_injection_alone_is_not_mapped() -> None:
    order = order_of(service_request("s", (CPT, "62284")))
    assert (order.procedure, order.not_mapped_reason) == (None, UNKNOWN_CODE)


@pytest.mark.parametrize(
    ("resource", "reason"),
    [
        ({"resourceType": "ServiceRequest", "id": "s", "status": "draft"}, NO_CODE),
        ({"resourceType": "ServiceRequest", "id": "s", "code": {"text": "MRI"}}, NO_CODE),
        ({"resourceType": "ServiceRequest", "id": "s", "code": {"coding": [{}]}}, NO_CODE),
        (service_request("s", (SCT, "241646008")), UNSUPPORTED_SYSTEM),
        (service_request("s", (CPT, "99999")), UNKNOWN_CODE),
        (service_request("s", (LOINC, "24627-2")), UNKNOWN_CODE),
        ({"resourceType": "MedicationRequest", "id": "m", "status": "draft"}, NOT_AN_ORDER),
    ],
)
def test_unmapped_reason(resource: dict[str, Any], reason: str) -> None:
    order = order_of(resource)
    assert order.procedure is None
    assert order.not_mapped_reason == reason


def test_raw_resource_round_trips_untouched() -> None:
    resource = service_request("s", (CPT, "72148"))
    resource["extension"] = [{"url": "http://example.org/x", "valueString": "keep me"}]
    before = copy.deepcopy(resource)
    order = order_of(resource)
    assert order.resource is resource
    assert order.resource == before


def test_body_site_from_level_or_region() -> None:
    with_level = service_request("s", (CPT, "72148"))
    with_level["bodySite"] = [{"text": "l2"}]
    assert order_of(with_level).body_site == "L2"
    assert order_of(service_request("s", (CPT, "72148"))).body_site == "lumbar"
    assert order_of(service_request("s", (CPT, "78306"))).body_site == "whole"


def test_draft_service_request_in_bundle_is_an_order_others_are_not() -> None:
    draft = service_request("d", (CPT, "72158"))
    active = service_request("a", (CPT, "72158"), status="active")
    pf = read_resources([A_PATIENT, draft, active])
    assert [o.resource_id for o in pf.orders] == ["d"]
    assert pf.orders[0].display is None


def test_display_of_the_mapped_coding() -> None:
    resource = service_request("s", (CPT, "72148"))
    resource["code"]["coding"][0]["display"] = "MRI L-spine w/o"
    assert order_of(resource).display == "MRI L-spine w/o"


def test_draft_in_resources_and_draft_orders_is_one_order() -> None:
    draft = service_request("d", (CPT, "72158"))
    pf = read_resources([A_PATIENT, draft], draft_orders=[draft])
    assert [o.resource_id for o in pf.orders] == ["d"]
