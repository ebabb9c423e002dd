"""What the parts around the decision cost in process: ``.venv/bin/python -m bench.ablation``.

The 60-resource order-select (bench/payload.py) through ``httpx.ASGITransport``, one request
to the service and one to the bare baseline (bench/baseline.py) in turn, in four arms, each on
a fresh app:

* ``full``: the service as it runs (audit trail on, the decision in a worker thread);
* ``no audit``: ``app.state.audit`` set to None, so the routes submit no entry;
* ``inline``: the decision called on the event loop instead of through ``off_loop``;
* ``inline, no audit``: both.

The last three break the product's rules (every call is audited; CPU-bound work stays off the
event loop, docs/faults.md): an experiment that prices those parts against the issue's
in-process target (whole request <= 3x the baseline, p50), never a configuration. A benchmark,
not a test: nothing asserts.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import os
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
from fastapi import FastAPI

from bench import appconfig, baseline
from bench.inprocess import HEADERS, URL, prepare
from bench.payload import realistic_request
from bench.stats import percentile

HOP = "off_loop"  # the route module's name for the worker-thread hop, swapped per arm
# name, audit trail on, decision on the event loop
ARMS: tuple[tuple[str, bool, bool], ...] = (
    ("full", True, False),
    ("no audit", False, False),
    ("inline", True, True),
    ("inline, no audit", False, True),
)


async def _inline(fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
    """``off_loop`` replaced: the call runs on the event loop (the experiment's ``inline``)."""
    return fn(*args, **kwargs)


async def _interleaved(app: FastAPI, bare: FastAPI, body: bytes, n: int) -> tuple[float, float]:
    """p50 ms of the service and of the baseline, ``n`` requests each, alternating."""
    clock = time.perf_counter_ns
    real: list[float] = []
    base: list[float] = []
    async with (
        httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://b") as c,
        httpx.AsyncClient(transport=httpx.ASGITransport(app=bare), base_url="http://b") as b,
    ):
        for i in range(n + 50):  # the first 50 of each warm up
            t0 = clock()
            response = await c.post(URL, content=body, headers=HEADERS)
            t1 = clock()
            await b.post(URL, content=body, headers=HEADERS)
            t2 = clock()
            if response.status_code != 200:
                raise RuntimeError(f"the service answered {response.status_code}")
            if i == 50:
                gc.collect()
            if i >= 50:
                real.append((t1 - t0) / 1e6)
                base.append((t2 - t1) / 1e6)
    return percentile(sorted(real), 50), percentile(sorted(base), 50)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=400, help="timed requests per arm")
    args = parser.parse_args(argv)
    workdir = Path(tempfile.mkdtemp(prefix="vcf-bench-ablation-"))
    url = f"sqlite:///{workdir}/bench.db"
    os.environ.update(appconfig.server_env(workdir))
    os.environ["VCF_CDS_DATABASE_URL"] = url
    import app.api.cds_hooks_routes as routes
    from app.main import create_app
    from app.settings import Settings

    appconfig.migrate(url)
    settings = Settings(**appconfig.settings_kwargs(workdir, url))
    body = prepare(realistic_request()).body
    print(f"| arm | service p50 ms | baseline p50 ms | ratio |  ({args.requests} requests each)")
    print("|---|---|---|---|")
    threaded = getattr(routes, HOP)
    for name, audited, inline in ARMS:
        app = create_app(settings)
        _quiet_logs(workdir / "app.log")
        recorder = app.state.audit
        if audited:
            recorder.start()  # what the lifespan does when served
        else:
            app.state.audit = None
        setattr(routes, HOP, _inline if inline else threaded)
        try:
            real, base = asyncio.run(_interleaved(app, baseline.create_app(), body, args.requests))
        finally:
            setattr(routes, HOP, threaded)
            if audited:
                recorder.stop()
        print(f"| {name} | {real:.3f} | {base:.3f} | {real / base:.2f}x |")
    return 0


def _quiet_logs(path: Path) -> None:
    """Access lines go to a file, as a served process writing its log would (bench/run.py)."""
    from bench.run import _redirect_app_logs

    _redirect_app_logs(path)


if __name__ == "__main__":
    raise SystemExit(main())
