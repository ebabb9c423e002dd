"""VCF-CDS benchmark: ``python -m bench.run [--quick]``.

One run measures (1) in-process service time of ``vcf-order-select`` on a 60-resource prefetch
against a bare FastAPI baseline, (2) HTTP throughput/latency of the real app and the baseline
under uvicorn with a separate-process load generator, (3) scaling of the decision with the
number of Observations, and (4) when the decision p50 exceeds 2 ms, a cProfile hint. The
Markdown report goes to stdout and ``bench/results/latest.md`` (raw numbers: ``latest.json``).
Benchmarks, not tests: nothing here asserts a time.
"""

from __future__ import annotations

import argparse
import atexit
import json
import logging
import os
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from types import FrameType
from typing import Any

from bench import appconfig, servers
from bench.machine import machine_info
from bench.stats import linear_fit, loglog_slope, summary

ROOT = Path(__file__).resolve().parents[1]
RESULTS = Path(__file__).resolve().parent / "results"
TARGET_P50_MS = 2.0
TARGET_HTTP_RATIO = 0.60
SCALING_SIZES = (10, 100, 1_000, 10_000)


@dataclass(frozen=True)
class Config:
    mode: str
    iterations: int
    warmup: int
    breakdown_iterations: int
    http_duration: float
    http_warmup: float
    http_max_requests: int
    concurrency: int
    scaling_budget: float
    scaling_min_iter: int
    profile_iterations: int

    @staticmethod
    def make(quick: bool) -> Config:
        if quick:
            return Config("quick", 500, 50, 150, 3.0, 0.5, 30_000, 16, 0.8, 2, 200)
        return Config("full", 1000, 100, 300, 10.0, 1.0, 100_000, 16, 3.0, 3, 200)


def _loadavg() -> str:
    try:
        return "/".join(f"{v:.2f}" for v in os.getloadavg())
    except OSError:
        return "n/a"


def _load1() -> float:
    try:
        return os.getloadavg()[0]
    except OSError:
        return 0.0


def _log(message: str) -> None:
    print(f"[bench] {message}", file=sys.stderr, flush=True)


def _on_signal(signum: int, _frame: FrameType | None) -> None:
    raise SystemExit(128 + signum)  # unwinds through the servers' finally blocks


# --- sections -------------------------------------------------------------------------------


def section_inprocess(cfg: Config, ctx: dict[str, Any]) -> dict[str, Any]:
    from bench import inprocess
    from bench.baseline import create_app as create_baseline

    p, knowledge, settings = ctx["prepared"], ctx["knowledge"], ctx["settings"]
    _log(f"1a. unpack + decide x{cfg.iterations}")
    decide_ms = inprocess.time_calls(
        lambda: inprocess.unpack_and_decide(p, knowledge, settings), cfg.iterations, cfg.warmup
    )
    _log(f"1b. ASGI real app and baselines x{cfg.iterations} (interleaved)")
    apps = {
        "real": ctx["real_app"],
        "baseline": create_baseline(),
        "baseline_mw": create_baseline(header_middleware=True),
    }
    arms, errors = inprocess.asgi_arms(apps, p.body, cfg.iterations, cfg.warmup)
    _log(f"1c. breakdown x{cfg.breakdown_iterations} per step")
    steps = inprocess.breakdown(p, knowledge, settings, cfg.breakdown_iterations)
    return {
        "decide": summary(decide_ms),
        "asgi_real": summary(arms["real"]),
        "asgi_baseline": summary(arms["baseline"]),
        "asgi_baseline_mw": summary(arms["baseline_mw"]),
        "asgi_errors": errors,
        "breakdown": steps,
    }


