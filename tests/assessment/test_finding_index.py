"""``FindingIndex`` fast paths (``at``, single-level ``any_boolean``) against plain lookups."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from app.assessment.index import FindingIndex
from app.clinical.findings import Finding

CODES = ("vcf", "fluid-cleft", "sins-pain", "kyphosis")
LEVELS = (None, "T12", "L1", "L2")

findings = st.builds(
    Finding,
    code=st.sampled_from(CODES),
    value=st.one_of(
        st.none(), st.booleans(), st.sampled_from(("mechanical", "x")), st.floats(0, 90)
    ),
    sources=st.lists(st.sampled_from(("Observation/a", "Observation/b")), max_size=2).map(tuple),
    level=st.sampled_from(LEVELS),
)


def any_boolean_by_definition(idx: FindingIndex, code: str) -> tuple[bool | None, tuple[str, ...]]:
    found = [f for f in idx.all(code) if isinstance(f.value, bool)]
    trues = [f for f in found if f.value is True]
    if trues:
        return True, tuple(s for f in trues for s in f.sources)
    if found:
        return False, tuple(s for f in found for s in f.sources)
    return None, ()


@settings(max_examples=300, deadline=None)
@given(st.lists(findings, max_size=10))
def test_fast_paths_agree_with_lookups(items: list[Finding]) -> None:
    idx = FindingIndex(items)
    for level in (*LEVELS, "S1"):
        here = idx.at(level)
        for code in CODES:
            assert here.get(code) is idx.get(code, level)
        assert set(here) <= set(CODES)
    for code in (*CODES, "absent"):
        assert idx.any_boolean(code) == any_boolean_by_definition(idx, code)
