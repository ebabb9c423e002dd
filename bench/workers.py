"""Throughput of the production entry point with 1 and with 2 worker processes (a benchmark,
not a test): ``python -m bench.workers [--duration S] [--concurrency N] [--rounds R]
[--generator auto|wrk|httpx] [--database sqlite|postgresql] [--env NAME=VALUE ...]
[--against REV [--against-cpu N]]``.

For each worker count: ``python -m app.serve --workers N`` on 127.0.0.1 (client
authentication off as in ``bench.run``; SQLite and the spool in a temporary directory, or a
throwaway PostgreSQL cluster on loopback with ``--database postgresql``), the realistic
60-resource order-select posted over ``--concurrency`` keep-alive connections (closed loop)
for ``--warmup`` seconds (not counted) and then ``--duration`` measured seconds. With
``--rounds R`` the worker counts alternate (1, 2, 1, 2, ...) so that both see the same
machine; the summary takes the median of each.

Load generator: wrk (Debian's ``wrk``, C, one thread; ``bash scripts/install_wrk.sh``) with
``bench/wrk_post.lua`` when it is installed, else ``bench.loadgen`` (Python, httpx), which
needs several times the CPU per request: on a 2-core machine it takes CPU from the server.

Reported per run (CPU in % of one core, over the measured window, from ``/proc``):
requests/s, latency p50/p99; the server's CPU per worker and per request; its run-queue
wait (time its threads were runnable but not running: other processes, the load generator or
its own threads held the cores); the load generator's own CPU; the CPU of everything else on
the machine; the 1-minute load average at the start and end; the share of audit entries that
went through the spool (their commit outlasted the crash window, so they were written twice).
With ``--against REV`` (e.g. the commit an issue measured "today's" throughput on) each round
also runs one worker of that commit: a detached ``git worktree`` of REV, migrated with its own
Alembic scripts and served the way that commit's ``bench.run`` served it (``uvicorn
app.main:app``, one worker, log level warning), same interpreter and packages, same payload,
generator and settings; the summary then gives 1 worker now / 1 worker at REV from the same
run, so the ratio does not depend on how fast the machine is that day.
Results go to stdout and to ``bench/results/workers.md`` (``workers-postgresql.md``;
``--output``).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import resource
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

from bench import appconfig
from bench.inprocess import URL, prepare
from bench.machine import _commit
from bench.payload import realistic_request
from bench.servers import cpu_seconds, free_port
from bench.stats import summary

ROOT = Path(__file__).resolve().parents[1]
WRK_SCRIPT = ROOT / "bench" / "wrk_post.lua"
RESULTS = ROOT / "bench" / "results"
TICK = os.sysconf("SC_CLK_TCK")


# --------------------------------------------------------------------------- /proc readings


def _children(pid: int) -> list[int]:
    try:
        text = Path(f"/proc/{pid}/task/{pid}/children").read_text()
    except OSError:
        return []
    return [int(p) for p in text.split()]


def _server_pids(pid: int) -> list[int]:
    """The supervisor and its workers (the supervisor alone when it serves itself)."""
    return [pid, *_children(pid)]


def _workers(pid: int) -> list[int]:
    return _children(pid) or [pid]


def _schedstat(pid: int) -> tuple[float, float]:
    """(seconds on a CPU, seconds runnable but waiting for one), summed over the threads of
    ``pid`` (``/proc/PID/task/TID/schedstat``; exited threads are not counted)."""
    run = wait = 0
    with contextlib.suppress(OSError):
        for task in Path(f"/proc/{pid}/task").iterdir():
            with contextlib.suppress(OSError, ValueError, IndexError):
                fields = (task / "schedstat").read_text().split()
                run += int(fields[0])
                wait += int(fields[1])
    return run / 1e9, wait / 1e9


def _machine_busy() -> float:
    """CPU seconds the whole machine has spent busy (``/proc/stat``, all cores)."""
    cols = Path("/proc/stat").read_text().splitlines()[0].split()[1:]
    user, nice, system, _idle, _iowait, irq, softirq, steal = (int(c) for c in cols[:8])
    return (user + nice + system + irq + softirq + steal) / TICK


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


@dataclass
class Snapshot:
    at: float
    worker_cpu: dict[int, float]
    server_cpu: float
    runq_wait: float
    machine_busy: float
    children_cpu: float
    load1: float

    @classmethod
    def take(cls, pid: int) -> Snapshot:
        workers = {w: cpu_seconds(w) or 0.0 for w in _workers(pid)}
        pids = _server_pids(pid)
        return cls(
            at=time.perf_counter(),
            worker_cpu=workers,
            server_cpu=sum(cpu_seconds(p) or 0.0 for p in pids),
            runq_wait=sum(_schedstat(p)[1] for p in pids),
            machine_busy=_machine_busy(),
            children_cpu=_children_cpu(),
            load1=os.getloadavg()[0],
        )


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
    return [len(_socket_inodes(k) & established) for k in _workers(pid)]


# --------------------------------------------------------------------------- the server


@contextlib.contextmanager
def _database(kind: str) -> Iterator[str | None]:
    """None for SQLite (a file per server), else the URL of a throwaway PostgreSQL cluster."""
    if kind == "sqlite":
        yield None
        return
    from tests.support.postgres import PostgresServer  # Debian's server binaries

    with PostgresServer() as pg:
        appconfig.migrate(pg.url)
        yield pg.url


def _audit_counts(log_text: str) -> tuple[int, int]:
    """(requests answered, audit entries that went through the spool) from the server log:
    the access lines, and the entries the recorders replayed from the spool (those the guard
    wrote because their commit had not ended within ``VCF_CDS_AUDIT_MAX_WAIT_MS``)."""
    requests = spooled = 0
    for line in log_text.splitlines():
        if '"vcf_cds.access"' in line:
            requests += 1
        elif "spooled entries committed" in line:
            with contextlib.suppress(ValueError, IndexError):
                msg = json.loads(line)["msg"]
                spooled += int(msg.split("available; ", 1)[1].split()[0])
    return requests, spooled


@contextlib.contextmanager
def _checkout(rev: str) -> Iterator[Path]:
    """A detached ``git worktree`` of ``rev`` in a temporary directory, removed afterwards."""
    with tempfile.TemporaryDirectory(prefix="vcf-bench-rev-") as tmp:
        tree = Path(tmp) / "tree"
        git = ["git", "-C", str(ROOT), "worktree"]
        subprocess.run([*git, "add", "--detach", str(tree), rev], check=True, capture_output=True)
        try:
            yield tree
        finally:
            subprocess.run([*git, "remove", "--force", str(tree)], check=False)


def _migrate_at(tree: Path, url: str) -> None:
    """Apply ``tree``'s own Alembic migrations to ``url`` (its schema, not this one's)."""
    code = "import sys; from app.db.migrate import upgrade; upgrade(sys.argv[1])"
    env = appconfig.inherited_env()
    env["PYTHONPATH"] = str(tree)
    subprocess.run([sys.executable, "-c", code, url], cwd=tree, env=env, check=True)


@contextlib.contextmanager
def _serve(
    workers: int,
    database_url: str | None,
    extra_env: dict[str, str],
    info: dict[str, Any],
    tree: Path | None = None,
    cpu: int | None = None,
) -> Iterator[tuple[subprocess.Popen[bytes], str]]:
    """The server (this tree's ``app.serve``, or ``tree``'s app under plain uvicorn, one
    worker; with ``cpu``, started pinned to that CPU, as ``taskset -c``); when it has stopped,
    ``info["audit"]`` is ``_audit_counts`` of its log."""
    with tempfile.TemporaryDirectory(prefix="vcf-bench-workers-") as tmp:
        workdir = Path(tmp)
        url = database_url or f"sqlite:///{workdir}/vcf_cds.db"
        if tree is not None:
            _migrate_at(tree, url)
        elif database_url is None:
            appconfig.migrate(url)
        env = appconfig.inherited_env()
        env |= appconfig.server_env(workdir) | {"VCF_CDS_DATABASE_URL": url} | extra_env
        port = free_port()
        if tree is None:
            command = ["-m", "app.serve", "--workers", str(workers), "--port", str(port)]
        else:
            env["PYTHONPATH"] = str(tree)
            command = [
                "-m", "uvicorn", "app.main:app", "--host", "127.0.0.1", "--port", str(port),
                "--workers", "1", "--log-level", "warning",
            ]  # fmt: skip
        log = (workdir / "serve.log").open("wb")
        proc = subprocess.Popen(
            [sys.executable, *command],
            cwd=tree or ROOT,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
            preexec_fn=None if cpu is None else (lambda: os.sched_setaffinity(0, {cpu})),
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
            while workers > 1 and len(_children(proc.pid)) < workers:
                time.sleep(0.1)
            yield proc, base
        finally:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(60)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait(10)
            info["audit"] = _audit_counts((workdir / "serve.log").read_text(errors="replace"))


# --------------------------------------------------------------------------- generators


def _wrk(
    wrk: str, url: str, body_file: Path, concurrency: int, seconds: float
) -> subprocess.Popen[str]:
    cmd = [
        wrk, "-t1", f"-c{concurrency}", f"-d{max(1, round(seconds))}s", "--timeout", "30s",
        "-s", str(WRK_SCRIPT), url, "--", str(body_file),
    ]  # fmt: skip
    return subprocess.Popen(cmd, cwd=ROOT, stdout=subprocess.PIPE, text=True)


def _wrk_result(stdout: str) -> dict[str, Any]:
    """The JSON line ``bench/wrk_post.lua`` prints at the end."""
    line = [ln for ln in stdout.splitlines() if ln.startswith("{")][-1]
    raw: dict[str, Any] = json.loads(line)
    errors = sum(
        raw[k]
        for k in ("connect_errors", "read_errors", "write_errors", "status_errors", "timeouts")
    )
    window = raw["duration_us"] / 1e6
    return {
        "ok": raw["requests"] - raw["status_errors"],
        "issued": raw["requests"],
        "errors": errors,
        "window_s": window,
        "p50": raw["p50_us"] / 1000,
        "p99": raw["p99_us"] / 1000,
    }


def _httpx(url: str, body_file: Path, args: argparse.Namespace) -> subprocess.Popen[str]:
    cmd = [
        sys.executable, "-m", "bench.loadgen", "--url", url, "--body", str(body_file),
        "--concurrency", str(args.concurrency), "--duration", str(args.duration),
        "--warmup", str(args.warmup), "--max-requests", "1000000",
    ]  # fmt: skip
    return subprocess.Popen(cmd, cwd=ROOT, stdout=subprocess.PIPE, text=True)


def _httpx_result(stdout: str) -> dict[str, Any]:
    raw: dict[str, Any] = json.loads(stdout)
    lat = summary(raw.pop("latencies_ms"))
    return {
        "ok": raw["ok"],
        "issued": raw["issued"],
        "errors": raw["errors"],
        "window_s": raw["window_s"],
        "p50": lat["p50"],
        "p99": lat["p99"],
    }


# --------------------------------------------------------------------------- one run


def measure(
    workers: int,
    body_file: Path,
    args: argparse.Namespace,
    database_url: str | None,
    wrk: str | None,
    tree: Path | None = None,
    cpu: int | None = None,
) -> dict[str, Any]:
    extra_env = dict(kv.split("=", 1) for kv in args.env)
    info: dict[str, Any] = {}
    with _serve(workers, database_url, extra_env, info, tree, cpu) as (proc, base):
        port = int(base.rsplit(":", 1)[1])
        body = body_file.read_bytes()
        headers = {"Content-Type": "application/json"}
        for _ in range(10 * workers):  # new connections: spread over the workers
            httpx.post(base + URL, content=body, timeout=30, headers=headers)
        if wrk is not None:  # warm-up run (not counted), then the measured run
            warm = _wrk(wrk, base + URL, body_file, args.concurrency, args.warmup)
            warm.communicate()
            before = Snapshot.take(proc.pid)
            gen = _wrk(wrk, base + URL, body_file, args.concurrency, args.duration)
            mid = args.duration / 2
        else:  # bench.loadgen warms up itself: its whole run is measured for CPU
            before = Snapshot.take(proc.pid)
            gen = _httpx(base + URL, body_file, args)
            mid = args.warmup + args.duration / 2
        time.sleep(mid)  # mid-run: every connection is open
        conns = _connections_per_worker(proc.pid, port)
        stdout, _ = gen.communicate()
        after = Snapshot.take(proc.pid)
        if gen.returncode != 0:
            raise RuntimeError(f"load generator failed ({gen.returncode})")
    result = _wrk_result(stdout) if wrk is not None else _httpx_result(stdout)
    wall = after.at - before.at
    server = after.server_cpu - before.server_cpu
    generator = after.children_cpu - before.children_cpu
    answered, spooled = info.get("audit", (0, 0))
    return {
        "workers": workers,
        "at": args.against if tree is not None else None,
        "cpu": cpu,
        "rps": result["ok"] / result["window_s"],
        "errors": result["errors"],
        "p50": result["p50"],
        "p99": result["p99"],
        "server_cpu_pct": 100 * server / wall,
        "worker_cpu_pct": [
            100 * (after.worker_cpu[w] - before.worker_cpu.get(w, 0.0)) / wall
            for w in after.worker_cpu
        ],
        "cpu_ms_per_request": 1000 * server / max(result["issued"], 1),
        "runq_wait_pct": 100 * (after.runq_wait - before.runq_wait) / wall,
        "generator_cpu_pct": 100 * generator / wall,
        "others_cpu_pct": 100
        * max(after.machine_busy - before.machine_busy - server - generator, 0.0)
        / wall,
        "connections": conns,
        "load1": (before.load1, after.load1),
        "spooled_pct": 100 * spooled / answered if answered else None,  # no access lines
    }


# --------------------------------------------------------------------------- report

HEADER = (
    "| workers | req/s | p50 ms | p99 ms | server CPU % (per worker) | CPU ms/request "
    "| run-queue wait % | connections per worker | generator CPU % | others' CPU % | load 1 min "
    "| audit via spool % |\n"
    "|---|---|---|---|---|---|---|---|---|---|---|---|"
)


def _row(r: dict[str, Any]) -> str:
    per = " + ".join(f"{c:.0f}" for c in r["worker_cpu_pct"])
    conns = " + ".join(str(c) for c in r["connections"])
    errors = f" ({r['errors']} errors)" if r["errors"] else ""
    label = f"{r['workers']} at {r['at']}" if r.get("at") else str(r["workers"])
    if r.get("cpu") is not None:
        label += f" (on CPU {r['cpu']})"
    return (
        f"| {label} | {r['rps']:.1f}{errors} | {r['p50']:.1f} | {r['p99']:.1f} | "
        f"{r['server_cpu_pct']:.0f} ({per}) | {r['cpu_ms_per_request']:.2f} | "
        f"{r['runq_wait_pct']:.0f} | {conns} | {r['generator_cpu_pct']:.1f} | "
        f"{r['others_cpu_pct']:.0f} | {r['load1'][0]:.2f} -> {r['load1'][1]:.2f} | "
        + ("n/a |" if r["spooled_pct"] is None else f"{r['spooled_pct']:.1f} |")
    )


def report(rows: list[dict[str, Any]], args: argparse.Namespace, generator: str) -> str:
    ones = [r["rps"] for r in rows if r["workers"] == 1 and not r.get("at")]
    twos = [r["rps"] for r in rows if r["workers"] == 2 and not r.get("at")]
    then = [r["rps"] for r in rows if r.get("at") and r.get("cpu") is None]
    then_pinned = [r["rps"] for r in rows if r.get("at") and r.get("cpu") is not None]
    stamp = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())
    lines = [
        f"# bench.workers (commit {_commit()}, {stamp})",
        "",
        f"order-select, 60 resources, {args.concurrency} connections, {args.warmup:g} s warm-up "
        f"+ {args.duration:g} s measured per run, {args.rounds} round(s); database "
        f"{args.database}; load generator {generator}; {os.cpu_count()} cores"
        + (f"; server environment {' '.join(args.env)}" if args.env else ""),
        "",
        "CPU in % of one core over the measured window. Run-queue wait: time the server's "
        "threads were runnable but not on a core. Others' CPU: the rest of the machine "
        "(other users) in the same window. Audit via spool: audit entries the guard spooled "
        "because their commit took longer than the crash window (written twice), % of the "
        "server's requests.",
        "",
        HEADER,
        *(_row(r) for r in rows),
        "",
    ]
    if ones and twos:
        one, two = statistics.median(ones), statistics.median(twos)
        lines.append(
            f"median req/s: 1 worker {one:.1f}, 2 workers {two:.1f}; "
            f"2 workers / 1 worker: {two / one:.2f}x"
        )
    if ones and then:
        one, old = statistics.median(ones), statistics.median(then)
        lines.append(
            f"median req/s: 1 worker now {one:.1f}, 1 worker at {args.against} {old:.1f}; "
            f"now / then: {one / old:.2f}x (same run, same machine)"
        )
    if ones and then_pinned:
        one, old = statistics.median(ones), statistics.median(then_pinned)
        lines.append(
            f"median req/s: 1 worker now {one:.1f}, 1 worker at {args.against} pinned to one CPU "
            f"{old:.1f}; now / then pinned: {one / old:.2f}x"
        )
    return "\n".join(lines) + "\n"


def _generator(choice: str) -> str | None:
    """The wrk binary, or None for the Python generator."""
    if choice == "httpx":
        return None
    wrk = shutil.which("wrk")
    if wrk is None and choice == "wrk":
        raise SystemExit("wrk is not installed: bash scripts/install_wrk.sh")
    if wrk is None:
        print("wrk not found (bash scripts/install_wrk.sh): using bench.loadgen", file=sys.stderr)
    return wrk


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--duration", type=float, default=10.0, help="measured seconds")
    parser.add_argument("--warmup", type=float, default=2.0, help="uncounted seconds first")
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument("--rounds", type=int, default=1, help="1- and 2-worker runs each")
    parser.add_argument("--workers", default="1,2", help="worker counts, comma-separated")
    parser.add_argument("--generator", choices=("auto", "wrk", "httpx"), default="auto")
    parser.add_argument("--database", choices=("sqlite", "postgresql"), default="sqlite")
    parser.add_argument(
        "--env", action="append", default=[], metavar="NAME=VALUE", help="server variable"
    )
    parser.add_argument(
        "--against",
        metavar="REV",
        help="also run 1 worker of this commit each round (git worktree, plain uvicorn)",
    )
    parser.add_argument(
        "--against-cpu",
        type=int,
        metavar="N",
        help="with --against, also run that worker pinned to CPU N (as VCF_CDS_PIN_WORKERS would)",
    )
    parser.add_argument(
        "--output",
        type=Path,
        help="Markdown report file (default bench/results/workers.md, workers-postgresql.md)",
    )
    args = parser.parse_args(argv)
    wrk = _generator(args.generator)
    counts = [int(n) for n in args.workers.split(",")]
    rows = []
    with contextlib.ExitStack() as stack:
        tmp = stack.enter_context(tempfile.TemporaryDirectory())
        database_url = stack.enter_context(_database(args.database))
        tree = stack.enter_context(_checkout(args.against)) if args.against else None
        if tree is not None and database_url is not None:
            raise SystemExit("--against runs on SQLite only (each version migrates its own)")
        body_file = Path(tmp) / "body.json"
        body_file.write_bytes(prepare(realistic_request()).body)
        for _ in range(args.rounds):
            for n in counts:
                rows.append(measure(n, body_file, args, database_url, wrk))
                print(_row(rows[-1]), file=sys.stderr, flush=True)
            if tree is not None:
                rows.append(measure(1, body_file, args, None, wrk, tree))
                print(_row(rows[-1]), file=sys.stderr, flush=True)
            if tree is not None and args.against_cpu is not None:
                rows.append(measure(1, body_file, args, None, wrk, tree, args.against_cpu))
                print(_row(rows[-1]), file=sys.stderr, flush=True)
    text = report(rows, args, "wrk (C, 1 thread)" if wrk else "bench.loadgen (Python, httpx)")
    print(text)
    suffix = "" if args.database == "sqlite" else f"-{args.database}"
    output: Path = args.output or RESULTS / f"workers{suffix}.md"
    output.parent.mkdir(parents=True, exist_ok=True)
    output.write_text(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