def _load(server: servers.Server, path: str, body_file: Path, cfg: Config) -> dict[str, Any]:
    cmd = [
        sys.executable, "-m", "bench.loadgen", "--url", server.url(path), "--body", str(body_file),
        "--concurrency", str(cfg.concurrency), "--duration", str(cfg.http_duration),
        "--warmup", str(cfg.http_warmup), "--max-requests", str(cfg.http_max_requests),
    ]  # fmt: skip
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(ROOT), env.get("PYTHONPATH", "")) if p)
    cpu0, t0 = servers.cpu_seconds(server.pid), time.perf_counter()
    out = subprocess.run(
        cmd,
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=cfg.http_warmup + cfg.http_duration + 120,
        check=False,
    )
    cpu1, wall = servers.cpu_seconds(server.pid), time.perf_counter() - t0
    if out.returncode != 0:
        raise RuntimeError(f"load generator failed ({out.returncode}): {out.stderr[-1500:]}")
    raw: dict[str, Any] = json.loads(out.stdout)
    latencies = raw.pop("latencies_ms")
    raw["latency"] = summary(latencies) if latencies else None
    raw["rps"] = raw["ok"] / raw["window_s"]
    raw["server_cpu_pct"] = (
        100 * (cpu1 - cpu0) / wall if cpu0 is not None and cpu1 is not None else None
    )
    raw["client_cpu_pct"] = 100 * raw["client_cpu_s"] / raw["client_wall_s"]
    done = raw["issued"]  # every request the server handled, warm-up included
    raw["server_cpu_ms_per_request"] = (
        1000 * (cpu1 - cpu0) / done if cpu0 is not None and cpu1 is not None and done else None
    )
    return raw


def section_http(cfg: Config, ctx: dict[str, Any]) -> dict[str, Any]:
    from bench.baseline import PATH
    from bench.inprocess import URL

    body: bytes = ctx["prepared"].body
    results: dict[str, Any] = {}
    with tempfile.TemporaryDirectory(prefix="vcf-bench-load-") as tmp:
        body_file = Path(tmp) / "body.json"
        body_file.write_bytes(body)
        targets = (("baseline", "bench.baseline:app", PATH), ("real", "app.main:app", URL))
        for name, app_path, path in targets:
            _log(f"2. HTTP {name}: starting uvicorn {app_path}")
            real = name == "real"
            with servers.uvicorn_server(
                app_path,
                name,
                extra_env=appconfig.server_env if real else None,
                prepare=(lambda wd: appconfig.migrate(f"sqlite:///{wd}/vcf_cds.db"))
                if real
                else None,
            ) as server:
                check = httpx_post(server.url(path), body)
                if check.status_code != 200:
                    raise RuntimeError(f"{name} answered {check.status_code}: {check.text[:300]}")
                if name == "real" and not check.json().get("cards"):
                    raise RuntimeError("real app answered without cards")
                _log(f"2. HTTP {name}: {cfg.http_duration:g} s at concurrency {cfg.concurrency}")
                results[name] = _load(server, path, body_file, cfg)
            _log(f"2. HTTP {name}: server stopped")
    results["ratio"] = results["real"]["rps"] / results["baseline"]["rps"]
    real_cpu = results["real"]["server_cpu_ms_per_request"]
    bare_cpu = results["baseline"]["server_cpu_ms_per_request"]
    results["cpu_ratio"] = bare_cpu / real_cpu if real_cpu and bare_cpu else None
    return results


def httpx_post(url: str, body: bytes) -> Any:
    import httpx

    return httpx.post(url, content=body, headers={"content-type": "application/json"}, timeout=30)


