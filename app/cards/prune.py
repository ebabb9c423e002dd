"""Remove what FHIR JSON forbids from resources the service sends back (null, empty strings,
arrays and objects; FHIR R4 JSON representation). Real clients send such values (the public
sandbox sends ``reasonCode: []``); everything else round-trips untouched."""

from __future__ import annotations

from typing import overload


@overload
def prune_empty(value: dict[str, object]) -> dict[str, object]: ...
@overload
def prune_empty(value: object) -> object: ...
def prune_empty(value: object) -> object:
    """A copy of JSON ``value`` without the empty values (every object and array is new, so
    the result shares no container with ``value``)."""
    if isinstance(value, dict):
        out = {k: prune_empty(v) for k, v in value.items()}
        return {k: v for k, v in out.items() if not _empty(v)}
    if isinstance(value, list):
        return [v for v in (prune_empty(x) for x in value) if not _empty(v)]
    return value


def _empty(value: object) -> bool:
    return value is None or (isinstance(value, str | list | dict) and len(value) == 0)
