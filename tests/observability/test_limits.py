"""Body size and JSON depth limits: 413 / 400 in the path's error shape, never a 500."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient
from hypothesis import given, settings
from hypothesis import strategies as st

from app.api.limits import (
    BodyLimitMiddleware,
    check_json_limits,
    json_depth,
    json_depth_yielding,
    nested_deeper_than,
)
from tests.fhir_builders import bundle, hook_request, obs, v1_observations

LIMIT = 4096
HOOK = "/cds-services/vcf-order-select"
REST = "/api/v1/scores/sins"
JSON = {"content-type": "application/json"}


@pytest.fixture
def capped(make_client: Callable[..., TestClient]) -> TestClient:
    """A client of the app with a small body cap."""
    return make_client(max_body_bytes=LIMIT)


def chunks(total: int, size: int = 512) -> Iterator[bytes]:
    sent = 0
    while sent < total:
        yield b" " * min(size, total - sent)
        sent += size


def assert_outcome(r: Any, status: int, code: str) -> None:
    assert r.status_code == status, r.text
    assert r.headers["content-type"].startswith("application/fhir+json")
    body = r.json()
    assert body["resourceType"] == "OperationOutcome"
    assert body["issue"][0]["code"] == code
    assert "Traceback" not in r.text


def assert_detail(r: Any, status: int) -> None:
    assert r.status_code == status, r.text
    detail = r.json()["detail"]
    assert isinstance(detail, list) and detail[0]["loc"] == ["body"]


def test_declared_oversize_is_413_before_reading(capped: TestClient) -> None:
    big = b"{" + b" " * LIMIT + b"}"
    assert_outcome(capped.post(HOOK, content=big, headers=JSON), 413, "too-costly")
    assert_outcome(capped.post("/api/v1/assessments", content=big, headers=JSON), 413, "too-costly")
    assert_detail(capped.post(REST, content=big, headers=JSON), 413)


def test_chunked_oversize_is_413(capped: TestClient) -> None:
    r = capped.post(HOOK, content=chunks(LIMIT + 1), headers=JSON)
    assert "content-length" not in r.request.headers
    assert_outcome(r, 413, "too-costly")
    assert_detail(capped.post(REST, content=chunks(LIMIT * 3), headers=JSON), 413)
    # not JSON: the app itself reads the stream, the cap still holds
    r = capped.post(REST, content=chunks(LIMIT * 3), headers={"content-type": "text/plain"})
    assert_detail(r, 413)


def test_body_under_the_cap_passes(capped: TestClient) -> None:
    r = capped.post(REST, json={"levels": []})
    assert r.status_code not in (400, 413), r.text


def _http_scope(path: str, headers: list[tuple[bytes, bytes]]) -> dict[str, Any]:
    return {
        "type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": "POST",
        "scheme": "http", "path": path, "raw_path": path.encode(), "root_path": "",
        "query_string": b"", "headers": headers, "server": ("test", 80), "client": ("c", 1),
    }  # fmt: skip


def run_asgi(
    app: Any, path: str, parts: list[bytes], headers: list[tuple[bytes, bytes]]
) -> list[Any]:
    """Drive an ASGI app with a body in several ``http.request`` messages."""
    queue = [
        {"type": "http.request", "body": p, "more_body": i < len(parts) - 1}
        for i, p in enumerate(parts)
    ]
    sent: list[Any] = []

    async def receive() -> Any:
        return queue.pop(0) if queue else {"type": "http.disconnect"}

    async def send(message: Any) -> None:
        sent.append(message)

    asyncio.run(app(_http_scope(path, headers), receive, send))
    return sent


def test_streamed_chunks_are_counted_across_messages(
    make_client: Callable[..., TestClient],
) -> None:
    app = make_client(max_body_bytes=LIMIT).app
    parts = [b" " * 1000] * 10
    for ctype in (b"application/json", b"text/plain"):
        sent = run_asgi(app, HOOK, parts, [(b"content-type", ctype)])
        assert sent[0]["status"] == 413
        assert json.loads(sent[1]["body"])["issue"][0]["code"] == "too-costly"


def test_responses_are_streamed_not_buffered() -> None:
    async def streaming_app(scope: Any, receive: Any, send: Any) -> None:
        await send({"type": "http.response.start", "status": 200, "headers": []})
        for i in range(3):
            await send({"type": "http.response.body", "body": b"x", "more_body": i < 2})

    sent = run_asgi(BodyLimitMiddleware(streaming_app, max_body_bytes=LIMIT), "/x", [b"{}"], [])
    assert [m["type"] for m in sent] == ["http.response.start"] + ["http.response.body"] * 3


def test_too_deep_json_is_400_not_500(make_client: Callable[..., TestClient]) -> None:
    client = make_client()  # default 5 MB cap: 200 kB of brackets pass the size check
    deep = b"[" * 100_000 + b"]" * 100_000
    assert_outcome(client.post(HOOK, content=deep, headers=JSON), 400, "invalid")
    assert_detail(client.post(REST, content=deep, headers=JSON), 400)
    r = client.post(REST, content=b'{"a":' * 100_000 + b"1" + b"}" * 100_000)  # no content type
    assert_detail(r, 400)
    # brackets inside strings are not nesting
    r = client.post(REST, json={"note": "[" * 10_000})
    assert r.status_code not in (400, 500), r.text


def test_depth_scanner() -> None:
    assert json_depth(b"1") == 0
    assert json_depth(b"[]") == 1
    assert json_depth(b'{"a": [{"b": [1, 2]}], "c": {}}') == 4
    assert json_depth(b'{"a": "[[[\\"[[[{", "b": ["]]]"]}') == 2
    assert json_depth(b'{"a": "\\\\", "b": [[1]]}') == 3
    start = time.perf_counter()
    json_depth(b'\\"' * 1_000_000)  # malformed: must stay linear
    json_depth(b'"' + b"a" * 2_000_000)
    assert time.perf_counter() - start < 2


def test_check_json_limits() -> None:
    req = hook_request("order-sign", v1_observations())
    assert check_json_limits(req, max_depth=64, max_prefetch_entries=4) is None
    msg = check_json_limits(req, max_depth=64, max_prefetch_entries=3)
    assert msg is not None and "4 Bundle entries" in msg
    req["context"]["draftOrders"] = bundle([{"resourceType": "ServiceRequest"}] * 2, "collection")
    assert check_json_limits(req, max_depth=64, max_prefetch_entries=5) is not None
    deep: Any = 1
    for _ in range(200_000):  # far beyond the recursion limit
        deep = [deep]
    req["prefetch"]["patient"] = deep
    msg = check_json_limits(req, max_depth=64, max_prefetch_entries=5000)
    assert msg is not None and "deeper than 64" in msg


def test_hook_route_rejects_too_many_prefetch_entries(
    make_client: Callable[..., TestClient],
) -> None:
    client = make_client(max_prefetch_entries=10)
    observations = [obs(f"o{i}", "symptomatic", True) for i in range(11)]
    r = client.post(HOOK, json=hook_request("order-select", observations))
    assert_outcome(r, 413, "too-costly")


def _depth(value: Any) -> int:
    if isinstance(value, dict):
        return 1 + max((_depth(v) for v in value.values()), default=0)
    if isinstance(value, list):
        return 1 + max((_depth(v) for v in value), default=0)
    return 0


_bracket_text = st.text(alphabet='[]{}"\\ab', max_size=6)
_nested = st.recursive(
    st.none() | st.integers() | _bracket_text,
    lambda children: (
        st.lists(children, max_size=3) | st.dictionaries(_bracket_text, children, max_size=3)
    ),
    max_leaves=15,
)


@settings(max_examples=300, deadline=None)
@given(_nested)
def test_depth_scanner_equals_the_parsed_depth(value: Any) -> None:
    """Both scanner paths (split at quotes; regex when a quote is escaped) give the depth of
    the parsed document, whatever brackets, quotes and backslashes its strings hold."""
    raw = json.dumps(value).encode()
    assert json_depth(raw) == _depth(value)


# strings full of brackets, quotes and backslashes: the scanners must skip them
_text_with_accents = st.text(alphabet='[]{}"\\ab\u00e9', max_size=6)
_values_with_accents = st.recursive(
    st.none() | st.integers() | _text_with_accents,
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(_text_with_accents, inner, max_size=3)
    ),
    max_leaves=40,
)


@settings(max_examples=400, deadline=None)
@given(_values_with_accents, st.integers(min_value=0, max_value=12), st.booleans())
def test_depth_scanners_agree_with_the_parsed_value(value: Any, limit: int, ascii_: bool) -> None:
    raw = json.dumps(value, ensure_ascii=ascii_).encode("utf-8")
    depth = _depth(value)
    assert json_depth(raw) == depth
    assert json_depth_yielding(raw) == depth
    assert nested_deeper_than(raw, limit) is (depth > limit)


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=60) | st.text(alphabet='[]{}"\\ a', max_size=60).map(str.encode))
def test_nested_deeper_than_matches_the_exact_count_on_malformed_bytes(raw: bytes) -> None:
    for limit in (0, 1, 2, 3, 8):
        assert nested_deeper_than(raw, limit) is (json_depth(raw) > limit)


def test_nested_deeper_than_counts_deep_bodies_exactly() -> None:
    for depth in (7, 8, 9, 15, 16, 17, 64, 65, 200):
        for opener, closer in ((b"[", b"]"), (b'{"a":', b"}"), (b'[{"a":', b"}]")):
            raw = opener * depth + b"1" + closer * depth
            expected = json_depth(raw)
            for limit in (8, 16, 64):
                assert nested_deeper_than(raw, limit) is (expected > limit), (depth, limit)
    start = time.perf_counter()
    assert nested_deeper_than(b"[" * 30_000 + b"]" * 30_000, 64)  # OFFLOAD_BYTES-sized
    assert time.perf_counter() - start < 2
