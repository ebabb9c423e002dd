"""Canonical JSON, the input digest and the keyed patient hash.

Canonical JSON (what ``input_sha256`` is computed over): the parsed JSON value serialised with
object keys sorted by code point, no whitespace (separators ``,`` and ``:``), non-ASCII
characters written as themselves (``ensure_ascii=False``) and the result encoded as UTF-8.
Numbers keep Python's shortest round-trip form, so ``1`` and ``1.0`` stay distinct. Key
order and whitespace of the original document therefore never change the digest; any change
of a value does.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import re
from typing import Any

import orjson

# A reference "Patient/<id>" ends where FHIR id characters end; a "." followed by no id
# character is punctuation ("... Patient/p1.") and does not extend the id.
_ID_TAIL = r"(?![A-Za-z0-9\-]|\.[A-Za-z0-9\-])"


# orjson writes exactly the canonical form except for floats below 1e-4 (``0.00001`` and
# ``2.5e-7`` where Python writes ``1e-05`` and ``2.5e-07``) and NaN / Infinity (``null`` where
# Python writes ``NaN``): output with such a number or a ``null`` is made again by the standard
# library. The exponent and ``null`` patterns match only at the end of a JSON token (followed by
# ``,``, ``]``, ``}`` or the end), so ordinary strings do not send a document to the slow path:
# a UUID such as ``"3f1c2f9e-6a51-..."`` (every hookInstance) or the word "null" in a text. A
# string that happens to look like such a token (``"x,1e-7,"``) only costs the slow path. Each
# pattern starts with a literal (one fast scan each; a leading alternation is 30x slower).
_ORJSON_DIFFERS = (
    re.compile(rb"e-[0-9](?=[,\]}]|$)"),
    re.compile(rb"0\.0000"),
    re.compile(rb"null(?=[,\]}]|$)"),
)


def canonical_json(value: Any) -> bytes:
    """The canonical UTF-8 encoding of a JSON value (see the module docstring). orjson
    writes it when it can (same bytes, checked by a property test), ``json`` otherwise."""
    try:
        fast = orjson.dumps(value, option=orjson.OPT_SORT_KEYS)
    except (TypeError, orjson.JSONEncodeError):  # e.g. integers beyond 64 bits
        fast = None
    if fast is not None and not any(p.search(fast) for p in _ORJSON_DIFFERS):
        return fast
    text = json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return text.encode("utf-8")


def input_digest(value: Any) -> str:
    """Hex SHA-256 of the canonical JSON of ``value``."""
    return hashlib.sha256(canonical_json(value)).hexdigest()


def keyed_hash(value: str, secret: bytes) -> str:
    """Hex HMAC-SHA256 of ``value`` (UTF-8) under ``secret``."""
    return hmac.new(secret, value.encode("utf-8"), hashlib.sha256).hexdigest()


def pseudonymise(value: Any, patient_id: str | None, token: str) -> Any:
    """A deep copy of ``value`` where ``Patient/<patient_id>`` references (also inside longer
    strings) become ``Patient/<token>`` and strings equal to the id become ``token``."""
    pattern = re.compile(r"Patient/" + re.escape(patient_id or "") + _ID_TAIL)
    replacement = f"Patient/{token}"

    def walk(item: Any) -> Any:
        if isinstance(item, str):
            if not patient_id:
                return item
            if item == patient_id:
                return token
            if "Patient/" not in item:  # nothing the pattern could match
                return item
            return pattern.sub(lambda _: replacement, item)
        if isinstance(item, list):
            return [walk(x) for x in item]
        if isinstance(item, dict):
            return {k: walk(v) for k, v in item.items()}
        return item

    return walk(value)
