"""Request size limits, answered before the app parses anything.

* :class:`BodyLimitMiddleware`: **413** when the declared ``Content-Length`` exceeds
  ``max_body_bytes`` (nothing is read) or when a streamed / chunked body passes it (the app
  then sees a client disconnect and its answer, if any, is replaced by the 413).
* :class:`JsonDepthMiddleware`: **400** when a JSON body nests deeper than ``max_depth``,
  found by one scan of the raw bytes, so Python's ``json`` never recurses into it.
* :func:`unicode_problem`: for the routes that take free-form FHIR JSON (CDS Hooks services,
  ``/api/v1/assessments``; they answer **400** with it): a body that is not Unicode text.
  Python's ``json`` decodes bytes with ``surrogatepass`` and keeps ``"\\ud800"`` escapes, so
  a lone surrogate would reach the app as a string that cannot be encoded as UTF-8 again
  (audit digest, error messages, responses). Typed fields need no such check: pydantic
  rejects lone surrogates in ``str`` fields itself.
* :func:`check_json_limits`: for the CDS Hooks route on the parsed request: depth and the
  total number of Bundle entries in ``prefetch`` and ``context.draftOrders`` (the route answers
  **413** with it).

Error bodies follow ``app.api.errors``: an OperationOutcome on FHIR and CDS Hooks paths (code
``too-costly`` for 413, ``invalid`` for 400), ``{"detail": [...]}`` elsewhere. Responses are
never buffered.
"""

from __future__ import annotations

import email.message
import functools
import json
import re
from itertools import accumulate
from typing import Any

import anyio
from starlette.requests import Request
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from app.api.errors import error_response, field_detail
from app.json_types import JsonObject

_STEP = tuple(1 if b in b"[{" else -1 if b in b"]}" else 0 for b in range(256))
_NOT_BRACKET = bytes(b for b in range(256) if b not in b"[]{}")
_NOT_BRACKET_OR_QUOTE = bytes(b for b in range(256) if b not in b'[]{}"')
# a JSON string; an unterminated one runs to the end, so every match is linear (no retries)
_JSON_STRING = re.compile(rb'"[^"\\]*(?:\\.[^"\\]*)*"?', re.DOTALL)
# a \uD800-\uDFFF escape: only bodies with one are parsed again to look for a lone surrogate
_SURROGATE_ESCAPE = re.compile(rb"\\u[dD][89abcdefABCDEF]")


def _detail(msg: str, kind: str = "too_large") -> list[JsonObject]:
    return [field_detail(["body"], msg, kind)]


async def _reject(
    scope: Scope, receive: Receive, send: Send, status: int, msg: str, kind: str = "too_large"
) -> None:
    response = error_response(Request(scope), status, _detail(msg, kind))
    await response(scope, receive, send)


def _declared_length(scope: Scope) -> int | None:
    for key, value in scope.get("headers", ()):
        if key == b"content-length":
            return int(value) if value.isdigit() else None
    return None


class BodyLimitMiddleware:
    """Pure ASGI: caps the request body at ``max_body_bytes`` (413)."""

    def __init__(self, app: ASGIApp, max_body_bytes: int) -> None:
        self.app = app
        self.max_body_bytes = max_body_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limit = self.max_body_bytes
        declared = _declared_length(scope)
        if declared is not None and declared > limit:
            await _reject(scope, receive, send, 413, f"request body larger than {limit} bytes")
            return
        received = 0
        exceeded = started = False

        async def counting_receive() -> Message:
            nonlocal received, exceeded
            if exceeded:
                return {"type": "http.disconnect"}
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    # the app sees the client go away; whatever it answers is replaced
                    exceeded = True
                    return {"type": "http.disconnect"}
            return message

        async def guarded_send(message: Message) -> None:
            nonlocal started
            if exceeded and not started:
                return
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, counting_receive, guarded_send)
        except Exception:
            if not exceeded or started:
                raise
        if exceeded and not started:
            await _reject(scope, receive, send, 413, f"request body larger than {limit} bytes")


def _is_json(scope: Scope) -> bool:
    """Whether FastAPI would parse the body as JSON (no content type, or ``*/json``,
    ``*/*+json``): the bodies the depth check must see."""
    for key, value in scope.get("headers", ()):
        if key == b"content-type":
            return _json_content_type(value)
    return True


