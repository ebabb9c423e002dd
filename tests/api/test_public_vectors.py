"""Every published case of ../shared/vectors/public.json through the HTTP API, exactly."""

from __future__ import annotations

import json
from typing import Any

import pytest

from tests.conftest import SHARED

VECTORS = SHARED / "vectors" / "public.json"
CASES = json.loads(VECTORS.read_text())["cases"]


def resolve(body: Any, path: str) -> Any:
    """Follow a dot-separated path; numeric parts index lists."""
    node = body
    for part in path.split("."):
        node = node[int(part)] if isinstance(node, list) else node[part]
    return node


def test_vectors_file_has_cases() -> None:
    assert len(CASES) >= 13


@pytest.mark.parametrize("case", CASES, ids=[c["id"] for c in CASES])
def test_public_vector(client: Any, case: dict[str, Any]) -> None:
    method, path = case["endpoint"].split(" ", 1)
    response = client.request(method, path, json=case["request"])
    assert response.status_code == 200, response.text
    body = response.json()
    for json_path, expected in case["expect"].items():
        assert resolve(body, json_path) == expected, f"{case['id']}: {json_path}"
    if isinstance(body, dict):
        assert body["knowledge_version"]
