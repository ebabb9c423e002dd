"""Untyped JSON objects stay at the service's edges (issue 7 "Done when").

(a) The literal ``dict[str, Any]`` (or ``Dict`` / ``Mapping`` / ``MutableMapping``) appears in
``app/`` only in ``app/json_types.py``, which names it ``JsonObject``.
(b) ``JsonObject`` is used only by the edge modules listed in ``EDGES``, each with its reason.
(c) The interior packages (clinical core, assessment, cards, the decision, the knowledge model)
use neither: they read typed models.

A failure names each offending ``file:line``: type the value (a dataclass, pydantic model,
TypedDict or a precise dict type), or, if the module really receives or sends JSON, add it to
``EDGES`` with a one-line reason.
"""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
APP = ROOT / "app"

ALIAS_MODULE = "app/json_types.py"

ANY_DICT = re.compile(r"\b(?:typing\.)?(?:dict|Dict|Mapping|MutableMapping)\[\s*str\s*,\s*Any\s*\]")
JSON_OBJECT = re.compile(r"\bJsonObject\b")

#: Modules that receive or send JSON as such, and why.
EDGES: dict[str, str] = {
    # HTTP: request and response bodies, error bodies, OpenAPI documents
    "app/api/audit_submit.py": "the raw request and the response body an audit record digests",
    "app/api/cds_hooks_routes.py": "CDS Hooks discovery and service response bodies",
    "app/api/errors.py": "OperationOutcome and error-detail bodies",
    "app/api/feedback_routes.py": "CDS Hooks feedback response bodies",
    "app/api/fhir_routes.py": "FHIR resources (CodeSystem, ConceptMap, Bundle) sent as bodies",
    "app/api/limits.py": "request bodies measured before validation; 413/422 detail bodies",
    "app/api/openapi.py": "the OpenAPI document and its schema objects",
    "app/api/rest/assessment_models.py": "the serialised 200 body of POST /api/v1/assessments",
    "app/api/rest/assessments.py": "the request body before validation; its OpenAPI example",
    "app/api/rest/audit.py": "audit record JSON columns returned as stored",
    "app/api/rest/scores.py": "OpenAPI response documentation objects",
    # CDS Hooks protocol: the request, its prefetch and the FHIR resources in it
    "app/cds_hooks/bundle_json.py": "a FHIR Bundle parsed from the FHIR server's bytes",
    "app/cds_hooks/invocation.py": "draft-order resources of the hook context",
    "app/cds_hooks/models.py": "hook context, prefetch and card action resources (free JSON)",
    "app/cds_hooks/prefetch.py": "prefetch values and FHIR server answers as received",
    "app/cds_hooks/references.py": "FHIR resources of the request resolved by reference",
    # FHIR adapter: resources as the EHR sent them, and the resources the service publishes
    "app/fhir/adapter.py": "FHIR resources as received",
    "app/fhir/codesystems.py": "the CodeSystem resources the service publishes",
    "app/fhir/concept_maps.py": "a site ConceptMap file before it validates",
    "app/fhir/conceptmap_resources.py": "the ConceptMap resources the service publishes",
    "app/fhir/condition_findings.py": "Condition resources as received",
    "app/fhir/coverage.py": "the resources read, to name their unmapped codings",
    "app/fhir/derived.py": "Observation resources as received",
    "app/fhir/history.py": "Condition / Procedure resources as received",
    "app/fhir/indication.py": "ServiceRequest reasons as received",
    "app/fhir/medications.py": "MedicationStatement / MedicationRequest resources as received",
    "app/fhir/narrative/engine.py": "spaCy token patterns, handed to medspaCy as JSON",
    "app/fhir/observations.py": "Observation resources and components as received",
    "app/fhir/orders.py": "draft order resources as received",
    "app/fhir/raw.py": "tolerant readers of raw FHIR JSON",
    "app/fhir/report_count.py": "DiagnosticReport resources as received",
    "app/fhir/reports.py": "DiagnosticReport resources and their contained resources",
    "app/fhir/sites.py": "bodySite and components of resources as received",
    "app/fhir/values.py": "value[x] elements of resources as received",
    "app/fhir/warmup.py": "sample FHIR resources read once at start-up",
    # persistence, audit, observability, security, settings, SMART app
    "app/audit/setup.py": "the request's FHIR resources, to find the patient id",
    "app/db/models.py": "JSON columns (policies, cards, system actions)",
    "app/observability/logging.py": "one JSON log line",
    "app/observability/metrics.py": "the response cards counted",
    "app/security/client_auth.py": "JWT header and claims, JWK Sets",
    "app/smart/models.py": "FHIR resources posted by the SMART app",
    "app/smart/routes.py": "FHIR resources fetched or posted; OpenAPI response objects",
    "app/smart/view.py": "FHIR resources as received, to label sources",
}

