"""build_entry: digest, keyed hash, pseudonymised cards, counts, spool serialisation."""

from __future__ import annotations

import json
import time
from typing import Any

import pytest

from app.audit.canonical import input_digest, keyed_hash, pseudonymise
from app.audit.entry import AuditEntry, build_entry, build_rejection
from app.cds_hooks.models import dump_response
from app.decision import Decision, decide
from app.knowledge.schema import Knowledge
from app.settings import Settings
from tests.audit.support import PATIENT_ID, TOKEN, entry, order_select_request

KINDS = ("Condition", "Procedure", "MedicationStatement", "MedicationRequest", "Observation")


def _decision(request: dict[str, Any], knowledge: Knowledge, settings: Settings) -> Decision:
    resources = [
        e["resource"] for value in request["prefetch"].values() for e in value.get("entry", [])
    ] + [request["prefetch"]["patient"]]
    drafts = [e["resource"] for e in request["context"]["draftOrders"]["entry"]]
    return decide(
        [r for r in resources if "resourceType" in r],
        drafts,
        obtained={k: True for k in (*KINDS, "Patient")},
        issues=[],
        hook="order-select",
        selections=frozenset(request["context"]["selections"]),
        knowledge=knowledge,
        settings=settings,
    )


def _build(request: dict[str, Any], decision: Decision, secret: bytes = b"k1") -> AuditEntry:
    return build_entry(
        decision,
        service="vcf-order-select",
        hook="order-select",
        hook_instance=request["hookInstance"],
        patient_id=PATIENT_ID,
        raw_input=request,
        started=time.perf_counter() - 0.004,
        secret=secret,
        client_iss="https://ehr.example.org",
    )


def test_entry_records_the_decision_without_patient_id_or_token(
    knowledge: Knowledge, settings: Settings
) -> None:
    request = order_select_request()
    request["fhirAuthorization"] = {"access_token": TOKEN, "token_type": "Bearer"}
    request["context"]["userId"] = "Practitioner/dr-unique-8841"
    decision = _decision(request, knowledge, settings)
    e = _build(request, decision)
    body = dump_response(decision.response)

    assert e.consult_id == decision.consult_id and e.consult_id.startswith("urn:uuid:")
    assert e.patient_hmac == keyed_hash(PATIENT_ID, b"k1")
    assert e.cards == pseudonymise(body["cards"], PATIENT_ID, e.patient_hmac)
    assert e.system_actions == pseudonymise(body["systemActions"], PATIENT_ID, e.patient_hmac)
    assert [c["uuid"] for c in e.cards] == [c["uuid"] for c in body["cards"]]
    assert (e.orders_rated, e.orders_unrated) == (1, 0)
    assert e.knowledge_version == knowledge.version
    assert e.policies == settings.policies()
    assert e.latency_ms >= 4.0
    without_auth = {k: v for k, v in request.items() if k != "fhirAuthorization"}
    assert e.input_sha256 == input_digest(without_auth)
    stored = e.to_json()
    assert PATIENT_ID not in stored and TOKEN not in stored
    assert f"Patient/{e.patient_hmac}" in stored  # references kept, pseudonymised
    assert "dr-unique-8841" not in stored  # the raw input is not kept


def test_digest_and_hmac_are_stable_and_keyed(knowledge: Knowledge, settings: Settings) -> None:
    request = order_select_request()
    decision = _decision(request, knowledge, settings)
    shuffled = json.loads(json.dumps(dict(reversed(list(request.items()))), indent=2))
    a, b = _build(request, decision), _build(shuffled, decision)
    assert a.input_sha256 == b.input_sha256 and a.patient_hmac == b.patient_hmac
    assert _build(request, decision, secret=b"k2").patient_hmac != a.patient_hmac


def test_json_round_trip_is_one_line(knowledge: Knowledge, settings: Settings) -> None:
    e = _build(order_select_request(), _decision(order_select_request(), knowledge, settings))
    line = e.to_json()
    assert "\n" not in line
    assert AuditEntry.from_json(line) == e


def test_spool_lines_from_before_status_and_error_still_load() -> None:
    """Entries spooled by the previous version (no ``status``/``error``) replay as answered
    calls; unknown members are still refused."""
    line = json.loads(entry().to_json())
    del line["status"], line["error"]
    old = AuditEntry.from_json(json.dumps(line))
    assert (old.status, old.error) == (200, None)
    rejected = build_rejection(
        status=401,
        error="bad_signature",
        service="discovery",
        hook="discovery",
        knowledge_version="k",
        policies={},
        started=time.perf_counter(),
    )
    assert AuditEntry.from_json(rejected.to_json()) == rejected
    assert rejected.patient_hmac is None and rejected.cards == []
    with pytest.raises(ValueError):
        AuditEntry.from_json(json.dumps({**line, "extra": 1}))
