"""``observations._plain_read`` (the fast path of ``read_observation``) against the tolerant
reader it stands in for: same candidates and issues whenever it answers, for plain and odd
boolean, coded and quantity Observations."""

from __future__ import annotations

from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from app.fhir.codes import code_tables
from app.fhir.observations import _plain_read, read_observation, tolerant_read
from app.fhir.values import only_value, value_keys
from tests.fhir_builders import FINDING, UCUM, level_site, obs

SPECS = {s.code: s for s in code_tables().findings.findings}
CODED = sorted(c for c, s in SPECS.items() if s.type == "coded")
QUANTITY = sorted(c for c, s in SPECS.items() if s.type == "quantity")
BOOLEAN = sorted(c for c, s in SPECS.items() if s.type == "boolean")


def _case(words: list[str]) -> st.SearchStrategy[str]:
    """Listed words as written, re-cased, padded, or not listed at all."""
    word = st.sampled_from(words)
    return st.one_of(
        word,
        word.map(str.upper),
        word.map(lambda w: f" {w} "),
        st.sampled_from(["", " ", "not-a-value", "Ｌ1", "x" * 200]),
    )


@st.composite
def observations(draw: st.DrawFn) -> dict[str, Any]:
    kind = draw(st.sampled_from(["coded", "quantity", "boolean"]))
    code = draw(st.sampled_from({"coded": CODED, "quantity": QUANTITY, "boolean": BOOLEAN}[kind]))
    spec = SPECS[code]
    level = None
    if spec.per_level:
        level = draw(st.sampled_from([*(spec.levels or ["L1", "T12"]), "C2", "l1"]))
    fields: dict[str, Any] = {}
    if kind == "coded":
        value = draw(_case(spec.values or ["x"]))
        coding: dict[str, Any] = {"system": FINDING, "code": value}
        codings = [coding, *draw(st.lists(st.just({"code": "other"}), max_size=1))]
        concept: dict[str, Any] = {"coding": draw(st.sampled_from([codings, [1, coding], []]))}
        if draw(st.booleans()):
            concept["text"] = draw(_case(spec.values or ["x"]))
        fields["valueCodeableConcept"] = concept
    elif kind == "quantity":
        number = draw(
            st.one_of(
                st.floats(allow_nan=True, allow_infinity=True),
                st.integers(-(2**60), 2**60),
                st.sampled_from([True, "12", None, 1e308]),
            )
        )
        unit = spec.unit or "1"
        quantity: dict[str, Any] = {"value": number, "system": UCUM}
        quantity["code"] = draw(st.sampled_from([unit, f" {unit}", "mm", None, 7]))
        quantity["unit"] = draw(st.sampled_from([unit, "percent", None]))
        if draw(st.booleans()):
            quantity["comparator"] = draw(st.sampled_from(["<", None]))
        fields["valueQuantity"] = draw(st.sampled_from([quantity, quantity, [quantity]]))
    else:
        fields["valueBoolean"] = draw(st.sampled_from([True, False, "true", None]))
    extra: dict[str, Any] = draw(
        st.sampled_from([{}, {}, {"valueString": "x"}, {"valueInteger": None}])
    )
    extra |= draw(st.sampled_from([{}, {}, {"dataAbsentReason": {"text": "asked"}}]))
    resource = obs("o1", code, level=level, **fields, **extra)
    if level is not None:
        resource["bodySite"] = level_site(level)
    return resource


@settings(max_examples=600, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(observations())
def test_fast_read_agrees_with_tolerant_read(resource: dict[str, Any]) -> None:
    label = "Observation/o1"
    try:
        slow: object = tolerant_read(resource, label)
    except Exception as exc:  # the adapter reports either as "could not be read"
        slow = type(exc)
    try:
        fast: object = _plain_read(resource, label, {})
    except Exception as exc:
        fast = type(exc)
    if fast is not None:
        assert fast == slow
    if slow.__class__ is tuple:
        assert read_observation(resource, label) == slow


def test_plain_forms_take_the_fast_path() -> None:
    """The benchmark's coded and quantity forms are read by the fast path, not around it."""
    coded = obs("o1", "sins-pain", "mechanical", level="L1")
    height = obs("o2", "vertebral-height-loss", 35, level="L1", unit="%")
    for resource in (coded, height):
        resource["bodySite"] = level_site("L1")
        fast = _plain_read(resource, "Observation/x", {})
        assert fast is not None and len(fast[0]) == 1 and fast[1] == []


KEYS = ["valueBoolean", "valueQuantity", "valueCodeableConcept", "valueString", "valueX"]
KEYS += ["value", "valuex", "code", "status", "bodySite", "dataAbsentReason", "note", "other"]


@settings(max_examples=400, deadline=None)
@given(
    st.dictionaries(st.sampled_from(KEYS), st.sampled_from([None, 1, True])), st.sampled_from(KEYS)
)
def test_only_value_is_value_keys_of_one(element: dict[str, Any], key: str) -> None:
    assert only_value(element, key) == (value_keys(element) == [key])


def test_a_level_outside_the_findings_levels_leaves_the_fast_path() -> None:
    """A finding read at some levels only (``csf-signal``: L2-L4, code tables) at C2: the fast
    path gives nothing and the tolerant read skips it with a warning."""
    restricted = [s for s in SPECS.values() if s.per_level and s.levels is not None]
    assert restricted  # the code tables do restrict some findings
    for spec in restricted:
        outside = next(lv for lv in ("C2", "T5", "S1") if lv not in (spec.levels or ()))
        value: Any = {"quantity": 1.2, "boolean": True}.get(spec.type, (spec.values or ["x"])[0])
        resource = obs("o1", spec.code, value, level=outside)
        assert _plain_read(resource, "Observation/o1", {}) is None
        candidates, issues = read_observation(resource, "Observation/o1")
        assert candidates == []
        assert any(i.location == "Observation/o1.bodySite" for i in issues)
