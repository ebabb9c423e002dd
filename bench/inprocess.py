"""In-process measurements: the decision itself and whole ASGI requests (no sockets)."""

from __future__ import annotations

import asyncio
import cProfile
import gc
import json
import pstats
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

# httpx's ASGITransport asks ``import sniffio`` for every request (is the caller running trio?);
# sniffio is not installed, and each failed import searches sys.path again: 0.3-0.5 ms of client
# CPU per request in every arm, a quarter of the bare baseline. Failing it at once gives the
# same answer ("not trio") without the search, as bench/loadgen.py does for the HTTP client.
if "sniffio" not in sys.modules:
    try:
        import sniffio  # noqa: F401
    except ImportError:
        sys.modules["sniffio"] = None  # type: ignore[assignment]

import httpx
from fastapi import FastAPI
from fastapi.responses import JSONResponse

from app.cds_hooks.catalog import service_catalog
from app.cds_hooks.invocation import parse_invocation
from app.cds_hooks.models import HookRequest, dump_response
from app.cds_hooks.prefetch import resolve_prefetch
from app.decision import Decision, decide
from app.fhir.adapter import unpack
from app.knowledge.schema import Knowledge
from app.settings import Settings
from bench.payload import SERVICE
from bench.stats import summary

URL = f"/cds-services/{SERVICE}"
HEADERS = {"content-type": "application/json"}
ROOT = Path(__file__).resolve().parents[1]


@dataclass
class Prepared:
    """A request, pre-split the way the route hands it to ``unpack`` and ``decide``."""

    request: dict[str, Any]
    body: bytes
    draft_orders: list[dict[str, Any]]
    selections: frozenset[str]
    obtained: dict[str, bool]
    hook: Any = field(default=None)


def prepare(request: dict[str, Any]) -> Prepared:
    catalog = service_catalog()
    service = catalog.get(SERVICE)
    if service is None:
        raise RuntimeError(f"service {SERVICE} is not in the catalog")
    drafts = [e["resource"] for e in request["context"]["draftOrders"]["entry"]]
    obtained = {catalog.prefetch_record_kind[k]: True for k in request["prefetch"]}
    return Prepared(
        request=request,
        body=json.dumps(request).encode(),
        draft_orders=drafts,
        selections=frozenset(request["context"]["selections"]),
        obtained=obtained,
        hook=service.hook,
    )


def unpack_and_decide(p: Prepared, knowledge: Knowledge, settings: Settings) -> Decision:
    """What the route does after prefetch resolution: unpack every prefetch value, decide."""
    resources: list[dict[str, Any]] = []
    issues: list[Any] = []
    for key, value in p.request["prefetch"].items():
        found, problems = unpack(value, f"prefetch.{key}")
        resources += found
        issues += problems
    return decide(
        resources,
        p.draft_orders,
        obtained=p.obtained,
        issues=issues,
        hook=p.hook,
        selections=p.selections,
        knowledge=knowledge,
        settings=settings,
    )


def time_calls(fn: Callable[[], object], iterations: int, warmup: int) -> list[float]:
    """Wall time of each call in milliseconds, after ``warmup`` untimed calls."""
    for _ in range(warmup):
        fn()
    gc.collect()
    clock = time.perf_counter_ns
    samples = []
    for _ in range(iterations):
        t0 = clock()
        fn()
        samples.append((clock() - t0) / 1e6)
    return samples


def time_for_budget(
    fn: Callable[[], object], budget_s: float, min_iter: int, max_iter: int
) -> list[float]:
    """Like ``time_calls`` with as many iterations as fit in ``budget_s`` (bounded)."""
    t0 = time.perf_counter()
    fn()  # warm-up, also the estimate
    estimate = max(time.perf_counter() - t0, 1e-6)
    iterations = max(min_iter, min(max_iter, int(budget_s / estimate)))
    return time_calls(fn, iterations, warmup=1)


# --- whole ASGI requests ---------------------------------------------------------------------


