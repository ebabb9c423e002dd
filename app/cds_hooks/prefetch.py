"""Prefetch resolution (CDS Hooks 2.0 "Providing FHIR Resources to a CDS Service").

Each prefetch key is data (a Bundle or resource), ``null`` (the client has no data: the record
was read and is empty), an OperationOutcome (the client's prefetch failed), or absent. Absent
keys, and failed ones when ``refetch_on_operation_outcome`` is set, are fetched from
``fhirServer`` with ``fhirAuthorization`` within one total time budget, and only from
allow-listed servers. What can be had neither way is reported; the router answers 412 when a
required key is among it.
"""

from __future__ import annotations

import asyncio
import logging
import re
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote, urlsplit

import httpx

from app.cds_hooks.catalog import ServiceCatalog
from app.cds_hooks.models import HookRequest
from app.clinical.findings import InputIssue

log = logging.getLogger("vcf_cds.prefetch")
#: FHIR R4 ``id`` syntax (use with ``fullmatch``: ``$`` would accept a trailing newline).
FHIR_ID = re.compile(r"[A-Za-z0-9\-.]{1,64}")


def is_fhir_id(value: object) -> bool:
    """A FHIR id (``[A-Za-z0-9-.]{1,64}``, whole string) that is not made only of dots:
    ``.`` and ``..`` are valid id syntax but path tricks in ``Patient/{{context.patientId}}``
    (``Patient/..`` is the server base)."""
    return (
        isinstance(value, str) and FHIR_ID.fullmatch(value) is not None and value.strip(".") != ""
    )


MAX_PAGES = 5


@dataclass
class PrefetchResult:
    values: dict[str, Any] = field(default_factory=dict)  # key -> Bundle/resource/None
    obtained: dict[str, bool] = field(default_factory=dict)  # record kind -> read
    issues: list[InputIssue] = field(default_factory=list)
    fetched: list[str] = field(default_factory=list)
    unavailable: list[str] = field(default_factory=list)


def _is_operation_outcome(value: Any) -> bool:
    return isinstance(value, dict) and value.get("resourceType") == "OperationOutcome"


def loggable_server(url: str) -> str:
    """Scheme, host and port of a FHIR server URL for the logs: no userinfo (``user:pw@``),
    path or query (credentials and identifiers stay out of the logs)."""
    try:
        parts = urlsplit(url)
        host = parts.hostname or ""
        port = f":{parts.port}" if parts.port is not None else ""
    except ValueError:
        return "<unparsable URL>"
    if ":" in host:
        host = f"[{host}]"
    return repr(f"{parts.scheme}://{host}{port}"[:200])


def render(template: str, patient_id: str) -> str:
    return template.replace("{{context.patientId}}", quote(patient_id, safe=""))


def server_allowed(fhir_server: str | None, allowlist: list[str]) -> bool:
    if not fhir_server:
        return False
    return fhir_server.rstrip("/") in {u.rstrip("/") for u in allowlist}


async def resolve_prefetch(
    req: HookRequest,
    patient_id: str,
    catalog: ServiceCatalog,
    client: httpx.AsyncClient,
    *,
    allowlist: list[str],
    budget_seconds: float,
    refetch_on_operation_outcome: bool,
) -> PrefetchResult:
    """Resolve every prefetch key of the catalog (see module docstring)."""
    result = PrefetchResult()
    given = req.prefetch or {}
    to_fetch: list[str] = []
    for key in catalog.prefetch_templates:
        kind = catalog.prefetch_record_kind[key]
        if key not in given:
            to_fetch.append(key)
            continue
        value = given[key]
        if _is_operation_outcome(value):
            result.issues.append(
                InputIssue(
                    "warning", f"prefetch.{key}", "the client's prefetch failed (OperationOutcome)"
                )
            )
            if refetch_on_operation_outcome:
                to_fetch.append(key)
            else:
                result.unavailable.append(key)
            continue
        if value is not None and not isinstance(value, dict):
            result.issues.append(
                InputIssue("warning", f"prefetch.{key}", "not a FHIR resource or Bundle")
            )
            to_fetch.append(key)
            continue
        result.values[key] = value
        result.obtained[kind] = True
    if not to_fetch:
        return result
    if not server_allowed(req.fhirServer, allowlist):
        why = "no fhirServer given" if not req.fhirServer else "fhirServer is not on the allow-list"
        if req.fhirServer:
            log.warning("fhirServer not on the allow-list: %s", loggable_server(req.fhirServer))
        for key in to_fetch:
            result.unavailable.append(key)
            result.issues.append(
                InputIssue("warning", f"prefetch.{key}", f"not prefetched and not fetched: {why}")
            )
        return result
    assert req.fhirServer is not None
    base = req.fhirServer.rstrip("/")
    headers = {"Accept": "application/fhir+json"}
    if req.fhirAuthorization is not None:
        headers["Authorization"] = f"Bearer {req.fhirAuthorization.access_token}"
    tasks = {
        key: asyncio.create_task(
            _fetch(client, base, render(catalog.prefetch_templates[key], patient_id), headers)
        )
        for key in to_fetch
    }
    done, pending = await asyncio.wait(tasks.values(), timeout=budget_seconds)
    for task in pending:
        task.cancel()
    for key, task in tasks.items():
        kind = catalog.prefetch_record_kind[key]
        if task not in done:
            result.unavailable.append(key)
            result.issues.append(
                InputIssue(
                    "warning",
                    f"prefetch.{key}",
                    f"FHIR server did not answer within {budget_seconds} s",
                )
            )
            continue
        value, problem = task.result()
        if problem is not None:
            result.unavailable.append(key)
            result.issues.append(InputIssue("warning", f"prefetch.{key}", problem))
            continue
        result.values[key] = value
        result.obtained[kind] = True
        result.fetched.append(key)
    return result


async def _fetch(
    client: httpx.AsyncClient, base: str, query: str, headers: dict[str, str]
) -> tuple[Any, str | None]:
    """GET one query (following same-server ``next`` links, bounded). Returns (value, problem);
    a 404 on an instance read is "no data" (None)."""
    url = f"{base}/{query}"
    entries: list[Any] = []
    first: dict[str, Any] | None = None
    for _ in range(MAX_PAGES):
        try:
            response = await client.get(url, headers=headers, follow_redirects=False)
        except httpx.HTTPError as exc:
            return None, f"FHIR server unreachable ({type(exc).__name__})"
        if response.status_code == 404 and "?" not in query:
            return None, None
        if response.status_code != 200:
            return None, f"FHIR server answered HTTP {response.status_code}"
        try:
            body = response.json()
        except ValueError:
            return None, "FHIR server answered with invalid JSON"
        if not isinstance(body, dict):
            return None, "FHIR server answered with a non-resource"
        if body.get("resourceType") != "Bundle":
            return body, None
        first = first or body
        entries += [e for e in body.get("entry") or [] if isinstance(e, dict)]
        nxt = next(
            (
                lk.get("url")
                for lk in body.get("link") or []
                if isinstance(lk, dict) and lk.get("relation") == "next"
            ),
            None,
        )
        if not isinstance(nxt, str) or not nxt.startswith(base + "/"):
            break
        url = nxt
    assert first is not None
    return {**first, "entry": entries}, None
