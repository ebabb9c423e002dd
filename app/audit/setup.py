"""What the app and the routes call: the HMAC key, the recorder, and one-call submission."""

from __future__ import annotations

import logging
import secrets
import time
from collections.abc import Iterable, Mapping
from typing import Any

from fastapi import Request

from app.audit.entry import build_entry, build_rejection
from app.audit.recorder import AuditRecorder, SessionFactory
from app.cds_hooks.catalog import service_catalog
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


_REST_FAMILIES = frozenset({"assessments", "analytics", "audit"})


def called_service(path: str) -> tuple[str, str]:
    """(service, hook) labels of a request path for the audit trail: only known services and
    endpoint families, never the raw path (which a client controls)."""
    parts = path.strip("/").split("/")
    if parts[0] == "cds-services":
        if len(parts) == 1:
            return "discovery", "discovery"
        service = service_catalog().get(parts[1])
        if service is None:
            return "unknown", "unknown"
        if parts[2:] == ["feedback"]:
            return f"{service.id}/feedback", "feedback"
        return service.id, service.hook
    if parts[:2] == ["api", "v1"] and len(parts) > 2 and parts[2] in _REST_FAMILIES:
        return parts[2], parts[2]
    return "unknown", "unknown"


def submit_rejection(
    request: Request,
    *,
    status: int,
    error: str,
    hook_instance: str | None = None,
    client_iss: str | None = None,
    raw_input: Mapping[str, Any] | None = None,
    started: float | None = None,
) -> None:
    """Audit a call answered 401 or 412 without patient data (``build_rejection``); no-op
    when no recorder is set."""
    recorder: AuditRecorder | None = getattr(request.app.state, "audit", None)
    if recorder is None:
        return
    service, hook = called_service(request.url.path)
    recorder.submit(
        build_rejection(
            status=status,
            error=error,
            service=service,
            hook=hook,
            knowledge_version=request.app.state.knowledge.version,
            policies=request.app.state.settings.policies(),
            started=time.perf_counter() if started is None else started,
            hook_instance=hook_instance,
            client_iss=client_iss,
            raw_input=raw_input,
        )
    )
