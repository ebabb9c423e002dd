"""Canonical JSON digest and the keyed patient hash."""

from __future__ import annotations

import hashlib
import hmac
import json
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from app.audit.canonical import (
    _on_text,
    canonical_json,
    input_digest,
    keyed_hash,
    pseudonymise,
    walk_pseudonymise,
)

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(), inner, max_size=4),
    max_leaves=25,
)


def reordered(value: Any) -> Any:
    """The same JSON value with every object's keys inserted in reverse order."""
    if isinstance(value, dict):
        return {k: reordered(value[k]) for k in reversed(list(value))}
    if isinstance(value, list):
        return [reordered(v) for v in value]
    return value


def test_canonical_form_is_sorted_compact_utf8() -> None:
    assert canonical_json({"b": [1, 2.5], "a": "é☃", "A": None}) == (
        '{"A":null,"a":"é☃","b":[1,2.5]}'.encode()
    )


@given(st.dictionaries(st.text(), json_values, max_size=6))
def test_digest_ignores_key_order_and_whitespace(value: dict[str, Any]) -> None:
    pretty = json.loads(json.dumps(reordered(value), indent=3, ensure_ascii=True))
    assert input_digest(pretty) == input_digest(value)
    assert input_digest(value) == hashlib.sha256(canonical_json(value)).hexdigest()


def test_digest_changes_with_any_value() -> None:
    base = {"context": {"patientId": "a", "x": [1, 2]}}
    assert input_digest(base) != input_digest({"context": {"patientId": "a", "x": [2, 1]}})
    assert input_digest(base) != input_digest({"context": {"patientId": "b", "x": [1, 2]}})


def test_hmac_hides_the_id_and_depends_on_the_secret() -> None:
    mac = keyed_hash("pt-42", b"secret-1")
    assert mac == hmac.new(b"secret-1", b"pt-42", hashlib.sha256).hexdigest()
    assert len(mac) == 64 and "pt-42" not in mac
    assert mac != hashlib.sha256(b"pt-42").hexdigest()  # keyed, not a plain hash
    assert keyed_hash("pt-42", b"secret-2") != mac
    assert keyed_hash("pt-43", b"secret-1") != mac
    assert keyed_hash("pt-42", b"secret-1") == mac


def test_pseudonymise_replaces_patient_references_only() -> None:
    value = {
        "subject": {"reference": "Patient/p1"},
        "other": ["Patient/p10", "see Patient/p1.", "p1", "xp1", "Patient/p1/_history/2"],
    }
    out = pseudonymise(value, "p1", "H")
    assert out == {
        "subject": {"reference": "Patient/H"},
        "other": ["Patient/p10", "see Patient/H.", "H", "xp1", "Patient/H/_history/2"],
    }
    assert value["subject"] == {"reference": "Patient/p1"}  # a copy, input untouched
    assert pseudonymise(value, None, "H") == value


# --- pseudonymise on the JSON text gives what the walk gives -----------------------------------

_ID = "p-1.x"
_pieces = st.sampled_from(
    [_ID, f"Patient/{_ID}", f"Patient/{_ID}.", f"Patient/{_ID}a", "Patient/", '"', "\\", ":",
     ",", "]", "}", "[", "{", " ", "é", "\n", "null", "x"]
)  # fmt: skip
_texts = st.lists(_pieces, max_size=6).map("".join) | st.just(_ID)
_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=True) | _texts,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(_texts, inner, max_size=4),
    max_leaves=30,
)


@given(st.lists(_values, max_size=4) | st.dictionaries(_texts, _values, max_size=4))
@settings(max_examples=400)
def test_pseudonymise_on_text_equals_the_walk(value: Any) -> None:
    expected = walk_pseudonymise(value, _ID, "H0")
    assert pseudonymise(value, _ID, "H0") == expected or expected != expected  # NaN != NaN
    assert json.dumps(pseudonymise(value, _ID, "H0")) == json.dumps(expected)


def test_pseudonymise_takes_the_text_path_for_cards_and_leaves_keys_alone() -> None:
    cards = [{"summary": f"see Patient/{_ID}", "x": [_ID, f'q"{_ID}'], _ID: _ID}]
    assert _on_text(cards, _ID, "H0") == [
        {"summary": "see Patient/H0", "x": ["H0", f'q"{_ID}'], _ID: "H0"}
    ]
    keyed = [{f"Patient/{_ID}": f"Patient/{_ID}"}]
    assert _on_text(keyed, _ID, "H0") is None  # a reference in a key: the walk decides
    assert pseudonymise(keyed, _ID, "H0") == [{f"Patient/{_ID}": "Patient/H0"}]
    assert _on_text([float("nan"), "null"], _ID, "H0") is None  # orjson would write null
    assert _on_text(["x"], 'p"1', "H0") is None  # an id JSON escapes


# --- the orjson fast path writes the same bytes as the definition ------------------------------

_json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**80), max_value=2**80)
    | st.floats(allow_nan=True, allow_infinity=True)
    | st.sampled_from([1e-05, 2.5e-07, 1e16, 1.5e16, 0.0001, 1e-4, -0.0, 123456789.123])
    | st.text(),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=4)
    ),
    max_leaves=20,
)


@settings(max_examples=400, deadline=None)
@given(_json_values)
def test_canonical_json_is_the_standard_library_form(value: object) -> None:
    """canonical_json takes orjson's output only when it is byte-identical to the definition
    in the module docstring (json.dumps, sorted keys, compact, UTF-8)."""
    expected = json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    assert canonical_json(value) == expected.encode("utf-8")


def test_strings_that_look_like_numbers_keep_the_orjson_path(monkeypatch: Any) -> None:
    """A UUID (``...9e-6a51...``: every hookInstance) or the word "null" in a text is not a
    number or a null: the document is written by orjson, with the definition's bytes."""
    value = {
        "hookInstance": "3f1c2f9e-6a51-4b1e-9d53-7f1f0e2d9a11",
        "note": "null or missing, see 1e-5 below",
        "n": [1.5, 1e16, -0.0, 12],
    }
    expected = json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)

    def standard_library_used(*_: Any, **__: Any) -> str:
        raise AssertionError("canonical_json fell back to json.dumps")

    monkeypatch.setattr("app.audit.canonical.json.dumps", standard_library_used)
    assert canonical_json(value) == expected.encode("utf-8")


def test_numbers_orjson_writes_differently_take_the_standard_library() -> None:
    for value in ([1e-7], {"a": -1e-5}, [None], {"a": float("nan")}, 2.5e-07, None):
        expected = json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
        assert canonical_json(value) == expected.encode("utf-8"), value
