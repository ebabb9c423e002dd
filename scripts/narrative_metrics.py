"""Write docs/narrative-extraction.md from the labelled report-sentence corpora, or check that it
is current (--check). The page is deterministic (no timings: those are in bench/narrative.py)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
TARGET = ROOT / "docs" / "narrative-extraction.md"
CORPUS = ROOT / "tests" / "fhir" / "data" / "report_sentences.jsonl"
HELDOUT = ROOT / "tests" / "fhir" / "data" / "report_sentences_heldout.jsonl"

INTRO = ROOT / "scripts" / "narrative_intro.md"  # the fixed text of the page


def _fmt(value: float | None) -> str:
    return "-" if value is None else f"{value:.3f}"


def _table(result: object, kinds: tuple[str, ...]) -> list[str]:
    from app.fhir.narrative.evaluation import CLASSES, Result

    assert isinstance(result, Result)
    head = "| finding | " + " | ".join(f"{c} P | {c} R" for c in CLASSES) + " | present n |"
    lines = [head, "|---" * (2 * len(CLASSES) + 2) + "|"]
    for kind in (*kinds, "all"):
        cells = []
        for cls in CLASSES:
            counts = result.total(cls) if kind == "all" else result.get(kind, cls)
            cells += [_fmt(counts.precision), _fmt(counts.recall)]
        present = result.total("present") if kind == "all" else result.get(kind, "present")
        name = "**all**" if kind == "all" else kind
        lines.append(f"| {name} | " + " | ".join(cells) + f" | {present.tp + present.fn} |")
    return lines


def render() -> str:
    sys.path.insert(0, str(ROOT))
    from app.fhir.narrative.evaluation import evaluate, load_corpus
    from app.fhir.narrative.extract import KINDS

    out = [INTRO.read_text(encoding="utf-8")]
    for title, path in (("Main corpus", CORPUS), ("Held-out corpus", HELDOUT)):
        corpus = load_corpus(path)
        results = {m: evaluate(corpus, m) for m in ("context", "regex")}
        chosen = results["context"]
        out.append(f"## {title}: {chosen.sentences} sentences (`{path.relative_to(ROOT)}`)\n")
        for method, label in (("context", "medspaCy ConText (used)"), ("regex", "hand regex")):
            r = results[method]
            out.append(f"### {label}\n")
            out.extend(_table(r, KINDS))
            out.append("")
            out.append(
                f"Negated findings read as present: {len(r.negated_read_present)}. Fracture "
                f"levels exact: {r.level_exact}/{r.level_checked}. Height-loss percentage exact: "
                f"{r.percent_exact}/{r.percent_checked}.\n"
            )
        c, r = chosen.total("present"), results["regex"].total("present")
        out.append(
            f"Present, ConText vs hand regex: precision {_fmt(c.precision)} vs "
            f"{_fmt(r.precision)}, recall {_fmt(c.recall)} vs {_fmt(r.recall)}; decisions "
            f"that differ from the labels: {len(chosen.errors)} vs "
            f"{len(results['regex'].errors)}.\n"
        )
        texts = {item.id: item.text for item in corpus}
        out.append("Disagreements of ConText with the labels:\n")
        out.extend(f"- `{e}`: {texts[e.split()[0]]}" for e in chosen.errors)
        out.append("")
    return "\n".join(out)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--check", action="store_true", help="fail when the page is stale")
    args = parser.parse_args()
    text = render()
    if args.check:
        if not TARGET.exists() or TARGET.read_text(encoding="utf-8") != text:
            print("docs/narrative-extraction.md is stale: run scripts/narrative_metrics.py")
            return 1
        return 0
    TARGET.write_text(text, encoding="utf-8")
    print(f"wrote {TARGET.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