def section_scaling(cfg: Config, ctx: dict[str, Any]) -> dict[str, Any]:
    from bench import inprocess
    from bench.payload import resource_count, scaled_request

    knowledge, settings = ctx["knowledge"], ctx["settings"]
    rows = []
    for n in SCALING_SIZES:
        request = scaled_request(n)
        p = inprocess.prepare(request)
        resources = resource_count(request)
        _log(f"3. scaling: {n} Observations ({resources} resources)")
        decision = inprocess.unpack_and_decide(p, knowledge, settings)
        response_bytes = len(json.dumps(_dump(decision)))
        times = inprocess.time_for_budget(
            lambda p=p: inprocess.unpack_and_decide(p, knowledge, settings),
            cfg.scaling_budget,
            cfg.scaling_min_iter,
            2000,
        )
        try:
            asgi: list[float] | None = inprocess.asgi_single(
                ctx["real_app"], p.body, cfg.scaling_budget, cfg.scaling_min_iter
            )
            asgi_error = None
        except RuntimeError as exc:  # e.g. the service's own body / entry limits
            asgi, asgi_error = None, str(exc)[:160]
        s, a = summary(times), summary(asgi) if asgi else None
        rows.append(
            {
                "observations": n,
                "resources": resources,
                "body_bytes": len(p.body),
                "response_bytes": response_bytes,
                "issues": len(decision.assessment.findings.issues),
                "iterations": int(s["n"]),
                "decide": s,
                "asgi": a,
                "asgi_error": asgi_error,
                "us_per_resource": 1000 * s["p50"] / resources,
                "asgi_us_per_resource": 1000 * a["p50"] / resources if a else None,
            }
        )
    xs = [float(r["resources"]) for r in rows]
    slope, intercept, r2 = linear_fit(xs, [r["decide"]["p50"] for r in rows])
    by_n = {r["observations"]: r for r in rows}
    out: dict[str, Any] = {
        "rows": rows,
        "fit": {"slope_us": 1000 * slope, "intercept_ms": intercept, "r2": r2},
        "loglog": loglog_slope(xs, [r["decide"]["p50"] for r in rows]),
        "ratio_10k_1k": by_n[10_000]["us_per_resource"] / by_n[1_000]["us_per_resource"],
    }
    ok = [r for r in rows if r["asgi"]]
    if len(ok) >= 2:
        axs = [float(r["resources"]) for r in ok]
        a_slope, a_intercept, a_r2 = linear_fit(axs, [r["asgi"]["p50"] for r in ok])
        out["asgi_fit"] = {"slope_us": 1000 * a_slope, "intercept_ms": a_intercept, "r2": a_r2}
        out["asgi_loglog"] = loglog_slope(axs, [r["asgi"]["p50"] for r in ok])
        out["asgi_sizes"] = [r["observations"] for r in ok]
    return out


def _dump(decision: Any) -> Any:
    from app.cds_hooks.models import dump_response

    return dump_response(decision.response)


def section_profile(cfg: Config, ctx: dict[str, Any]) -> dict[str, Any]:
    from bench import inprocess

    _log(f"4. cProfile of {cfg.profile_iterations} decisions")
    return inprocess.profile(
        ctx["prepared"], ctx["knowledge"], ctx["settings"], cfg.profile_iterations, top=15
    )


# --- report ---------------------------------------------------------------------------------


def _ms(v: float | None) -> str:
    if v is None:
        return "n/a"
    return f"{v:.3f}" if v < 10 else f"{v:.1f}"


def _row(cells: list[str]) -> str:
    return "| " + " | ".join(cells) + " |"


def _lat_row(name: str, s: dict[str, float]) -> str:
    cells = [name, str(int(s["n"]))] + [_ms(s[k]) for k in ("p50", "p95", "p99", "mean", "max")]
    return _row(cells)


