"""ACR variant matcher (seed 003 variants; clinical-rules 1.2-1.4).

Conditions are data (``acr_vcf.json``). A variant is ``matched`` when its condition holds for
every completion of the unknown inputs it reads, ``possible`` when for some but not all, and
not matched otherwise. The inputs that would decide a possible variant are reported.
"""

from __future__ import annotations

import itertools
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Literal

from app.clinical.fast_init import fast_init
from app.clinical.state import STATE_FIELDS, ClinicalState, StateValue
from app.knowledge.per_object import PerObject
from app.knowledge.schema import Condition, Knowledge, Variant

Status = Literal["matched", "possible", "not_matched"]
Question = Literal["imaging", "treatment"]

_DOMAINS: dict[str, tuple[StateValue, ...]] = {"etiology": ("osteoporotic", "pathological")}
Assignment = dict[str, StateValue]  # values for the unknown inputs of one completion


def _domain(name: str) -> tuple[StateValue, ...]:
    return _DOMAINS.get(name, (True, False))


def _is_unknown(state: ClinicalState, name: str) -> bool:
    value = state.value(name)
    return value is None or (name == "etiology" and value == "unknown")


def evaluate(cond: Condition, state: ClinicalState) -> bool:
    """Evaluate a condition on a state with no unknown among the inputs it reads."""
    return _holds(cond, {name: getattr(state, name) for name in STATE_FIELDS})


def _holds(cond: Condition, values: Mapping[str, StateValue]) -> bool:
    """``evaluate`` on the state's values by input name."""
    if cond.all is not None:
        return all(_holds(child, values) for child in cond.all)
    if cond.any is not None:
        return any(_holds(child, values) for child in cond.any)
    assert cond.input is not None
    return bool(values[cond.input] == cond.equals)


@dataclass(frozen=True)
class VariantStatus:
    id: int
    status: Status
    deciding_inputs: tuple[str, ...]


def variant_status(variant: Variant, state: ClinicalState) -> VariantStatus:
    """Enumerate the completions of the unknown inputs the condition reads (at most 2^5 * 2)."""
    unknown = [n for n in variant.condition.inputs() if _is_unknown(state, n)]
    values = {name: getattr(state, name) for name in STATE_FIELDS}
    if not unknown:  # the one completion is the state itself
        holds = _holds(variant.condition, values)
        return VariantStatus(variant.id, "matched" if holds else "not_matched", ())
    outcomes: list[tuple[Assignment, bool]] = []
    for combo in itertools.product(*(_domain(n) for n in unknown)):
        assignment = dict(zip(unknown, combo, strict=True))
        outcomes.append((assignment, _holds(variant.condition, values | assignment)))
    results = {ok for _, ok in outcomes}
    if results == {True}:
        return VariantStatus(variant.id, "matched", ())
    if results == {False}:
        return VariantStatus(variant.id, "not_matched", ())
    deciding = tuple(n for n in unknown if _decides(n, outcomes))
    return VariantStatus(variant.id, "possible", deciding)


# --- per-knowledge decision tables (the hot path of ``match``) --------------------------------

_ETIOLOGIES = frozenset({"osteoporotic", "pathological", "unknown"})


@dataclass(frozen=True)
class _Rule:
    """One variant with the inputs its condition reads and its statuses seen so far, by the
    values of those inputs (the variant's decision table, filled in on first use)."""

    variant: Variant
    inputs: tuple[str, ...]
    table: dict[tuple[StateValue, ...], VariantStatus]

    def status(self, state: ClinicalState) -> VariantStatus:
        key: tuple[StateValue, ...] = tuple([getattr(state, name) for name in self.inputs])
        found = self.table.get(key)
        if found is not None:
            return found
        status = variant_status(self.variant, state)
        if all(
            (v is True or v is False or v is None)
            if name != "etiology"
            else (v.__class__ is str and v in _ETIOLOGIES)
            for name, v in zip(self.inputs, key, strict=True)
        ):  # only values of the state's domains: the table stays finite
            self.table[key] = status
        return status


@dataclass(frozen=True)
class _Tables:
    knowledge: Knowledge
    rules: dict[str, tuple[_Rule, ...]]  # by question, in knowledge order
    precedence: dict[Question, tuple[int, ...]]  # policies <question>_precedence


