"""One request must not stall the service (issue 10 point 6): a gzip bomb and a 200,000-entry
Bundle from an allow-listed FHIR server on loopback, and 4,900 draft orders. Each gets a clear
4xx or a bounded answer within the fetch budget, and while it runs /api/v1/health/live keeps
answering within 100 ms (measured by concurrent probes on the same event loop, bounded in
number). On main: the bomb cost 606 MB and a 1.57 s stall, the Bundle 4.2 s and 772 MB, the
draft orders blocked all other clients for 2.9 s."""

from __future__ import annotations

import asyncio
import gc
import gzip
import json
import os
import resource
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import httpx
import pytest

from app.main import create_app
from app.settings import Settings
from tests.faults.fhir_loopback import serving
from tests.fhir_builders import draft, hook_request, v1_observations

HEALTH_BOUND_S = 0.100
MAX_PROBES = 400
IDLE_PROBES = 50
IDLE_MAX: list[float] = []
LOOP_CPU: list[float] = []  # longest stretch of event-loop CPU per attack
LOOP_CPU_BOUND_S = 0.100
BUDGET_S = 2.0  # the default fetch budget
MIB = 1024 * 1024


def as_json(body: Any) -> dict[str, Any]:
    """Request kwargs with the body encoded now: encoding it inside the attack would block the
    test's own event loop (the one the health probes share) and be blamed on the service."""
    return {"content": json.dumps(body).encode(), "headers": {"Content-Type": "application/json"}}


def peak_rss_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


async def under_attack(
    settings: Settings, attack: Callable[[httpx.AsyncClient], Awaitable[httpx.Response]]
) -> tuple[httpx.Response, float, float]:
    """Run ``attack`` while probing health; returns (response, attack seconds, max health s)."""
    app = create_app(settings)
    transport = httpx.ASGITransport(app=app)
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(transport=transport, base_url="http://svc") as client,
    ):
        assert (await client.get("/api/v1/health/live")).status_code == 200  # warm
        for path, body in WARM_UP:  # first-call costs (imports, validators) are not the attack
            await client.post(path, **as_json(body))
        # A served process freezes its start-up heap (app.main); this test process also holds
        # the heap of every test run before it, which a full collection during the attack would
        # walk on the loop. Freeze it too, so the loop CPU measured is the service's own.
        gc.collect()
        gc.freeze()
        done = asyncio.Event()
        latencies: list[float] = []

        async def probe(into: list[float], limit: int) -> None:
            while not done.is_set() and len(into) < limit:
                started = time.perf_counter()
                r = await client.get("/api/v1/health/live")
                into.append(time.perf_counter() - started)
                assert r.status_code == 200
                await asyncio.sleep(0.005)

        idle: list[float] = []  # the same probes with no attack: what this machine gives
        await probe(idle, IDLE_PROBES)

        async def run() -> tuple[httpx.Response, float]:
            await asyncio.sleep(0.02)  # the probes are running
            started = time.perf_counter()
            try:
                return await attack(client), time.perf_counter() - started
            finally:
                done.set()

        stretches: list[float] = []

        async def heartbeat() -> None:
            """The event loop's CPU time between two turns of this coroutine: one to two
            loop iterations, i.e. what every other task on the loop waits for in CPU. Unlike
            wall-clock latency it does not grow with waits for a core, so it is the condition
            asserted (LOOP_CPU_BOUND_S)."""
            while not done.is_set():
                cpu = time.thread_time()
                await asyncio.sleep(0.002)
                stretches.append(time.thread_time() - cpu)

        prober = asyncio.create_task(probe(latencies, MAX_PROBES))
        beat = asyncio.create_task(heartbeat())
        response, seconds = await run()
        await prober
        await beat
    gc.unfreeze()  # later tests' garbage is collected as before
    assert latencies, "no health probe ran"
    IDLE_MAX.append(max(idle))
    LOOP_CPU.append(max(stretches))
    return response, seconds, max(latencies)


WARM_UP = [
    ("/cds-services/vcf-order-sign", hook_request("order-sign", v1_observations())),
    ("/cds-services/vcf-order-select", hook_request("order-select", v1_observations())),
    ("/api/v1/assessments", {"resourceType": "Bundle", "entry": []}),
]


def assert_loop_free(health: float) -> None:
    """The event loop never ran more than 100 ms of CPU in one stretch (always asserted: it
    does not depend on how busy the machine is). With VCF_CDS_FAULTS_WALL=1, also: health
    answered within 100 ms over the slowest idle probe of the same run. That wall-clock bound
    is reported, not asserted by default: on a shared machine the loop waits for the GIL and a
    core behind the worker threads (docs/faults.md), and tests do not assert wall-clock times."""
    assert LOOP_CPU[-1] < LOOP_CPU_BOUND_S, f"loop ran {LOOP_CPU[-1] * 1000:.0f} ms of CPU"
    if os.environ.get("VCF_CDS_FAULTS_WALL") == "1":
        bound = HEALTH_BOUND_S + IDLE_MAX[-1]
        assert health < bound, f"health took {health * 1000:.0f} ms (bound {bound * 1000:.0f})"