async def _post(client: httpx.AsyncClient, body: bytes) -> httpx.Response:
    return await client.post(URL, content=body, headers=HEADERS)


def check_real(response: httpx.Response) -> dict[str, Any]:
    if response.status_code != 200:
        raise RuntimeError(f"real app answered {response.status_code}: {response.text[:300]}")
    data: dict[str, Any] = response.json()
    if not data.get("cards"):
        raise RuntimeError("real app answered without cards: the payload is not exercised")
    return data


def check_baseline(response: httpx.Response) -> None:
    if response.status_code != 200 or response.json() != {"cards": []}:
        raise RuntimeError(f"baseline answered {response.status_code}: {response.text[:300]}")


async def _asgi_arms(
    apps: dict[str, FastAPI], body: bytes, iterations: int, warmup: int
) -> tuple[dict[str, list[float]], int]:
    clock = time.perf_counter_ns
    errors = 0
    clients = {
        name: httpx.AsyncClient(transport=httpx.ASGITransport(app=a), base_url="http://bench")
        for name, a in apps.items()
    }
    try:
        for name, client in clients.items():
            response = await _post(client, body)
            if name == "real":
                check_real(response)
            else:
                check_baseline(response)
        for _ in range(warmup):
            for client in clients.values():
                await _post(client, body)
        gc.collect()
        samples: dict[str, list[float]] = {name: [] for name in clients}
        for _ in range(iterations):  # interleaved, so drift hits every arm alike
            for name, client in clients.items():
                t0 = clock()
                response = await _post(client, body)
                samples[name].append((clock() - t0) / 1e6)
                errors += response.status_code != 200
    finally:
        for client in clients.values():
            await client.aclose()
    return samples, errors


def asgi_arms(
    apps: dict[str, FastAPI], body: bytes, iterations: int, warmup: int
) -> tuple[dict[str, list[float]], int]:
    """Per-request milliseconds of each app through ``ASGITransport`` (``"real"`` must answer
    with cards, the others ``{"cards": []}``), and the count of non-200 answers."""
    return asyncio.run(_asgi_arms(apps, body, iterations, warmup))


async def _asgi_single(app: FastAPI, body: bytes, budget_s: float, min_iter: int) -> list[float]:
    clock = time.perf_counter_ns
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://bench"
    ) as client:
        t0 = clock()
        check_real(await _post(client, body))
        estimate = max((clock() - t0) / 1e9, 1e-6)
        iterations = max(min_iter, min(200, int(budget_s / estimate)))
        gc.collect()
        samples = []
        for _ in range(iterations):
            t0 = clock()
            response = await _post(client, body)
            samples.append((clock() - t0) / 1e6)
            if response.status_code != 200:
                raise RuntimeError(f"real app answered {response.status_code}")
    return samples


def asgi_single(app: FastAPI, body: bytes, budget_s: float, min_iter: int) -> list[float]:
    return asyncio.run(_asgi_single(app, body, budget_s, min_iter))


# --- where the request time goes -------------------------------------------------------------


def _invocation_parser(p: Prepared, service: Any) -> tuple[str, Callable[[], Any]]:
    """``parse_invocation`` as the route calls it: older versions take the raw body, newer the
    validated ``HookRequest`` (FastAPI then parses and validates the body itself)."""
    model = HookRequest.model_validate(json.loads(p.body))
    try:
        parse_invocation(model, service)
        return "parse_invocation(HookRequest)", lambda: parse_invocation(model, service)
    except (TypeError, AttributeError):
        parse_invocation(p.body, service)  # type: ignore[arg-type]
        return "parse_invocation(bytes)", lambda: parse_invocation(p.body, service)  # type: ignore[arg-type]


