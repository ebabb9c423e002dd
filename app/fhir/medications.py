"""MedicationStatement/MedicationRequest -> prolonged systemic corticosteroids (fhir-input.md).

A record is a systemic corticosteroid when its medication (code, or a referenced Medication)
has an RxNorm ingredient CUI or an ATC H02AB code of ``medication_codes.json``, or names one of
those ingredients in its display/text, and neither the medication nor the dosage route names a
non-systemic form (cream, inhaler, eye drops, intra-articular...). Duration rule: see
``duration_rule`` in the data file and ``docs/fhir-inputs.md``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, timedelta
from typing import NamedTuple

from app.clinical.fast_init import fast_init
from app.fhir.codes import MedicationCodes, code_tables
from app.fhir.raw import codings, obj, objs, parse_datetime, text
from app.json_types import JsonObject
from app.knowledge.per_object import PerObject

IGNORED_STATUSES = frozenset({"entered-in-error", "not-taken", "intended", "cancelled", "draft"})
OPEN_STATUSES = frozenset({"active", "on-hold", "unknown"})
_DAYS = {"d": 1.0, "wk": 7.0, "mo": 30.4375, "a": 365.25, "h": 1 / 24, "min": 1 / 1440}
_DAY_WORDS = {"day": "d", "days": "d", "week": "wk", "weeks": "wk", "month": "mo"}
_DAY_WORDS |= {"months": "mo", "year": "a", "years": "a", "hour": "h", "hours": "h"}
_WORD = re.compile(r"[a-z]+")


@fast_init
@dataclass(frozen=True)
class Course:
    """One corticosteroid record: dated interval and/or a length in days (None = unknown)."""

    source: str
    start: date | None
    end: date | None
    days: float | None


def _words(labels: list[str | None]) -> list[str]:
    return [w for label in labels if label for w in _WORD.findall(label[:512].lower())]


def _medication_concept(resource: JsonObject, medications: dict[str, JsonObject]) -> object:
    concept = resource.get("medicationCodeableConcept")
    if concept is not None:
        return concept
    ref = text(obj(resource, "medicationReference"), "reference", 512) or ""
    if ref.startswith("#"):
        contained = [c for c in objs(resource, "contained") if c.get("id") == ref[1:]]
        return contained[0].get("code") if contained else None
    med = medications.get(ref.rsplit("/", 1)[-1]) if "Medication/" in ref else None
    return med.get("code") if med else None


class _Plan(NamedTuple):
    """The medication code table as ``is_systemic_corticosteroid`` reads it (built once)."""

    rxnorm: str
    atc: str
    cuis: frozenset[str]
    names: frozenset[str]
    atc_prefixes: tuple[str, ...]
    stems: tuple[str, ...]


def _make_plan(tables: MedicationCodes) -> _Plan:
    return _Plan(
        tables.systems["rxnorm"],
        tables.systems["atc"],
        tables.cuis(),
        tables.names(),
        tuple(tables.atc_prefixes),
        tuple(tables.non_systemic_stems),
    )


_plans = PerObject(_make_plan, limit=1)  # the current code tables only


def is_systemic_corticosteroid(resource: JsonObject, medications: dict[str, JsonObject]) -> bool:
    """Whether the record is a systemic corticosteroid (see module docstring)."""
    plan = _plans(code_tables().medications)
    concept = _medication_concept(resource, medications)
    found = codings(concept)
    coded = False
    for s, c, _ in found:
        if (s == plan.rxnorm and c in plan.cuis) or (
            s == plan.atc and c.upper().startswith(plan.atc_prefixes)
        ):
            coded = True
            break
    labels = [d for _, _, d in found]
    labels.append(text(concept, "text", 512))
    words = _words(labels)
    if not coded and plan.names.isdisjoint(words):
        return False
    routes: list[str | None] = []
    for dosage in objs(resource, "dosage") + objs(resource, "dosageInstruction"):
        routes.append(text(obj(dosage, "route"), "text", 512))
        routes.append(text(dosage, "text", 512))
        routes += [d for _, _, d in codings(dosage.get("route"))]
    stems = plan.stems
    # the words of ``labels`` again, then those of the routes
    return not any(w.startswith(stems) for w in words) and not any(
        w.startswith(stems) for w in _words(routes)
    )


def _duration_days(duration: object) -> float | None:
    value = duration.get("value") if isinstance(duration, dict) else None
    if isinstance(value, bool) or not isinstance(value, int | float) or value < 0:
        return None
    unit = text(duration, "code", 16) or text(duration, "unit", 16) or ""
    unit = _DAY_WORDS.get(unit.lower(), unit)
    factor = _DAYS.get(unit)
    return float(value) * factor if factor is not None and value < 1e6 else None


def _period(period: object) -> tuple[date | None, date | None]:
    start = parse_datetime(period.get("start")) if isinstance(period, dict) else None
    end = parse_datetime(period.get("end")) if isinstance(period, dict) else None
    return (start.date() if start else None), (end.date() if end else None)


def _bounds(resource: JsonObject) -> list[tuple[date | None, date | None, float | None]]:
    out: list[tuple[date | None, date | None, float | None]] = []
    for dosage in objs(resource, "dosage") + objs(resource, "dosageInstruction"):
        repeat = obj(obj(dosage, "timing"), "repeat")
        if repeat is None:
            continue
        start, end = _period(repeat.get("boundsPeriod"))
        out.append((start, end, _duration_days(repeat.get("boundsDuration"))))
    return out


def _supply_days(resource: JsonObject) -> float | None:
    dispense = obj(resource, "dispenseRequest")
    days = _duration_days(dispense.get("expectedSupplyDuration")) if dispense else None
    if days is None or dispense is None:
        return None
    repeats: object = dispense.get("numberOfRepeatsAllowed")
    count = 0
    if isinstance(repeats, int) and not isinstance(repeats, bool) and 0 <= repeats < 1000:
        count = repeats
    return days * (1 + count)


def course_of(resource: JsonObject, label: str, today: date) -> Course:
    """The interval (or length) of one corticosteroid record; unknown parts are ``None``."""
    status = text(resource, "status", 40)
    start, end = _period(resource.get("effectivePeriod"))
    point = parse_datetime(resource.get("effectiveDateTime") or resource.get("authoredOn"))
    start = start or (point.date() if point else None)
    lengths: list[float] = []
    for b_start, b_end, b_days in _bounds(resource):
        start = start or b_start
        end = end or b_end
        if b_days is not None:
            lengths.append(b_days)
    supply = _supply_days(resource)
    if supply is not None:
        lengths.append(supply)
    if start is not None and end is None and lengths:
        end = start + timedelta(days=max(lengths))
    if start is not None and end is None and status in OPEN_STATUSES:
        end = today
    if start is not None and end is not None:
        if end < start:
            return Course(label, None, None, None)
        return Course(label, start, end, float((end - start).days))
    return Course(label, None, None, max(lengths) if lengths else None)


def prolonged(courses: list[Course]) -> tuple[bool | None, tuple[str, ...]]:
    """``True`` with the sources of a course > min_days; ``None`` when any course length is
    unknown; else ``False`` (every course known and short)."""
    rule = code_tables().medications.duration_rule
    gap = timedelta(days=rule.merge_gap_days)
    dated = sorted(
        ((c.start, c.end, c.source) for c in courses if c.start and c.end), key=lambda t: t[0]
    )
    runs: list[tuple[date, date, list[str]]] = []
    for start, end, source in dated:
        if runs and start <= runs[-1][1] + gap:
            first, last, sources = runs[-1]
            runs[-1] = (first, max(last, end), [*sources, source])
        else:
            runs.append((start, end, [source]))
    for first, last, sources in runs:
        if (last - first).days > rule.min_days:
            return True, tuple(sources)
    for course in courses:
        if course.start is None and course.days is not None and course.days > rule.min_days:
            return True, (course.source,)
    if any(c.days is None for c in courses):
        return None, tuple(c.source for c in courses if c.days is None)
    return False, tuple(c.source for c in courses)
