"""Per-knowledge lookup tables of the clinical core give what the slow paths give: the
matcher's decision tables (``app.clinical.variants._tables``) against the enumeration
(``variant_status``) for any clinical state in any order of use; the SINS bands and level
positions against the list scans they replace."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from app.clinical.appropriateness import _rate, rate
from app.clinical.levels import level_index, normalize_level
from app.clinical.sins import _bands, category_of, location_class
from app.clinical.state import STATE_FIELDS, ClinicalState
from app.clinical.variants import _tables, match, variant_status
from app.knowledge.loader import default_knowledge, load_knowledge

K = default_knowledge()

states = st.builds(
    ClinicalState,
    **{
        name: st.sampled_from(("osteoporotic", "pathological", "unknown"))
        if name == "etiology"
        else st.sampled_from((True, False, None))
        for name in STATE_FIELDS
    },
)


@settings(max_examples=300, deadline=None)
@given(st.lists(states, min_size=1, max_size=6))
def test_tables_agree_with_the_enumeration(sequence: list[ClinicalState]) -> None:
    for state in sequence:  # the table fills in as states arrive; every answer is the slow one
        for question in ("imaging", "treatment"):
            result = match(state, K, question)
            slow = tuple(variant_status(v, state) for v in K.acr.variants if v.question == question)
            assert result.statuses == slow


def test_tables_are_per_knowledge_object_and_bounded() -> None:
    other = load_knowledge()  # equal content, another object: its own tables
    assert _tables(other) is not _tables(K)
    assert _tables(K).knowledge is K
    for rule in _tables(K).rules["imaging"]:
        assert len(rule.table) <= 3 ** len(rule.inputs)


def test_values_outside_the_domains_are_answered_but_not_stored() -> None:
    odd = ClinicalState(vcf_present=1, symptomatic=1)  # type: ignore[arg-type]
    match(odd, K, "imaging")
    for rule in _tables(K).rules["imaging"]:
        assert all(
            all(v is None or v is True or v is False or isinstance(v, str) for v in key)
            for key in rule.table
        )


def test_sins_bands_agree_with_the_list_scans() -> None:
    bands = _bands(K.sins)
    for level in K.anatomy.levels():
        assert normalize_level(level.lower(), K.anatomy) == level
        assert level_index(level, K.anatomy) == K.anatomy.levels().index(level)
        assert bands.location[level] == location_class(level, K.sins)
    lo = min(c.range[0] for c in K.sins.categories)
    hi = max(c.range[1] for c in K.sins.categories)
    for total in range(lo, hi + 1):
        assert bands.category[total] == category_of(total, K.sins)
    assert list(bands.order) == [c.id for c in K.sins.categories]
    assert _bands(K.sins) is bands


def test_remembered_ratings_are_the_computed_ones() -> None:
    names = [p.name for p in K.acr.procedures] + ["not an ACR procedure"]
    for _ in range(2):  # computed, then remembered
        for name in names:
            for v in K.acr.variants:
                assert rate(name, v.id, K) == _rate(name, v.id, K)
    assert rate(names[0], K.acr.variants[0].id, K) is rate(names[0], K.acr.variants[0].id, K)
