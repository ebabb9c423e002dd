"""multiple_vcfs (clinical-rules 1.1; fhir-input.md "Other resources"): true when more than one
level has a VCF; false only when one source enumerates the fractures completely and names a
single level (or none); otherwise unknown. Decision table checked exhaustively by hypothesis."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from app.clinical.findings import FractureEnumeration
from app.clinical.fracture_count import count_fractures

LEVELS = ["T11", "T12", "L1", "L2", "L3"]
levels = st.sets(st.sampled_from(LEVELS), max_size=3)
tri = st.sampled_from([True, False, None])
moments = st.one_of(
    st.none(), st.datetimes(min_value=datetime(2020, 1, 1), max_value=datetime(2026, 12, 1))
)
enumerations = st.lists(
    st.builds(
        FractureEnumeration,
        source=st.sampled_from(["Observation/a", "Observation/b", "DiagnosticReport/r"]),
        levels=levels.map(lambda s: tuple(sorted(s))),
        effective=moments,
    ),
    max_size=3,
)


def test_two_documented_levels_make_multiple() -> None:
    assert count_fractures(["L1", "L2"], None, []).value is True


def test_one_level_without_a_complete_list_is_unknown() -> None:
    c = count_fractures(["L1"], None, [])
    assert c.value is None and c.basis == "unknown"


def test_one_level_in_a_complete_list_is_not_multiple() -> None:
    e = FractureEnumeration("Observation/rde", ("L1",), datetime(2026, 11, 1, tzinfo=UTC))
    c = count_fractures(["L1"], None, [e])
    assert c.value is False and c.basis == "complete-enumeration" and c.enumeration == e


def test_the_newest_complete_list_counts() -> None:
    old = FractureEnumeration("Observation/old", ("L1",), datetime(2025, 1, 1, tzinfo=UTC))
    new = FractureEnumeration("Observation/new", ("L1", "L3"), datetime(2026, 11, 1, tzinfo=UTC))
    assert count_fractures([], None, [new, old]).value is True
    assert count_fractures([], None, [old]).value is False


def test_a_level_elsewhere_joins_the_complete_list() -> None:
    e = FractureEnumeration("Observation/rde", ("L1",))
    assert count_fractures(["T12"], None, [e]).value is True


@given(levels, tri, enumerations)
def test_decision_table(documented: set[str], stated: bool | None, listed: list[Any]) -> None:
    c = count_fractures(documented, stated, listed)
    newest_levels: set[str] = set()
    if listed:
        oldest = datetime.min.replace(tzinfo=UTC)

        def when(e: Any) -> datetime:
            return e.effective.replace(tzinfo=UTC) if e.effective else oldest

        latest = max(when(e) for e in listed)  # lists of the same moment count together
        newest_levels = {lv for e in listed if when(e) == latest for lv in e.levels}
    union = documented | newest_levels
    if len(union) > 1:
        assert c.value is True  # more than one level: always multiple
    elif stated is not None:
        assert c.value is stated
    elif listed:
        assert c.value is False  # a complete list naming one level or none
    else:
        assert c.value is None  # never guessed
    assert set(c.levels) == union
    # unknown never becomes false without a complete list or a stated finding
    if c.value is False:
        assert listed or stated is False
