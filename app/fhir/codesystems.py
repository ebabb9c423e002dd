"""The project's FHIR R4 CodeSystem resources (fhir-input.md "Code systems").

Built through ``fhir.resources.R4B`` models so every served resource is valid R4; built once
and served as JSON dicts. ``finding`` and ``order`` come from the code data files,
``vertebral-level`` from the knowledge anatomy, ``card-topic`` from the list below.
"""

from __future__ import annotations

import copy
from functools import lru_cache
from typing import Any

from fhir.resources.R4B.bundle import Bundle
from fhir.resources.R4B.codesystem import CodeSystem

from app.fhir.codes import code_tables
from app.json_types import JsonObject
from app.knowledge.card_codes import card_codes
from app.knowledge.loader import default_knowledge

BASE = "http://vcf-cds.org/fhir/CodeSystem"
VERSION = "0.1.0"
PUBLISHER = "VCF-CDS"


def _code_system(
    cs_id: str, title: str, description: str, concepts: list[JsonObject], **extra: Any
) -> JsonObject:
    resource = CodeSystem.model_validate(
        {
            "resourceType": "CodeSystem",
            "id": cs_id,
            "url": f"{BASE}/{cs_id}",
            "version": VERSION,
            "name": "".join(part.capitalize() for part in cs_id.split("-")),
            "title": title,
            "status": "active",
            "experimental": False,
            "publisher": PUBLISHER,
            "description": description,
            "caseSensitive": True,
            "content": "complete",
            "count": len(concepts),
            "concept": concepts,
            **extra,
        }
    )
    return dict(resource.model_dump(mode="json", exclude_none=True, by_alias=True))


def _finding() -> JsonObject:
    tables = code_tables().findings
    properties = [
        {"code": "value-type", "type": "code", "description": "boolean, coded, quantity, integer"},
        {"code": "value", "type": "string", "description": "An allowed value (coded findings)"},
        {"code": "unit", "type": "string", "description": "Expected UCUM unit (quantities)"},
        {"code": "per-level", "type": "boolean", "description": "Read per vertebral level"},
    ]
    concepts: list[JsonObject] = []
    for f in tables.findings:
        props: list[JsonObject] = [{"code": "value-type", "valueCode": f.type}]
        props += [{"code": "value", "valueString": v} for v in f.values or []]
        if f.unit:
            props.append({"code": "unit", "valueString": f.unit})
        props.append({"code": "per-level", "valueBoolean": f.per_level})
        concepts.append(
            {"code": f.code, "display": f.display, "definition": f.definition, "property": props}
        )
    lc = tables.level_component
    concepts.append({"code": lc.code, "display": lc.display, "definition": lc.definition})
    return _code_system(
        "finding",
        "VCF-CDS findings",
        "Observation codes the VCF-CDS service reads (docs/fhir-inputs.md).",
        concepts,
        property=properties,
    )


def _vertebral_level() -> JsonObject:
    concepts = [
        {
            "code": f"{r.prefix}{i}",
            "display": f"{r.name.capitalize()} vertebra {i}",
            "definition": f"The {r.name} vertebra {r.prefix}{i}.",
        }
        for r in default_knowledge().anatomy.regions
        for i in range(1, r.count + 1)
    ]
    return _code_system(
        "vertebral-level",
        "Vertebral levels",
        "Vertebral levels C1-C7, T1-T12, L1-L5, S1-S5 accepted by VCF-CDS.",
        concepts,
    )


def _card_topic() -> JsonObject:
    concepts = [
        {
            "code": f"acr-variant-{v.id}",
            "display": f"ACR Variant {v.id}",
            "definition": f"ACR Appropriateness Criteria (VCF) Variant {v.id}: {v.title}",
        }
        for v in default_knowledge().acr.variants
    ]
    codes = card_codes()
    concepts += [
        {"code": code, "display": display, "definition": codes.topic_explanations[code]}
        for code, display in codes.topics.items()
        if not code.startswith("acr-variant-")
    ]
    return _code_system(
        "card-topic",
        "VCF-CDS card topics",
        "Topics of the CDS Hooks cards returned by VCF-CDS.",
        concepts,
    )


def _order() -> JsonObject:
    concepts = [
        {"code": c.code, "display": c.display, "definition": c.definition}
        for c in code_tables().orders.codes
        if c.system == "project"
    ]
    return _code_system(
        "order",
        "VCF-CDS order codes",
        "Orderable treatments without a CPT/LOINC code; each maps to an ACR procedure.",
        concepts,
    )


def _override_reason() -> JsonObject:
    codes = card_codes()
    concepts = [
        {"code": r.code, "display": r.display, "definition": r.display}
        for r in codes.override_reasons
    ]
    return _code_system(
        "override-reason",
        "VCF-CDS override reasons",
        "Reasons a clinician may give for overriding a VCF-CDS card (CDS Hooks overrideReasons).",
        concepts,
    )


@lru_cache(maxsize=1)
def _all() -> dict[str, JsonObject]:
    built = [_finding(), _vertebral_level(), _card_topic(), _order(), _override_reason()]
    return {str(cs["id"]): cs for cs in built}


def code_system_ids() -> list[str]:
    return list(_all())


def get_code_system(cs_id: str) -> JsonObject | None:
    """The CodeSystem resource with this id as JSON, or ``None``."""
    found = _all().get(cs_id)
    return copy.deepcopy(found) if found is not None else None


def code_system_bundle() -> JsonObject:
    """A ``searchset`` Bundle of every CodeSystem."""
    entries = [
        {"fullUrl": cs["url"], "resource": cs, "search": {"mode": "match"}}
        for cs in _all().values()
    ]
    bundle = Bundle.model_validate(
        {"resourceType": "Bundle", "type": "searchset", "total": len(entries), "entry": entries}
    )
    return dict(bundle.model_dump(mode="json", exclude_none=True, by_alias=True))
