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
        for _ in range(20):  # every worker imports and warms up on its first requests
            httpx.post(base + URL, content=body_file.read_bytes(), timeout=30,
                       headers={"Content-Type": "application/json"})  # fmt: skip
        cmd = [
            sys.executable, "-m", "bench.loadgen", "--url", base + URL, "--body", str(body_file),
            "--concurrency", str(args.concurrency), "--duration", str(args.duration),
            "--warmup", str(args.warmup), "--max-requests", "1000000",
        ]  # fmt: skip
        cpu0, t0 = _tree_cpu(proc.pid), time.perf_counter()
        out = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, check=True)
        cpu1, wall = _tree_cpu(proc.pid), time.perf_counter() - t0
    raw: dict[str, Any] = json.loads(out.stdout)
    lat = summary(raw.pop("latencies_ms"))
    return {
        "workers": workers,
        "rps": raw["ok"] / raw["window_s"],
        "errors": raw.get("errors"),
        "p50": lat["p50"],
        "p99": lat["p99"],
        "server_cpu_pct": 100 * (cpu1 - cpu0) / wall,
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
    print("| workers | req/s | p50 ms | p99 ms | server CPU % | load generator CPU % |")
    print("|---|---|---|---|---|---|")
    for r in rows:
        print(
            f"| {r['workers']} | {r['rps']:.1f} | {r['p50']:.1f} | {r['p99']:.1f} | "
            f"{r['server_cpu_pct']:.0f} | {r['client_cpu_pct']:.0f} |"
        )
    print(f"2 workers / 1 worker: {rows[1]['rps'] / rows[0]['rps']:.2f}x")
    return 0


if __name__ == "__main__":
    sys.exit(main())
