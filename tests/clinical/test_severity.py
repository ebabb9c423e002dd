"""Critical findings and card indicators (app/clinical/severity.py), each rule with its source."""

from __future__ import annotations

import pytest

from app.clinical.escc import cord_compressed
from app.clinical.severity import (
    EsccAtLevel,
    critical_findings,
    order_rating_indicator,
    passes,
    summary_indicator,
)
from app.knowledge.loader import default_knowledge

ESCC = default_knowledge().thresholds.escc


def test_red_flags_of_cord_compression_are_critical() -> None:
    # ACR Appropriateness Criteria, Management of VCF, Appendix 1 (cauda equina syndrome,
    # progressive motor weakness, severe neurologic compromise); Montoya-Bordón et al. 2023,
    # Figure 1
    [c] = critical_findings(
        [
            ("Cauda equina syndrome: saddle anesthesia", ("epidural-cord-compression",)),
            ("Fever", ("cancer-or-infection",)),
        ],
        [],
        None,
    )
    assert (c.kind, c.detail, c.citation) == (
        "red-flag",
        "Cauda equina syndrome: saddle anesthesia",
        "red-flags",
    )


def test_other_red_flags_are_not_critical() -> None:
    flags = [("Fever", ("cancer-or-infection",)), ("Trauma", ("spinal-fracture",))]
    assert critical_findings(flags, [], None) == []


@pytest.mark.parametrize(
    ("grade", "high", "critical"),
    [("0", False, False), ("1b", False, False), ("1c", False, False), ("1c", True, True),
     ("2", True, True), ("3", True, True)],
)  # fmt: skip
def test_high_grade_escc_is_critical(grade: str, high: bool, critical: bool) -> None:
    # Montoya-Bordón et al. 2023 (ESCC scale of Bilsky et al., J Neurosurg Spine 2010):
    # high-grade compression requires initial surgical decompression; 1c follows policy escc_1c
    found = critical_findings([], [EsccAtLevel("T12", grade, high)], None)
    assert [(c.kind, c.level, c.detail) for c in found] == (
        [("high-grade-escc", "T12", grade)] if critical else []
    )


@pytest.mark.parametrize(
    ("category", "critical"),
    [("unstable", True), ("potentially_unstable", False), ("stable", False), (None, False)],
)
def test_unstable_spine_is_critical(category: str | None, critical: bool) -> None:
    # Montoya-Bordón et al. 2023, Table 3 and text: SINS 13-18 warrants urgent surgical
    # intervention; an undetermined category (unknown components) is never critical
    found = critical_findings([], [], ("T12", category, "16"))
    assert bool(found) is critical
    if critical:
        assert (found[0].kind, found[0].citation) == ("unstable-spine", "sins")


def test_most_urgent_first() -> None:
    found = critical_findings(
        [("Severe neurologic compromise", ("epidural-cord-compression",))],
        [EsccAtLevel("T12", "3", True)],
        ("T12", "unstable", "15"),
    )
    assert [c.kind for c in found] == ["red-flag", "high-grade-escc", "unstable-spine"]


@pytest.mark.parametrize(
    ("grade", "compressed"),
    [("0", False), ("1a", False), ("1b", False), ("1c", False), ("2", True), ("3", True)],
)
def test_cord_compression_by_escc_grade_independent_of_policy(grade: str, compressed: bool) -> None:
    # Bilsky grades 2 and 3 are "spinal cord compression"; 1c is abutment "without cord
    # compression" whatever the low/high policy says
    assert cord_compressed(grade, ESCC) is compressed


def test_indicators() -> None:
    assert order_rating_indicator("Usually Not Appropriate") == "warning"
    assert order_rating_indicator("May Be Appropriate") == "info"
    assert order_rating_indicator(None) == "info"
    assert summary_indicator([], None, False, False) == "info"
    assert summary_indicator([], "potentially_unstable", False, False) == "warning"
    assert summary_indicator([], None, True, False) == "warning"
    assert summary_indicator([], None, False, True) == "warning"
    assert passes("critical", "critical") and not passes("warning", "critical")
    assert passes("warning", "info")
