"""Observation -> finding candidates (fhir-input.md "Observations").

An Observation whose ``code`` is a project finding code (or an accepted standard synonym) gives
one candidate; each finding ``component`` gives one more (a structured report may send one
Observation with many components; both forms are equivalent). Per-vertebra findings take the
level of a ``vertebral-level`` component, else the Observation's ``bodySite``; findings that are
not per level (symptoms, red flags, ECOG...) carry no level. Status final/amended/corrected/
preliminary is used, anything else is skipped. Problems become ``InputIssue``s, never errors.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime
from typing import NamedTuple

from app.clinical.findings import FindingValue, InputIssue
from app.fhir.codes import FindingCode, code_tables, plain
from app.fhir.concept_maps import CodeIndex, index
from app.fhir.raw import MAX_TOKEN, codings, obj, objs, parse_datetime, text
from app.fhir.sites import (
    Site,
    body_site,
    canonical_levels,
    component_level,
    is_level_component,
    plain_level,
)
from app.fhir.values import Problem, only_value, read_value
from app.json_types import JsonObject
from app.knowledge.per_object import PerObject

NOT_A_FINDING = "no VCF-CDS finding code"  # the start of the issue for an unmapped code
USED_STATUSES = frozenset({"final", "amended", "corrected", "preliminary"})


@dataclass(slots=True)  # not frozen: one per reading on the hot path, never changed
class Candidate:
    """One finding read from one Observation or component, before newest-wins."""

    code: str
    value: FindingValue | None
    source: str
    level: str | None
    unit: str | None
    effective: datetime | None
    from_text: bool = False  # read from report narrative (app.fhir.reports): never outranks coded


def finding_match(concept: object) -> tuple[str, bool] | None:
    """``(project finding code, present when no value)`` of a CodeableConcept: the project
    system first, then the standard and site-local maps (``app.fhir.concept_maps``)."""
    tables = code_tables().findings
    known = tables.by_code()
    idx = index()
    found = list(codings(concept))
    for system, code, _ in found:
        if system == tables.system and code in known:
            return code, False
    for system, code, _ in found:
        if system is not None and (key := (system, code)) in idx.finding_by_coding:
            return idx.finding_by_coding[key], key in idx.present_if_no_value
    return None


def finding_code(concept: object) -> str | None:
    """The project finding code of a CodeableConcept (project system first, then the maps)."""
    match = finding_match(concept)
    return match[0] if match is not None else None


def _first_coding(concept: object) -> str:
    for system, code, _ in codings(concept):
        return f"{(system or '(no system)')[:60]}|{code[:40]}"
    return "no coding"


def _not_a_finding(resource: JsonObject, label: str, issues: list[InputIssue]) -> None:
    shown = _first_coding(resource.get("code"))
    message = f"{NOT_A_FINDING} ({shown}); ignored"
    issues.append(InputIssue("information", f"{label}.code", message))


def effective_time(resource: JsonObject, label: str, issues: list[InputIssue]) -> datetime | None:
    """``effectiveDateTime`` / ``effectiveInstant`` / ``effectivePeriod.end`` (else start) /
    ``issued``: the first that parses."""
    period = obj(resource, "effectivePeriod")
    candidates = [
        ("effectiveDateTime", resource.get("effectiveDateTime")),
        ("effectiveInstant", resource.get("effectiveInstant")),
        ("effectivePeriod.end", period.get("end") if period else None),
        ("effectivePeriod.start", period.get("start") if period else None),
        ("issued", resource.get("issued")),
    ]
    for field, raw in candidates:
        if raw is None:
            continue
        moment = parse_datetime(raw)
        if moment is not None:
            return moment
        issues.append(InputIssue("warning", f"{label}.{field}", "not a FHIR dateTime; ignored"))
    return None


def _status_ok(resource: JsonObject, label: str, issues: list[InputIssue]) -> bool:
    status = text(resource, "status", 40)
    if status in USED_STATUSES:
        return True
    shown = status if status is not None else "missing"
    issues.append(InputIssue("information", f"{label}.status", f"status {shown}: not used"))
    return False


class _Reader:
    """Reads the candidates of one Observation into ``out`` and ``issues``."""

    def __init__(self, resource: JsonObject, label: str, issues: list[InputIssue]) -> None:
        self.resource = resource
        self.label = label
        self.issues = issues
        self.out: list[Candidate] = []
        self.effective = effective_time(resource, label, issues)
        self.tables = code_tables().findings

    def add(
        self,
        element: JsonObject,
        match: tuple[str, bool],
        where: str,
        source: str,
        site: Site,
        site_at: str,
    ) -> None:
        code, present_if_empty = match
        spec = self.tables.by_code()[code]
        level = None
        if spec.per_level:
            if site.error is not None:
                self.issues.append(InputIssue("error", site_at, f"{site.error}; {code} skipped"))
                return
            level = site.level
            if not self._level_allowed(spec, level, where):
                return
        result = read_value(element, spec, self.tables.boolean_codes, present_if_empty)
        if isinstance(result, Problem):
            message = f"{result.message}; {code} skipped"
            self.issues.append(InputIssue("error", f"{where}.{result.field}", message))
            return
        if result.note is not None:
            self.issues.append(InputIssue("warning", where, result.note))
        self.out.append(Candidate(code, result.value, source, level, result.unit, self.effective))

    def _level_allowed(self, spec: FindingCode, level: str | None, where: str) -> bool:
        if spec.levels is None or level is None or level in spec.levels:
            return True
        allowed = f"{spec.levels[0]}-{spec.levels[-1]}"
        message = f"{spec.code} is read at {allowed} only; {level} skipped"
        self.issues.append(InputIssue("warning", f"{where}.bodySite", message))
        return False

    def read(self, own: tuple[str, bool] | None, components: list[JsonObject]) -> list[Candidate]:
        """``own``: ``finding_match`` of the resource's code; ``components``: its
        component objects."""
        own_code = own[0] if own is not None else None
        per_level = own_code is not None and self.tables.by_code()[own_code].per_level
        site = body_site(self.resource) if per_level or components else Site()
        site_at = f"{self.label}.bodySite"
        stated, stated_at = self._stated_level(components, site, site_at)
        if own is not None:
            at, own_at = (site, site_at) if site.level or site.error else (stated, stated_at)
            self.add(self.resource, own, self.label, self.label, at, own_at)
        found = self._components(components, stated, stated_at)
        if own_code is None and not found:
            _not_a_finding(self.resource, self.label, self.issues)
        return self.out

    def _stated_level(
        self, components: list[JsonObject], site: Site, site_at: str
    ) -> tuple[Site, str]:
        """The level of the ``vertebral-level`` component(s), else the bodySite's."""
        stated = [
            (i, component_level(c)) for i, c in enumerate(components) if is_level_component(c)
        ]
        if not stated:
            return site, site_at
        where = f"{self.label}.component[{stated[0][0]}]"
        if len({s.level for _, s in stated}) > 1:
            return Site(error="several vertebral-level components disagree"), where
        return stated[0][1], where

    def _components(self, components: list[JsonObject], site: Site, site_at: str) -> bool:
        found = False
        for i, component in enumerate(components):
            if is_level_component(component):
                continue
            where = f"{self.label}.component[{i}]"
            code = finding_match(component.get("code"))
            if code is None:
                shown = _first_coding(component.get("code"))
                message = f"{NOT_A_FINDING} ({shown}); ignored"
                self.issues.append(InputIssue("information", f"{where}.code", message))
                continue
            found = True
            source = f"{self.label}#component[{i}]"
            self.add(component, code, where, source, site, site_at)
        return found


