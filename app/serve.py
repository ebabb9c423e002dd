"""Production entry point: ``python -m app.serve`` runs ``app.main:app`` in N worker processes.

Workers: ``--workers`` or ``VCF_CDS_WORKERS`` or ``WEB_CONCURRENCY`` (default 1); one per core
is the usual choice (the service is CPU-bound Python). With more than one, uvicorn's
supervisor starts the workers, restarts one that dies and, on SIGTERM or SIGINT, sends SIGTERM
to each: every worker then stops accepting, finishes its requests in flight (at most
``VCF_CDS_GRACEFUL_TIMEOUT`` seconds, default 20) and runs the lifespan shutdown, which waits
for decisions still running (at most 5 s) and drains its audit queue to the database (or the
spool) before it exits. Kubernetes' default ``terminationGracePeriodSeconds`` (30 s) just
covers the three bounds (20 + 5 + 5 s); deploy/base sets 40 s.

What the workers (and replicas) share lives in the database: the JWT ``jti`` replay store,
the audit trail and card feedback. Per process, never shared (each worker fills its own):
the loaded knowledge, the JWKS cache of ``jku`` key sets, the audit queue (entries waiting
at most ``VCF_CDS_AUDIT_MAX_WAIT_MS``) and the spool directory files it writes, the
Prometheus metrics (scrape each pod; counters are per worker) and the FHIR HTTP connection
pool. See docs/deploy.md.

Connections are spread over the workers by the kernel (Linux ``SO_REUSEPORT``): each worker
listens on a socket of its own on the same address, and every new connection goes to one of
them by a hash of its addresses. With one shared listening socket (uvicorn's default) the
worker that wakes first accepts every connection waiting, so a client or load balancer that
opens its keep-alive connections together can put all of them on one worker while the others
idle (measured: 32 of 32, or 27 of 32, on one of two workers; bench/README.md). The
supervisor keeps the address bound without listening, for workers it restarts. A worker that
exits resets the connections still waiting in its own accept queue (the shared socket would
leave them to the others); ``VCF_CDS_REUSE_PORT=false`` restores the shared socket.

Interpreter, per process (workers included): ``VCF_CDS_SWITCH_INTERVAL_MS`` (default
``DEFAULT_SWITCH_INTERVAL_MS``) is ``sys.setswitchinterval``: how long a thread that wants the
GIL back (the event loop after ``epoll``, the audit writer after each SQLite call) waits
before the running thread (a decision) must hand it over. The audit writer re-takes the GIL
after every statement of its transaction while holding the SQLite write lock, so with two
workers the other worker's writer waits on the lock for as long (bench/README.md, "Workers").

``VCF_CDS_PIN_WORKERS=true`` (default false) pins each serving process to a CPU of its own
(app/cpu_affinity.py): only where the CPUs are the pod's or the machine's own, never on CPUs
shared under a quota.

Address: ``--host``/``--port`` or ``VCF_CDS_HOST`` / ``VCF_CDS_PORT`` (default 127.0.0.1:8000;
use 0.0.0.0 in a container). ``X-Forwarded-*`` headers are trusted only from
``FORWARDED_ALLOW_IPS`` (uvicorn's variable, default 127.0.0.1).
"""

from __future__ import annotations

import argparse
import contextlib
import logging
import os
import socket
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, TypedDict

import uvicorn
from uvicorn.supervisors import Multiprocess

from app.cpu_affinity import pin_to_free_cpu

APP = "app.main:app"
log = logging.getLogger("vcf_cds.serve")
DEFAULT_SWITCH_INTERVAL_MS = 5.0  # Python's own default


class ServeConfigError(ValueError):
    """A serving option is not valid (the message names the variable)."""


@dataclass(frozen=True)
class ServeOptions:
    host: str
    port: int
    workers: int
    graceful_timeout: int
    reuse_port: bool = True
    switch_interval_ms: float = DEFAULT_SWITCH_INTERVAL_MS
    pin_workers: bool = False


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
    reuse_port = _bool(env, "VCF_CDS_REUSE_PORT", hasattr(socket, "SO_REUSEPORT"))
    return ServeOptions(
        host=args.host,
        port=port,
        workers=workers,
        graceful_timeout=graceful,
        reuse_port=reuse_port,
        switch_interval_ms=_float(
            env, "VCF_CDS_SWITCH_INTERVAL_MS", DEFAULT_SWITCH_INTERVAL_MS, 0.1, 100.0
        ),
        pin_workers=_bool(env, "VCF_CDS_PIN_WORKERS", False),
    )


def _float(env: Mapping[str, str], name: str, default: float, low: float, high: float) -> float:
    raw = (env.get(name) or "").strip()
    if not raw:
        return default
    try:
        value = float(raw)
    except ValueError:
        raise ServeConfigError(f"{name}={raw!r} is not a number") from None
    if not low <= value <= high:
        raise ServeConfigError(f"{name}={value:g} is outside {low:g}..{high:g}")
    return value


