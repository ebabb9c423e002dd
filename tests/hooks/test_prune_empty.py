"""``prune_empty`` (one pass) removes exactly what the two-step definition removes."""

from __future__ import annotations

from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from app.cards.prune import prune_empty


def reference(value: Any) -> Any:
    """Copy every container, then drop null, empty strings, lists and objects."""

    def empty(v: Any) -> bool:
        return v is None or (isinstance(v, str | list | dict) and len(v) == 0)

    if isinstance(value, dict):
        out = {k: reference(v) for k, v in value.items()}
        return {k: v for k, v in out.items() if not empty(v)}
    if isinstance(value, list):
        return [v for v in (reference(x) for x in value) if not empty(v)]
    return value


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=2) | st.floats(allow_nan=False),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=2), inner),
    max_leaves=20,
)


def containers(value: Any) -> list[int]:
    if isinstance(value, dict):
        return [id(value), *(i for v in value.values() for i in containers(v))]
    if isinstance(value, list):
        return [id(value), *(i for v in value for i in containers(v))]
    return []


@settings(max_examples=500, deadline=None)
@given(json_values)
def test_prune_empty_matches_the_definition_and_shares_no_container(value: Any) -> None:
    pruned = prune_empty(value)
    assert pruned == reference(value)
    assert repr(pruned) == repr(reference(value))  # same types (True is not 1)
    assert not set(containers(pruned)) & set(containers(value))
