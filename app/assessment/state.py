"""Clinical state of clinical-rules 1.1 derived from findings, with provenance.

History (malignancy, prior augmentation/surgery) is closed-world only where the record was
read (the adapter's HistoryFact); findings are never closed-world: absent means unknown.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Annotated

from pydantic import Field

from app.assessment.index import FindingIndex, as_number
from app.clinical.fast_init import fast_init
from app.clinical.findings import PatientFindings
from app.clinical.fracture_count import count_fractures
from app.clinical.state import STATE_FIELDS, ClinicalState, Etiology, derive_deformity
from app.clinical.tristate import Tri, tri_any
from app.knowledge.schema import DeformityThresholds
from app.settings import SitePolicies

_STATE_FIELDS = frozenset(STATE_FIELDS)


@fast_init
@dataclass(frozen=True)
class StateInput:
    """One clinical-state input: its value (true/false/null, or the etiology), the records it
    rests on and a note when the value needed explaining (omitted from JSON when there is none)."""

    value: Tri | str
    sources: tuple[str, ...]
    note: Annotated[str | None, Field(exclude_if=lambda v: not v)] = None


@fast_init
@dataclass(frozen=True)
class DerivedState:
    state: ClinicalState
    inputs: dict[str, StateInput]
    vcf_levels: tuple[str, ...]
    etiology_conflict: bool


def _bool(idx: FindingIndex, code: str) -> StateInput:
    value, sources = idx.any_boolean(code)
    return StateInput(value, sources)


def _combine_any(*parts: StateInput) -> StateInput:
    value = tri_any(
        p.value if isinstance(p.value, bool) or p.value is None else None for p in parts
    )
    if value is True:
        sources = tuple(s for p in parts if p.value is True for s in p.sources)
    else:
        sources = tuple(s for p in parts for s in p.sources)
    return StateInput(value, sources)


def derive_state(
    pf: PatientFindings,
    idx: FindingIndex,
    deformity_thresholds: DeformityThresholds,
    policies: SitePolicies,
    now: datetime | None = None,
) -> DerivedState:
    """Derive every input of the clinical state (clinical-rules 1.1; fhir-input.md)."""
    now = now or datetime.now(UTC)
    inputs: dict[str, StateInput] = {}

    # vcf_present: a `vcf` finding at any level, or a documented fracture (e.g. M48.5*)
    vcf_obs = _bool(idx, "vcf")
    documented = tuple(s for d in pf.documented_fractures for s in d.sources)
    if documented:
        vcf_obs = _combine_any(vcf_obs, StateInput(True, documented))
    inputs["vcf_present"] = vcf_obs
    vcf_levels = sorted(
        {f.level for f in idx.all("vcf") if f.value is True and f.level}
        | {d.level for d in pf.documented_fractures if d.level}
    )

    # vcf_new (policy vcf_new_days): vcf-acute finding decides; else edema, or first
    # documentation within the window (seed 003: edema resolves within 1-3 months)
    acute = _bool(idx, "vcf-acute")
    edema = _bool(idx, "marrow-edema")
    if acute.value is not None:
        inputs["vcf_new"] = acute
    else:
        days = policies["vcf_new_days"]
        dates = [d.first_documented for d in pf.documented_fractures if d.first_documented]
        dates += [f.effective for f in idx.all("vcf") if f.value is True and f.effective]
        recent: StateInput = StateInput(None, ())
        if dates:
            first = min(_aware(d) for d in dates)
            within = now - first <= timedelta(days=days)
            recent = StateInput(
                within, documented or vcf_obs.sources, f"first documented {first.date()}"
            )
        inputs["vcf_new"] = _combine_any(edema, recent)

    inputs["symptomatic"] = _bool(idx, "symptomatic")
    inputs["malignancy_history"] = StateInput(
        pf.malignancy_history.value, pf.malignancy_history.sources
    )
    inputs["prior_vcf_treatment"] = StateInput(
        pf.prior_vcf_treatment.value, pf.prior_vcf_treatment.sources
    )

    inputs["multiple_vcfs"] = _multiple(pf, idx, vcf_levels, documented)

    etiology, conflict = _etiology(pf, idx)
    inputs["etiology"] = etiology

    inputs["marrow_edema_or_cleft"] = _combine_any(
        edema, _bool(idx, "fluid-cleft"), _bool(idx, "vacuum-phenomenon")
    )
    inputs["worsening_pain"] = _bool(idx, "worsening-pain")
    inputs["pulmonary_dysfunction"] = _bool(idx, "pulmonary-dysfunction")
    inputs["deformity"] = _deformity(idx, deformity_thresholds)

    mech = _bool(idx, "mechanical-pain")
    if mech.value is None:
        sins_pains = [f for f in idx.all("sins-pain") if isinstance(f.value, str)]
        if any(f.value == "mechanical" for f in sins_pains):
            mech = StateInput(
                True, tuple(s for f in sins_pains if f.value == "mechanical" for s in f.sources)
            )
        elif sins_pains:
            mech = StateInput(False, tuple(s for f in sins_pains for s in f.sources))
    inputs["mechanical_pain"] = mech

    if inputs.keys() != _STATE_FIELDS:  # every input of the state type, derived above
        raise RuntimeError(f"clinical state inputs not derived: {_STATE_FIELDS ^ inputs.keys()}")
    state = ClinicalState(
        **{k: v.value for k, v in inputs.items() if k != "etiology"},  # type: ignore[arg-type]
        etiology=etiology.value if isinstance(etiology.value, str) else "unknown",  # type: ignore[arg-type]
    )
    return DerivedState(state, inputs, tuple(vcf_levels), conflict)


def _multiple(
    pf: PatientFindings, idx: FindingIndex, vcf_levels: list[str], documented: tuple[str, ...]
) -> StateInput:
    """multiple_vcfs (app.clinical.fracture_count): levels, the stated finding, or a complete
    enumeration of the fractured levels; otherwise unknown."""
    stated = _bool(idx, "multiple-vcfs")
    value = stated.value if isinstance(stated.value, bool) else None
    count = count_fractures(vcf_levels, value, pf.fracture_enumerations)
    listed = (count.enumeration.source,) if count.enumeration else ()
    if count.basis == "levels":
        level_sources = tuple(s for f in idx.all("vcf") if f.value is True for s in f.sources)
        sources = tuple(dict.fromkeys(stated.sources if value else ()))
        return StateInput(True, sources + level_sources + documented + listed)
    if count.basis == "finding":
        return stated
    if count.basis == "complete-enumeration":
        shown = ", ".join(count.levels) or "none"
        note = f"complete list of fractured levels: {shown}"
        return StateInput(False, listed + documented, note)
    return StateInput(None, ())


def _aware(d: datetime) -> datetime:
    return d if d.tzinfo else d.replace(tzinfo=UTC)


def _etiology(pf: PatientFindings, idx: FindingIndex) -> tuple[StateInput, bool]:
    """Documented etiology (clinical-rules 1.4). Conflicting documentation stays unknown."""
    evidence: dict[str, list[str]] = {}
    for e in pf.etiology:
        evidence.setdefault(e.value, []).extend(e.sources)
    for f in idx.all("fracture-etiology"):
        if f.value in ("osteoporotic", "pathological"):
            evidence.setdefault(str(f.value), []).extend(f.sources)
    if len(evidence) == 1:
        ((value, srcs),) = evidence.items()
        return StateInput(value, tuple(srcs)), False
    if len(evidence) > 1:
        all_sources = tuple(s for v in evidence.values() for s in v)
        note = "conflicting etiology documentation (osteoporotic and pathological)"
        return StateInput("unknown", all_sources, note), True
    return StateInput("unknown", ()), False


def _deformity(idx: FindingIndex, cfg: DeformityThresholds) -> StateInput:
    """Spinal deformity (seed 003 Variant 5/8): the largest measurement of each kind."""

    def largest(code: str) -> tuple[float | None, tuple[str, ...]]:
        """The first largest number among the findings of ``code``, with its sources."""
        best: float | None = None
        sources: tuple[str, ...] = ()
        for f in idx.all(code):
            number = as_number(f.value)
            if number is None:
                continue
            if best is None or number > best:  # what ``max`` keeps: the first of equals
                best, sources = number, f.sources
        return best, sources

    parts = [
        largest(c)
        for c in ("kyphosis", "scoliosis", "dorsal-wall-height-reduction", "vertebral-height-loss")
    ]
    value = derive_deformity(parts[0][0], parts[1][0], parts[2][0], parts[3][0], cfg)
    return StateInput(value, tuple(s for p in parts for s in p[1]))


def etiology_of(derived: DerivedState) -> Etiology:
    return derived.state.etiology
