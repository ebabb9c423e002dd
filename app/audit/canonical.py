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
_ORJSON_NULL = re.compile(rb"null(?=[,\]}]|$)")
_ORJSON_DIFFERS = (re.compile(rb"e-[0-9](?=[,\]}]|$)"), re.compile(rb"0\.0000"), _ORJSON_NULL)


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
    strings) become ``Patient/<token>`` and strings equal to the id become ``token``; object
    keys are left as they are. Done on the JSON text when it can be (:func:`_on_text`; the
    same result, checked by a property test against :func:`walk_pseudonymise`), else by
    walking the value."""
    fast = _on_text(value, patient_id, token)
    return walk_pseudonymise(value, patient_id, token) if fast is None else fast


def walk_pseudonymise(value: Any, patient_id: str | None, token: str) -> Any:
    """:func:`pseudonymise` by walking the value: the definition."""
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


_PASSTHROUGH = (
    orjson.OPT_PASSTHROUGH_DATETIME
    | orjson.OPT_PASSTHROUGH_DATACLASS
    | orjson.OPT_PASSTHROUGH_SUBCLASS
)
# ids and tokens written in JSON exactly as themselves (no escapes): FHIR ids, hex digests
_PLAIN_ID = re.compile(r"[A-Za-z0-9\-.]{1,64}")
# from inside a JSON string to just past its closing quote (escapes skipped)
_STRING_REST = re.compile(rb'(?:[^"\\]|\\.)*"', re.DOTALL)


def _on_text(value: Any, patient_id: str | None, token: str) -> Any | None:
    """:func:`pseudonymise` as two substitutions on orjson's text of ``value`` and one parse
    back (C-speed; the walk visited every string of the cards in Python). None when the text
    cannot stand for the value: an id or token that JSON would escape, a value orjson writes
    differently (NaN, non-string keys, big integers, non-JSON types), or a reference inside an
    object key (the walk leaves keys alone)."""
    if patient_id is None or not _PLAIN_ID.fullmatch(patient_id):
        return None
    if not _PLAIN_ID.fullmatch(token) or not isinstance(value, list | dict):
        return None
    try:  # datetimes, dataclasses and str/int/dict/list subclasses raise: the walk keeps them
        text = orjson.dumps(value, option=_PASSTHROUGH)
    except (TypeError, orjson.JSONEncodeError):
        return None
    if _ORJSON_NULL.search(text):  # a NaN or infinity, perhaps, as for canonical_json
        return None
    pid = re.escape(patient_id.encode("ascii"))
    reference = re.compile(rb"Patient/" + pid + _ID_TAIL.encode("ascii"))
    for match in reference.finditer(text):
        rest = _STRING_REST.match(text, match.end())
        if rest is None or text[rest.end() : rest.end() + 1] == b":":  # inside a key
            return None
    text = reference.sub(b"Patient/" + token.encode("ascii"), text)
    # a whole string value: after ``[``, ``:`` or ``,`` and before ``,``, ``]`` or ``}`` (an
    # object key is followed by ``:``, and inside a string every quote is escaped). The id
    # comes first in the pattern and the lookbehind last, so the scan looks for the id only
    exact = re.compile(pid + rb'"(?=[,\]}])(?<=[\[:,]"' + pid + rb'")')
    text = exact.sub(token.encode("ascii") + b'"', text)
    return orjson.loads(text)
