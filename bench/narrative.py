"""Report-narrative extraction benchmark (issue 8: p50 / p95 per report).

    .venv/bin/python -m bench.narrative            # about 1 minute
    .venv/bin/python -m bench.narrative --quick

Reports are built from the labelled corpus (tests/fhir/data/report_sentences.jsonl): a fixed
seed draws 6-14 sentences per report under "FINDINGS:" / "IMPRESSION:" headings (about the
size of a spine CT/MRI report body). Measured, in this process:

1. building the pipeline (spaCy + medspaCy import and rule compilation): the start-up warm-up;
2. ``extract`` per report with medspaCy ConText (used) and with the hand regex assertion;
3. ``read_resources`` of one DiagnosticReport with that narrative (seen before: the adapter
   remembers the last 512 narratives; and new), and of the same report without narrative;
4. the in-process decision for the 60-resource order-select request of ``bench.payload``, as is
   and with one narrative DiagnosticReport added to its Observations.

Prints a Markdown report and writes it to ``bench/results/narrative.md``. A benchmark, not a
test: nothing asserts a time.
"""

from __future__ import annotations

import argparse
import copy
import json
import os
import random
import time
from pathlib import Path
from typing import Any

from bench.inprocess import prepare, time_calls, unpack_and_decide
from bench.payload import PATIENT_ID, realistic_request
from bench.stats import summary
from tests import fhir_builders as fhir

ROOT = Path(__file__).resolve().parents[1]
CORPUS = ROOT / "tests" / "fhir" / "data" / "report_sentences.jsonl"
OUT = ROOT / "bench" / "results" / "narrative.md"


def reports(n: int, seed: int = 8) -> list[str]:
    sentences = [
        json.loads(line)["text"] for line in CORPUS.read_text(encoding="utf-8").splitlines()
    ]
    rng = random.Random(seed)
    out = []
    for _ in range(n):
        body = rng.sample(sentences, rng.randint(6, 14))
        cut = max(1, len(body) - 3)
        out.append("FINDINGS: " + " ".join(body[:cut]) + "\n\nIMPRESSION: " + " ".join(body[cut:]))
    return out


def report_resource(text: str | None, rid: str = "bench-r1") -> dict[str, Any]:
    return fhir.diagnostic_report(rid, text, date="2026-11-01T10:00:00Z", patient_id=PATIENT_ID)


def _row(name: str, ms: list[float]) -> str:
    s = summary(ms)
    return (
        f"| {name} | {int(s['n'])} | {s['p50']:.3f} | {s['p95']:.3f} | {s['mean']:.3f} "
        f"| {s['max']:.3f} |"
    )


def run(quick: bool) -> str:
    from app.fhir.adapter import read_resources
    from app.fhir.narrative.engine import pipeline
    from app.fhir.narrative.extract import extract, extract_cached
    from app.knowledge.loader import default_knowledge
    from app.settings import Settings

    n_reports = 60 if quick else 200
    rounds = 2 if quick else 5
    texts = reports(n_reports)
    chars = sorted(len(t) for t in texts)

    t0 = time.perf_counter()
    pipeline()
    build_s = time.perf_counter() - t0

    per_method: dict[str, list[float]] = {"context": [], "regex": []}
    for method in ("regex", "context"):
        for text in texts[:5]:
            extract(text, method)  # type: ignore[arg-type]
        for _ in range(rounds):
            for text in texts:
                start = time.perf_counter_ns()
                extract(text, method)  # type: ignore[arg-type]
                per_method[method].append((time.perf_counter_ns() - start) / 1e6)

    with_text = [report_resource(t) for t in texts]
    without = report_resource(None)
    adapter_text: list[float] = []
    for resource in with_text:  # fill the cache
        read_resources([resource])
    for _ in range(rounds):
        for resource in with_text:
            start = time.perf_counter_ns()
            read_resources([resource])
            adapter_text.append((time.perf_counter_ns() - start) / 1e6)
    adapter_plain = time_calls(lambda: read_resources([without]), n_reports * rounds, 20)
    extract_cached.cache_clear()
    adapter_first: list[float] = []  # each narrative read once: no cache hit
    for resource in with_text:
        start = time.perf_counter_ns()
        read_resources([resource])
        adapter_first.append((time.perf_counter_ns() - start) / 1e6)

    settings = Settings(environment="test", auth_required=False, audit_secret="bench-narrative")  # type: ignore[arg-type]
    knowledge = default_knowledge()
    request = realistic_request()
    plain = prepare(request)
    with_report = copy.deepcopy(request)
    entry = {"resource": report_resource(texts[0])}
    with_report["prefetch"]["observations"]["entry"].append(entry)
    narrative = prepare(with_report)
    iterations = 300 if quick else 1000
    decide_plain: list[float] = []
    decide_report: list[float] = []
    for _ in range(rounds):  # interleaved: load on the shared machine hits both alike
        decide_plain += time_calls(
            lambda: unpack_and_decide(plain, knowledge, settings), iterations // rounds, 20
        )
        decide_report += time_calls(
            lambda: unpack_and_decide(narrative, knowledge, settings), iterations // rounds, 20
        )

    load = os.getloadavg()
    lines = [
        "# Narrative extraction benchmark",
        "",
        f"{n_reports} reports from the corpus, {chars[0]}-{chars[-1]} characters "
        f"(median {chars[len(chars) // 2]}); {rounds} rounds; load average "
        f"{load[0]:.2f} / {load[1]:.2f} at the end. Times in ms.",
        "",
        f"Pipeline build (spaCy + medspaCy import, rules; start-up warm-up): {build_s:.2f} s.",
        "",
        "| what | n | p50 | p95 | mean | max |",
        "|---|---|---|---|---|---|",
        _row("extract per report, medspaCy ConText (used)", per_method["context"]),
        _row("extract per report, hand regex assertion", per_method["regex"]),
        _row("read_resources: 1 DiagnosticReport, narrative seen before (cache)", adapter_text),
        _row("read_resources: 1 DiagnosticReport, narrative new", adapter_first),
        _row("read_resources: 1 DiagnosticReport without narrative", adapter_plain),
        _row("decision, 60-resource order-select", decide_plain),
        _row("decision, same + 1 narrative DiagnosticReport (cached)", decide_report),
        "",
    ]
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args()
    text = run(args.quick)
    OUT.parent.mkdir(parents=True, exist_ok=True)
    OUT.write_text(text, encoding="utf-8")
    print(text)


if __name__ == "__main__":
    main()
