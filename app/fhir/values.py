"""Observation/component ``value[x]`` -> finding value (fhir-input.md "Observations").

boolean: ``valueBoolean``, SNOMED CT Yes/No/Unknown ``valueCodeableConcept``, or ``valueString``
true/false/yes/no; coded: a code of the finding's value list in ``valueCodeableConcept`` or
``valueString``; quantity: ``valueQuantity`` in the expected UCUM unit (or a listed convertible
one); integer: ``valueInteger``. No value or ``dataAbsentReason`` = known to be unknown.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from app.clinical.findings import FindingValue
from app.fhir.codes import BooleanCodes, FindingCode
from app.fhir.concept_maps import index
from app.fhir.raw import MAX_TOKEN, codings, is_number, text
from app.json_types import JsonObject

_TRUE = {"true", "yes", "y"}
_FALSE = {"false", "no", "n"}


@dataclass(slots=True)  # not frozen: one per reading on the hot path, never changed
class Value:
    value: FindingValue | None
    unit: str | None = None
    note: str | None = None  # a caveat worth a warning (e.g. unit assumed)


@dataclass(frozen=True)
class Problem:
    field: str  # path below the element, e.g. "valueQuantity.value"
    message: str


def value_keys(element: JsonObject) -> list[str]:
    """The ``value[x]`` fields present (JSON null counts as absent)."""
    return [  # ``in`` first: most keys are rejected without a method call
        k
        for k, v in element.items()
        if "value" in k and k.startswith("value") and len(k) > 5 and k[5].isupper()
        if v is not None
    ]


# elements of an Observation or component that are not ``value[x]`` (FHIR R4)
_NOT_VALUE = frozenset(
    {"resourceType", "id", "meta", "implicitRules", "language", "text", "contained"}
    | {"extension", "modifierExtension", "identifier", "basedOn", "partOf", "status"}
    | {"category", "code", "subject", "focus", "encounter", "effectiveDateTime"}
    | {"effectivePeriod", "effectiveTiming", "effectiveInstant", "issued", "performer"}
    | {"dataAbsentReason", "interpretation", "note", "bodySite", "method", "specimen"}
    | {"device", "referenceRange", "hasMember", "derivedFrom", "component"}
)
_ONLY = {  # the key -> the elements ``only_value`` lets stand beside it
    key: _NOT_VALUE | {key} for key in ("valueBoolean", "valueCodeableConcept", "valueQuantity")
}


def only_value(element: JsonObject, key: str) -> bool:
    """``value_keys(element) == [key]``: one C-level set test when every other element of
    ``element`` is a usual non-value element (the hot path), else by definition."""
    if element.get(key) is None:
        return False
    allowed = _ONLY.get(key)
    if allowed is not None and allowed.issuperset(element):
        return True
    return value_keys(element) == [key]


def read_value(
    element: JsonObject,
    spec: FindingCode,
    yes_no: BooleanCodes,
    present_if_empty: bool = False,
) -> Value | Problem:
    """Read the value of one Observation or component for the finding ``spec``.
    ``present_if_empty``: the element's code is a clinical finding (SNOMED CT ``Backache``...),
    so stating it without a value means the finding is present."""
    keys = value_keys(element)
    if isinstance(element.get("dataAbsentReason"), dict):
        note = "has both dataAbsentReason and a value; read as unknown" if keys else None
        return Value(None, note=note)
    if not keys:
        return Value(True if present_if_empty and spec.type == "boolean" else None)
    if len(keys) > 1:
        return Problem("value[x]", "more than one value[x]")
    key = keys[0]
    raw = element[key]
    if spec.type == "boolean":
        return _boolean(key, raw, spec, yes_no)
    if spec.type == "coded":
        return _coded(key, raw, spec)
    if spec.type == "quantity":
        return _quantity(key, raw, spec)
    return _integer(key, raw, spec)


def _boolean(key: str, raw: object, spec: FindingCode, yes_no: BooleanCodes) -> Value | Problem:
    if key == "valueBoolean":
        return Value(raw) if isinstance(raw, bool) else Problem(key, "not a boolean")
    if key == "valueCodeableConcept":
        answers = {yes_no.yes: True, yes_no.no: False}
        idx = index()
        displays: list[str] = []
        for system, code, display in codings(raw):
            if system == yes_no.system and code in answers:
                return Value(answers[code])
            if system == yes_no.system and code == yes_no.unknown:
                return Value(None)
            if system is not None and (system, code) in idx.boolean_answers:
                return Value(idx.boolean_answers[(system, code)])
            if display:
                displays.append(display.strip().lower())
        words = [(text(raw, "text") or "").lower(), *displays]
        for word in words:
            if word in _TRUE or word in _FALSE or word in idx.text_true or word in idx.text_false:
                return Value(word in _TRUE or word in idx.text_true)
            if word in idx.text_unknown:
                return Value(None)
        return Problem(key, f"expected SNOMED CT {yes_no.yes} Yes or {yes_no.no} No")
    if key == "valueString" and isinstance(raw, str) and len(raw) <= MAX_TOKEN:
        word = raw.strip().lower()
        if word in _TRUE or word in _FALSE:
            return Value(word in _TRUE)
    if key == "valueString":
        return Problem(key, "expected true/false or yes/no")
    return Problem(key, f"boolean finding {spec.code!r} expects valueBoolean")


def _match(candidate: str, values: list[str]) -> str | None:
    folded = candidate.strip().lower()
    return next((v for v in values if v.lower() == folded), None)


def _coded(key: str, raw: object, spec: FindingCode) -> Value | Problem:
    values = spec.values or []
    if key == "valueCodeableConcept":
        for _, code, _ in codings(raw):
            if (hit := _match(code, values)) is not None:
                return Value(hit)
        label = text(raw, "text")
        if label is not None and (hit := _match(label, values)) is not None:
            return Value(hit)
        return Problem(key, f"no code of the value list of {spec.code!r}")
    if key == "valueString" and isinstance(raw, str) and len(raw) <= MAX_TOKEN:
        hit = _match(raw, values)
        return Value(hit) if hit is not None else Problem(key, f"not a value of {spec.code!r}")
    if key == "valueInteger" and isinstance(raw, int) and not isinstance(raw, bool):
        hit = _match(str(raw), values)
        return Value(hit) if hit is not None else Problem(key, f"not a value of {spec.code!r}")
    if key in ("valueString", "valueInteger"):
        return Problem(key, f"not a value of {spec.code!r}")
    return Problem(key, f"coded finding {spec.code!r} expects valueCodeableConcept")


def _in_range(number: float, spec: FindingCode) -> bool:
    return (spec.min is None or number >= spec.min) and (spec.max is None or number <= spec.max)


def _quantity(key: str, raw: object, spec: FindingCode) -> Value | Problem:
    if key != "valueQuantity":
        return Problem(key, f"measurement {spec.code!r} expects valueQuantity")
    if not isinstance(raw, dict):
        return Problem(key, "not a Quantity object")
    number = raw.get("value")
    if not is_number(number):
        return Problem(f"{key}.value", "not a number")
    if raw.get("comparator") is not None:
        return Problem(f"{key}.comparator", "a bound (comparator) is not a measured value")
    code, unit = text(raw, "code"), text(raw, "unit")
    factor, note = _unit_factor(code, unit, spec)
    if factor is None:
        return Problem(f"{key}.unit", f"unit is not {spec.unit!r}")
    value = float(number) * factor
    if not math.isfinite(value) or not _in_range(value, spec):
        return Problem(f"{key}.value", f"outside the plausible range of {spec.code!r}")
    return Value(value, spec.unit if spec.unit is not None else (code or unit), note)


def _unit_factor(
    code: str | None, unit: str | None, spec: FindingCode
) -> tuple[float | None, str | None]:
    """Factor to the expected unit; ``None`` when the unit is wrong."""
    if spec.unit is None:
        return 1.0, None
    if code is None and unit is None:
        return 1.0, f"no unit given; read as {spec.unit!r}"
    if spec.unit in (code, unit) or (unit or "").lower() in spec.unit_aliases:
        return 1.0, None
    for given in (code, unit):
        if given is not None and given in spec.unit_factors:
            return spec.unit_factors[given], None
    return None, None


def _digits(value: str) -> int | None:
    stripped = value.strip()
    if stripped.isascii() and stripped.isdigit() and len(stripped) <= 9:
        return int(stripped)
    return None


def _integer(key: str, raw: object, spec: FindingCode) -> Value | Problem:
    number: object = None
    if key == "valueInteger":
        number = raw
    elif key == "valueQuantity" and isinstance(raw, dict):
        number = raw.get("value")
    elif key == "valueString" and isinstance(raw, str) and len(raw) <= MAX_TOKEN:
        number = _digits(raw)
    elif key == "valueCodeableConcept":
        answers = index().integer_answers
        mapped = (answers.get((s, c)) for s, c, _ in codings(raw) if s is not None)
        number = next((v for f, v in (m for m in mapped if m) if f == spec.code), None)
        if number is None:
            number = next((n for _, c, _ in codings(raw) if (n := _digits(c)) is not None), None)
    if not isinstance(number, int | float) or isinstance(number, bool) or not is_number(number):
        return Problem(key, f"{spec.code!r} expects an integer (valueInteger)")
    if number != int(number):
        return Problem(key, f"{spec.code!r} expects an integer (valueInteger)")
    value = int(number)
    if not _in_range(value, spec):
        return Problem(key, f"outside the range of {spec.code!r}")
    return Value(value)
