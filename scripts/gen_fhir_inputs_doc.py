"""Regenerate the code-map section of docs/fhir-inputs.md from the packaged maps.

    .venv/bin/python scripts/gen_fhir_inputs_doc.py          # rewrite the section
    .venv/bin/python scripts/gen_fhir_inputs_doc.py --check  # exit 1 when it is stale

Only the text between the BEGIN/END markers is generated (the rest of the page is prose that
other changes edit); tests/fhir/test_docs_page.py fails when the section is stale.
"""

from __future__ import annotations

import sys
from collections import defaultdict
from pathlib import Path

from app.fhir.codes import code_tables
from app.fhir.concept_maps import CANONICAL_SYSTEMS, LEVEL_SYSTEM, build_index

PAGE = Path(__file__).resolve().parent.parent / "docs" / "fhir-inputs.md"
BEGIN = "<!-- BEGIN GENERATED: code maps (scripts/gen_fhir_inputs_doc.py) -->"
END = "<!-- END GENERATED: code maps -->"
ANCHOR = "## Where the codes were checked"


def _cell(text: str) -> str:
    return text.replace("|", "/").replace("\n", " ")


def section() -> str:
    """The generated Markdown section (markers included)."""
    idx = build_index()  # packaged maps only: site maps are configuration, not docs
    tables = code_tables().findings
    names = {url: name for name, url in CANONICAL_SYSTEMS.items()}
    lines = [
        BEGIN,
        "## Standard codes read (generated from `app/fhir/data/standard_maps.json`)",
        "",
        "Served as FHIR ConceptMaps at `GET /fhir/ConceptMap` and `GET /fhir/ConceptMap/{id}`. "
        "A hospital adds its own codes as ConceptMap files in the directory named by "
        "`VCF_CDS_SITE_CONCEPTMAP_DIR` (validated at start-up; the knowledge version then "
        "carries `+maps.<digest>`). Each group's `target` must be "
        f"`{tables.system}` (a finding code) or `{LEVEL_SYSTEM}` (a level); a bad file, an "
        "unknown target code or a source code mapped elsewhere stops start-up naming the file "
        "and the element. Example: `docs/examples/site-conceptmaps/example-hospital.json`. "
        "Every assessment lists per resource what it contributed and why anything was ignored "
        "(`coverage` in `POST /api/v1/assessments`); `/metrics` counts unmapped codings in "
        "`vcf_cds_unmapped_codings_total{system,code}` (the first 200 codes, then `other`).",
        "",
        "Canonical system URIs: "
        + ", ".join(f"{n} `{u}`" for n, u in CANONICAL_SYSTEMS.items())
        + ".",
        "",
        "### Findings",
        "",
        "| system | code | display | finding | equivalence | no value means | source |",
        "|---|---|---|---|---|---|---|",
    ]
    per_finding: dict[str, int] = defaultdict(int)
    for e in idx.entries:
        if e.map_id != "standard-findings" or e.target == tables.level_component.code:
            continue
        per_finding[e.target] += 1
        empty = "present" if (e.system, e.code) in idx.present_if_no_value else "unknown"
        source = e.source + (f"; {e.note}" if e.note else "")
        lines.append(
            f"| {names.get(e.system, e.system)} | `{e.code}` | {_cell(e.display)} | "
            f"`{e.target}` | {e.equivalence} | {empty} | {_cell(source)} |"
        )
    lines += [
        "",
        "Level components: "
        + ", ".join(f"{names.get(s, s)} `{c}`" for s, c in sorted(idx.level_elements))
        + " (a component whose value names the vertebra, like `vertebral-level`).",
        "",
        "### Vertebral levels (bodySite)",
        "",
        "| system | code | display | level | source |",
        "|---|---|---|---|---|",
    ]
    for e in idx.entries:
        if e.map_id == "standard-levels":
            lines.append(
                f"| {names.get(e.system, e.system)} | `{e.code}` | {_cell(e.display)} | "
                f"{e.target} | {_cell(e.source)} |"
            )
    lines += [
        "",
        "### Conditions in SNOMED CT (from `condition_codes.json`)",
        "",
        "| code | display | effects |",
        "|---|---|---|",
    ]
    for rule in code_tables().conditions.rules:
        if rule.system == "snomed":
            lines.append(f"| `{rule.value}` | {_cell(rule.display)} | {', '.join(rule.effects)} |")
    lines += [
        "",
        "### Answer codes",
        "",
        "| system | code | read as |",
        "|---|---|---|",
    ]
    for (system, code), flag in idx.boolean_answers.items():
        lines.append(f"| {names.get(system, system)} | `{code}` | {str(flag).lower()} |")
    for (system, code), (finding, value) in idx.integer_answers.items():
        lines.append(f"| {names.get(system, system)} | `{code}` | `{finding}` = {value} |")
    words = sorted(idx.text_true) + sorted(idx.text_false) + sorted(idx.text_unknown)
    lines += [
        "",
        "Answer words also read from a coding's display or the concept text: "
        + ", ".join(f"`{w}`" for w in words)
        + " (true, false, unknown in that order of lists in the data file).",
        "",
        "### Codes per finding",
        "",
        "| finding | standard codes |",
        "|---|---|",
    ]
    for code in sorted(per_finding):
        lines.append(f"| `{code}` | {per_finding[code]} |")
    missing = [f.code for f in tables.findings if f.code not in per_finding]
    lines += [
        "",
        "### No standard code found",
        "",
        "These inputs are read only in the project CodeSystem (or through a site ConceptMap): "
        "no SNOMED CT, LOINC, RadElement or DICOM code was verified to mean exactly this in "
        "this release. Some surely exist (e.g. for incontinence or kyphosis); a code is added "
        "to `standard_maps.json` only with the source it was checked in, never from memory. "
        "`symptomatic` has codes above only for documented back pain.",
        "",
        ", ".join(f"`{c}`" for c in missing),
        END,
    ]
    return "\n".join(lines) + "\n"


def render(page: str) -> str:
    """``page`` with the generated section replaced (or inserted before ``ANCHOR``)."""
    generated = section()
    if BEGIN in page and END in page:
        start = page.index(BEGIN)
        stop = page.index(END) + len(END) + 1
        return page[:start] + generated + page[stop:]
    at = page.index(ANCHOR) if ANCHOR in page else len(page)
    return page[:at] + generated + "\n" + page[at:]


def main(argv: list[str]) -> int:
    page = PAGE.read_text(encoding="utf-8")
    fresh = render(page)
    if "--check" in argv:
        if fresh != page:
            print("docs/fhir-inputs.md is stale: run scripts/gen_fhir_inputs_doc.py")
            return 1
        return 0
    PAGE.write_text(fresh, encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
