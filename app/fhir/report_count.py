"""Counting fractures from one final spine imaging report (issue 8 item 6; fhir-input.md
"Other resources": one final spine imaging report enumerates the fractured levels completely).

A DiagnosticReport counts when its status is one of ``fracture_enumeration.statuses`` of
``derived_findings.json`` (final / amended / corrected; a preliminary report never counts) and
it is a spine imaging report: its ``code`` is an MRI / CT / CT-myelography spine study of
``order_codes.json`` (CPT or LOINC), or - any other code - its fracture findings name vertebral
levels. Its fracture findings are those of its coded results (contained, or Observations of
the same input), its ``conclusionCode`` and its narrative; a coded value outranks the text of
the same report. The list is complete only when every result was read, no fracture is
uncertain and every fracture has a level; a report that says there is no fracture lists none.
Levels read from the narrative are marked (``from_text`` and the source says so).
"""

from __future__ import annotations

from app.clinical.findings import FractureEnumeration, InputIssue
from app.fhir.codes import code_tables
from app.fhir.derived import derived_rules
from app.fhir.observations import Candidate
from app.fhir.raw import codings, objs, text
from app.fhir.reports import TEXT_MARK, without_outranked_text
from app.json_types import JsonObject

SPINE_STUDIES = ("MRI spine", "CT spine", "CT myelography spine")  # order_codes.json procedures
ReportRead = tuple[JsonObject, str, list[Candidate]]


def is_spine_study(resource: JsonObject) -> bool:
    """Whether the report's ``code`` is a spine MRI / CT / CT-myelography study code."""
    lookup = code_tables().orders.lookup()
    for system, code, _ in codings(resource.get("code")):
        order = lookup.get((system or "", code))
        if order is not None and order.procedure.startswith(SPINE_STUDIES):
            return True
    return False


def _results(resource: JsonObject) -> tuple[list[str], bool]:
    """``Observation/<id>`` of each result that is not contained; False when one is not such a
    reference."""
    out: list[str] = []
    for ref in objs(resource, "result"):
        raw = text(ref, "reference", 512) or ""
        if raw.startswith("#"):
            continue  # contained: read with the report
        tail = "/".join(raw.split("/_history/")[0].split("/")[-2:])
        if not tail.startswith("Observation/"):
            return out, False
        out.append(tail)
    return out, True


def _one(
    report: ReportRead, by_source: dict[str, list[Candidate]], issues: list[InputIssue]
) -> FractureEnumeration | None:
    resource, label, own = report
    results, readable = _results(resource)
    missing = [r for r in results if r not in by_source]
    fractures = [c for c in own if c.code == "vcf"]
    fractures += [c for r in results for c in by_source.get(r, []) if c.code == "vcf"]
    fractures = without_outranked_text(fractures, [])  # coded outranks this report's text
    if not fractures:
        return None  # the report says nothing about fractures
    spine = is_spine_study(resource) or any(c.level is not None for c in fractures)
    if not spine:
        return None
    if not readable or missing:
        shown = ", ".join(missing)[:120] or "a result that is not an Observation"
        message = f"fracture list not complete ({shown} not read); fractures not counted"
        issues.append(InputIssue("information", f"{label}.result", message))
        return None
    if any(c.value is None for c in fractures):
        message = "a fracture is uncertain in this report; fractures not counted"
        issues.append(InputIssue("information", label, message))
        return None
    present = [c for c in fractures if c.value is True]
    if any(c.level is None for c in present):
        message = "a fracture without a vertebral level; fractures not counted"
        issues.append(InputIssue("information", label, message))
        return None
    levels = tuple(sorted({c.level for c in present if c.level is not None}))
    from_text = any(c.from_text for c in present) or (
        not present and all(c.from_text for c in fractures)
    )
    source = f"{label} ({TEXT_MARK})" if from_text else label
    effective = next((c.effective for c in fractures if c.effective is not None), None)
    return FractureEnumeration(source, levels, effective, from_text)


def report_enumerations(
    reports: list[ReportRead], candidates: list[Candidate], issues: list[InputIssue]
) -> list[FractureEnumeration]:
    """Complete lists of fractured levels of the final spine imaging reports among
    ``reports`` (``(resource, label, its own candidates)``); ``candidates``: every candidate of
    the input (results that are Observations of the input are read there)."""
    statuses = derived_rules().fracture_enumeration.statuses
    counted = [r for r in reports if text(r[0], "status", 40) in statuses]
    if not counted:
        return []
    by_source: dict[str, list[Candidate]] = {}
    for c in candidates:
        by_source.setdefault(c.source.split("#", 1)[0], []).append(c)
    out: list[FractureEnumeration] = []
    for report in counted:
        found = _one(report, by_source, issues)
        if found is not None:
            out.append(found)
    return out