def _make_tables(knowledge: Knowledge) -> _Tables:
    """The decision tables of one knowledge object (frozen, so they never go stale).

    Cache bounds: at most 4 knowledge objects (``PerObject``); per
    variant at most 3 ** (inputs its condition reads) statuses - true/false/unknown per
    input, the three etiologies - and only states whose values are in those domains are
    stored. The status for a key is exactly ``variant_status`` of any state with those input
    values (the condition reads nothing else)."""
    rules: dict[str, list[_Rule]] = {}
    for v in knowledge.acr.variants:
        rule = _Rule(v, tuple(v.condition.inputs()), {})
        rules.setdefault(v.question, []).append(rule)
    return _Tables(
        knowledge,
        {q: tuple(r) for q, r in rules.items()},
        {q: tuple(knowledge.policies.precedence(q)) for q in ("imaging", "treatment")},
    )


_tables = PerObject(_make_tables)


def _decides(name: str, outcomes: list[tuple[Assignment, bool]]) -> bool:
    """True when changing only ``name`` can change the outcome."""
    by_rest: dict[tuple[tuple[str, StateValue], ...], set[bool]] = {}
    for assignment, ok in outcomes:
        rest = tuple(sorted((k, v) for k, v in assignment.items() if k != name))
        by_rest.setdefault(rest, set()).add(ok)
    return any(len(v) > 1 for v in by_rest.values())


@fast_init
@dataclass(frozen=True)
class MatchResult:
    question: Question
    matched: tuple[int, ...]
    possible: tuple[int, ...]
    primary: int | None
    primary_certain: bool
    missing: tuple[str, ...]
    statuses: tuple[VariantStatus, ...]
    precedence: tuple[int, ...]
    notes: tuple[str, ...]


def match(
    state: ClinicalState,
    knowledge: Knowledge,
    question: Question,
    precedence: list[int] | None = None,
) -> MatchResult:
    """Match every variant of one question; the primary is the first match in precedence order
    (policies imaging_precedence / treatment_precedence). ``primary_certain`` is False when a
    variant earlier in that order is still possible."""
    tables = _tables(knowledge)
    order = tuple(precedence or tables.precedence[question])
    statuses = tuple(rule.status(state) for rule in tables.rules.get(question, ()))
    by_id = {s.id: s for s in statuses}
    matched = tuple(s.id for s in statuses if s.status == "matched")
    possible = tuple(s.id for s in statuses if s.status == "possible")
    primary = next((n for n in order if by_id[n].status == "matched"), None)
    earlier = order if primary is None else order[: order.index(primary)]
    primary_certain = not any(by_id[n].status == "possible" for n in earlier)
    missing: list[str] = []
    for s in statuses:
        for name in s.deciding_inputs:
            if name not in missing:
                missing.append(name)
    return MatchResult(
        question=question,
        matched=matched,
        possible=possible,
        primary=primary,
        primary_certain=primary_certain,
        missing=tuple(missing),
        statuses=statuses,
        precedence=order,
        notes=tuple(_notes(state, question, matched, possible)),
    )


def _notes(
    state: ClinicalState, question: Question, matched: tuple[int, ...], possible: tuple[int, ...]
) -> list[str]:
    notes: list[str] = []
    if question == "imaging" and not matched:
        if state.vcf_present and state.symptomatic is False and state.malignancy_history is False:
            notes.append(
                "Asymptomatic VCF without a history of malignancy matches no imaging variant; "
                "see Variant 5 (asymptomatic osteoporotic VCF: medical management only)."
            )
        elif not possible:
            notes.append("No imaging variant of seed 003 applies to this clinical state.")
    if question == "treatment":
        if state.etiology == "pathological" and state.mechanical_pain is False:
            notes.append(
                "Pathological VCF without mechanical pain matches no treatment variant; "
                "stability (SINS) and epidural compression (ESCC) guide management."
            )
        needs_etiology = [n for n in possible if n in (5, 6, 8, 9) and state.etiology == "unknown"]
        if needs_etiology:
            listed = ", ".join(str(n) for n in needs_etiology)
            notes.append(
                f"Variant(s) {listed} possible, needs etiology (osteoporotic or pathological)."
            )
        if not matched and not possible:
            notes.append("No treatment variant of seed 003 applies to this clinical state.")
    return notes
