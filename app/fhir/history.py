"""Condition and Procedure -> history facts (fhir-input.md "Other resources").

Condition: every clinicalStatus counts as history (active, recurrence, relapse, remission,
resolved, inactive, or none); verificationStatus entered-in-error/refuted is ignored. The
ICD-10-CM/SNOMED CT rules of ``condition_codes.json`` give malignancy, bone metastasis,
documented etiology, documented VCF and osteoporosis. Procedure: a completed procedure with a CPT
code of ``procedure_codes.json`` is prior vertebral augmentation or spine surgery.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from app.clinical.findings import DocumentedFracture, EtiologyEvidence, InputIssue
from app.fhir.codes import ConditionCodes, Effect, code_tables
from app.fhir.raw import codings, obj, objs, parse_datetime, text
from app.fhir.sites import parse_level
from app.json_types import JsonObject
from app.knowledge.per_object import BoundedMemo, PerObject

IGNORED_VERIFICATION = frozenset({"entered-in-error", "refuted"})


@dataclass
class HistorySources:
    """Sources of each history fact, collected over all Conditions and Procedures."""

    malignancy: list[str] = field(default_factory=list)
    bone_metastasis: list[str] = field(default_factory=list)
    osteoporosis: list[str] = field(default_factory=list)
    prior_treatment: list[str] = field(default_factory=list)
    etiology: list[EtiologyEvidence] = field(default_factory=list)
    fractures: list[DocumentedFracture] = field(default_factory=list)


def icd_form(code: str) -> str:
    """``m4850xa`` -> ``M48.50XA`` (ICD-10-CM with the dot after the category)."""
    compact = code.strip().upper().replace(".", "")
    return compact if len(compact) <= 3 else f"{compact[:3]}.{compact[3:]}"


_MEMO_MAX = 4096  # distinct (system, code) codings remembered by ``condition_effects``


def _new_memo(_tables: ConditionCodes) -> BoundedMemo[tuple[str | None, str], frozenset[Effect]]:
    return BoundedMemo(_MEMO_MAX)


_memos = PerObject(_new_memo, limit=1)  # the current code tables only


def _coding_effects(tables: ConditionCodes, system: str | None, code: str) -> frozenset[Effect]:
    family = tables.family_of().get(system or "")
    if family is None:
        return frozenset()
    normal = icd_form(code) if family == "icd-10-cm" else code.strip()
    return frozenset(tables.effects(family, normal))


def condition_effects(concept: object) -> set[Effect]:
    """Effects of every ICD-10-CM / SNOMED CT coding of a Condition's code.

    Memo: the effects of each (system, code) seen, for the current code tables only (a new
    tables object starts a new memo), at most ``_MEMO_MAX`` codings (emptied when full)."""
    tables = code_tables().conditions
    memo = _memos(tables)
    effects: set[Effect] = set()
    for system, code, _ in codings(concept):
        found = memo.get((system, code))
        if found is None:
            found = memo.put((system, code), _coding_effects(tables, system, code))
        effects |= found
    return effects


def _onset(resource: JsonObject) -> datetime | None:
    period = obj(resource, "onsetPeriod")
    for raw in (
        resource.get("onsetDateTime"),
        period.get("start") if period else None,
        resource.get("recordedDate"),
    ):
        moment = parse_datetime(raw)
        if moment is not None:
            return moment
    return None


def _condition_level(resource: JsonObject, label: str, issues: list[InputIssue]) -> str | None:
    for i, site in enumerate(objs(resource, "bodySite")):
        for _, code, _ in codings(site):
            if (level := parse_level(code)) is not None:
                return level
        label_text = text(site, "text")
        if label_text is not None:
            level = parse_level(label_text)
            if level is None:
                message = "not a vertebral level; fracture kept without level"
                issues.append(InputIssue("warning", f"{label}.bodySite[{i}]", message))
            return level
    return None


def _verification_ignored(resource: JsonObject) -> str | None:
    for _, code, _ in codings(resource.get("verificationStatus")):
        if code in IGNORED_VERIFICATION:
            return code
    return None


def read_condition(
    resource: JsonObject, label: str, into: HistorySources, issues: list[InputIssue]
) -> None:
    """Add one Condition's facts to ``into``."""
    ignored = _verification_ignored(resource)
    if ignored is not None:
        message = f"verificationStatus {ignored}: ignored"
        issues.append(InputIssue("information", f"{label}.verificationStatus", message))
        return
    effects = condition_effects(resource.get("code"))
    if not effects:
        return
    onset = _onset(resource)
    if "malignancy" in effects:
        into.malignancy.append(label)
    if "bone_metastasis" in effects:
        into.bone_metastasis.append(label)
    if "osteoporosis" in effects:
        into.osteoporosis.append(label)
    if "etiology_osteoporotic" in effects:
        into.etiology.append(EtiologyEvidence("osteoporotic", (label,), onset))
    if "etiology_pathological" in effects:
        into.etiology.append(EtiologyEvidence("pathological", (label,), onset))
    if "vcf" in effects:
        level = _condition_level(resource, label, issues)
        into.fractures.append(DocumentedFracture((label,), onset, level))


def read_procedure(
    resource: JsonObject, label: str, into: HistorySources, issues: list[InputIssue]
) -> None:
    """A completed Procedure with a listed CPT code is prior augmentation/spine surgery."""
    tables = code_tables().procedures
    known = tables.code_set()
    hits = [c for s, c, _ in codings(resource.get("code")) if s == tables.system and c in known]
    if not hits:
        return
    status = text(resource, "status", 40)
    if status not in tables.counted_statuses:
        message = f"status {status or 'missing'}: not counted as prior treatment"
        issues.append(InputIssue("information", f"{label}.status", message))
        return
    into.prior_treatment.append(label)


def merge_fractures(fractures: list[DocumentedFracture]) -> list[DocumentedFracture]:
    """One DocumentedFracture per level: all sources, earliest documentation."""
    by_level: dict[str | None, list[DocumentedFracture]] = {}
    for fracture in fractures:
        by_level.setdefault(fracture.level, []).append(fracture)
    merged = []
    for level, group in by_level.items():
        sources = tuple(dict.fromkeys(s for f in group for s in f.sources))
        dates = [f.first_documented for f in group if f.first_documented is not None]
        merged.append(DocumentedFracture(sources, min(dates) if dates else None, level))
    return merged
