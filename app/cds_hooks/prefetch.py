"""Prefetch resolution (CDS Hooks 2.0 "Providing FHIR Resources to a CDS Service").

Each prefetch key is data (a Bundle or resource), ``null`` (the client has no data: the record
was read and is empty), an OperationOutcome (the client's prefetch failed), or absent. Absent
keys, and failed ones when ``refetch_on_operation_outcome`` is set, are fetched from
``fhirServer`` with ``fhirAuthorization`` within one total time budget, and only from
allow-listed servers. What can be had neither way is reported; the router answers 412 when a
required key is among it.

Bounded work (docs/faults.md): a response is streamed and decompressed here (``gzip`` and
``deflate`` only, with ``zlib``'s ``max_length``), never by httpx, and reading stops as soon as
the decompressed body passes ``max_bytes`` (a gzip bomb costs at most that much memory). A
fetch whose Bundle pages hold more than ``max_entries`` entries in total is refused. Both are
reported as unavailable with the reason. Large bodies are parsed in a worker thread one Bundle
entry at a time (``bundle_json.py``), stopping at the entry cap.
"""

from __future__ import annotations

import asyncio
import logging
import re
import zlib
from dataclasses import dataclass, field
from typing import Any, Literal
from urllib.parse import quote, urlsplit

import anyio
import httpx

from app.cds_hooks.bundle_json import TooManyEntries, loads_bundle
from app.cds_hooks.catalog import ServiceCatalog
from app.cds_hooks.models import HookRequest
from app.clinical.findings import InputIssue
from app.json_types import JsonObject

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
DEFAULT_MAX_BYTES = 8 * 1024 * 1024
DEFAULT_MAX_ENTRIES = 5000
PARSE_INLINE_BYTES = 256 * 1024
INFLATE_STEP = 64 * 1024  # bytes inflated per step on the event loop (~0.3 ms of CPU)
#: A body that inflates more than this many times its compressed size is refused once it has
#: inflated past ``RATIO_CHECK_BYTES``. Searchset Bundles of distinct resources compress 15-25x,
#: 5,000 copies of one Observation ~106x; gzip's ceiling, which a bomb reaches, is ~1000x. So a
#: bomb costs the event loop ~1 MiB of inflation per fetch instead of ``max_bytes`` (which still
#: bounds a body crafted to stay under the ratio).
MAX_INFLATE_RATIO = 250
RATIO_CHECK_BYTES = 1024 * 1024
_DECOMPRESSED = {"gzip", "x-gzip", "deflate"}


class _Refused(Exception):
    """The FHIR server's answer is refused: over a cap, corrupt or unsupported (says which)."""


@dataclass
class PrefetchResult:
    values: JsonObject = field(default_factory=dict)  # key -> Bundle/resource/None
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


def _severity(catalog: ServiceCatalog, key: str) -> Literal["warning", "information"]:
    """An optional key that cannot be had is machine-readable only (no card shows it)."""
    return "information" if key in catalog.optional_prefetch else "warning"


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
    max_bytes: int = DEFAULT_MAX_BYTES,
    max_entries: int = DEFAULT_MAX_ENTRIES,
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
                    _severity(catalog, key),
                    f"prefetch.{key}",
                    "the client's prefetch failed (OperationOutcome)",
                )
            )
            if refetch_on_operation_outcome:
                to_fetch.append(key)
            else:
                result.unavailable.append(key)
            continue
        if value is not None and not isinstance(value, dict):
            result.issues.append(
                InputIssue(
                    _severity(catalog, key), f"prefetch.{key}", "not a FHIR resource or Bundle"
                )
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
                InputIssue(
                    _severity(catalog, key),
                    f"prefetch.{key}",
                    f"not prefetched and not fetched: {why}",
                )
            )
        return result
    assert req.fhirServer is not None
    base = req.fhirServer.rstrip("/")
    headers = {"Accept": "application/fhir+json", "Accept-Encoding": "gzip, deflate"}
    if req.fhirAuthorization is not None:
        headers["Authorization"] = f"Bearer {req.fhirAuthorization.access_token}"
    tasks = {
        key: asyncio.create_task(
            _fetch(
                client,
                base,
                render(catalog.prefetch_templates[key], patient_id),
                headers,
                max_bytes=max_bytes,
                max_entries=max_entries,
            )
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
                    _severity(catalog, key),
                    f"prefetch.{key}",
                    f"FHIR server did not answer within {budget_seconds} s",
                )
            )
            continue
        value, problem = task.result()
        if problem is not None:
            result.unavailable.append(key)
            result.issues.append(InputIssue(_severity(catalog, key), f"prefetch.{key}", problem))
            continue
        result.values[key] = value
        result.obtained[kind] = True
        result.fetched.append(key)
    return result


