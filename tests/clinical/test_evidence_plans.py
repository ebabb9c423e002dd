"""The knowledge plans of the scoring hot paths give what the per-call arithmetic gave:
each sign-evidence row's likelihood ratio and favoured group, and score_components' ranges."""

from __future__ import annotations

import itertools

from app.clinical.scoring import score_components
from app.clinical.sign_evidence import quantitative_evidence
from app.knowledge.loader import default_knowledge


def test_every_sign_value_row_is_the_formula() -> None:
    k = default_knowledge().sign_evidence
    nb, nm = k.groups["benign"], k.groups["malignant"]
    for sign in k.signs:
        for key, v in sign.values.items():
            [row] = quantitative_evidence({sign.id: key}, k)
            lr = (
                round((v.malignant / nm) / (v.benign / nb), 2) if v.benign and v.malignant else None
            )
            favours = "neither" if lr is None or lr == 1 else ("malignant" if lr > 1 else "benign")
            assert (row.likelihood_ratio, row.favours, row.value_label) == (lr, favours, v.label)
            assert (row.benign_count, row.malignant_count, row.derived) == (
                v.benign,
                v.malignant,
                v.derived,
            )


def test_score_components_ranges_are_every_completion() -> None:
    items = default_knowledge().mri_score.signs
    known = {items[0].id: next(iter(items[0].points)), items[2].id: None}
    score = score_components(items, known)
    options = [
        [item.points[value]] if (value := known.get(item.id)) else list(item.points.values())
        for item in items
    ]
    totals = {sum(c) for c in itertools.product(*options)}
    assert score.achievable == frozenset(totals)
    assert (score.min, score.max) == (min(totals), max(totals))
