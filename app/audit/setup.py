"""What the app and the routes call: the HMAC key, the recorder and the audit labels of a call
(the request-bound submission is ``app.api.audit_submit``: HTTP types stay in ``app.api``)."""

from __future__ import annotations

import logging
import secrets
from collections.abc import Iterable

from app.audit.recorder import AuditRecorder, SessionFactory
from app.cds_hooks.catalog import service_catalog
from app.json_types import JsonObject
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


def patient_id_of(resources: Iterable[JsonObject]) -> str | None:
    """The id of the first Patient resource (the REST assessment has no patientId)."""
    for resource in resources:
        if resource.get("resourceType") == "Patient" and isinstance(resource.get("id"), str):
            return str(resource["id"])
    return None


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
