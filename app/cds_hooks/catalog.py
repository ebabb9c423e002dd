"""The three CDS Services of this product and their prefetch templates (api.md; CDS Hooks
2.0 Discovery). Templates use only ``{{context.patientId}}`` and the spec's query subset
(reference and token search parameters, ``_count``). An optional key (``optional_prefetch``:
radiology DiagnosticReports, US Core category LOINC LP29684-5) adds to the record when the
client sends or lets us fetch it; its absence is reported only in the machine-readable issues
(severity information), never on a card."""

from __future__ import annotations

import json
from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, model_validator

from app.cds_hooks.models import DiscoveryResponse, Service

HookName = Literal["order-select", "order-sign", "patient-view"]


class ServiceDef(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    id: str
    hook: HookName
    title: str
    description: str
    usageRequirements: str


class ServiceCatalog(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    prefetch_templates: dict[str, str]
    prefetch_record_kind: dict[str, str]
    required_prefetch: list[str]
    optional_prefetch: list[str] = []
    services: list[ServiceDef]

    @model_validator(mode="after")
    def _check(self) -> ServiceCatalog:
        if set(self.prefetch_record_kind) != set(self.prefetch_templates):
            raise ValueError("every prefetch key needs a record kind")
        if not set(self.required_prefetch) <= set(self.prefetch_templates):
            raise ValueError("required prefetch keys must be templates")
        if not set(self.optional_prefetch) <= set(self.prefetch_templates):
            raise ValueError("optional prefetch keys must be templates")
        if set(self.optional_prefetch) & set(self.required_prefetch):
            raise ValueError("a prefetch key cannot be both required and optional")
        for template in self.prefetch_templates.values():
            tokens = {t.split("}}")[0] for t in template.split("{{")[1:]}
            if tokens - {"context.patientId"}:
                raise ValueError(f"unsupported prefetch token in {template!r}")
        return self

    def get(self, service_id: str) -> ServiceDef | None:
        return next((s for s in self.services if s.id == service_id), None)

    def discovery(self) -> DiscoveryResponse:
        return DiscoveryResponse(
            services=[
                Service(
                    hook=s.hook,
                    id=s.id,
                    title=s.title,
                    description=s.description,
                    prefetch=dict(self.prefetch_templates),
                    usageRequirements=s.usageRequirements,
                )
                for s in self.services
            ]
        )


@lru_cache(maxsize=1)
def service_catalog() -> ServiceCatalog:
    path = Path(__file__).parent / "data" / "services.json"
    return ServiceCatalog.model_validate(json.loads(path.read_text(encoding="utf-8")))
