"""Fetch the Conditions / Observations that draft orders name as their indication
(``ServiceRequest.reasonReference``) when neither the prefetch nor the draft orders hold them.

Same rules as the prefetch (``app.cds_hooks.prefetch``): only from an allow-listed
``fhirServer``, with ``fhirAuthorization``, within what is left of the one fetch budget, a
bounded number of reads; what cannot be had is reported, never fatal (the indication is then
unknown, as if not given).
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterable

import httpx

from app.cds_hooks.models import HookRequest
from app.cds_hooks.prefetch import FHIR_ID, _fetch, server_allowed
from app.clinical.findings import InputIssue
from app.fhir.indication import reason_references
from app.json_types import JsonObject

MAX_REFERENCE_BYTES = 1024 * 1024  # one Condition or Observation (read, not search)
MAX_REFERENCES = 20  # reads per hook call


def missing_references(
    draft_orders: Iterable[JsonObject], resources: Iterable[JsonObject]
) -> list[str]:
    """``"Condition/<id>"`` / ``"Observation/<id>"`` named by a draft order's reasonReference
    and not among ``resources`` (first seen first, no duplicates)."""
    have = {f"{r.get('resourceType')}/{r.get('id')}" for r in resources}
    wanted: dict[str, None] = {}
    for order in draft_orders:
        if order.get("resourceType") != "ServiceRequest":
            continue
        for _, rtype, rid in reason_references(order):
            key = f"{rtype}/{rid}"
            if key not in have and FHIR_ID.match(rid):
                wanted[key] = None
    return list(wanted)


async def fetch_reason_references(
    draft_orders: list[JsonObject],
    resources: list[JsonObject],
    req: HookRequest,
    client: httpx.AsyncClient,
    *,
    allowlist: list[str],
    budget_seconds: float,
) -> tuple[list[JsonObject], list[InputIssue]]:
    """The referenced resources that could be read, and an issue for each that could not."""
    wanted = missing_references(draft_orders, resources)
    if not wanted:
        return [], []
    issues: list[InputIssue] = []
    if len(wanted) > MAX_REFERENCES:
        skipped = ", ".join(wanted[MAX_REFERENCES:])[:200]
        message = f"more than {MAX_REFERENCES} indications to fetch; not read: {skipped}"
        issues.append(InputIssue("warning", "draftOrders.reasonReference", message))
        wanted = wanted[:MAX_REFERENCES]
    if not server_allowed(req.fhirServer, allowlist) or budget_seconds <= 0:
        why = "no allow-listed fhirServer" if budget_seconds > 0 else "no fetch time left"
        for key in wanted:
            message = f"{key} not in the request and not fetched: {why}"
            issues.append(InputIssue("warning", "draftOrders.reasonReference", message))
        return [], issues
    assert req.fhirServer is not None
    base = req.fhirServer.rstrip("/")
    headers = {"Accept": "application/fhir+json"}
    if req.fhirAuthorization is not None:
        headers["Authorization"] = f"Bearer {req.fhirAuthorization.access_token}"
    tasks = {
        key: asyncio.create_task(
            _fetch(client, base, key, headers, max_bytes=MAX_REFERENCE_BYTES, max_entries=1)
        )
        for key in wanted
    }
    done, pending = await asyncio.wait(tasks.values(), timeout=budget_seconds)
    for task in pending:
        task.cancel()
    found: list[JsonObject] = []
    for key, task in tasks.items():
        where = "draftOrders.reasonReference"
        if task not in done:
            message = f"{key}: FHIR server did not answer within the fetch budget"
            issues.append(InputIssue("warning", where, message))
            continue
        value, problem = task.result()
        rtype, rid = key.split("/", 1)
        if problem is not None or not isinstance(value, dict):
            shown = problem or "not found"
            issues.append(InputIssue("warning", where, f"{key}: {shown}"))
        elif value.get("resourceType") != rtype or value.get("id") != rid:
            issues.append(InputIssue("warning", where, f"{key}: the server sent another resource"))
        else:
            found.append(value)
    return found, issues
