"""docs/fhir-inputs.md names every finding, order, procedure and condition code (no drift)."""

from __future__ import annotations

import pytest

from app.fhir.codes import code_tables
from tests.conftest import ROOT

PAGE = (ROOT / "docs" / "fhir-inputs.md").read_text(encoding="utf-8")


@pytest.mark.parametrize("code", [f.code for f in code_tables().findings.findings])
def test_page_mentions_finding_code(code: str) -> None:
    assert f"`{code}`" in PAGE


@pytest.mark.parametrize("code", [c.code for c in code_tables().orders.codes])
def test_page_mentions_order_code(code: str) -> None:
    assert f"`{code}`" in PAGE


def test_page_mentions_other_code_lists() -> None:
    tables = code_tables()
    for p in tables.procedures.codes:
        assert f"`{p.code}`" in PAGE
    for i in tables.medications.ingredients:
        assert f"`{i.rxnorm}`" in PAGE
    for r in tables.conditions.rules:
        value = "-".join(r.value) if isinstance(r.value, tuple) else r.value
        assert value in PAGE


def test_page_states_the_closed_world_rule() -> None:
    assert "Closed-world history" in PAGE
    assert 'obtained["Condition"]' in PAGE


def test_generated_code_map_section_is_fresh() -> None:
    from scripts.gen_fhir_inputs_doc import render

    assert render(PAGE) == PAGE, "run: .venv/bin/python scripts/gen_fhir_inputs_doc.py"