def _bool(env: Mapping[str, str], name: str, default: bool) -> bool:
    raw = (env.get(name) or "").strip().lower()
    if not raw:
        return default
    if raw in ("1", "true", "yes", "on"):
        return True
    if raw in ("0", "false", "no", "off"):
        return False
    raise ServeConfigError(f"{name}={raw!r} is not true or false")


def _family(host: str) -> socket.AddressFamily:
    return socket.AF_INET6 if ":" in host else socket.AF_INET


def _reuse_port_socket(family: socket.AddressFamily, address: Any) -> socket.socket:
    sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
    sock.bind(address)
    return sock


class WorkerListener(socket.socket):
    """The supervisor's bound, never listening socket. Pickled into a worker process (uvicorn
    spawns its workers and hands them the sockets), it arrives there as a socket of the
    worker's own bound to the same address with ``SO_REUSEPORT``, which the worker's server
    then listens on."""

    def __reduce_ex__(self, protocol: Any) -> tuple[Any, ...]:
        return (_reuse_port_socket, (self.family, self.getsockname()[:2]))


def bind_worker_listener(host: str, port: int) -> WorkerListener:
    """Bind ``host:port`` in the supervisor with ``SO_REUSEPORT`` (``port`` 0: any free port,
    which the workers then share)."""
    sock = WorkerListener(_family(host), socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
    sock.bind((host, port))
    return sock


class _UvicornOptions(TypedDict):
    """The ``uvicorn.run`` / ``uvicorn.Config`` keyword arguments the service sets."""

    host: str
    port: int
    workers: int
    proxy_headers: bool
    access_log: bool
    timeout_graceful_shutdown: int
    log_config: None


class WorkerConfig(uvicorn.Config):
    """uvicorn's configuration plus the interpreter settings of every serving process.
    uvicorn pickles the configuration into each worker it spawns and calls
    ``configure_logging`` there first, so the settings are applied in that hook."""

    def __init__(
        self, app: str, *, switch_interval_ms: float, pin_cpu: bool = False, **kwargs: Any
    ) -> None:
        self.switch_interval_ms = switch_interval_ms  # before uvicorn's __init__ logs
        self.pin_cpu = pin_cpu
        super().__init__(app, **kwargs)

    def load(self) -> None:
        """uvicorn loads the app in each serving process (never in the supervisor): claim a
        CPU first (``VCF_CDS_PIN_WORKERS``, app/cpu_affinity.py), so every thread the app
        starts runs on it."""
        cpu = pin_to_free_cpu() if self.pin_cpu else None
        super().load()
        if self.pin_cpu:
            if cpu is None:
                log.warning("VCF_CDS_PIN_WORKERS: every CPU is taken; this worker is not pinned")
            else:
                log.info("worker pinned to CPU %d (VCF_CDS_PIN_WORKERS)", cpu)

    def configure_logging(self) -> None:
        super().configure_logging()
        sys.setswitchinterval(self.switch_interval_ms / 1000.0)
        # what a log record collects that no line of this service writes (the JSON lines carry
        # time, level, logger, message, request and trace ids): the logging HOWTO's
        # "Optimization" switches; the caller's file and line cost a stack walk per record
        logging._srcfile = None
        logging.logThreads = logging.logProcesses = logging.logMultiprocessing = False


def main(argv: Sequence[str] | None = None) -> int:
    try:
        opts = options(sys.argv[1:] if argv is None else argv, os.environ)
    except ServeConfigError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    settings: _UvicornOptions = {
        "host": opts.host,
        "port": opts.port,
        "workers": opts.workers,
        "proxy_headers": True,
        "access_log": False,  # the service writes its own access line (no query strings)
        "timeout_graceful_shutdown": opts.graceful_timeout,
        "log_config": None,  # the app configures logging (JSON lines) when it is built
    }
    config = WorkerConfig(
        APP, switch_interval_ms=opts.switch_interval_ms, pin_cpu=opts.pin_workers, **settings
    )
    if opts.workers == 1:
        server = uvicorn.Server(config)
        with contextlib.suppress(KeyboardInterrupt):  # uvicorn re-raises SIGINT after stopping
            server.run()
        return 0 if server.started else 3  # 3: uvicorn's start-up failure code
    try:
        if opts.reuse_port:
            sock: socket.socket = bind_worker_listener(opts.host, opts.port)
        else:
            sock = config.bind_socket()  # one shared listening socket (uvicorn's default)
    except (OSError, SystemExit) as exc:
        print(f"error: cannot bind {opts.host}:{opts.port}: {exc}", file=sys.stderr)
        return 3
    try:
        Multiprocess(config, sockets=[sock]).run()
    except KeyboardInterrupt:
        pass
    finally:
        sock.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
