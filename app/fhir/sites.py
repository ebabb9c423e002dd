"""Vertebral level from ``bodySite`` or a ``vertebral-level`` component (fhir-input.md).

A coding of ``http://vcf-cds.org/fhir/CodeSystem/vertebral-level`` or ``bodySite.text`` with
the same label (case-insensitive) gives the level; anything else that names a level (L6, T13,
coccyx) is an input error for that observation. Codings of other systems carry no level.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

from app.clinical.levels import LevelError, normalize_level
from app.fhir.codes import code_tables
from app.fhir.concept_maps import index
from app.fhir.raw import MAX_TOKEN, codings, text
from app.json_types import JsonObject
from app.knowledge.loader import default_knowledge
from app.knowledge.schema import Anatomy

LEVEL_SYSTEM = "http://vcf-cds.org/fhir/CodeSystem/vertebral-level"


@dataclass(frozen=True)
class Site:
    level: str | None = None
    error: str | None = None  # why the stated level is not accepted


@lru_cache(maxsize=1)
def _anatomy() -> Anatomy:
    return default_knowledge().anatomy


def parse_level(label: str) -> str | None:
    """Canonical level (``"t12"`` -> ``"T12"``) or ``None``."""
    return None if len(label) > MAX_TOKEN else _parse_level(label)


@lru_cache(maxsize=512)
def _parse_level(label: str) -> str | None:
    try:
        return normalize_level(label, _anatomy())
    except LevelError:
        return None


def _from_labels(level_codes: list[str], label: str | None) -> Site:
    if level_codes:
        level = parse_level(level_codes[0])
        if level is None:
            return Site(error="not a vertebral level (C1-C7, T1-T12, L1-L5, S1-S5)")
        return Site(level)
    if label is not None:
        level = parse_level(label)
        if level is None:
            return Site(error="bodySite.text is not a vertebral level (C1-S5)")
        return Site(level)
    return Site()


def body_site(resource: JsonObject) -> Site:
    """The level stated in ``bodySite`` (no bodySite: no level, no error)."""
    site = resource.get("bodySite")
    if site is None:
        return Site()
    if not isinstance(site, dict):
        return Site(error="bodySite is not a CodeableConcept")
    found = codings(site)
    level_codes = [c for s, c, _ in found if s == LEVEL_SYSTEM]
    level_codes += [c for s, c, _ in found if s is None and parse_level(c)]
    if not level_codes:  # SNOMED CT / DICOM CID 7603 vertebra, or a site-local code
        mapped = index().level_by_coding
        level_codes = [mapped[(s, c)] for s, c, _ in found if s is not None and (s, c) in mapped]
    return _from_labels(level_codes, text(site, "text"))


@lru_cache(maxsize=1)
def canonical_levels() -> frozenset[str]:
    """Every canonical level label (``"C1"`` ... ``"S5"``)."""
    return frozenset(_anatomy().levels())


def plain_level(site: object) -> str | None:
    """The level of a ``bodySite`` with exactly one ``vertebral-level`` coding whose code is a
    canonical level as written (``"L1"``), else ``None``. Where it gives a level,
    ``body_site`` gives ``Site(level)`` for the same bodySite."""
    if not isinstance(site, dict):
        return None
    coding = site.get("coding")
    if not isinstance(coding, list) or len(coding) != 1 or not isinstance(coding[0], dict):
        return None
    code = coding[0].get("code")
    if code.__class__ is not str or coding[0].get("system") != LEVEL_SYSTEM:
        return None
    return code if code in canonical_levels() else None


def is_level_component(component: JsonObject) -> bool:
    """A component whose code is the project ``vertebral-level`` code."""
    tables = code_tables().findings
    elements = index().level_elements
    return any(
        (s == tables.system and c == tables.level_component.code)
        or s == LEVEL_SYSTEM
        or (s, c) in elements
        for s, c, _ in codings(component.get("code"))
    )


def component_level(component: JsonObject) -> Site:
    """The level carried by a ``vertebral-level`` component's value."""
    concept = component.get("valueCodeableConcept")
    if isinstance(concept, dict):
        found = codings(concept)
        mapped = index().level_by_coding
        level_codes = [c for s, c, _ in found if s in (LEVEL_SYSTEM, None)]
        level_codes += [mapped[(s, c)] for s, c, _ in found if s is not None and (s, c) in mapped]
        label = text(concept, "text")
        if not level_codes and label is None:  # e.g. RadElement RDE1472 value "L1" by display
            label = next((d for _, _, d in found if d and parse_level(d)), None)
        return _from_labels(level_codes, label)
    label = text(component, "valueString")
    if label is not None:
        return _from_labels([], label)
    return Site(error="vertebral-level component without a level value")
