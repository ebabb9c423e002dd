"""Bounded closed-loop HTTP load generator, run in its own process by ``bench.run``.

``concurrency`` workers, each with its own keep-alive ``httpx.AsyncClient`` (one connection),
POST the same body back to back. Requests finished during ``--warmup`` are not counted; the run
stops at ``--duration`` after the warm-up or after ``--max-requests`` requests, whichever is
first.
Prints one JSON object on stdout: counts, latency samples (ms), elapsed time and own CPU time.

    python -m bench.loadgen --url http://127.0.0.1:PORT/path --body FILE
"""

from __future__ import annotations

import argparse
import asyncio
import json
import resource
import signal
import ssl
import sys
import time
from collections import Counter
from pathlib import Path
from typing import Any

# httpcore asks ``import sniffio`` on every lock set-up; when sniffio is not installed each
# failed import searches sys.path again (most of the client's CPU). Failing it at once gives the
# same answer ("asyncio") without the search. Only this load-generator process is affected.
if "sniffio" not in sys.modules:
    try:
        import sniffio  # noqa: F401
    except ImportError:
        sys.modules["sniffio"] = None  # type: ignore[assignment]

import httpx


async def _load(args: argparse.Namespace, body: bytes) -> dict[str, Any]:
    # one keep-alive connection per worker, each in its own client: one shared pool of 16
    # makes httpcore scan every connection for every request (client CPU, not server time)
    limits = httpx.Limits(max_connections=1, max_keepalive_connections=1)
    tls = ssl.create_default_context()  # plain http, but each client would load the CA store
    headers = {"content-type": "application/json"}
    latencies: list[float] = []
    errors: Counter[str] = Counter()
    issued = 0
    clock = time.perf_counter
    start = clock()
    measure_from = start + args.warmup
    stop_at = measure_from + args.duration
    measured_ok = 0

    async def worker() -> None:
        nonlocal issued, measured_ok
        async with httpx.AsyncClient(limits=limits, timeout=args.timeout, verify=tls) as client:
            while issued < args.max_requests:
                t0 = clock()
                if t0 >= stop_at:
                    return
                issued += 1
                try:
                    response = await client.post(args.url, content=body, headers=headers)
                    await response.aread()
                    outcome = (
                        None if response.status_code == 200 else f"HTTP {response.status_code}"
                    )
                except httpx.HTTPError as exc:
                    outcome = type(exc).__name__
                t1 = clock()
                if t0 < measure_from:
                    continue  # warm-up
                if outcome is None:
                    measured_ok += 1
                    latencies.append((t1 - t0) * 1000)
                else:
                    errors[outcome] += 1

    await asyncio.gather(*(worker() for _ in range(args.concurrency)))
    end = clock()
    usage = resource.getrusage(resource.RUSAGE_SELF)
    window = max(min(end, stop_at) - measure_from, 1e-9)
    return {
        "ok": measured_ok,
        "errors": sum(errors.values()),
        "error_kinds": dict(errors),
        "issued": issued,
        "window_s": window,
        "latencies_ms": latencies,
        "client_cpu_s": usage.ru_utime + usage.ru_stime,
        "client_wall_s": end - start,
        "bounded": issued >= args.max_requests,
    }


def _die_with_parent() -> None:
    """Ask Linux to SIGTERM this process when the harness dies (PR_SET_PDEATHSIG)."""
    try:
        import ctypes

        ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGTERM)
    except (OSError, AttributeError):
        pass


def main(argv: list[str] | None = None) -> int:
    _die_with_parent()
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--url", required=True)
    parser.add_argument("--body", required=True, type=Path, help="file with the JSON body")
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--duration", type=float, default=10.0, help="measured seconds")
    parser.add_argument("--warmup", type=float, default=1.0, help="uncounted seconds first")
    parser.add_argument("--max-requests", type=int, default=100_000)
    parser.add_argument("--timeout", type=float, default=30.0, help="per request, seconds")
    args = parser.parse_args(argv)
    body = args.body.read_bytes()
    try:
        import uvloop  # the client must not be the bottleneck: use the fast loop if there
    except ImportError:
        uvloop = None
    if uvloop is not None:
        result = uvloop.run(_load(args, body))
        result["loop"] = "uvloop"
    else:
        result = asyncio.run(_load(args, body))
        result["loop"] = "asyncio"
    json.dump(result, sys.stdout)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