async def _fetch(
    client: httpx.AsyncClient,
    base: str,
    query: str,
    headers: dict[str, str],
    *,
    max_bytes: int,
    max_entries: int,
) -> tuple[Any, str | None]:
    """GET one query (following same-server ``next`` links, bounded). Returns (value, problem);
    a 404 on an instance read is "no data" (None)."""
    url = f"{base}/{query}"
    entries: list[Any] = []
    first: JsonObject | None = None
    for _ in range(MAX_PAGES):
        try:
            status, raw = await _get_capped(client, url, headers, max_bytes)
        except _Refused as exc:
            return None, str(exc)
        except httpx.HTTPError as exc:
            return None, f"FHIR server unreachable ({type(exc).__name__})"
        if status == 404 and "?" not in query:
            return None, None
        if status != 200:
            return None, f"FHIR server answered HTTP {status}"
        room = max_entries - len(entries)
        try:
            if len(raw) > PARSE_INLINE_BYTES:
                body = await anyio.to_thread.run_sync(loads_bundle, raw, room)
            else:
                body = loads_bundle(raw, room)
        except TooManyEntries:
            return None, f"FHIR server answered with more than {max_entries} Bundle entries"
        except (ValueError, RecursionError):
            return None, "FHIR server answered with invalid JSON"
        if not isinstance(body, dict):
            return None, "FHIR server answered with a non-resource"
        if body.get("resourceType") != "Bundle":
            return body, None
        first = first or body
        page = body.get("entry") or []
        if not isinstance(page, list) or len(entries) + len(page) > max_entries:
            return None, f"FHIR server answered with more than {max_entries} Bundle entries"
        entries += [e for e in page if isinstance(e, dict)]
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


async def _get_capped(
    client: httpx.AsyncClient, url: str, headers: dict[str, str], max_bytes: int
) -> tuple[int, bytes]:
    """Status and decompressed body of a GET; raises :class:`_Refused` past ``max_bytes``
    (compressed or not) without reading further. Bodies of non-200 answers are not read."""
    too_large = _Refused(f"FHIR server answered with more than {max_bytes} bytes")
    async with client.stream("GET", url, headers=headers, follow_redirects=False) as response:
        if response.status_code != 200:
            return response.status_code, b""
        encoding = response.headers.get("content-encoding", "identity").strip().lower()
        if encoding not in _DECOMPRESSED and encoding not in ("", "identity"):
            raise _Refused(f"FHIR server answered with unsupported Content-Encoding {encoding}")
        declared = response.headers.get("content-length", "")
        if declared.isdigit() and int(declared) > max_bytes:
            raise too_large
        # gzip or zlib-wrapped deflate, detected from the header (wbits + 32)
        decoder = zlib.decompressobj(zlib.MAX_WBITS | 32) if encoding in _DECOMPRESSED else None
        body = bytearray()
        received = 0  # compressed bytes read
        async for chunk in response.aiter_raw():
            if decoder is None:
                body += chunk
            else:
                data = chunk
                received += len(chunk)
                while data:  # inflate in steps: the event loop runs between them
                    step = min(INFLATE_STEP, max_bytes + 1 - len(body))
                    try:
                        body += decoder.decompress(data, step)
                    except zlib.error:
                        raise _Refused("FHIR server answered with a corrupt body") from None
                    data = decoder.unconsumed_tail
                    if len(body) > max_bytes:
                        raise too_large
                    inflated = len(body)
                    if inflated > RATIO_CHECK_BYTES and (
                        inflated > MAX_INFLATE_RATIO * (received - len(data))
                    ):
                        raise _Refused(
                            "FHIR server answered with a body that inflates more than "
                            f"{MAX_INFLATE_RATIO} times its compressed size"
                        )
                    if data:
                        await asyncio.sleep(0)
            if len(body) > max_bytes:
                raise too_large
        if decoder is not None:
            body += decoder.flush()
            if len(body) > max_bytes:
                raise too_large
        return 200, bytes(body)