#: Interior packages: typed models only (the knowledge loader holds a parsed file as ``object``
#: until its schema validates it).
INTERIOR = ("app/clinical/", "app/assessment/", "app/cards/", "app/decision.py", "app/knowledge/")


def _modules() -> dict[str, str]:
    return {
        p.relative_to(ROOT).as_posix(): p.read_text(encoding="utf-8")
        for p in sorted(APP.rglob("*.py"))
    }


def _interior(name: str) -> bool:
    return name.startswith(INTERIOR)


def _hits(pattern: re.Pattern[str], name: str, text: str) -> list[str]:
    return [f"{name}:{text.count(chr(10), 0, m.start()) + 1}" for m in pattern.finditer(text)]


def _any_dicts(names: set[str] | frozenset[str]) -> list[str]:
    return [
        hit
        for name, text in _modules().items()
        if name in names
        for hit in _hits(ANY_DICT, name, text)
    ]


def test_the_alias_is_where_the_tests_look() -> None:
    text = (ROOT / ALIAS_MODULE).read_text(encoding="utf-8")
    assert "JsonObject: TypeAlias = dict[str, Any]" in text
    assert all((ROOT / name).is_file() for name in EDGES), "EDGES names a module that is gone"


def test_any_dict_only_in_json_types() -> None:
    """(a) the literal only in the alias module."""
    names = {n for n in _modules() if n != ALIAS_MODULE}
    hits = _any_dicts(names)
    assert not hits, (
        "dict[str, Any] outside app/json_types.py (type it, or JsonObject at an edge):\n"
        + "\n".join(hits)
    )


def test_json_object_only_in_edge_modules() -> None:
    """(b) every module that names JsonObject is a listed edge."""
    hits = [
        hit
        for name, text in _modules().items()
        if name != ALIAS_MODULE and name not in EDGES
        for hit in _hits(JSON_OBJECT, name, text)
    ]
    assert not hits, (
        "JsonObject outside the edge modules (type the value, or add the module to EDGES in "
        "tests/test_json_edges.py with a reason):\n" + "\n".join(hits)
    )


def test_every_listed_edge_handles_json() -> None:
    """(b) the allow-list stays tight: a listed module that no longer names JsonObject (or the
    literal it replaces) is dropped from EDGES."""
    modules = _modules()
    stale = [
        name
        for name in EDGES
        if not JSON_OBJECT.search(modules[name]) and not ANY_DICT.search(modules[name])
    ]
    assert not stale, "EDGES lists modules that handle no JSON object:\n" + "\n".join(stale)


def test_interior_packages_use_typed_models_only() -> None:
    """(c) the clinical core, assessment, cards, decision and knowledge model."""
    hits = [
        hit
        for name, text in _modules().items()
        if _interior(name)
        for pattern in (ANY_DICT, JSON_OBJECT)
        for hit in _hits(pattern, name, text)
    ]
    assert not hits, "untyped JSON objects in interior packages (use typed models):\n" + "\n".join(
        sorted(hits)
    )