@functools.lru_cache(maxsize=64)  # clients send a handful of distinct values
def _json_content_type(value: bytes) -> bool:
    msg = email.message.Message()
    msg["content-type"] = value.decode("latin-1")
    sub = msg.get_content_subtype()
    return msg.get_content_maintype() == "application" and (sub == "json" or sub.endswith("+json"))


def _brackets(raw: bytes) -> bytes:
    """The ``[]{}`` of ``raw`` outside JSON strings, in order (C-speed, see json_depth)."""
    # a one-byte search is a memchr; the two-byte ``\\"`` search is ~20x slower on FHIR JSON
    if b"\\" not in raw or b'\\"' not in raw:
        # every quote opens or closes a string. Quotes and brackets only: a string without a
        # bracket inside is then an adjacent quote pair. When the left-to-right count of
        # adjacent pairs covers every quote, the pairs are the strings (the first quote not
        # yet paired always opens one, and only the next quote can pair with it), so no
        # string held a bracket and the rest are the brackets outside strings.
        reduced = raw.translate(None, _NOT_BRACKET_OR_QUOTE)
        if reduced.count(b'"') == 2 * reduced.count(b'""'):
            return reduced.translate(None, b'"')
        # the even pieces between quotes are outside strings
        outside = b"".join(raw.split(b'"')[0::2])
    else:  # an escaped quote (or an escaped backslash before a closing quote): regex
        outside = _JSON_STRING.sub(b"", raw)
    return outside.translate(None, _NOT_BRACKET)


def _prefix_depth(brackets: bytes) -> int:
    if not brackets:
        return 0
    return max(0, max(accumulate(map(_STEP.__getitem__, brackets))))


def json_depth(raw: bytes) -> int:
    """Deepest nesting of ``[``/``{`` outside strings, in one pass over the bytes (C-speed:
    strings removed by translating and replacing, by splitting at quotes, or by one regex when
    the body has an escaped quote). Exact for valid JSON."""
    return _prefix_depth(_brackets(raw))