def breakdown(
    p: Prepared, knowledge: Knowledge, settings: Settings, iterations: int
) -> list[tuple[str, dict[str, float] | str]]:
    """p50/p95 of each step the route performs, run one by one on the same payload (a step
    the current app code no longer offers is reported as an error string, not raised)."""
    catalog = service_catalog()
    service = catalog.get(SERVICE)
    assert service is not None
    parsed = json.loads(p.body)
    model = HookRequest.model_validate(parsed)
    client = httpx.AsyncClient()
    loop = asyncio.new_event_loop()

    def resolve() -> Any:
        return loop.run_until_complete(
            resolve_prefetch(
                model,
                str(model.context.get("patientId")),
                catalog,
                client,
                allowlist=settings.fhir_server_allowlist,
                budget_seconds=settings.fhir_fetch_budget_seconds,
                refetch_on_operation_outcome=settings.refetch_on_operation_outcome,
            )
        )

    decision = unpack_and_decide(p, knowledge, settings)
    dumped = dump_response(decision.response)
    loads, parse_name = _body_parser()
    steps: list[tuple[str, Callable[[], object]]] = [
        (parse_name, lambda: loads(p.body)),
        ("HookRequest.model_validate(parsed body)", lambda: HookRequest.model_validate(parsed)),
    ]
    try:
        steps.append(_invocation_parser(p, service))
    except Exception as exc:
        steps.append(("parse_invocation", _raiser(exc)))
    steps += [
        ("resolve_prefetch (all keys given)", resolve),
        ("unpack prefetch + decide", lambda: unpack_and_decide(p, knowledge, settings)),
        *_decide_parts(p, knowledge, settings),
        ("dump_response(CdsResponse)", lambda: dump_response(decision.response)),
        *_record_steps(p, decision, dumped, settings),
        _response_step(dumped),
    ]
    out: list[tuple[str, dict[str, float] | str]] = []
    try:
        for name, fn in steps:
            try:
                out.append((name, summary(time_calls(fn, iterations, warmup=5))))
            except Exception as exc:
                out.append((name, f"failed: {type(exc).__name__}: {str(exc)[:80]}"))
    finally:
        loop.run_until_complete(client.aclose())
        loop.close()
    return out


def _body_parser() -> tuple[Callable[[bytes], Any], str]:
    """How the route parses the body: orjson (``app.json_codec``, earlier ``app.api.fastjson``)
    or, in older versions of the app, ``json.loads``."""
    try:
        from app.json_codec import loads
    except ImportError:
        try:
            from app.api.fastjson import loads
        except ImportError:
            return json.loads, "json.loads(body)"
    return loads, "parse body (app.json_codec.loads: orjson)"


def _response_step(dumped: dict[str, Any]) -> tuple[str, Callable[[], object]]:
    """The response object the route returns (orjson, or Starlette's ``json.dumps``)."""
    try:
        from app.api.fastjson import FastJSONResponse
    except ImportError:
        return "JSONResponse(dumped) (json.dumps)", lambda: JSONResponse(dumped)
    return "FastJSONResponse(dumped) (orjson)", lambda: FastJSONResponse(dumped)


def _record_steps(
    p: Prepared, decision: Decision, dumped: dict[str, Any], settings: Settings
) -> list[tuple[str, Callable[[], object]]]:
    """What the route does after the decision in the same worker-thread call: the audit entry
    (input digest over the canonical JSON, keyed patient hash, pseudonymised cards) and the
    decision metrics. Skipped (an error row) when the app lacks them."""
    try:
        from app.audit.entry import build_entry
        from app.observability.metrics import Metrics
    except ImportError as exc:
        return [("audit entry + metrics", _raiser(exc))]
    raw = json.loads(p.body)
    patient = str(raw.get("context", {}).get("patientId") or "") or None
    metrics = Metrics()

    def entry() -> object:
        return build_entry(
            decision,
            service=SERVICE,
            hook=str(p.hook),
            hook_instance=raw.get("hookInstance"),
            patient_id=patient,
            raw_input=raw,
            started=time.perf_counter(),
            secret=b"bench-secret",
            client_iss=None,
            response_body=dumped,
        )

    def observe() -> None:
        statuses = (o.status for o in decision.assessment.orders)
        metrics.observe_decision(SERVICE, dumped["cards"], statuses)
        metrics.observe_unmapped(u for c in decision.coverage for u in c.unmapped)

    return [
        ("audit entry (build_entry: input digest, patient hash, cards)", entry),
        ("decision metrics (observe_decision + observe_unmapped)", observe),
    ]