Read = tuple[list[Candidate], list[InputIssue]]


def _plain_read(resource: JsonObject, label: str, dates: dict[str, datetime | None]) -> Read | None:
    """What ``tolerant_read`` gives for a plain, well-formed Observation; ``None`` for any
    other, which then takes the tolerant path (``plain_one`` as a ``Read``)."""
    found = plain_one(resource, label, dates, plain_plans())
    if found is None:
        return None
    return ([found], []) if found.__class__ is Candidate else ([], [found])  # type: ignore[list-item]


class _Plan(NamedTuple):
    """What the fast path needs of one finding code, read once from the code tables."""

    spec: FindingCode
    code: str
    kind: str  # spec.type
    levels: frozenset[str] | None  # per-level findings: the canonical levels it is read at
    folded: dict[str, str]  # coded: ``_make_folded``
    present_if_empty: bool


def _make_plans(idx: CodeIndex) -> dict[tuple[str, str], _Plan]:
    canonical = canonical_levels()
    plans: dict[tuple[str, str], _Plan] = {}
    for key, spec in idx.spec_by_coding.items():
        levels = None
        if spec.per_level:
            levels = canonical if spec.levels is None else canonical & frozenset(spec.levels)
        folded = _make_folded(spec)
        present = key in idx.present_if_no_value
        plans[key] = _Plan(spec, spec.code, spec.type, levels, folded, present)
    return plans


