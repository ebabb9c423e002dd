"""Hand one decision or one rejected call to the audit recorder of the running app
(``app.state.audit``); a no-op when no recorder is set. The HTTP half of ``app.audit.setup``."""

from __future__ import annotations

import time

from fastapi import Request

from app.audit.entry import build_entry, build_rejection
from app.audit.recorder import AuditRecorder
from app.audit.setup import called_service
from app.decision import Decision
from app.json_types import JsonObject
from app.observability.tracing import current_trace_id


def submit_decision(
    request: Request,
    decision: Decision,
    *,
    service: str,
    hook: str,
    hook_instance: str | None,
    patient_id: str | None,
    raw_input: JsonObject,
    started: float,
    response_body: JsonObject,
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


def submit_rejection(
    request: Request,
    *,
    status: int,
    error: str,
    hook_instance: str | None = None,
    client_iss: str | None = None,
    raw_input: JsonObject | None = None,
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
