"""Production entry point: ``python -m app.serve`` runs ``app.main:app`` in N worker processes.

Workers: ``--workers`` or ``VCF_CDS_WORKERS`` or ``WEB_CONCURRENCY`` (default 1); one per core
is the usual choice (the service is CPU-bound Python). With more than one, uvicorn's
supervisor starts the workers, restarts one that dies and, on SIGTERM or SIGINT, sends SIGTERM
to each: every worker then stops accepting, finishes its requests in flight (at most
``VCF_CDS_GRACEFUL_TIMEOUT`` seconds, default 20) and runs the lifespan shutdown, which drains
its audit queue to the database (or the spool) before it exits. Kubernetes' default
``terminationGracePeriodSeconds`` (30 s) leaves room for both.

What the workers (and replicas) share lives in the database: the JWT ``jti`` replay store,
the audit trail and card feedback. Per process, never shared (each worker fills its own):
the loaded knowledge, the JWKS cache of ``jku`` key sets, the audit queue (entries waiting
at most ``VCF_CDS_AUDIT_MAX_WAIT_MS``) and the spool directory files it writes, the
Prometheus metrics (scrape each pod; counters are per worker) and the FHIR HTTP connection
pool. See docs/deploy.md.

Address: ``--host``/``--port`` or ``VCF_CDS_HOST`` / ``VCF_CDS_PORT`` (default 127.0.0.1:8000;
use 0.0.0.0 in a container). ``X-Forwarded-*`` headers are trusted only from
``FORWARDED_ALLOW_IPS`` (uvicorn's variable, default 127.0.0.1).
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import uvicorn

APP = "app.main:app"


class ServeConfigError(ValueError):
    """A serving option is not valid (the message names the variable)."""


@dataclass(frozen=True)
class ServeOptions:
    host: str
    port: int
    workers: int
    graceful_timeout: int


def _int(env: Mapping[str, str], names: Sequence[str], default: int, low: int, high: int) -> int:
    for name in names:
        raw = env.get(name)
        if raw is None or raw.strip() == "":
            continue
        try:
            value = int(raw)
        except ValueError:
            raise ServeConfigError(f"{name}={raw!r} is not an integer") from None
        if not low <= value <= high:
            raise ServeConfigError(f"{name}={value} is outside {low}..{high}")
        return value
    return default


def options(argv: Sequence[str], env: Mapping[str, str]) -> ServeOptions:
    """Command line first, then the environment, then the defaults."""
    parser = argparse.ArgumentParser(prog="python -m app.serve", description=__doc__)
    parser.add_argument("--host", default=env.get("VCF_CDS_HOST") or "127.0.0.1")
    parser.add_argument("--port", type=int)
    parser.add_argument("--workers", type=int)
    args = parser.parse_args(argv)
    workers = _int(env, ["VCF_CDS_WORKERS", "WEB_CONCURRENCY"], 1, 1, 64)
    port = _int(env, ["VCF_CDS_PORT"], 8000, 1, 65535)
    if args.workers is not None:
        workers = _int({"--workers": str(args.workers)}, ["--workers"], 1, 1, 64)
    if args.port is not None:
        port = _int({"--port": str(args.port)}, ["--port"], 8000, 1, 65535)
    graceful = _int(env, ["VCF_CDS_GRACEFUL_TIMEOUT"], 20, 1, 600)
    return ServeOptions(host=args.host, port=port, workers=workers, graceful_timeout=graceful)


def main(argv: Sequence[str] | None = None) -> int:
    try:
        opts = options(sys.argv[1:] if argv is None else argv, os.environ)
    except ServeConfigError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    uvicorn.run(
        APP,
        host=opts.host,
        port=opts.port,
        workers=opts.workers,
        proxy_headers=True,
        access_log=False,  # the service writes its own access line (no query strings)
        timeout_graceful_shutdown=opts.graceful_timeout,
        log_config=None,  # the app configures logging (JSON lines) when it is built
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
