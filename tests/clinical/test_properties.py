"""Hypothesis properties of the scores and the decision tables (clinical-rules 1, 2, 5)."""

from __future__ import annotations

import itertools
from dataclasses import replace
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from app.clinical.mri_score import MriSigns, score_mri
from app.clinical.sins import SinsInput, category_of, score_sins
from app.clinical.state import STATE_FIELDS, TRI_INPUTS, ClinicalState
from app.clinical.variants import match
from app.knowledge.loader import default_knowledge

K = default_knowledge()
SINS_OPTIONS = {c.id: sorted(c.points) for c in K.sins.components if c.id != "location"}
MRI_OPTIONS = {s.id: sorted(s.points) for s in K.mri_score.signs}
LEVELS = K.anatomy.levels()


def maybe(options: list[Any]) -> st.SearchStrategy[Any]:
    return st.one_of(st.none(), st.sampled_from(options))


sins_inputs = st.builds(
    SinsInput,
    level=st.sampled_from(LEVELS),
    **{name: maybe(opts) for name, opts in SINS_OPTIONS.items()},
)


def completions(inp: SinsInput) -> list[SinsInput]:
    unknown = [n for n in SINS_OPTIONS if getattr(inp, n) is None]
    out = []
    for combo in itertools.product(*(SINS_OPTIONS[n] for n in unknown)):
        out.append(SinsInput(**{**inp.__dict__, **dict(zip(unknown, combo, strict=True))}))
    return out


@given(sins_inputs)
def test_sins_total_is_sum_of_points(inp: SinsInput) -> None:
    r = score_sins(inp, K)
    if r.total is not None:
        assert r.total == sum(p for p in r.score.points.values() if p is not None)
        assert r.score.min == r.score.max == r.total


@settings(max_examples=150, deadline=None)
@given(sins_inputs)
def test_sins_range_contains_every_completion_and_is_tight(inp: SinsInput) -> None:
    r = score_sins(inp, K)
    totals = [score_sins(c, K).total for c in completions(inp)]
    assert all(t is not None and r.score.min <= t <= r.score.max for t in totals)
    known = [t for t in totals if t is not None]  # all of them (asserted above)
    assert min(known) == r.score.min and max(known) == r.score.max  # tight
    cats = {category_of(t, K.sins) for t in totals if t is not None}
    assert set(r.possible_categories) == cats
    assert (r.category is not None) == (len(cats) == 1)


mri_inputs = st.fixed_dictionaries(
    {
        name: maybe([o == "true" if o in ("true", "false") else o for o in opts])
        for name, opts in MRI_OPTIONS.items()
    }
)


@settings(max_examples=150, deadline=None)
@given(mri_inputs)
def test_mri_range_contains_every_completion_and_is_tight(values: dict[str, Any]) -> None:
    r = score_mri(MriSigns(**values), K.mri_score)
    unknown = [n for n, v in values.items() if v is None]
    domains = [
        [o == "true" if o in ("true", "false") else o for o in MRI_OPTIONS[n]] for n in unknown
    ]
    totals = []
    for combo in itertools.product(*domains):
        full = MriSigns(**{**values, **dict(zip(unknown, combo, strict=True))})
        total = score_mri(full, K.mri_score).score.total
        assert total is not None  # every sign known
        totals.append(total)
    assert min(totals) == r.score.min and max(totals) == r.score.max
    if r.classification == "suggests_malignant":
        assert all(t is not None and t >= 4 for t in totals)
    elif r.classification == "suggests_osteoporotic":
        assert all(t is not None and t < 4 for t in totals)
    else:
        assert any(t is not None and t >= 4 for t in totals) and any(
            t is not None and t < 4 for t in totals
        )


BOOL_INPUTS = [name for name in STATE_FIELDS if name in TRI_INPUTS]  # the state type's
states = st.builds(
    ClinicalState,
    **{name: st.one_of(st.none(), st.booleans()) for name in BOOL_INPUTS},
    etiology=st.sampled_from(["osteoporotic", "pathological", "unknown"]),
)

# clinical-rules 1.2 / 1.3, written independently of the data file
SPEC: dict[int, Any] = {
    1: lambda s: s.vcf_present and s.vcf_new and s.symptomatic and not s.malignancy_history,
    2: lambda s: s.vcf_present and s.vcf_new and s.symptomatic and s.malignancy_history,
    3: lambda s: s.symptomatic and (s.prior_vcf_treatment or s.multiple_vcfs),
    4: lambda s: s.vcf_present and not s.symptomatic and s.malignancy_history,
    9: lambda s: s.etiology == "pathological" and s.mechanical_pain,
    7: lambda s: s.vcf_new and s.symptomatic and s.prior_vcf_treatment,
    8: lambda s: (
        s.etiology == "osteoporotic"
        and (s.worsening_pain or s.deformity or s.pulmonary_dysfunction)
    ),
    6: lambda s: s.etiology == "osteoporotic" and s.symptomatic and s.marrow_edema_or_cleft,
    5: lambda s: s.etiology == "osteoporotic" and not s.symptomatic,
}


def all_completions(s: ClinicalState) -> list[ClinicalState]:
    unknown = [n for n in BOOL_INPUTS if getattr(s, n) is None]
    etiologies = ["osteoporotic", "pathological"] if s.etiology == "unknown" else [s.etiology]
    out = []
    for combo in itertools.product(*([True, False] for _ in unknown)):
        for et in etiologies:
            values: dict[str, Any] = {
                **s.as_dict(),
                **dict(zip(unknown, combo, strict=True)),
                "etiology": et,
            }
            out.append(ClinicalState(**values))
    return out


@settings(max_examples=120, deadline=None)
@given(states)
def test_matched_iff_condition_holds_for_every_completion(s: ClinicalState) -> None:
    comps = all_completions(s)
    for question in ("imaging", "treatment"):
        r = match(s, K, question)
        for status in r.statuses:
            outcomes = {bool(SPEC[status.id](c)) for c in comps}
            expected = (
                "matched"
                if outcomes == {True}
                else "not_matched"
                if outcomes == {False}
                else "possible"
            )
            assert status.status == expected, (question, status.id)
        order = r.precedence
        assert r.primary == next((n for n in order if n in r.matched), None)


@settings(max_examples=80, deadline=None)
@given(states)
def test_deciding_inputs_really_decide(s: ClinicalState) -> None:
    for question in ("imaging", "treatment"):
        for status in match(s, K, question).statuses:
            for name in status.deciding_inputs:
                assert getattr(s, name) in (None, "unknown")
                values: list[Any] = (
                    ["osteoporotic", "pathological"] if name == "etiology" else [True, False]
                )
                seen = {
                    match(replace(s, **{name: v}), K, question)
                    .statuses[[x.id for x in match(s, K, question).statuses].index(status.id)]
                    .status
                    for v in values
                }
                assert len(seen) > 1 or "possible" in seen
