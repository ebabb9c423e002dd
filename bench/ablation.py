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
import os
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

from bench import appconfig, baseline
from bench.inprocess import asgi_arms, prepare
from bench.payload import realistic_request
from bench.stats import percentile

WARMUP = 50  # untimed requests of each app first
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
            apps = {"real": app, "baseline": baseline.create_app()}
            samples, errors = asgi_arms(apps, body, args.requests, WARMUP)
            if errors:
                raise RuntimeError(f"{name}: {errors} answers were not 200")
        finally:
            setattr(routes, HOP, threaded)
            if audited:
                recorder.stop()
        real, base = (percentile(sorted(samples[arm]), 50) for arm in ("real", "baseline"))
        print(f"| {name} | {real:.3f} | {base:.3f} | {real / base:.2f}x |")
    return 0


def _quiet_logs(path: Path) -> None:
    """Access lines go to a file, as a served process writing its log would (bench/run.py)."""
    from bench.run import _redirect_app_logs

    _redirect_app_logs(path)


if __name__ == "__main__":
    raise SystemExit(main())
