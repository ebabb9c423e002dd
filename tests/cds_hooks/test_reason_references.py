"""Which indications (reasonReference) the hook fetches, and what it reports when it cannot
(app/cds_hooks/references.py; the fetch itself runs against a real FHIR server in
tests/hooks/test_indication_real_fhir_server.py)."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx

from app.cds_hooks.models import HookRequest
from app.cds_hooks.references import (
    MAX_REFERENCES,
    fetch_reason_references,
    missing_references,
)


def order(*refs: str, rtype: str = "ServiceRequest") -> dict[str, Any]:
    return {
        "resourceType": rtype,
        "id": "sr1",
        "status": "draft",
        "reasonReference": [{"reference": r} for r in refs],
    }


def test_only_condition_and_observation_references_not_in_the_request() -> None:
    drafts = [
        order("Condition/c1", "Observation/o1", "Procedure/p1", "Condition/c1"),
        order("https://ehr.example.org/fhir/Condition/c2"),
        order("Condition/c3", rtype="MedicationRequest"),  # not a ServiceRequest
        order("Condition/bad id"),
    ]
    have = [{"resourceType": "Observation", "id": "o1"}]
    assert missing_references(drafts, have) == ["Condition/c1", "Condition/c2"]


def _request(server: str | None) -> HookRequest:
    return HookRequest.model_validate(
        {
            "hook": "order-select",
            "hookInstance": "d1577c69-dfbe-44ad-ba6d-3e05e953b2ea",
            "context": {"userId": "Practitioner/u1", "patientId": "p1"},
            **({"fhirServer": server} if server else {}),
        }
    )


def _run(
    server: str | None, allow: list[str], budget: float, refs: list[str], drafts: Any = None
) -> Any:
    async def go() -> Any:
        async with httpx.AsyncClient() as client:
            return await fetch_reason_references(
                drafts or [order(*refs)], [], _request(server), client, allowlist=allow,
                budget_seconds=budget,
            )  # fmt: skip

    return asyncio.run(go())


def test_not_allow_listed_or_no_time_left_is_reported_never_fetched() -> None:
    found, issues = _run("https://ehr.example.org/fhir", [], 2.0, ["Condition/c1"])
    assert found == [] and "no allow-listed fhirServer" in issues[0].message
    allowed = ["https://ehr.example.org/fhir"]
    found, issues = _run("https://ehr.example.org/fhir", allowed, 0.0, ["Condition/c1"])
    assert found == [] and "no fetch time left" in issues[0].message


def test_the_number_of_reads_is_capped() -> None:
    refs = [f"Condition/c{i}" for i in range(MAX_REFERENCES + 5)]
    drafts = [order(*refs[:10]), order(*refs[10:20]), order(*refs[20:])]
    wanted = missing_references(drafts, [])
    assert len(wanted) == MAX_REFERENCES + 5
    found, issues = _run(None, [], 2.0, [], drafts)
    assert found == [] and f"more than {MAX_REFERENCES}" in issues[0].message
    assert len(issues) == 1 + MAX_REFERENCES  # the cap, then each capped read not fetched
