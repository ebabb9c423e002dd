"""A loopback "cluster" for the replica test: service replicas (``python -m app.serve``, each
a real uvicorn process group on 127.0.0.1 with its own port and spool directory) behind
HAProxy (Debian's ``haproxy``), all on one PostgreSQL (tests/support/postgres.py)."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from tests.support.postgres import free_port

ROOT = Path(__file__).resolve().parents[2]
START_TIMEOUT = 90.0  # seconds for a replica to answer ready (2 shared cores, knowledge load)


def find_haproxy() -> str | None:
    """The haproxy binary (PATH or Debian's /usr/sbin), or None."""
    found = shutil.which("haproxy")
    if found:
        return found
    return "/usr/sbin/haproxy" if os.access("/usr/sbin/haproxy", os.X_OK) else None


def wait_for(what: str, check: Any, timeout: float, interval: float = 0.05) -> Any:
    """Poll ``check()`` until it returns a truthy value; AssertionError after ``timeout``."""
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if value:
            return value
        if time.monotonic() >= deadline:
            raise AssertionError(f"timed out after {timeout:.0f} s waiting for {what}")
        time.sleep(interval)


def _get(url: str) -> int:
    try:
        return httpx.get(url, timeout=2.0).status_code
    except httpx.HTTPError:
        return 0


@dataclass
class Replica:
    """One service replica: ``python -m app.serve`` in its own process group."""

    name: str
    env: dict[str, str]
    workdir: Path
    workers: int = 1
    port: int = field(default_factory=free_port)
    proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def spool_dir(self) -> Path:
        return self.workdir / f"spool-{self.name}"

    @property
    def log_file(self) -> Path:
        return self.workdir / f"replica-{self.name}.log"

    def start(self) -> None:
        env = {
            **self.env,
            "VCF_CDS_AUDIT_SPOOL_DIR": str(self.spool_dir),
            "VCF_CDS_WORKERS": str(self.workers),
        }
        args = [sys.executable, "-m", "app.serve", "--port", str(self.port)]
        with self.log_file.open("ab") as log:
            self.proc = subprocess.Popen(
                args,
                cwd=ROOT,
                env=env,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,  # its own process group: SIGKILL takes the workers too
            )
        wait_for(f"replica {self.name} ready", self._ready, START_TIMEOUT, 0.2)

    def _ready(self) -> bool:
        if self.proc is not None and self.proc.poll() is not None:
            raise AssertionError(
                f"replica {self.name} exited ({self.proc.returncode}):\n{self.log_tail()}"
            )
        return _get(self.url + "/api/v1/health/ready") == 200

    def terminate(self, timeout: float = 60.0) -> int:
        """SIGTERM to the supervisor (what Kubernetes sends to PID 1); wait for the exit."""
        assert self.proc is not None
        self.proc.send_signal(signal.SIGTERM)
        return self.proc.wait(timeout)

    def kill(self) -> None:
        """SIGKILL the whole process group (supervisor and workers): a crash."""
        assert self.proc is not None
        os.killpg(self.proc.pid, signal.SIGKILL)
        self.proc.wait(30)

    def stop_quietly(self) -> None:
        if self.proc is None or self.proc.poll() is not None:
            return
        try:
            self.terminate(30)
        except subprocess.TimeoutExpired:
            self.kill()

    def spool_segments(self) -> list[Path]:
        return sorted(self.spool_dir.glob("*.jsonl")) if self.spool_dir.exists() else []

    def log_tail(self) -> str:
        try:
            return self.log_file.read_text(errors="replace")[-4000:]
        except OSError:
            return ""


HAPROXY_CONFIG = """\
global
    maxconn 512

defaults
    mode http
    timeout connect 2s
    timeout client 60s
    timeout server 60s
    retries 2
    option redispatch

frontend vcf_cds
    bind 127.0.0.1:{port}
    default_backend replicas

backend replicas
    balance roundrobin
    option httpchk GET /api/v1/health/ready
    http-check expect status 200
    default-server inter 200ms fall 2 rise 1
    http-response set-header X-Served-By %[srv_name]
{servers}
"""


@dataclass
class HAProxy:
    """HAProxy in the foreground (``-db``), round robin over the replicas, health-checked on
    /api/v1/health/ready; responses carry ``X-Served-By: <replica name>``."""

    binary: str
    workdir: Path
    port: int = field(default_factory=free_port)
    proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self, replicas: Iterable[Replica]) -> None:
        servers = "".join(f"    server {r.name} 127.0.0.1:{r.port} check\n" for r in replicas)
        config = self.workdir / "haproxy.cfg"
        config.write_text(HAPROXY_CONFIG.format(port=self.port, servers=servers))
        check = subprocess.run([self.binary, "-c", "-f", str(config)], capture_output=True)
        assert check.returncode == 0, check.stderr.decode(errors="replace")
        log = (self.workdir / "haproxy.log").open("ab")
        self.proc = subprocess.Popen(
            [self.binary, "-db", "-f", str(config)],
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        log.close()
        wait_for("haproxy listening", lambda: _get(self.url + "/api/v1/health/live") == 200, 30)

    def serving(self) -> set[str]:
        """Replica names seen answering through the proxy in a few requests."""
        names = set()
        for _ in range(6):
            try:
                r = httpx.get(self.url + "/api/v1/health/live", timeout=2.0)
            except httpx.HTTPError:
                continue
            if r.status_code == 200:
                names.add(r.headers.get("x-served-by", ""))
        return names

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(10)


def read_results(path: Path) -> list[dict[str, Any]]:
    """The JSON lines the locust users wrote (a torn last line is ignored)."""
    if not path.exists():
        return []
    out = []
    for line in path.read_text().splitlines():
        try:
            out.append(json.loads(line))
        except json.JSONDecodeError:
            continue
    return out


def locust_command(
    locustfile: Path, host: str, users: int, run_time_s: int, env: Mapping[str, str]
) -> tuple[list[str], dict[str, str]]:
    """The headless locust command line and its environment (users stop themselves after
    ``VCF_TEST_ITERATIONS``; ``run_time_s`` bounds the run as well)."""
    args = [
        sys.executable,
        "-m",
        "locust",
        "-f",
        str(locustfile),
        "--headless",
        "--only-summary",
        "--json",
        "--users",
        str(users),
        "--spawn-rate",
        str(users),
        "--run-time",
        f"{run_time_s}s",
        "--stop-timeout",
        "10",
        "--host",
        host,
        "--loglevel",
        "WARNING",
    ]
    return args, {**env, "VCF_TEST_USERS": str(users)}