def render(cfg: Config, results: dict[str, Any]) -> str:
    lines: list[str] = []
    add = lines.append
    add("# VCF-CDS performance report")
    add("")
    add(f"Mode **{cfg.mode}** (`python -m bench.run{' --quick' if cfg.mode == 'quick' else ''}`),")
    add(f"total run time {results['elapsed_s']:.0f} s. Benchmarks, not tests: nothing asserts.")
    add("")
    cores = os.cpu_count() or 1
    if results.get("busy_at_start", 0.0) >= 0.5 * cores:
        add(
            f"**Warning:** the machine was already busy when the run started (1-minute load "
            f"{results['busy_at_start']:.2f} on {cores} cores): times are inflated and noisy; "
            "rerun on a quiet machine before comparing."
        )
        add("")
    add("## Machine")
    add("")
    add("| | |")
    add("|---|---|")
    for key, value in results["machine"].items():
        add(f"| {key} | {value} |")
    add("")

    ip, http, sc = results["inprocess"], results.get("http"), results["scaling"]
    add("## Targets")
    add("")
    add("| target | measured | status |")
    add("|---|---|---|")
    p50 = ip["decide"]["p50"]
    ok = "met" if p50 <= TARGET_P50_MS else "**missed**"
    add(
        f"| in-process decision p50 <= {TARGET_P50_MS:g} ms (60 resources) | {_ms(p50)} ms | {ok} |"
    )
    asgi_p50 = ip["asgi_real"]["p50"]
    add(f"| (whole in-process ASGI request p50, for reference) | {_ms(asgi_p50)} ms | - |")
    if http:
        ratio = http["ratio"]
        ok = "met" if ratio >= TARGET_HTTP_RATIO else "**missed**"
        add(f"| HTTP throughput >= {TARGET_HTTP_RATIO:.0%} of bare baseline | {ratio:.1%} | {ok} |")
    add("")

    payload = results["payload"]
    add("## 1. In-process service time, `vcf-order-select`, 60 resources")
    add("")
    add(
        f"Payload: {payload['resources']} resources ({payload['by_type']}), "
        f"{payload['body_bytes'] / 1024:.1f} KiB JSON; response "
        f"{payload['response_bytes'] / 1024:.1f} KiB, {payload['cards']} cards "
        f"({payload['card_summaries']})."
    )
    add(
        f"{cfg.iterations} timed iterations after {cfg.warmup} warm-up; GC on; times in ms. "
        "ASGI rows go through `httpx.AsyncClient(transport=httpx.ASGITransport(app))`, "
        "all arms interleaved."
    )
    add("")
    add("| measurement | n | p50 | p95 | p99 | mean | max |")
    add("|---|---|---|---|---|---|---|")
    add(_lat_row("(a) `unpack` + `decide` (pure, no web)", ip["decide"]))
    add(_lat_row("(b) ASGI request, real app", ip["asgi_real"]))
    add(_lat_row("baseline: ASGI request, bare FastAPI `request.json()`", ip["asgi_baseline"]))
    add(_lat_row('baseline + one `@app.middleware("http")` header', ip["asgi_baseline_mw"]))
    add("")
    real, bare = ip["asgi_real"], ip["asgi_baseline"]
    add(
        f"Ratio real/baseline (ASGI): p50 **{real['p50'] / bare['p50']:.1f}x**, "
        f"p95 {real['p95'] / bare['p95']:.1f}x, p99 {real['p99'] / bare['p99']:.1f}x; "
        f"the service adds {_ms(real['p50'] - bare['p50'])} ms at p50 "
        f'({ip["asgi_errors"]} non-200 answers). An `@app.middleware("http")` like the '
        f"app's `X-Knowledge-Version` one costs "
        f"{_ms(ip['asgi_baseline_mw']['p50'] - bare['p50'])} ms at p50 on its own."
    )
    add("")
    add("Where the request time goes (each step of the route run alone on the same payload):")
    add("")
    add("| step | p50 ms | p95 ms | share of ASGI p50 |")
    add("|---|---|---|---|")
    for name, s in ip["breakdown"]:
        if isinstance(s, str):
            add(_row([name, s, "", ""]))
        else:
            add(_row([name, _ms(s["p50"]), _ms(s["p95"]), f"{s['p50'] / real['p50']:.0%}"]))
    top_steps = [s for name, s in ip["breakdown"] if not name.startswith("-")]
    if all(isinstance(s, dict) for s in top_steps):
        rest = real["p50"] - bare["p50"] - sum(s["p50"] for s in top_steps)
        add(
            _row(
                [
                    "remainder: middleware stack, routing, dependencies, access log, "
                    "thread hop, audit hand-off, GC (ASGI p50 - baseline p50 - steps above)",
                    _ms(rest),
                    "",
                    f"{rest / real['p50']:.0%}",
                ]
            )
        )
    add("")

    add("## 2. HTTP throughput and latency (uvicorn, 1 worker, 127.0.0.1)")
    add("")
    if http:
        add(
            f"Closed-loop load generator in a separate process (httpx.AsyncClient, keep-alive, "
            f"concurrency {cfg.concurrency}, {cfg.http_warmup:g} s uncounted warm-up, then "
            f"{cfg.http_duration:g} s or at most {cfg.http_max_requests} requests). Client and "
            "server share the machine's cores; CPU % is of one core."
        )
        add("")
        add(
            "| server | req/s | p50 ms | p95 ms | p99 ms | ok | errors | server CPU | "
            "server CPU ms/request | client CPU |"
        )
        add("|---|---|---|---|---|---|---|---|---|---|")
        for name in ("real", "baseline"):
            r = http[name]
            lat = r["latency"] or {}
            cells = [
                "real app" if name == "real" else "bare baseline",
                f"{r['rps']:.0f}",
                _ms(lat.get("p50")),
                _ms(lat.get("p95")),
                _ms(lat.get("p99")),
                str(r["ok"]),
                str(r["errors"]) + (f" {r['error_kinds']}" if r["errors"] else ""),
                "n/a" if r["server_cpu_pct"] is None else f"{r['server_cpu_pct']:.0f} %",
                _ms(r["server_cpu_ms_per_request"]),
                f"{r['client_cpu_pct']:.0f} %",
            ]
            add(_row(cells))
        add("")
        add(
            f"Throughput real/baseline: **{http['ratio']:.1%}** "
            f"(target >= {TARGET_HTTP_RATIO:.0%})."
        )
        if http["cpu_ratio"] is not None:
            add(
                f"Client-independent view: the baseline server spends "
                f"{_ms(http['baseline']['server_cpu_ms_per_request'])} ms CPU per request, the "
                f"real app {_ms(http['real']['server_cpu_ms_per_request'])} ms, so with the "
                f"server alone on a core the real app could reach about "
                f"**{http['cpu_ratio']:.1%}** of the baseline's throughput."
            )
        if any(http[n]["bounded"] for n in ("real", "baseline")):
            add("Note: a run hit the request bound before the duration ended.")
        if http["baseline"]["client_cpu_pct"] > 70:
            add(
                f"Note: the load generator used {http['baseline']['client_cpu_pct']:.0f} % of a "
                "core during the baseline run (httpx costs about as much CPU per request as the "
                "bare server), so the baseline req/s is client-limited: a lower bound, and the "
                "throughput ratio an upper bound."
            )
    else:
        add(f"Not measured: {results.get('http_error', 'skipped')}")
    add("")

    add("## 3. Scaling with the number of Observations (in-process)")
    add("")
    add(
        "Each payload is the realistic patient (Patient, 10 Conditions, 5 Procedures, "
        "3 MedicationStatements, 1 draft order) with N Observations: the 40 clinical findings, "
        "older repeats of finding codes over many levels and dates (newest wins), and mostly "
        "vital-sign-like Observations with codes the service does not read."
    )
    add("")
    add(
        "| observations | resources | body KiB | input issues | iterations | decide p50 ms | "
        "us/resource | ASGI p50 ms | ASGI us/resource | response KiB |"
    )
    add("|---|---|---|---|---|---|---|---|---|---|")
    for r in sc["rows"]:
        add(
            _row(
                [
                    f"{r['observations']:,}",
                    f"{r['resources']:,}",
                    f"{r['body_bytes'] / 1024:.0f}",
                    f"{r['issues']:,}",
                    str(r["iterations"]),
                    _ms(r["decide"]["p50"]),
                    f"{r['us_per_resource']:.1f}",
                    _ms(r["asgi"]["p50"]) if r["asgi"] else "rejected",
                    f"{r['asgi_us_per_resource']:.1f}" if r["asgi"] else "-",
                    f"{r['response_bytes'] / 1024:.1f}",
                ]
            )
        )
    add("")
    fit, afit = sc["fit"], sc.get("asgi_fit")
    add(
        f"Least-squares fit of decide p50 against resources: {fit['slope_us']:.1f} us/resource "
        f"{fit['intercept_ms']:+.2f} ms, R^2 = {fit['r2']:.4f}; log-log slope "
        f"{sc['loglog']:.2f} (1 = linear); per-resource cost 10,000 vs 1,000 Observations: "
        f"**{sc['ratio_10k_1k']:.2f}x** (1.0 = linear)."
    )
    if afit:
        sizes = ", ".join(f"{n:,}" for n in sc["asgi_sizes"])
        add(
            f"Whole ASGI request ({sizes} Observations): {afit['slope_us']:.1f} us/resource "
            f"{afit['intercept_ms']:+.2f} ms, R^2 = {afit['r2']:.4f}; log-log slope "
            f"{sc['asgi_loglog']:.2f}."
        )
    for r in sc["rows"]:
        if r["asgi_error"]:
            add(f"ASGI request with {r['observations']:,} Observations: {r['asgi_error']}")
    add("")

    add("## 4. Profile hint")
    add("")
    prof = results.get("profile")
    if prof is None:
        add(f"Decision p50 {_ms(p50)} ms <= {TARGET_P50_MS:g} ms: no profile needed.")
    else:
        add(
            f"Decision p50 {_ms(p50)} ms > {TARGET_P50_MS:g} ms: cProfile over "
            f"{cfg.profile_iterations} decisions (60 resources). Times are ms per decision "
            "under the profiler (inflated, compare them with each other)."
        )
        add("")
        add("Top 15 by cumulative time:")
        add("")
        add("| function | calls/decision | own ms | cumulative ms |")
        add("|---|---|---|---|")
        n = cfg.profile_iterations
        for where, calls, own, cum in prof["cumulative"]:
            add(_row([f"`{where}`", f"{calls / n:g}", f"{own:.3f}", f"{cum:.3f}"]))
        add("")
        add("Top 15 by own time (where the CPU actually goes):")
        add("")
        add("| function | calls/decision | own ms | cumulative ms |")
        add("|---|---|---|---|")
        for where, calls, own, cum in prof["own"]:
            add(_row([f"`{where}`", f"{calls / n:g}", f"{own:.3f}", f"{cum:.3f}"]))
    add("")
    return "\n".join(lines)


