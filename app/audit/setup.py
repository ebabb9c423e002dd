"""What the app and the routes call: the HMAC key, the recorder, and one-call submission."""

from __future__ import annotations

import logging
import secrets
from collections.abc import Iterable, Mapping
from typing import Any

from fastapi import Request

from app.audit.entry import build_entry
from app.audit.recorder import AuditRecorder, SessionFactory
from app.decision import Decision
from app.observability.tracing import current_trace_id
from app.settings import Settings

log = logging.getLogger("vcf_cds.audit")


class AuditConfigError(RuntimeError):
    """The audit trail cannot be set up (start-up stops)."""


def audit_key(settings: Settings) -> bytes:
    """The HMAC key for patient ids: ``VCF_CDS_AUDIT_SECRET``. Required in production;
    elsewhere a random per-process key (hashes then do not link across restarts)."""
    secret = settings.audit_secret.get_secret_value() if settings.audit_secret else ""
    if secret:
        return secret.encode("utf-8")
    if settings.environment == "production":
        raise AuditConfigError("VCF_CDS_AUDIT_SECRET is required in production")
    log.warning("VCF_CDS_AUDIT_SECRET is not set: audit patient hashes use a per-process key")
    return secrets.token_bytes(32)


def make_recorder(settings: Settings, session_factory: SessionFactory) -> AuditRecorder:
    """A recorder spooling to ``audit_spool_dir``; entries live in memory at most
    ``audit_max_wait_ms``. Nothing touches the disk until ``start()``."""
    return AuditRecorder(
        session_factory, settings.audit_spool_dir, max_wait_ms=settings.audit_max_wait_ms
    )


def patient_id_of(resources: Iterable[Mapping[str, Any]]) -> str | None:
    """The id of the first Patient resource (the REST assessment has no patientId)."""
    for resource in resources:
        if resource.get("resourceType") == "Patient" and isinstance(resource.get("id"), str):
            return str(resource["id"])
    return None


def submit_decision(
    request: Request,
    decision: Decision,
    *,
    service: str,
    hook: str,
    hook_instance: str | None,
    patient_id: str | None,
    raw_input: Mapping[str, Any],
    started: float,
    response_body: Mapping[str, Any],
    client_iss: str | None = None,
) -> None:
    """Build the entry and hand it to ``app.state.audit`` (no-op when no recorder is set)."""
    recorder: AuditRecorder | None = getattr(request.app.state, "audit", None)
    if recorder is None:
        return
    recorder.submit(
        build_entry(
            decision,
            service=service,
            hook=hook,
            hook_instance=hook_instance,
            patient_id=patient_id,
            raw_input=raw_input,
            started=started,
            secret=request.app.state.audit_key,
            client_iss=client_iss,
            response_body=response_body,
            trace_id=current_trace_id(),
        )
    )