def nested_deeper_than(raw: bytes, limit: int) -> bool:
    """``json_depth(raw) > limit``, without walking every bracket in Python for the usual
    body: each pass deletes the empty ``[]`` then the empty ``{}`` (two C scans), lowering the
    nesting by one or two levels, so a body that empties within ``limit // 2`` passes nests at
    most ``limit`` deep. Anything else (deeper, or brackets that do not match) is counted
    exactly."""
    brackets = left = _brackets(raw)
    for _ in range(limit // 2):
        if not left:
            return False
        shorter = left.replace(b"[]", b"").replace(b"{}", b"")
        if shorter == left:  # mismatched brackets: not JSON, count them exactly
            break
        left = shorter
    if not left:
        return False
    return _prefix_depth(brackets) > limit


def json_depth_yielding(raw: bytes) -> int:
    """:func:`json_depth` for large bodies in a worker thread: strings are skipped one regex
    match at a time, so the interpreter can hand the GIL to the event loop in between (one
    ``sub`` over megabytes would hold it throughout; docs/faults.md)."""
    parts: list[bytes] = []
    last = 0
    for match in _JSON_STRING.finditer(raw):
        parts.append(raw[last : match.start()])
        last = match.end()
    parts.append(raw[last:])
    return _prefix_depth(b"".join(parts).translate(None, _NOT_BRACKET))


OFFLOAD_BYTES = 64 * 1024  # larger bodies are depth-checked in a worker thread


class JsonDepthMiddleware:
    """Pure ASGI: reads a JSON request body (already capped by :class:`BodyLimitMiddleware`,
    which must run outside this one), answers 400 when it nests deeper than ``max_depth``,
    otherwise hands the same bytes on. Responses pass through unbuffered."""

    def __init__(self, app: ASGIApp, max_depth: int) -> None:
        self.app = app
        self.max_depth = max_depth

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not _is_json(scope):
            await self.app(scope, receive, send)
            return
        chunks: list[bytes] = []
        while True:
            message = await receive()
            if message["type"] != "http.request":
                return  # client disconnected: nobody to answer
            chunks.append(message.get("body", b""))
            if not message.get("more_body", False):
                break
        body = b"".join(chunks)
        if len(body) > OFFLOAD_BYTES:
            too_deep = await anyio.to_thread.run_sync(json_depth_yielding, body) > self.max_depth
        else:
            too_deep = len(body) > self.max_depth and nested_deeper_than(body, self.max_depth)
        if too_deep:
            msg = f"JSON nested deeper than {self.max_depth} levels"
            await _reject(scope, receive, send, 400, msg, "too_deep")
            return
        await self.app(scope, replaying(body, receive), send)


def replaying(body: bytes, receive: Receive) -> Receive:
    """A ``receive`` that gives the already-read ``body`` once, then the client's own
    messages (a disconnect)."""
    replayed = False

    async def replay() -> Message:
        nonlocal replayed
        if replayed:
            return await receive()
        replayed = True
        return {"type": "http.request", "body": body, "more_body": False}

    return replay


LONE_SURROGATE = "JSON strings must be Unicode text: a lone surrogate escape (\\ud800-\\udfff)"
NOT_TEXT = "request body is not valid Unicode text (UTF-8)"


def contains_lone_surrogate(value: Any) -> bool:
    """Whether a parsed JSON value has a key or string with a lone UTF-16 surrogate (explicit
    stack, no recursion). Escaped pairs were joined into one character by the parser."""
    stack = [value]
    while stack:
        node = stack.pop()
        if isinstance(node, str):
            if not node.isascii():
                try:
                    node.encode("utf-8")
                except UnicodeEncodeError:
                    return True
        elif isinstance(node, dict):
            stack.extend(node.keys())
            stack.extend(node.values())
        elif isinstance(node, list):
            stack.extend(node)
    return False


def unicode_problem(raw: bytes) -> str | None:
    """Why a JSON body is not Unicode text, or None (see the module docstring). Cheap for the
    usual body: ASCII without a surrogate escape is only scanned; any other body is decoded
    strictly, and parsed again only when it holds a surrogate escape."""
    if not raw.isascii():
        try:
            raw.decode(json.detect_encoding(raw))
        except UnicodeDecodeError:
            return NOT_TEXT
    if _SURROGATE_ESCAPE.search(raw) is None:
        return None
    try:
        value = json.loads(raw)
    except (ValueError, RecursionError):
        return None  # not JSON: the caller answers that itself
    return LONE_SURROGATE if contains_lone_surrogate(value) else None


def _exceeds_depth(value: Any, max_depth: int) -> bool:
    """Whether dicts/lists nest deeper than ``max_depth`` (explicit stack, no recursion)."""
    stack: list[tuple[Any, int]] = [(value, 1)] if isinstance(value, dict | list) else []
    while stack:
        node, depth = stack.pop()
        if depth > max_depth:
            return True
        children = node.values() if isinstance(node, dict) else node
        stack.extend((c, depth + 1) for c in children if isinstance(c, dict | list))
    return False


def bundle_entries(request: JsonObject) -> int:
    """Total Bundle entries over the prefetch values and ``context.draftOrders``."""
    values: list[Any] = []
    prefetch = request.get("prefetch")
    if isinstance(prefetch, dict):
        values += prefetch.values()
    context = request.get("context")
    if isinstance(context, dict):
        values.append(context.get("draftOrders"))
    total = 0
    for v in values:
        if isinstance(v, dict) and v.get("resourceType") == "Bundle":
            entries = v.get("entry")
            total += len(entries) if isinstance(entries, list) else 0
    return total


def check_json_limits(
    value: JsonObject, *, max_depth: int, max_prefetch_entries: int
) -> str | None:
    """What is wrong with a parsed CDS Hooks request, or None: nesting deeper than
    ``max_depth`` (checked without recursion) or more than ``max_prefetch_entries`` Bundle
    entries across prefetch and draftOrders."""
    if isinstance(value, dict) and _exceeds_depth(value, max_depth):
        return f"JSON nested deeper than {max_depth} levels"
    entries = bundle_entries(value)
    if entries > max_prefetch_entries:
        return (
            f"{entries} Bundle entries in prefetch and draftOrders; "
            f"at most {max_prefetch_entries} are accepted"
        )
    return None
