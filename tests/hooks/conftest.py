"""CDS Hooks test helpers: every response body goes through the one card validator."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient

from app.cds_hooks.card_rules import validate_cds_response
from app.main import create_app
from tests.fhir_builders import draft, hook_request


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


def order_select_fetching_everything(fhir_base: str, settings: Any) -> dict[str, Any]:
    """order-select for draft ``sr1`` (MRI lumbar) with no prefetch at all: every key is fetched
    from the allow-listed ``fhir_base`` with an EHR access token. The checked response body."""
    app = create_app(
        settings.model_copy(
            update={"fhir_server_allowlist": [fhir_base], "fhir_fetch_budget_seconds": 5.0}
        )
    )
    req = hook_request("order-select", [], drafts=[draft("sr1", "72158", "MRI lumbar w/wo")])
    del req["prefetch"]
    req["fhirServer"] = fhir_base
    req["fhirAuthorization"] = {
        "access_token": "opaque-token",
        "token_type": "Bearer",
        "expires_in": 300,
        "scope": "patient/*.read",
        "subject": "vcf-cds",
    }
    with TestClient(app) as client:
        return checked(client.post("/cds-services/vcf-order-select", json=req))
