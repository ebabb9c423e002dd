"""Audit overhead, in process: ``.venv/bin/python -m bench.audit_overhead [--postgres]``.

1. ``build_entry`` and ``submit()`` per call (what the routes add), 300 calls each.
2. Whole ASGI requests (order-select hook, no sockets) without and with the audit trail
   (``app.state.audit`` set to None switches it off), 300 calls each, in alternating blocks;
   the process CPU per request of each arm, and the CPU the audit writer and guard threads
   spent per audited request (their own thread CPU clocks): the work the audit trail adds
   off the request path, which still competes with the decisions for the GIL.

The database is a migrated SQLite file (or, with ``--postgres``, a throwaway PostgreSQL on
loopback). A benchmark, not a test: nothing asserts.
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import json
import logging
import statistics
import tempfile
import threading
import time
import uuid
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
from fastapi import FastAPI

from app.audit.entry import build_entry
from app.audit.recorder import AuditRecorder
from app.cds_hooks.models import dump_response
from app.db.migrate import upgrade
from app.decision import decide
from app.main import create_app
from app.settings import Settings
from tests.audit.support import PATIENT_ID, order_select_request

CALLS = 300
BLOCK = 50
WARMUP = 30
URL = "/cds-services/vcf-order-select"


def stats_ms(values: list[float]) -> str:
    """median / p95 / p99 / max of seconds, in milliseconds."""
    q = statistics.quantiles(values, n=100, method="inclusive")
    return (
        f"median {statistics.median(values) * 1e3:7.3f}  p95 {q[94] * 1e3:7.3f}  "
        f"p99 {q[98] * 1e3:7.3f}  max {max(values) * 1e3:7.3f} ms"
    )


@contextmanager
def database(postgres: bool, tmp: Path) -> Iterator[str]:
    if not postgres:
        url = f"sqlite:///{tmp / 'measure.db'}"
        upgrade(url)
        yield url
        return
    from tests.support.postgres import PostgresServer

    with PostgresServer() as server:
        upgrade(server.url)
        yield server.url


def settings_for(url: str, tmp: Path) -> Settings:
    return Settings(
        environment="test",
        database_url=url,
        auth_required=False,
        audit_secret="measure-secret",  # type: ignore[arg-type]
        audit_spool_dir=tmp / "spool",
    )


async def requests(app: FastAPI, body: bytes, n: int) -> list[float]:
    transport = httpx.ASGITransport(app=app)
    headers = {"content-type": "application/json"}
    out = []
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
        for _ in range(n):
            started = time.perf_counter()
            response = await client.post(URL, content=body, headers=headers)
            out.append(time.perf_counter() - started)
            if response.status_code != 200:
                raise RuntimeError(response.text)
    return out


def thread_cpu(name: str) -> float:
    """CPU seconds used so far by the live thread called ``name`` (0.0 when there is none)."""
    for thread in threading.enumerate():
        if thread.name == name and thread.ident is not None:
            return time.clock_gettime(time.pthread_getcpuclockid(thread.ident))
    return 0.0


AUDIT_THREADS = ("audit-writer", "audit-guard")


def measure_entry(app: FastAPI, recorder: AuditRecorder) -> tuple[list[float], list[float]]:
    """Time ``build_entry`` and ``submit`` for one realistic order-select decision."""
    request = order_select_request()
    prefetch = request["prefetch"]
    resources = [e["resource"] for v in prefetch.values() for e in v.get("entry", [])]
    decision = decide(
        [*resources, prefetch["patient"]],
        [e["resource"] for e in request["context"]["draftOrders"]["entry"]],
        obtained={},
        issues=[],
        hook="order-select",
        selections=frozenset(request["context"]["selections"]),
        knowledge=app.state.knowledge,
        settings=app.state.settings,
    )
    body = dump_response(decision.response)
    build_s, submit_s = [], []
    for _ in range(CALLS):
        t0 = time.perf_counter()
        entry = build_entry(
            decision,
            service="vcf-order-select",
            hook="order-select",
            hook_instance=request["hookInstance"],
            patient_id=PATIENT_ID,
            raw_input=request,
            started=t0,
            secret=b"measure-secret",
            client_iss=None,
            response_body=body,
        )
        t1 = time.perf_counter()
        entry = dataclasses.replace(entry, consult_id=f"urn:uuid:{uuid.uuid4()}")  # not a dup
        t2 = time.perf_counter()
        recorder.submit(entry)
        t3 = time.perf_counter()
        build_s.append(t1 - t0)
        submit_s.append(t3 - t2)
        time.sleep(0.002)  # a realistic arrival rate, so the writer keeps up
    return build_s, submit_s


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--postgres", action="store_true", help="PostgreSQL instead of SQLite")
    args = parser.parse_args()
    warnings.simplefilter("ignore")
    logging.disable(logging.INFO)  # access logs would dominate both variants
    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        with database(args.postgres, tmp) as url:
            settings = settings_for(url, tmp)
            plain = create_app(settings)
            plain.state.audit = None  # the routes submit nothing without a recorder
            audited = create_app(settings)
            recorder: AuditRecorder = audited.state.audit
            recorder.start()  # the lifespan does this when served
            body = json.dumps(order_select_request()).encode()
            try:
                asyncio.run(requests(plain, body, WARMUP))
                asyncio.run(requests(audited, body, WARMUP))
                without: list[float] = []
                with_audit: list[float] = []
                cpu = {"without": 0.0, "with": 0.0}
                audit_cpu = dict.fromkeys(AUDIT_THREADS, 0.0)
                for _ in range(CALLS // BLOCK):
                    c0 = time.process_time()
                    without += asyncio.run(requests(plain, body, BLOCK))
                    cpu["without"] += time.process_time() - c0
                    recorder.wait_idle(30)
                    before = {name: thread_cpu(name) for name in AUDIT_THREADS}
                    c0 = time.process_time()
                    with_audit += asyncio.run(requests(audited, body, BLOCK))
                    recorder.wait_idle(30)  # the writer's work for these requests included
                    cpu["with"] += time.process_time() - c0
                    for name in AUDIT_THREADS:
                        audit_cpu[name] += thread_cpu(name) - before[name]
                build_s, submit_s = measure_entry(audited, recorder)
                recorder.wait_idle(30)
            finally:
                recorder.stop()
            kind = "PostgreSQL" if args.postgres else "SQLite"
            print(f"database: {kind}; {CALLS} calls each, in process")
            print(f"build_entry          {stats_ms(build_s)}")
            print(f"submit()             {stats_ms(submit_s)}")
            print(f"request w/o audit    {stats_ms(without)}")
            print(f"request with audit   {stats_ms(with_audit)}")
            delta = statistics.median(with_audit) - statistics.median(without)
            print(f"median difference    {delta * 1e3:+.3f} ms per request")
            per = {k: v / len(without) * 1e3 for k, v in cpu.items()}
            print(
                f"process CPU/request  without {per['without']:.3f} ms, with {per['with']:.3f} ms"
                f" ({per['with'] - per['without']:+.3f} ms)"
            )
            for name, seconds in audit_cpu.items():
                print(f"{name + ' CPU':20s} {seconds / len(with_audit) * 1e3:.3f} ms per request")
            print(f"spool depth at end   {recorder.spool_depth()}; lost {recorder.lost}")


if __name__ == "__main__":
    main()
