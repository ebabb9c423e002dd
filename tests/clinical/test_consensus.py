"""Composed findings every card agrees on: cord compression (seed 004, Bilsky ESCC scale),
etiology with its basis (clinical-rules 1.4) - unit and property tests."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from app.clinical.consensus import EsccEvidence, compose_cord_compression, compose_etiology
from app.clinical.tristate import Tri, tri_any
from app.knowledge.schema import Knowledge

GRADES = ("0", "1a", "1b", "1c", "2", "3")
COMPRESSING = ("2", "3")  # seed 004: high grade 2 and 3 = spinal cord compression


def grade(g: str, level: str = "T12", src: str | None = None) -> EsccEvidence:
    return EsccEvidence(level, g, (src or f"Observation/escc-{g}",))


def test_compression_grades_come_from_the_knowledge(knowledge: Knowledge) -> None:
    # seed 004 "Magnetic resonance": ESCC high grade 2 and 3 (cord compression); 1c without
    assert knowledge.thresholds.escc.high_grade == COMPRESSING


def test_grade_2_is_cord_compression_from_the_grade() -> None:
    c = compose_cord_compression(None, (), [grade("1a", "T4"), grade("2")], COMPRESSING)
    assert c.value is True and c.basis == "escc-grade"
    assert c.sources == ("Observation/escc-2",)  # only the record that says so


def test_grade_1c_is_not_compression_even_when_1c_counts_as_high_grade() -> None:
    # seed 004: 1c "deformation of the thecal sac with spinal cord abutment, but without cord
    # compression"; policy escc_1c only moves it between low and high grade
    c = compose_cord_compression(False, ("Observation/cc",), [grade("1c")], COMPRESSING)
    assert c.value is False and c.basis == "finding-and-escc-grade"
    assert c.sources == ("Observation/cc", "Observation/escc-1c")


def test_stated_compression_wins_over_low_grades() -> None:
    c = compose_cord_compression(True, ("Observation/cc",), [grade("0")], COMPRESSING)
    assert c.value is True and c.basis == "finding" and c.sources == ("Observation/cc",)


def test_stated_and_graded_compression_name_both() -> None:
    c = compose_cord_compression(True, ("Observation/cc",), [grade("3")], COMPRESSING)
    assert c.basis == "finding-and-escc-grade"
    assert c.sources == ("Observation/cc", "Observation/escc-3")


def test_a_low_grade_alone_does_not_rule_compression_out() -> None:
    # the grade read may be of another level: absence needs the stated finding too
    c = compose_cord_compression(None, (), [grade("1b")], COMPRESSING)
    assert c.value is None and c.basis == "none" and c.sources == ("Observation/escc-1b",)


def test_stated_absence_without_graded_mri_stays_unknown() -> None:
    c = compose_cord_compression(False, ("Observation/cc",), [], COMPRESSING)
    assert c.value is None and c.basis == "none"


def test_nothing_known_is_unknown_without_sources() -> None:
    c = compose_cord_compression(None, (), [], COMPRESSING)
    assert (c.value, c.basis, c.sources) == (None, "none", ())


@given(
    stated=st.sampled_from([True, False, None]),
    grades=st.lists(st.sampled_from(GRADES), max_size=4),
)
def test_cord_compression_is_the_three_valued_or_of_finding_and_grades(
    stated: Tri, grades: list[str]
) -> None:
    """Decision table: True iff stated or a grade 2-3; False iff stated absent and graded with
    no grade 2-3; otherwise unknown (the rule the considerations of seed 003 Variant 9 use)."""
    evidence = [grade(g, src=f"Observation/e{i}") for i, g in enumerate(grades)]
    c = compose_cord_compression(stated, ("Observation/cc",), evidence, COMPRESSING)
    expected = tri_any(
        [stated, *(g in COMPRESSING for g in grades)] + ([None] if not grades else [])
    )
    assert c.value is expected
    assert (c.basis == "none") == (c.value is None)
    if c.value is True:
        assert all(s == "Observation/cc" or grades[int(s[13:])] in COMPRESSING for s in c.sources)


def test_documented_etiology_decides() -> None:
    e = compose_etiology("osteoporotic", ("Condition/m80",), False, [("Observation/mri",)])
    assert (e.value, e.basis, e.suspected_pathological) == ("osteoporotic", "documented", False)
    assert e.sources == ("Condition/m80",)


def test_mri_score_only_suspects_pathological() -> None:
    # clinical-rules 1.4: scores are evidence, never proof - etiology stays unknown
    e = compose_etiology("unknown", (), False, [("Observation/a", "Observation/b")])
    assert (e.value, e.basis, e.suspected_pathological) == ("unknown", "mri-malignancy-score", True)
    assert e.sources == ("Observation/a", "Observation/b")


def test_conflicting_documentation_stays_unknown_and_may_be_suspected() -> None:
    e = compose_etiology("unknown", ("Condition/a", "Condition/b"), True, [("Observation/m",)])
    assert (e.value, e.basis, e.suspected_pathological) == (
        "unknown",
        "conflicting-documentation",
        True,
    )


def test_no_documentation_and_no_score_is_unknown() -> None:
    e = compose_etiology("unknown", (), False, [])
    assert (e.value, e.basis, e.suspected_pathological, e.sources) == ("unknown", "none", False, ())
