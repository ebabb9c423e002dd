"""CDS Hooks test helpers: every response body goes through the one card validator."""

from __future__ import annotations

from typing import Any

import pytest

from app.cds_hooks.card_rules import validate_cds_response


def checked(response: Any) -> dict[str, Any]:
    """Assert 200 and a response valid under the CDS Hooks 2.0 card rules; return the body."""
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    violations = validate_cds_response(body)
    assert violations == [], violations
    return body


def topic(card: dict[str, Any]) -> str:
    return str(card["source"]["topic"]["code"])


def cards_with(body: dict[str, Any], code: str) -> list[dict[str, Any]]:
    return [c for c in body["cards"] if topic(c) == code]


@pytest.fixture
def post_hook(client: Any) -> Any:
    def _post(service: str, request: dict[str, Any], **kw: Any) -> Any:
        return client.post(f"/cds-services/{service}", json=request, **kw)

    return _post
