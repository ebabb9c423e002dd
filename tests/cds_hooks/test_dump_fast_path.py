"""``dump_response``'s fast paths give what the plain recursive walk gives (the walk before
them, kept here as the oracle), for real decisions and for odd models and extras."""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import BaseModel

from app.cards.builder import Hook
from app.cds_hooks.models import (
    Action,
    Card,
    CdsResponse,
    Coding,
    Link,
    Source,
    Suggestion,
    _is_empty,
    _plan,
    dump_response,
)
from app.decision import decide
from app.knowledge.schema import Knowledge
from app.settings import Settings
from tests import fhir_builders as fhir


def _oracle(value: Any) -> Any:
    if value.__class__ in {str, int, bool, type(None)}:
        return value
    if isinstance(value, BaseModel):
        out: dict[str, Any] = {}
        for name, key, always in _plan(type(value)):
            dumped = _oracle(getattr(value, name))
            if always or not _is_empty(dumped):
                out[key] = dumped
        for key, extra in (value.model_extra or {}).items():
            dumped = _oracle(extra)
            if not _is_empty(dumped):
                out[key] = dumped
        return out
    if isinstance(value, list | tuple):
        return [_oracle(item) for item in value]
    if isinstance(value, dict):
        return {str(k): _oracle(v) for k, v in value.items()}
    from pydantic_core import to_jsonable_python

    return to_jsonable_python(value)


def _json(value: Any) -> str:
    """Key order counts: the response must be byte-identical."""
    return json.dumps(value)


@pytest.mark.parametrize("hook", ["order-select", "order-sign", "patient-view"])
@pytest.mark.parametrize("swap_actions", ["update", "delete-create"])
def test_real_decisions(
    knowledge: Knowledge, settings: Settings, hook: Hook, swap_actions: str
) -> None:
    drafts = [
        fhir.draft("sr1", "72158", "MRI lumbar spine without and with contrast"),
        fhir.draft("sr2", "72131", "CT lumbar spine without contrast"),
    ]
    settings = settings.model_copy(
        update={"swap_actions": swap_actions, "mirror_system_actions": True}
    )
    decision = decide(
        [fhir.patient(), *fhir.v1_observations(), fhir.condition("c-op", "M81.0")],
        drafts if hook != "patient-view" else [],
        obtained={"Condition": True, "Procedure": True, "Observation": True},
        issues=[],
        hook=hook,
        selections=frozenset({"ServiceRequest/sr1"}) if hook == "order-select" else None,
        knowledge=knowledge,
        settings=settings,
    )
    assert decision.response.cards
    assert _json(dump_response(decision.response)) == _json(_oracle(decision.response))


json_leaf = st.one_of(
    st.none(), st.booleans(), st.integers(), st.floats(allow_nan=False), st.text(max_size=3)
)
json_value = st.recursive(
    json_leaf,
    lambda inner: st.one_of(
        st.lists(inner, max_size=3),
        st.tuples(inner, inner),
        st.dictionaries(st.text(max_size=3), inner, max_size=3),
    ),
    max_leaves=12,
)
texts = st.one_of(st.just(""), st.text(max_size=4))


@settings(max_examples=300, deadline=None)
@given(
    summary=texts,
    detail=st.one_of(st.none(), texts),
    extra=st.dictionaries(st.sampled_from(["extension", "x", "y"]), json_value, max_size=3),
    resource=st.one_of(st.none(), st.dictionaries(st.text(max_size=3), json_value, max_size=4)),
    recommended=st.one_of(st.none(), st.booleans()),
    empty_lists=st.booleans(),
)
def test_odd_models(
    summary: str,
    detail: str | None,
    extra: dict[str, Any],
    resource: dict[str, Any] | None,
    recommended: bool | None,
    empty_lists: bool,
) -> None:
    action = Action(type="update", description=summary, resource=resource, **extra)
    suggestion = Suggestion(label=summary, isRecommended=recommended, actions=[action])
    card = Card(
        summary=summary,
        detail=detail,
        indicator="info",
        source=Source(label="s", topic=Coding(code="c", system="s", display=detail)),
        suggestions=[] if empty_lists else [suggestion],
        selectionBehavior=None if empty_lists else "any",
        links=[] if empty_lists else [Link(label="l", url="u", type="absolute")],
        **extra,
    )
    response = CdsResponse(cards=[card], systemActions=[] if empty_lists else [action], **extra)
    assert _json(dump_response(response)) == _json(_oracle(response))
