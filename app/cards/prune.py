"""Remove what FHIR JSON forbids from resources the service sends back (null, empty strings,
arrays and objects; FHIR R4 JSON representation). Real clients send such values (the public
sandbox sends ``reasonCode: []``); everything else round-trips untouched."""

from __future__ import annotations

from typing import overload

_CONTAINERS = (dict, list)


@overload
def prune_empty(value: dict[str, object]) -> dict[str, object]: ...
@overload
def prune_empty(value: object) -> object: ...
def prune_empty(value: object) -> object:
    """A copy of JSON ``value`` without the empty values (every object and array is new, so
    the result shares no container with ``value``). One pass: each container is copied once
    and an empty one is dropped as it is met; plain ``str``/``dict``/``list`` members are
    told apart by their exact class first (what the ``isinstance`` tests give for them)."""
    if isinstance(value, dict):
        out: dict[object, object] = {}
        for k, v in value.items():
            cls = v.__class__
            if cls is str:
                if v:
                    out[k] = v
                continue
            if cls is dict or cls is list or isinstance(v, _CONTAINERS):
                v = prune_empty(v)
                if not v:  # a new, plain dict or list: empty
                    continue
            elif v is None or (isinstance(v, str) and not v):
                continue
            out[k] = v
        return out
    if isinstance(value, list):
        items: list[object] = []
        for v in value:
            cls = v.__class__
            if cls is str:
                if v:
                    items.append(v)
                continue
            if cls is dict or cls is list or isinstance(v, _CONTAINERS):
                v = prune_empty(v)
                if not v:
                    continue
            elif v is None or (isinstance(v, str) and not v):
                continue
            items.append(v)
        return items
    return value
