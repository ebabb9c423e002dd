"""Parse a FHIR server's JSON answer a Bundle entry at a time (docs/faults.md).

``json.loads`` is one C call that holds the GIL for the whole document: a few MiB from a FHIR
server would stall the event loop (and every other client) even when parsed in a worker
thread. Here the top-level object is walked key by key and the ``entry`` array element by
element with ``JSONDecoder.raw_decode``, so the interpreter can switch threads between
entries, and parsing stops as soon as ``max_entries`` is passed. Anything that is not a JSON
object falls back to ``json.loads``. One single huge value (a resource of several MiB) is
still one C call; the byte cap of the caller bounds it.
"""

from __future__ import annotations

import json
import re
from typing import Any

from app.json_types import JsonObject

_WS = re.compile(r"[ \t\n\r]*")
_DECODER = json.JSONDecoder()


class TooManyEntries(ValueError):
    """The Bundle has more entries than allowed (parsing stopped there)."""


def loads_bundle(raw: bytes, max_entries: int) -> Any:
    """``json.loads(raw)`` for UTF-8 JSON, raising :class:`TooManyEntries` once a top-level
    ``entry`` array passes ``max_entries`` and ``ValueError`` for invalid JSON."""
    text = raw.decode("utf-8")
    i = _WS.match(text, 0).end()  # type: ignore[union-attr]
    if not text.startswith("{", i):
        return json.loads(text)
    obj: JsonObject = {}
    i = _skip(text, i + 1)
    if text.startswith("}", i):
        return _end(text, i + 1, obj)
    while True:
        if not text.startswith('"', i):
            raise ValueError(f"expected a key at {i}")
        key, i = _DECODER.raw_decode(text, i)
        i = _skip(text, i)
        if not text.startswith(":", i):
            raise ValueError(f"expected ':' at {i}")
        i = _skip(text, i + 1)
        if key == "entry" and text.startswith("[", i):
            obj[key], i = _array(text, i + 1, max_entries)
        else:
            obj[key], i = _DECODER.raw_decode(text, i)
        i = _skip(text, i)
        if text.startswith(",", i):
            i = _skip(text, i + 1)
            continue
        if text.startswith("}", i):
            return _end(text, i + 1, obj)
        raise ValueError(f"expected ',' or '}}' at {i}")


def _array(text: str, i: int, max_entries: int) -> tuple[list[Any], int]:
    items: list[Any] = []
    i = _skip(text, i)
    if text.startswith("]", i):
        return items, i + 1
    while True:
        if len(items) >= max_entries:
            raise TooManyEntries(f"more than {max_entries} Bundle entries")
        value, i = _DECODER.raw_decode(text, i)  # one entry: the GIL can switch after it
        items.append(value)
        i = _skip(text, i)
        if text.startswith(",", i):
            i = _skip(text, i + 1)
            continue
        if text.startswith("]", i):
            return items, i + 1
        raise ValueError(f"expected ',' or ']' at {i}")


def _skip(text: str, i: int) -> int:
    return _WS.match(text, i).end()  # type: ignore[union-attr]


def _end(text: str, i: int, obj: JsonObject) -> JsonObject:
    if _skip(text, i) != len(text):
        raise ValueError("extra data after the JSON value")
    return obj
