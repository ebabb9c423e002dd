"""CDS Hooks discovery (api.md; CDS Hooks 2.0 Discovery)."""

from __future__ import annotations

import re
from typing import Any


def test_three_services_with_prefetch(client: Any) -> None:
    body = client.get("/cds-services").json()
    services = {s["id"]: s for s in body["services"]}
    assert set(services) == {"vcf-order-select", "vcf-order-sign", "vcf-patient-view"}
    assert services["vcf-order-select"]["hook"] == "order-select"
    assert services["vcf-order-sign"]["hook"] == "order-sign"
    assert services["vcf-patient-view"]["hook"] == "patient-view"
    for s in services.values():
        assert s["description"] and s["title"]
        prefetch = s["prefetch"]
        assert set(prefetch) >= {
            "patient",
            "observations",
            "conditions",
            "procedures",
            "medicationStatements",
        }
        for template in prefetch.values():
            # only {{context.patientId}} tokens; spec query subset (CDS Hooks 2.0 "Prefetch
            # query restrictions"): reference params, token params by equality, _count
            assert set(re.findall(r"\{\{([^}]*)\}\}", template)) == {"context.patientId"}
            params = template.split("?", 1)[1].split("&") if "?" in template else []
            assert all(p.split("=")[0] in ("patient", "category", "_count") for p in params)
        # radiology reports (US Core DiagnosticReport category LOINC LP29684-5 Radiology)
        assert prefetch["diagnosticReports"] == (
            "DiagnosticReport?patient={{context.patientId}}"
            "&category=http://loinc.org|LP29684-5&_count=100"
        )
        assert None not in s.values()
