"""Parsing and checking one CDS Hooks invocation (CDS Hooks 2.0 "Calling a CDS Service").

A structurally invalid request is a 400 whose OperationOutcome names the field. Odd but
usable input (draftOrders without ``Bundle.type``, ``code.coding: [{}]``, extra claims) is
accepted; the adapter reports what it skips.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from app.cds_hooks.catalog import ServiceDef
from app.cds_hooks.models import HookRequest
from app.cds_hooks.prefetch import is_fhir_id
from app.json_types import JsonObject

#: audit_record.hook_instance; the spec asks for a UUID, longer values are refused, not clipped
MAX_HOOK_INSTANCE = 128
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


def _storable_id(value: str) -> bool:
    """An identifier the audit trail can store as sent on SQLite and PostgreSQL (no NUL, which
    PostgreSQL text refuses, nor other control characters)."""
    return 0 < len(value) <= MAX_HOOK_INSTANCE and _CONTROL.search(value) is None


class InvocationError(Exception):
    """A 400: ``loc`` is the path of the offending field."""

    def __init__(self, loc: list[str | int], msg: str) -> None:
        super().__init__(msg)
        self.loc = loc
        self.msg = msg


@dataclass(frozen=True)
class Invocation:
    request: HookRequest
    patient_id: str
    draft_orders: list[JsonObject]
    selections: frozenset[str] | None


def parse_invocation(req: HookRequest, service: ServiceDef) -> Invocation:
    """Hook-specific checks after the model validation (which the router maps to 400)."""
    if req.hook != service.hook:
        raise InvocationError(
            ["hook"], f"service {service.id} answers '{service.hook}', not '{req.hook}'"
        )
    if not _storable_id(req.hookInstance):
        raise InvocationError(
            ["hookInstance"],
            f"hookInstance must be 1-{MAX_HOOK_INSTANCE} characters without control characters",
        )
    patient_id = req.context.get("patientId")
    if not is_fhir_id(patient_id):
        raise InvocationError(
            ["context", "patientId"],
            "context.patientId must be a FHIR id ([A-Za-z0-9-.]{1,64}, not only dots)",
        )
    assert isinstance(patient_id, str)
    draft_orders: list[JsonObject] = []
    selections: frozenset[str] | None = None
    if service.hook in ("order-select", "order-sign"):
        draft_orders = _draft_orders(req.context.get("draftOrders"))
    if service.hook == "order-select":
        raw_sel = req.context.get("selections")
        if not isinstance(raw_sel, list) or not all(isinstance(s, str) for s in raw_sel):
            raise InvocationError(
                ["context", "selections"], "selections must be a list of 'Type/id' strings"
            )
        selections = frozenset(raw_sel)
    return Invocation(req, patient_id, draft_orders, selections)


def _draft_orders(value: Any) -> list[JsonObject]:
    """``context.draftOrders`` is a Bundle (``type`` is often missing in real clients)."""
    if not isinstance(value, dict) or value.get("resourceType") != "Bundle":
        raise InvocationError(["context", "draftOrders"], "draftOrders must be a FHIR Bundle")
    entries = value.get("entry") or []
    if not isinstance(entries, list):
        raise InvocationError(["context", "draftOrders", "entry"], "Bundle.entry must be a list")
    out = []
    for i, entry in enumerate(entries):
        resource = entry.get("resource") if isinstance(entry, dict) else None
        if not isinstance(resource, dict) or not isinstance(resource.get("resourceType"), str):
            raise InvocationError(
                ["context", "draftOrders", "entry", i, "resource"], "each entry needs a resource"
            )
        out.append(resource)
    return out
