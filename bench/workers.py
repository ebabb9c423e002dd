"""Throughput of the production entry point with 1 and with 2 worker processes (a benchmark,
not a test): ``python -m bench.workers [--duration S] [--concurrency N]``.

For each worker count: ``python -m app.serve --workers N`` on 127.0.0.1 (SQLite and the spool
in a temporary directory, client authentication off as in ``bench.run``), the realistic
60-resource order-select posted by ``bench.loadgen`` (a separate process, closed loop, keep-
alive) for ``--duration`` seconds after a warm-up. Reported: requests/s, latency p50/p99, the
server's CPU (supervisor and workers) and the load generator's own CPU, both in % of one core,
and the machine's load average (other users share these cores).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx

from bench import appconfig
from bench.inprocess import URL, prepare
from bench.payload import realistic_request
from bench.servers import cpu_seconds, free_port
from bench.stats import summary

ROOT = Path(__file__).resolve().parents[1]


def _children(pid: int) -> list[int]:
    try:
        text = Path(f"/proc/{pid}/task/{pid}/children").read_text()
    except OSError:
        return []
    return [int(p) for p in text.split()]


def _tree_cpu(pid: int) -> float:
    """CPU seconds of ``pid`` and its children (uvicorn's supervisor and its workers)."""
    return sum(cpu_seconds(p) or 0.0 for p in [pid, *_children(pid)])


def _worker_cpu(pid: int) -> dict[int, float]:
    """CPU seconds of each worker process (the supervisor itself when it serves alone)."""
    kids = _children(pid) or [pid]
    return {k: cpu_seconds(k) or 0.0 for k in kids}


def _socket_inodes(pid: int) -> set[str]:
    inodes = set()
    fd_dir = Path(f"/proc/{pid}/fd")
    try:
        for fd in fd_dir.iterdir():
            with contextlib.suppress(OSError):
                target = os.readlink(fd)
                if target.startswith("socket:["):
                    inodes.add(target[8:-1])
    except OSError:
        pass
    return inodes


def _connections_per_worker(pid: int, port: int) -> list[int]:
    """Established client connections to ``port`` held by each worker (from /proc/net/tcp):
    with keep-alive, a connection stays with the worker that accepted it."""
    established: set[str] = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        with contextlib.suppress(OSError):
            for line in Path(table).read_text().splitlines()[1:]:
                cols = line.split()
                local_port = int(cols[1].rsplit(":", 1)[1], 16)
                if local_port == port and cols[3] == "01":  # ESTABLISHED, server side
                    established.add(cols[9])
    return [len(_socket_inodes(k) & established) for k in (_children(pid) or [pid])]


@contextlib.contextmanager
def _serve(workers: int) -> Iterator[tuple[subprocess.Popen[bytes], str]]:
    with tempfile.TemporaryDirectory(prefix="vcf-bench-workers-") as tmp:
        workdir = Path(tmp)
        url = f"sqlite:///{workdir}/vcf_cds.db"
        appconfig.migrate(url)
        env = {k: v for k, v in os.environ.items() if not k.startswith("VCF_CDS_")}
        env |= appconfig.server_env(workdir) | {"VCF_CDS_DATABASE_URL": url}
        port = free_port()
        log = (workdir / "serve.log").open("wb")
        proc = subprocess.Popen(
            [sys.executable, "-m", "app.serve", "--workers", str(workers), "--port", str(port)],
            cwd=ROOT,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        log.close()
        base = f"http://127.0.0.1:{port}"
        try:
            deadline = time.monotonic() + 120
            while True:
                with contextlib.suppress(httpx.HTTPError):
                    if httpx.get(base + "/api/v1/health/ready", timeout=2).status_code == 200:
                        break
                if proc.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError((workdir / "serve.log").read_text()[-2000:])
                time.sleep(0.2)
            while len(_children(proc.pid)) < workers and workers > 1:
                time.sleep(0.1)
            yield proc, base
        finally:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(60)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait(10)


def measure(workers: int, body_file: Path, args: argparse.Namespace) -> dict[str, Any]:
    with _serve(workers) as (proc, base):
        port = int(base.rsplit(":", 1)[1])
        for _ in range(20):  # every worker imports and warms up on its first requests
            httpx.post(base + URL, content=body_file.read_bytes(), timeout=30,
                       headers={"Content-Type": "application/json"})  # fmt: skip
        cmd = [
            sys.executable, "-m", "bench.loadgen", "--url", base + URL, "--body", str(body_file),
            "--concurrency", str(args.concurrency), "--duration", str(args.duration),
            "--warmup", str(args.warmup), "--max-requests", "1000000",
        ]  # fmt: skip
        cpu0, per0, t0 = _tree_cpu(proc.pid), _worker_cpu(proc.pid), time.perf_counter()
        gen = subprocess.Popen(cmd, cwd=ROOT, stdout=subprocess.PIPE, text=True)
        time.sleep(args.warmup + args.duration / 2)  # mid-run: every connection is open
        conns = _connections_per_worker(proc.pid, port)
        stdout, _ = gen.communicate()
        if gen.returncode != 0:
            raise RuntimeError(f"load generator failed ({gen.returncode})")
        cpu1, per1, wall = _tree_cpu(proc.pid), _worker_cpu(proc.pid), time.perf_counter() - t0
    raw: dict[str, Any] = json.loads(stdout)
    lat = summary(raw.pop("latencies_ms"))
    return {
        "workers": workers,
        "rps": raw["ok"] / raw["window_s"],
        "errors": raw.get("errors"),
        "p50": lat["p50"],
        "p99": lat["p99"],
        "server_cpu_pct": 100 * (cpu1 - cpu0) / wall,
        "worker_cpu_pct": [100 * (per1[k] - per0.get(k, 0.0)) / wall for k in per1],
        "connections": conns,
        "cpu_ms_per_request": 1000 * (cpu1 - cpu0) / max(raw["issued"], 1),
        "client_cpu_pct": 100 * raw["client_cpu_s"] / raw["client_wall_s"],
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--duration", type=float, default=20.0)
    parser.add_argument("--warmup", type=float, default=3.0)
    parser.add_argument("--concurrency", type=int, default=32)
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        body_file = Path(tmp) / "body.json"
        body_file.write_bytes(prepare(realistic_request()).body)
        rows = [measure(n, body_file, args) for n in (1, 2)]
    load = os.getloadavg()
    print(
        f"order-select, 60 resources, concurrency {args.concurrency}, {args.duration:g} s; "
        f"load average {load[0]:.2f} {load[1]:.2f}, {os.cpu_count()} cores"
    )
    print(
        "| workers | req/s | p50 ms | p99 ms | server CPU % (per worker) | server CPU ms/request "
        "| connections per worker | load generator CPU % |"
    )
    print("|---|---|---|---|---|---|---|---|")
    for r in rows:
        per = " + ".join(f"{c:.0f}" for c in r["worker_cpu_pct"])
        conns = " + ".join(str(c) for c in r["connections"])
        print(
            f"| {r['workers']} | {r['rps']:.1f} | {r['p50']:.1f} | {r['p99']:.1f} | "
            f"{r['server_cpu_pct']:.0f} ({per}) | {r['cpu_ms_per_request']:.1f} | {conns} | "
            f"{r['client_cpu_pct']:.0f} |"
        )
    print(f"2 workers / 1 worker: {rows[1]['rps'] / rows[0]['rps']:.2f}x")
    return 0


if __name__ == "__main__":
    sys.exit(main())
