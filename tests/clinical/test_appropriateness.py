"""Order appropriateness under a variant (clinical-rules 1.5; seed 003 tables)."""

from __future__ import annotations

import pytest

from app.clinical.appropriateness import rate
from app.knowledge.schema import Knowledge

MRI_WWO = "MRI spine area of interest without and with IV contrast"
MRI_WO = "MRI spine area of interest without IV contrast"
CT_WO = "CT spine area of interest without IV contrast"


def test_usually_not_appropriate_offers_usually_appropriate_alternatives(
    knowledge: Knowledge,
) -> None:
    r = rate(MRI_WWO, 1, knowledge)
    assert r.category == "Usually Not Appropriate" and r.rating_range == (1, 3)
    assert [a.name for a in r.alternatives] == [MRI_WO, CT_WO]
    assert all(a.category == "Usually Appropriate" for a in r.alternatives)
    assert r.alternatives[0].relative_radiation_level == "O"


def test_usually_appropriate_has_no_alternatives(knowledge: Knowledge) -> None:
    r = rate(MRI_WWO, 2, knowledge)
    assert r.category == "Usually Appropriate" and r.rating_range == (7, 9) and r.alternatives == ()


def test_disagreement_category_rating_5(knowledge: Knowledge) -> None:
    r = rate("MRI spine area of interest with IV contrast", 2, knowledge)
    assert r.category == "May Be Appropriate (Disagreement)" and r.rating_range == (5, 5)
    assert [a.name for a in r.alternatives] == [MRI_WWO, CT_WO, MRI_WO]


def test_not_listed_is_not_rated_never_appropriate(knowledge: Knowledge) -> None:
    r = rate("Image-guided biopsy spine area of interest", 1, knowledge)
    assert r.category is None and r.rating_range is None
    assert r.reason is not None and "not listed" in r.reason


def test_treatment_variant_rating(knowledge: Knowledge) -> None:
    r = rate("Percutaneous vertebral augmentation", 5, knowledge)
    assert r.category == "Usually Not Appropriate"
    assert [a.name for a in r.alternatives] == ["Medical management only"]


def test_unknown_variant() -> None:
    from app.knowledge.loader import default_knowledge

    with pytest.raises(ValueError):
        rate(MRI_WO, 10, default_knowledge())
