"""What the app shows, from an assessment (pure: no server): score components with ranges
while unknown, variants in words, and clinician text free of ids, policy keys and document
names (the machine-readable fields keep the ids)."""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from pydantic import BaseModel

from app.assessment.service import assess
from app.fhir.adapter import read_resources
from app.knowledge.schema import Knowledge
from app.settings import Settings
from app.smart import view
from app.smart.models import OrderCoding
from app.smart.questions import question_set
from tests.fhir_builders import condition, draft, obs, patient

NOW = datetime(2026, 12, 1, tzinfo=UTC)
#: fields that carry ids or references for machines, never shown as text
MACHINE = {"reference", "code", "id", "input", "decidingInputs", "system", "question", "level"}
MACHINE |= {"status", "kind"}  # enums the page turns into words
RECORD = [
    patient(),
    obs("o-vcf", "vcf", True, "L3"),
    obs("o-acute", "vcf-acute", True, "L3"),
    obs("o-pain", "sins-pain", "mechanical", "L3"),
    obs("o-lesion", "sins-lesion", "lytic", "L3"),
    obs("o-pattern", "marrow-signal-pattern", "round", "L3"),
    obs("o-cleft", "fluid-cleft", False, "L3"),
    condition("c-lung", "C34.90"),
]
ORDER = OrderCoding(system="http://www.ama-assn.org/go/cpt", code="72148", display="MRI lumbar")


def _assessment(knowledge: Knowledge) -> Any:
    pf = read_resources(
        RECORD,
        draft_orders=[draft("d0", "72148", "MRI lumbar")],
        today=NOW.date(),
        obtained={"Condition": True, "Procedure": True},
    )
    return assess(pf, knowledge, Settings(environment="test").policies(), NOW)


def test_sins_and_mri_components_with_ranges(knowledge: Knowledge) -> None:
    a = _assessment(knowledge)
    [sins] = view.sins_view(a, knowledge)
    points = {c.id: (c.points, c.known) for c in sins.components}
    assert points["pain"] == ("3", True) and points["lesion"] == ("2", True)
    assert points["alignment"] == ("0-4", False) and points["collapse"] == ("0-3", False)
    assert sins.level == "L3" and sins.index and "-" in sins.range
    assert "_" not in sins.category
    [mri] = view.mri_view(a, knowledge)
    signs = {c.id: (c.points, c.known) for c in mri.components}
    assert signs["signal_pattern"] == ("1", True) and signs["fluid_cleft"] == ("0", True)
    assert signs["posterior_border"] == ("0-1", False)
    assert mri.classification.startswith("cannot be decided")


def test_ruled_out_variant_names_the_contradicting_finding(knowledge: Knowledge) -> None:
    a = _assessment(knowledge)
    imaging = next(q for q in view.variants_view(a, knowledge, question_set()))
    v1 = next(v for v in imaging.variants if v.id == 1)
    assert v1.status == "not_matched"
    assert v1.explanation == "Ruled out: needs no history of cancer (record: history of cancer)."


def _visible_strings(value: Any, key: str = "") -> list[str]:
    if key in MACHINE:
        return []
    if isinstance(value, dict):
        return [s for k, v in value.items() for s in _visible_strings(v, k)]
    if isinstance(value, list):
        return [s for v in value for s in _visible_strings(v, key)]
    return [value] if isinstance(value, str) else []


def test_clinician_text_has_no_ids_policy_keys_or_document_names(knowledge: Knowledge) -> None:
    a = _assessment(knowledge)
    qs = question_set()
    labels = view.SourceLabels(RECORD, qs)
    parts: dict[str, Sequence[BaseModel]] = {
        "findings": view.findings_view(a, labels),
        "state": view.state_view(a, qs, labels),
        "variants": view.variants_view(a, knowledge, qs),
        "acr": view.acr_tables(a, knowledge),
        "orders": view.orders_view(a, [ORDER], qs),
        "sins": view.sins_view(a, knowledge),
        "mri": view.mri_view(a, knowledge),
        "flags": view.red_flags_view(a, knowledge),
        "questions": view.questions_view(a, knowledge, qs, {}),
        "citations": view.citations(knowledge),
    }
    text = [
        s
        for items in parts.values()
        for item in items
        for s in _visible_strings(item.model_dump(mode="json"))
    ]
    assert text
    for s in text:
        assert "seed" not in s.lower(), s
        assert not re.search(r"\b[a-z]+_[a-z_]+\b", s), s  # identifiers, policy keys
        assert not re.search(r"\b(Observation|Condition|Procedure|Patient)/", s), s
        assert "escc_1c" not in s and "urn:uuid" not in s, s
    # the ids stay in the machine-readable fields
    finding = next(f for f in view.findings_view(a, labels) if f.code == "vcf")
    assert finding.sources[0].reference == "Observation/o-vcf"
    assert finding.sources[0].label.startswith("Observation: ")


def test_an_alternative_is_explained_with_or(knowledge: Knowledge) -> None:
    """Variant 3 needs a symptomatic fracture and (prior treatment or several fractures)."""
    pf = read_resources(
        [
            patient(),
            obs("o-vcf", "vcf", True, "L3"),
            obs("o-sym", "symptomatic", True),
            obs("o-mult", "multiple-vcfs", False),
        ],
        today=NOW.date(),
        obtained={"Condition": True, "Procedure": True},
    )
    a = assess(pf, knowledge, Settings(environment="test").policies(), NOW)
    imaging = view.variants_view(a, knowledge, question_set())[0]
    v3 = next(v for v in imaging.variants if v.id == 3)
    assert v3.status == "not_matched"
    assert v3.explanation == (
        "Ruled out: needs treated before (record: not treated before) "
        "or several fractures (record: a single fracture)."
    )