def fetching(settings: Settings, base: str) -> Settings:
    return settings.model_copy(
        update={"fhir_server_allowlist": [base], "fhir_fetch_budget_seconds": BUDGET_S}
    )


def fetch_everything(base: str) -> dict[str, Any]:
    """An order-select call with no prefetch: everything is fetched from ``base``."""
    req = hook_request("order-select", v1_observations(), drafts=[draft("s", "72158")])
    req["prefetch"] = {}
    req["fhirServer"] = base
    req["fhirAuthorization"] = {
        "access_token": "tok",
        "token_type": "Bearer",
        "expires_in": 300,
        "scope": "patient/*.read",
        "subject": "vcf-cds",
    }
    return req


def report(name: str, r: httpx.Response, seconds: float, health: float, rss: float) -> None:
    print(
        f"\n{name}: HTTP {r.status_code} in {seconds * 1000:.0f} ms, max health "
        f"{health * 1000:.1f} ms (idle {IDLE_MAX[-1] * 1000:.1f} ms), longest loop CPU "
        f"{LOOP_CPU[-1] * 1000:.1f} ms, "
        f"peak RSS +{peak_rss_mib() - rss:.0f} MiB"
    )


def gzip_bomb() -> bytes:
    """~200 KB of gzip that inflates to 200 MiB: a Bundle opening, then blanks."""
    raw = gzip.compress(b'{"resourceType":"Bundle","entry":[' + b" " * (200 * MIB), 9)
    assert len(raw) < 300_000
    return raw


def test_gzip_bomb_from_the_fhir_server(settings: Settings, tmp_path: Path) -> None:
    bomb = gzip_bomb()
    rss = peak_rss_mib()
    with serving(bomb, {"Content-Encoding": "gzip"}, tmp_path) as base:
        s = fetching(settings, base)
        r, seconds, health = asyncio.run(
            under_attack(
                s,
                lambda c: c.post(
                    "/cds-services/vcf-order-select", **as_json(fetch_everything(base))
                ),
            )
        )
    report("gzip bomb", r, seconds, health, rss)
    assert r.status_code == 412  # required data could not be had: a clear 4xx
    assert r.json()["resourceType"] == "OperationOutcome"
    assert seconds < BUDGET_S, f"{seconds:.2f} s"
    assert_loop_free(health)
    # inflated at most to the cap (8 MiB) per fetch, never to 200 MiB
    assert peak_rss_mib() - rss < 150


@pytest.mark.parametrize(
    "entry",
    [
        pytest.param({}, id="tiny-entries-entry-cap"),
        pytest.param(
            {"resource": {"resourceType": "Observation", "id": "o", "status": "final"}},
            id="observations-byte-cap",
        ),
    ],
)
def test_200000_entry_bundle_from_the_fhir_server(
    settings: Settings, entry: Any, tmp_path: Path
) -> None:
    page = json.dumps(
        {"resourceType": "Bundle", "type": "searchset", "entry": [entry] * 200_000}
    ).encode()
    rss = peak_rss_mib()
    with serving(page, {}, tmp_path) as base:
        s = fetching(settings, base)
        r, seconds, health = asyncio.run(
            under_attack(
                s,
                lambda c: c.post(
                    "/cds-services/vcf-order-select", **as_json(fetch_everything(base))
                ),
            )
        )
    report(f"200,000-entry Bundle ({len(page) // 1024} KiB)", r, seconds, health, rss)
    assert r.status_code == 412 and r.json()["resourceType"] == "OperationOutcome"
    assert seconds < BUDGET_S, f"{seconds:.2f} s"
    assert_loop_free(health)


def many_drafts(n: int) -> list[dict[str, Any]]:
    return [
        draft(f"sr{i}", "72158", "MRI lumbar spine without and with contrast") for i in range(n)
    ]


def test_4900_draft_orders_are_refused_naming_the_field(settings: Settings) -> None:
    req = as_json(hook_request("order-sign", v1_observations(), drafts=many_drafts(4900)))
    rss = peak_rss_mib()
    r, seconds, health = asyncio.run(
        under_attack(settings, lambda c: c.post("/cds-services/vcf-order-sign", **req))
    )
    report("4,900 draft orders (order-sign)", r, seconds, health, rss)
    assert r.status_code == 413
    [issue] = r.json()["issue"]
    assert issue["code"] == "too-costly" and "draftOrders" in json.dumps(issue)
    assert_loop_free(health)

    bundle = as_json(
        {"resourceType": "Bundle", "entry": [{"resource": d} for d in many_drafts(4900)]}
    )
    r, seconds, health = asyncio.run(
        under_attack(settings, lambda c: c.post("/api/v1/assessments", **bundle))
    )
    report("4,900 draft orders (assessments)", r, seconds, health, rss)
    assert r.status_code == 413
    [issue] = r.json()["issue"]
    assert "draft ServiceRequests" in issue["diagnostics"] or "entry" in json.dumps(issue)
    assert_loop_free(health)