_plans = PerObject(_make_plans, limit=1)  # the current code index only


def plain_plans() -> dict[tuple[str, str], _Plan]:
    """``(system, code) -> _Plan`` of the current code index (built once per index)."""
    return _plans(index())


def plain_one(
    resource: JsonObject,
    label: str,
    dates: dict[str, datetime | None],
    plans: dict[tuple[str, str], _Plan],
) -> Candidate | InputIssue | None:
    """The one candidate (or the one "no VCF-CDS finding code" note) that ``tolerant_read``
    gives for a plain, well-formed Observation; ``None`` for any other, which then takes the
    tolerant path. ``plans``: ``plain_plans()``.

    Plain: a used ``status``, no ``component``, an ``effectiveDateTime`` that parses and a
    ``code`` with exactly one coding whose system and code ``raw.text`` returns unchanged.
    Either that coding is no finding code (vital signs...: the "no VCF-CDS finding code"
    note), or it is a finding code or synonym as written in the table and, for per-level
    findings, the ``bodySite`` has exactly one ``vertebral-level`` coding of a canonical level
    the finding is read at, and the value reads without problem or note (one candidate, no
    issue). Everything read here is read as the tolerant path reads it.
    """
    get = resource.get
    status = get("status")
    if status.__class__ is not str or status not in USED_STATUSES:
        return None
    if get("component") is not None:
        return None
    concept = get("code")
    if concept.__class__ is not dict:
        return None
    coding = concept.get("coding")
    if coding.__class__ is not list or len(coding) != 1:
        return None
    first = coding[0]
    if first.__class__ is not dict:
        return None
    system = first.get("system")
    code = first.get("code")
    if system.__class__ is not str or code.__class__ is not str:
        return None
    when = get("effectiveDateTime")
    if when.__class__ is not str:
        return None
    if when in dates:  # the same few timestamps recur in a record
        effective = dates[when]
    else:
        effective = dates[when] = parse_datetime(when)
    if effective is None:
        return None
    plan = plans.get((system, code))
    if plan is None:
        if not (plain(system, 512) and plain(code)):
            return None  # the tolerant path may still find a code once it is stripped
        message = f"{NOT_A_FINDING} ({system[:60]}|{code[:40]}); ignored"
        return InputIssue("information", f"{label}.code", message)
    spec, finding, kind, levels, folded, present_if_empty = plan
    level = None
    if levels is not None:  # per-level: one canonical level coding, a level it is read at
        level = plain_level(get("bodySite"))
        if level not in levels:  # ``levels`` holds canonical levels only (never None)
            return None
    if kind == "boolean":  # the usual finding: ``read_value``'s answer without its calls
        raw = get("valueBoolean")
        if (
            (raw is True or raw is False)
            and get("dataAbsentReason") is None
            and only_value(resource, "valueBoolean")
        ):
            return Candidate(finding, raw, label, level, None, effective)
    elif kind == "coded":
        fast = _plain_coded(resource, folded)
        if fast is not None:
            return Candidate(finding, fast, label, level, None, effective)
    elif kind == "quantity":
        number = _plain_quantity(resource, spec)
        if number is not None:
            return Candidate(finding, number, label, level, spec.unit, effective)
    result = read_value(resource, spec, code_tables().findings.boolean_codes, present_if_empty)
    if isinstance(result, Problem) or result.note is not None:
        return None
    return Candidate(finding, result.value, label, level, result.unit, effective)


