"""The audit entry: what was asked (as a digest) and what was advised, without the patient id.

Stored: consult id, service, hook, hookInstance, time, latency, knowledge version, policies,
the SHA-256 of the canonical input (``canonical.py``; the ``fhirAuthorization`` member is left
out so no credential takes part), the returned cards and system actions, and an HMAC-SHA256 of
the patient id under the server secret. ``Patient/<id>`` references inside the cards and
system actions are replaced by ``Patient/<hmac>``. Never stored: the raw input, the patient
id, tokens.

Rejected calls are audited too (:func:`build_rejection`): a 401 (client authentication
failed; ``error`` is the reason label) or a 412 (required data neither prefetched nor
fetched) is stored with its ``status`` and ``error`` and without any patient data: no
patient hash, no cards.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from dataclasses import dataclass, fields
from datetime import UTC, datetime

from app import json_codec
from app.audit.canonical import input_digest, keyed_hash, pseudonymise
from app.cds_hooks.models import dump_response
from app.decision import Decision
from app.ids import new_uuid

EXCLUDED_INPUT_KEYS = frozenset({"fhirAuthorization"})
_LATER_FIELDS = frozenset({"status", "error", "trace_id"})  # absent from older spool lines
_ERROR_MAX = 64  # audit_record.error


@dataclass(frozen=True, slots=True)
class AuditEntry:
    """One audit record, JSON-serialisable for the spool (``to_json``/``from_json``)."""

    consult_id: str
    service: str
    hook: str
    hook_instance: str | None
    created_at: datetime
    latency_ms: float
    knowledge_version: str
    policies: dict[str, object]  # the site policies in force, as stored
    input_sha256: str
    patient_hmac: str | None
    client_iss: str | None
    cards: list[dict[str, object]]  # the returned JSON, patient references pseudonymised
    system_actions: list[dict[str, object]]
    orders_rated: int
    orders_unrated: int
    status: int = 200  # HTTP status answered: 200, or 401 / 412 for an audited rejection
    error: str | None = None  # why it was rejected (short label), None when answered
    trace_id: str | None = None  # OpenTelemetry trace id (hex) when tracing is on

    def to_json(self) -> str:
        """One line of JSON (no newline inside)."""
        data = {f.name: getattr(self, f.name) for f in fields(self)}  # asdict without the copy
        data["created_at"] = self.created_at.isoformat()
        return json_codec.dumps(data)  # as the database's JSON columns store it

    @classmethod
    def from_json(cls, line: str) -> AuditEntry:
        """Parse :meth:`to_json` output; ``ValueError`` when it is not an entry."""
        data = json_codec.loads(line)
        names = {f.name for f in fields(cls)}
        # spool lines written before ``status``/``error``/``trace_id`` existed lack them
        if not isinstance(data, dict) or not (names - _LATER_FIELDS <= set(data) <= names):
            raise ValueError("not an audit entry")
        created = datetime.fromisoformat(str(data["created_at"]))
        data["created_at"] = created if created.tzinfo else created.replace(tzinfo=UTC)
        if not isinstance(data["consult_id"], str) or not data["consult_id"]:
            raise ValueError("audit entry without consult_id")
        if not isinstance(data["cards"], list) or not isinstance(data["system_actions"], list):
            raise ValueError("audit entry cards/system_actions must be lists")
        return cls(**data)


def build_entry(
    decision: Decision,
    *,
    service: str,
    hook: str,
    hook_instance: str | None,
    patient_id: str | None,
    raw_input: Mapping[str, object],
    started: float,
    secret: bytes,
    client_iss: str | None,
    response_body: Mapping[str, object] | None = None,
    trace_id: str | None = None,
) -> AuditEntry:
    """The entry for ``decision``. ``started`` is a ``time.perf_counter()`` value taken when
    the request arrived; ``response_body`` (the dumped CDS response, when the caller already
    has it) avoids dumping the cards twice."""
    body = response_body if response_body is not None else dump_response(decision.response)
    patient_hmac = keyed_hash(patient_id, secret) if patient_id else None
    token = patient_hmac or ""
    digest_input = {k: v for k, v in raw_input.items() if k not in EXCLUDED_INPUT_KEYS}
    orders = decision.assessment.orders
    rated = sum(1 for o in orders if o.status == "rated")
    return AuditEntry(
        consult_id=decision.consult_id,
        service=service,
        hook=hook,
        hook_instance=hook_instance,
        created_at=datetime.now(UTC),
        latency_ms=round((time.perf_counter() - started) * 1000.0, 3),
        knowledge_version=decision.assessment.knowledge_version,
        policies=dict(decision.assessment.policies),
        input_sha256=input_digest(digest_input),
        patient_hmac=patient_hmac,
        client_iss=client_iss,
        cards=pseudonymise(_objects(body, "cards"), patient_id, token),
        system_actions=pseudonymise(_objects(body, "systemActions"), patient_id, token),
        orders_rated=rated,
        orders_unrated=len(orders) - rated,
        trace_id=trace_id,
    )


def _objects(body: Mapping[str, object], key: str) -> list[dict[str, object]]:
    """The JSON objects of the array ``body[key]`` (none when absent)."""
    value = body.get(key)
    return [x for x in value if isinstance(x, dict)] if isinstance(value, list) else []


def build_rejection(
    *,
    status: int,
    error: str,
    service: str,
    hook: str,
    knowledge_version: str,
    policies: Mapping[str, object],
    started: float,
    hook_instance: str | None = None,
    client_iss: str | None = None,
    raw_input: Mapping[str, object] | None = None,
) -> AuditEntry:
    """The entry for a call answered 401 or 412: no patient hash, no cards. ``raw_input`` is
    digested (as for answered calls) when the body was read; a 401 is recorded without reading
    it (digest of the empty object). ``client_iss`` only when the client was authenticated."""
    digest_input = {k: v for k, v in (raw_input or {}).items() if k not in EXCLUDED_INPUT_KEYS}
    return AuditEntry(
        consult_id=f"urn:uuid:{new_uuid()}",
        service=service,
        hook=hook,
        hook_instance=hook_instance,
        created_at=datetime.now(UTC),
        latency_ms=round((time.perf_counter() - started) * 1000.0, 3),
        knowledge_version=knowledge_version,
        policies=dict(policies),
        input_sha256=input_digest(digest_input),
        patient_hmac=None,
        client_iss=client_iss,
        cards=[],
        system_actions=[],
        orders_rated=0,
        orders_unrated=0,
        status=status,
        error=error[:_ERROR_MAX],
    )