def test_decisions_at_the_cap_run_off_the_event_loop(settings: Settings) -> None:
    """100 draft orders (the cap) are rated; the decision runs in a worker thread, so health
    answers meanwhile."""
    req = as_json(hook_request("order-sign", v1_observations(), drafts=many_drafts(100)))
    rss = peak_rss_mib()

    async def attack(c: httpx.AsyncClient) -> httpx.Response:
        calls = [c.post("/cds-services/vcf-order-sign", **req) for _ in range(4)]
        responses = await asyncio.gather(*calls)
        assert all(x.status_code == 200 for x in responses)
        return responses[0]

    r, seconds, health = asyncio.run(under_attack(settings, attack))
    report("4 concurrent calls with 100 draft orders", r, seconds, health, rss)
    assert r.status_code == 200 and r.json()["cards"]
    assert_loop_free(health)


def test_fetch_caps_and_encodings(tmp_path: Path) -> None:
    """The capped reader itself: a bomb is cut at the cap with the reason, small gzip and
    deflate Bundles are read whole, an encoding we did not ask for is refused."""
    import zlib

    from app.cds_hooks.prefetch import _fetch

    small = json.dumps({"resourceType": "Bundle", "entry": [{"resource": {"id": "x"}}] * 3})
    cases: list[tuple[bytes, dict[str, str], str | None]] = [
        (gzip_bomb(), {"Content-Encoding": "gzip"}, "more than 1048576 bytes"),
        (gzip.compress(small.encode()), {"Content-Encoding": "gzip"}, None),
        (zlib.compress(small.encode()), {"Content-Encoding": "deflate"}, None),
        (small.encode(), {"Content-Encoding": "br"}, "unsupported Content-Encoding br"),
        (b" " * (2 * MIB), {}, "more than 1048576 bytes"),  # declared length over the cap
    ]

    async def fetch(base: str, max_bytes: int = MIB) -> tuple[Any, str | None]:
        async with httpx.AsyncClient() as client:
            return await _fetch(
                client, base, "Observation?patient=p1", {}, max_bytes=max_bytes, max_entries=10
            )

    for body, headers, problem in cases:
        with serving(body, headers, tmp_path) as base:
            value, got = asyncio.run(fetch(base))
        if problem is None:
            assert got is None and len(value["entry"]) == 3
        else:
            assert got is not None and problem in got, (headers, got)
            assert value is None


def test_a_bomb_is_refused_by_its_ratio_before_the_size_cap(tmp_path: Path) -> None:
    """Under an 8 MiB cap the ~1000x bomb is refused for its inflation ratio after ~1 MiB, so
    it costs the event loop an eighth of the cap; a Bundle of 5,000 near-identical entries
    (~106x, the most compressible honest answer measured) is read whole."""
    from app.cds_hooks.prefetch import MAX_INFLATE_RATIO, _fetch

    one = v1_observations()[0]
    honest = {
        "resourceType": "Bundle",
        "entry": [{"resource": dict(one, id=f"o{i}")} for i in range(5000)],
    }
    raw = json.dumps(honest).encode()
    honest_gz = gzip.compress(raw, 9)
    assert len(raw) > 1024 * 1024 and 100 < len(raw) / len(honest_gz) < MAX_INFLATE_RATIO

    async def fetch(base: str) -> tuple[Any, str | None]:
        async with httpx.AsyncClient() as client:
            return await _fetch(
                client, base, "Observation?patient=p1", {}, max_bytes=8 * MIB, max_entries=5000
            )

    with serving(gzip_bomb(), {"Content-Encoding": "gzip"}, tmp_path) as base:
        value, got = asyncio.run(fetch(base))
    assert value is None and got is not None
    assert f"inflates more than {MAX_INFLATE_RATIO} times" in got
    with serving(honest_gz, {"Content-Encoding": "gzip"}, tmp_path) as base:
        value, got = asyncio.run(fetch(base))
    assert got is None and len(value["entry"]) == 5000


def test_dropped_audit_entries_are_a_metric() -> None:
    from app.observability.metrics import Metrics

    body, _ = Metrics(audit_dropped=lambda: 7).render()
    assert b"vcf_cds_audit_entries_dropped_total 7.0" in body