def _make_folded(spec: FindingCode) -> dict[str, str]:
    """A coded finding's values folded (lower case) -> the first value of the list that folds
    to it (what ``values._match`` returns)."""
    folded: dict[str, str] = {}
    for value in spec.values or ():
        folded.setdefault(value.lower(), value)
    return folded


def _plain_element(resource: JsonObject, key: str) -> JsonObject | None:
    """``resource[key]`` when it is an object, the Observation's only value element and no
    ``dataAbsentReason`` stands beside it; else ``None``."""
    raw = resource.get(key)
    if raw.__class__ is not dict or resource.get("dataAbsentReason") is not None:
        return None
    return raw if only_value(resource, key) else None


def _plain_coded(resource: JsonObject, folded: dict[str, str]) -> str | None:
    """The value ``read_value`` gives, without a note, for a coded finding's plain form (one
    coding of a listed value; ``folded``: ``_make_folded`` of the finding); ``None`` for
    anything else (then ``read_value`` decides)."""
    raw = _plain_element(resource, "valueCodeableConcept")
    if raw is None:
        return None
    coding = raw.get("coding")
    if coding.__class__ is not list or len(coding) != 1 or coding[0].__class__ is not dict:
        return None
    found = coding[0].get("code")
    if found.__class__ is not str or not 0 < len(found) <= MAX_TOKEN:
        return None
    key = found.strip().lower()
    return folded.get(key) if key else None


def _plain_quantity(resource: JsonObject, spec: FindingCode) -> float | None:
    """The number ``read_value`` gives, without a note, for a quantity finding's plain form (a
    number in the finding's own unit code); ``None`` for anything else."""
    raw = _plain_element(resource, "valueQuantity")
    if raw is None:
        return None
    number = raw.get("value")
    if number.__class__ is not float and not (number.__class__ is int and abs(number) < 2**53):
        return None
    if spec.unit is None or raw.get("comparator") is not None:
        return None
    if text(raw, "code") != spec.unit:  # the unit as the table writes it: factor 1, no note
        return None
    value = float(number)
    if not math.isfinite(value):
        return None
    if (spec.min is not None and value < spec.min) or (spec.max is not None and value > spec.max):
        return None
    return value


def tolerant_read(resource: JsonObject, label: str) -> Read:
    issues: list[InputIssue] = []
    if not _status_ok(resource, label, issues):
        return [], issues
    own = finding_match(resource.get("code"))
    components = objs(resource, "component")
    if own is None and not components:  # nothing here is read
        effective_time(resource, label, issues)  # its warnings, as ``_Reader`` gives them
        _not_a_finding(resource, label, issues)
        return [], issues
    return _Reader(resource, label, issues).read(own, components), issues


def read_observation(
    resource: JsonObject, label: str, dates: dict[str, datetime | None] | None = None
) -> Read:
    """Candidates and issues of one Observation (never raises on odd input). ``dates``: the
    ``effectiveDateTime`` values parsed so far (shared by the Observations of one read)."""
    fast = _plain_read(resource, label, {} if dates is None else dates)
    return fast if fast is not None else tolerant_read(resource, label)
