"""Audit test helpers: synthetic entries, requests with a distinctive patient id, and the
app wiring (what app/main.py and the routes will do, see ``wire_audit``)."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime
from typing import Any

from app.audit.entry import AuditEntry
from tests.fhir_builders import condition, draft, hook_request, v1_observations

PATIENT_ID = "pt-audit-7731"
TOKEN = "secret-access-token-5f1e"


def entry(consult_id: str | None = None, n_cards: int = 2, **over: Any) -> AuditEntry:
    """A synthetic entry with ``n_cards`` cards (one suggestion each)."""
    cards = [
        {
            "uuid": str(uuid.uuid4()),
            "summary": f"card {i} \u2028 ünïcode",
            "indicator": "warning",
            "source": {"label": "VCF-CDS", "topic": {"code": f"topic-{i}", "system": "s"}},
            "suggestions": [{"label": "x", "uuid": str(uuid.uuid4())}],
            "selectionBehavior": "at-most-one",
        }
        for i in range(n_cards)
    ]
    fields: dict[str, Any] = {
        "consult_id": consult_id or f"urn:uuid:{uuid.uuid4()}",
        "service": "vcf-order-select",
        "hook": "order-select",
        "hook_instance": str(uuid.uuid4()),
        "created_at": datetime.now(UTC),
        "latency_ms": 3.5,
        "knowledge_version": "2026.1+abc123",
        "policies": {"escc_1c": "low", "vcf_new_days": 90},
        "input_sha256": "0" * 64,
        "patient_hmac": "f" * 64,
        "client_iss": None,
        "cards": cards,
        "system_actions": [{"type": "update", "description": "rate", "resource": {"id": "sr1"}}],
        "orders_rated": 1,
        "orders_unrated": 0,
    }
    fields.update(over)
    return AuditEntry(**fields)


def distinctive(request: dict[str, Any]) -> dict[str, Any]:
    """``request`` with patient id ``PATIENT_ID`` instead of the builders' ``p1``."""
    text = json.dumps(request)
    text = text.replace('"Patient/p1"', f'"Patient/{PATIENT_ID}"').replace(
        '"p1"', f'"{PATIENT_ID}"'
    )
    return dict(json.loads(text))


def order_select_request() -> dict[str, Any]:
    """An order-select call rating one lumbar contrast MRI (Variant 1, with a warning card)."""
    req = hook_request(
        "order-select",
        v1_observations(),
        conditions=[condition("c-op", "M81.0")],
        drafts=[draft("sr1", "72158", "MRI lumbar spine without and with contrast")],
    )
    return distinctive(req)
