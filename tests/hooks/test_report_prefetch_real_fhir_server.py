"""The ``diagnosticReports`` prefetch template against a real FHIR R4 server on loopback
(sekmet-fhir): only the radiology reports (category LOINC LP29684-5) are fetched and read."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from tests.fhir_builders import PATIENT, condition, obs, patient
from tests.hooks.conftest import cards_with, ext, order_select_fetching_everything
from tests.support.fhir_server import run_fhir_server, seed_resources


def report(rid: str, category: str, conclusion: str) -> dict[str, Any]:
    return {
        "resourceType": "DiagnosticReport",
        "id": rid,
        "status": "final",
        "category": [{"coding": [{"system": "http://loinc.org", "code": category}]}],
        "code": {"coding": [{"system": "http://loinc.org", "code": "24967-2"}]},
        "subject": {"reference": f"Patient/{PATIENT}"},
        "effectiveDateTime": "2026-11-20T10:00:00Z",
        "conclusion": conclusion,
    }


@pytest.fixture(scope="module")
def fhir_base(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    with run_fhir_server(tmp_path_factory.mktemp("sekmet")) as base:
        resources = [
            patient(),
            obs("o-vcf", "vcf", True, "L1"),
            obs("o-acute", "vcf-acute", True, "L1"),
            obs("o-sym", "symptomatic", True),
            condition("c-op", "M81.0"),
            # radiology (LP29684-5): lists L1 only -> one fracture (Variant 1)
            report("r-rad", "LP29684-5", "Acute compression fracture of L1."),
            # cardiology (LP29708-2): not asked for; read, it would make two levels (Variant 3)
            report("r-card", "LP29708-2", "Compression fractures of T12 and L1."),
        ]
        seed_resources(base, resources)
        yield base


def test_only_radiology_reports_are_fetched_and_counted(fhir_base: str, settings: Any) -> None:
    body = order_select_fetching_everything(fhir_base, settings)
    [card] = cards_with(body, "order-appropriateness")
    # the radiology report lists only L1: one fracture -> Variant 1 (the cardiology report,
    # had it been read, names T12 and L1 -> Variant 3)
    assert ext(card)["variant"] == 1, card["summary"]
