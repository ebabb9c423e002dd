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

from app.clinical.state import STATE_FIELDS, ClinicalState, StateValue
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


def _decides(name: str, outcomes: list[tuple[Assignment, bool]]) -> bool:
    """True when changing only ``name`` can change the outcome."""
    by_rest: dict[tuple[tuple[str, StateValue], ...], set[bool]] = {}
    for assignment, ok in outcomes:
        rest = tuple(sorted((k, v) for k, v in assignment.items() if k != name))
        by_rest.setdefault(rest, set()).add(ok)
    return any(len(v) > 1 for v in by_rest.values())


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
    order = tuple(precedence or knowledge.policies.precedence(question))
    variants = [v for v in knowledge.acr.variants if v.question == question]
    statuses = tuple(variant_status(v, state) for v in variants)
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