def _write(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(text, encoding="utf-8")
    os.replace(tmp, path)


# --- main -----------------------------------------------------------------------------------


def _redirect_app_logs(path: Path) -> str:
    """The app may log every request (access lines) to stderr: keep that cost, as a server
    writing its log file would pay it, but send the lines to a file, not into the report."""
    moved = 0
    for handler in logging.getLogger().handlers:
        if isinstance(handler, logging.StreamHandler) and handler.stream in (
            sys.stderr,
            sys.stdout,
        ):
            handler.setStream(path.open("a", encoding="utf-8"))
            moved += 1
    return f"in-process app logs go to a temporary file ({moved} handler(s) redirected)"


def _context(workdir: str) -> dict[str, Any]:
    """Knowledge, settings, the real app and the prepared realistic payload."""
    database_url = f"sqlite:///{workdir}/bench.db"  # never ./ of the repository
    os.environ.update(appconfig.server_env(Path(workdir)))
    os.environ["VCF_CDS_DATABASE_URL"] = database_url
    from app.knowledge.loader import default_knowledge
    from app.main import create_app
    from app.settings import Settings
    from bench.inprocess import prepare, unpack_and_decide
    from bench.payload import realistic_request, resource_count

    migrated = appconfig.migrate(database_url)
    settings = Settings(**appconfig.settings_kwargs(Path(workdir), database_url))
    knowledge = default_knowledge()
    request = realistic_request()
    prepared = prepare(request)
    decision = unpack_and_decide(prepared, knowledge, settings)
    dumped = _dump(decision)
    counts: dict[str, int] = {}
    for value in [*request["prefetch"].values(), request["context"]["draftOrders"]]:
        for r in [e["resource"] for e in value.get("entry", [])] or [value]:
            if r.get("resourceType") != "Bundle":
                counts[r["resourceType"]] = counts.get(r["resourceType"], 0) + 1
    real_app = create_app(settings)
    # the ASGI transport runs no lifespan: start the audit writer as uvicorn's lifespan would,
    # or every record would take the synchronous spool fallback
    real_app.state.audit.start()
    atexit.register(real_app.state.audit.stop)
    log_note = _redirect_app_logs(Path(workdir) / "app.log")
    return {
        "settings": settings,
        "knowledge": knowledge,
        "real_app": real_app,
        "log_note": log_note,
        "prepared": prepared,
        "config": f"{appconfig.NOTE}; database {migrated}",
        "payload": {
            "resources": resource_count(request),
            "by_type": ", ".join(f"{n} {t}" for t, n in counts.items()),
            "body_bytes": len(prepared.body),
            "response_bytes": len(json.dumps(dumped)),
            "cards": len(dumped["cards"]),
            "card_summaries": "; ".join(c["summary"][:70] for c in dumped["cards"]),
        },
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="VCF-CDS benchmark (see bench/run.py)")
    parser.add_argument("--quick", action="store_true", help="shorter run (about a minute)")
    parser.add_argument("--no-http", action="store_true", help="skip the uvicorn section")
    parser.add_argument("--output", type=Path, default=RESULTS / "latest.md")
    args = parser.parse_args(argv)
    cfg = Config.make(args.quick)
    signal.signal(signal.SIGTERM, _on_signal)
    atexit.register(servers.stop_all)
    started = time.perf_counter()
    results: dict[str, Any] = {"machine": machine_info(), "mode": cfg.mode}
    results["machine"]["load average"] = "at start " + _loadavg()
    results["busy_at_start"] = _load1()
    try:
        with tempfile.TemporaryDirectory(prefix="vcf-bench-") as workdir:
            _log(f"mode {cfg.mode}; preparing payloads and the app")
            ctx = _context(workdir)
            results["payload"] = ctx["payload"]
            results["machine"]["service configuration"] = f"{ctx['config']}; {ctx['log_note']}"
            results["inprocess"] = section_inprocess(cfg, ctx)
            if args.no_http:
                results["http_error"] = "--no-http"
            else:
                try:
                    results["http"] = section_http(cfg, ctx)
                except (RuntimeError, OSError, subprocess.SubprocessError, ValueError) as exc:
                    results["http_error"] = f"failed: {exc}"
                    _log(f"2. HTTP section failed: {exc}")
            results["scaling"] = section_scaling(cfg, ctx)
            if results["inprocess"]["decide"]["p50"] > TARGET_P50_MS:
                results["profile"] = section_profile(cfg, ctx)
    finally:
        servers.stop_all()
    results["elapsed_s"] = time.perf_counter() - started
    results["machine"]["load average"] += ", at end " + _loadavg() + " (other work adds noise)"
    report = render(cfg, results)
    print(report)
    _write(args.output, report)
    _write(args.output.with_suffix(".json"), json.dumps(results, indent=1, default=str))
    _log(f"report written to {args.output} in {results['elapsed_s']:.0f} s")
    return 1 if str(results.get("http_error", "")).startswith("failed") else 0


if __name__ == "__main__":
    raise SystemExit(main())
