"""CDS Hooks test helpers: every response body goes through the one card validator."""

from __future__ import annotations

import re
from typing import Any

import pytest
from fastapi.testclient import TestClient

from app.cds_hooks.card_rules import validate_cds_response
from app.knowledge.loader import default_knowledge
from app.main import create_app
from tests.fhir_builders import draft, hook_request


def checked(response: Any) -> dict[str, Any]:
    """Assert 200, a response valid under the CDS Hooks 2.0 card rules, clinician language and
    no two cards disagreeing on a finding (issue 9); return the body."""
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    violations = validate_cds_response(body)
    assert violations == [], violations
    assert_clinician_language(body["cards"])
    assert_cards_agree(body["cards"])
    return body


# --- issue 9: clinician language and consistent cards ------------------------------------------

IDENTIFIER = re.compile(r"\b[a-z]+_[a-z_]+\b")
FHIR_ID = re.compile(
    r"\b(Observation|Condition|Procedure|ServiceRequest|DiagnosticReport|Patient)/"
)
POLICY_KEYS = tuple(default_knowledge().policies.defaults())  # escc_1c, vcf_new_days, ...


def clinician_texts(card: dict[str, Any]) -> list[str]:
    """Every string a clinician reads on a card (not source.topic codes, extension or actions).
    Markdown escapes are removed first so an escaped identifier still counts."""
    texts = [card["summary"], card.get("detail", ""), card["source"]["label"]]
    texts += [link["label"] for link in card.get("links", [])]
    texts += [s["label"] for s in card.get("suggestions", [])]
    texts += [r["display"] for r in card.get("overrideReasons", [])]
    return [t.replace("\\", "") for t in texts]


def assert_clinician_language(cards: list[dict[str, Any]]) -> None:
    for card in cards:
        for text in clinician_texts(card):
            assert "seed" not in text.lower(), text
            assert not IDENTIFIER.search(text), IDENTIFIER.search(text)
            assert not FHIR_ID.search(text), text
            assert not any(k in text for k in POLICY_KEYS), text
        detail = card.get("detail", "")
        notice = "American College of Radiology" in detail
        shows_acr = any(x in detail for x in ("ACR Variant", "ACR procedure", "Appendix 1"))
        assert notice == shows_acr, ("ACR notice only with ACR content", card["summary"])


def ext(card: dict[str, Any]) -> dict[str, Any]:
    """The machine-readable part of one of our cards."""
    value: dict[str, Any] = card["extension"]["vcf-cds"]
    return value


def family(card: dict[str, Any]) -> str:
    return str(ext(card)["family"])


def cards_of(body: dict[str, Any], name: str) -> list[dict[str, Any]]:
    return [c for c in body["cards"] if family(c) == name]


def rating_card(body: dict[str, Any], order_id: str) -> dict[str, Any]:
    [card] = [c for c in cards_of(body, "order-rating") if ext(c).get("order") == order_id]
    return card


def stated(card: dict[str, Any]) -> dict[tuple[str, str | None], str]:
    return {(f["finding"], f.get("level")): f["value"] for f in ext(card).get("findings", [])}


def assert_cards_agree(cards: list[dict[str, Any]]) -> None:
    """No card contradicts itself or another card of the response: each (finding, level) has
    one value; a level with cord compression present means cord compression is present."""
    seen: dict[tuple[str, str | None], tuple[str, str]] = {}
    for card in cards:
        assert "conflicts" not in ext(card), ext(card)["conflicts"]
        for key, value in stated(card).items():
            if key in seen:
                assert seen[key][0] == value, (key, seen[key], (value, card["summary"]))
            seen[key] = (value, card["summary"])
    levels = {
        lv for (f, lv), (v, _) in seen.items() if f == "cord-compression" and lv and v == "present"
    }
    overall = seen.get(("cord-compression", None))
    if levels and overall:
        assert overall[0] == "present", (levels, overall)


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