def _decide_parts(
    p: Prepared, knowledge: Knowledge, settings: Settings
) -> list[tuple[str, Callable[[], object]]]:
    """The stages inside ``unpack`` + ``decide``, each alone (mirrors ``app.decision``)."""
    from app.assessment.service import assess
    from app.cards.builder import CardBuilder, CardContext
    from app.fhir.adapter import read_resources
    from app.fhir.alternatives import coding_for

    now = datetime.now(UTC)
    values = list(p.request["prefetch"].items())

    def unpack_all() -> list[dict[str, Any]]:
        out: list[dict[str, Any]] = []
        for key, value in values:
            out += unpack(value, f"prefetch.{key}")[0]
        return out

    def read() -> Any:
        return read_resources(
            resources, draft_orders=p.draft_orders, today=now.date(), obtained=p.obtained
        )

    def cards() -> Any:
        ctx = CardContext(
            hook=p.hook,
            base_url=settings.public_base_url.rstrip("/"),
            consult_id="urn:uuid:00000000-0000-4000-8000-000000000000",
            selections=p.selections,
            mirror_system_actions=settings.mirror_system_actions,
        )
        return CardBuilder(knowledge, ctx, coding_for).build(assessment)

    try:
        resources = unpack_all()
        findings = read()
        assessment = assess(findings, knowledge, settings.policies(), now)
        cards()
    except Exception as exc:
        return [("stages of decide", _raiser(exc))]
    pol = settings.policies()
    return [
        ("- unpack (prefetch Bundles -> resources)", unpack_all),
        ("- read_resources (FHIR -> findings)", read),
        ("- assess (findings -> scores, variants)", lambda: assess(findings, knowledge, pol, now)),
        ("- CardBuilder.build (assessment -> cards)", cards),
    ]  # fmt: skip


def _raiser(exc: Exception) -> Callable[[], object]:
    def fail() -> object:
        raise exc

    return fail


# --- profile ---------------------------------------------------------------------------------


def _where(key: tuple[str, int, str]) -> str:
    filename, line, name = key
    if filename == "~":
        return name  # a built-in
    path = filename
    for prefix, short in ((str(ROOT) + "/", ""), ("site-packages/", "")):
        if prefix in path:
            path = short + path.split(prefix, 1)[1]
    return f"{path}:{line}({name})"


def profile(
    p: Prepared, knowledge: Knowledge, settings: Settings, iterations: int, top: int
) -> dict[str, list[tuple[str, int, float, float]]]:
    """cProfile over ``iterations`` decisions: top rows by cumulative and by own time, each
    (function, calls, own ms per decision, cumulative ms per decision)."""
    unpack_and_decide(p, knowledge, settings)
    profiler = cProfile.Profile()
    profiler.enable()
    for _ in range(iterations):
        unpack_and_decide(p, knowledge, settings)
    profiler.disable()
    stats = pstats.Stats(profiler)
    raw: dict[tuple[str, int, str], tuple[int, int, float, float, Any]] = stats.stats  # type: ignore[attr-defined]
    rows = [
        (_where(key), nc, tt * 1000 / iterations, ct * 1000 / iterations)
        for key, (_cc, nc, tt, ct, _callers) in raw.items()
    ]
    skip = ("unpack_and_decide", "profiler", "disable")
    rows = [r for r in rows if not any(s in r[0] for s in skip)]
    by_cum = sorted(rows, key=lambda r: r[3], reverse=True)[:top]
    by_own = sorted(rows, key=lambda r: r[2], reverse=True)[:top]
    return {"cumulative": by_cum, "own": by_own}
