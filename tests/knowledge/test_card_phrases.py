"""The card phrases are knowledge data (card_policy.json ``phrases`` and ``table_headers``),
validated at start-up against what the card code fills in (app/knowledge/phrases.py)."""

from __future__ import annotations

import json
import re
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from app.knowledge.loader import DATA_DIR, KnowledgeError, load_knowledge
from app.knowledge.phrases import CARD_PHRASES, CARD_TABLES, placeholders

CARDS = Path(__file__).resolve().parents[2] / "app" / "cards"
SMART_VIEW = CARDS.parent / "smart" / "view.py"


@pytest.fixture
def data_copy(tmp_path: Path) -> Path:
    target = tmp_path / "data"
    shutil.copytree(DATA_DIR, target)
    return target


def edit_policy(data: Path, change: Callable[[dict[str, Any]], object]) -> None:
    path = data / "card_policy.json"
    doc = json.loads(path.read_text())
    change(doc)
    path.write_text(json.dumps(doc))


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda d: d["phrases"].pop("safety-summary"), "phrases.safety-summary is missing"),
        (
            lambda d: d["phrases"].update({"safety-summary": "Urgent: {finding}"}),
            "phrases.safety-summary must use the placeholders findings",
        ),
        (
            lambda d: d["phrases"].update({"safety-escc": "cord compression (ESCC {grade})"}),
            "phrases.safety-escc must use the placeholders grade, where",
        ),
        (
            lambda d: d["phrases"].update({"safety-intro": "Act now {"}),
            "phrases.safety-intro: Single '{' encountered",
        ),
        (
            lambda d: d["phrases"].update({"unused-phrase": "x"}),
            "phrases.unused-phrase is not used by any card",
        ),
        (lambda d: d["table_headers"].pop("findings"), "table_headers.findings is missing"),
        (
            lambda d: d["table_headers"].update({"candidates": ["Variant"]}),
            "table_headers.candidates needs 2 columns",
        ),
        (lambda d: d.pop("short_procedure_drop"), "short_procedure_drop"),
    ],
)
def test_bad_phrases_stop_loading(
    data_copy: Path, change: Callable[[dict[str, Any]], object], message: str
) -> None:
    edit_policy(data_copy, change)
    with pytest.raises(KnowledgeError, match=re.escape(message)):
        load_knowledge(data_copy)


def test_phrases_are_part_of_the_knowledge_version(data_copy: Path) -> None:
    before = load_knowledge(data_copy).version
    edit_policy(data_copy, lambda d: d["phrases"].update({"safety-summary": "Now: {findings}"}))
    after = load_knowledge(data_copy)
    assert after.version != before
    assert after.card_policy.phrase("safety-summary", findings="x") == "Now: x"


def test_packaged_phrases_fill_in() -> None:
    policy = load_knowledge().card_policy
    assert policy.phrase("safety-summary", findings="red flag (fever)") == (
        "Urgent: red flag (fever)"
    )
    assert policy.count("input-count", 1) == "1 input"
    assert policy.count("input-count", 3) == "3 inputs"
    assert policy.short_procedure("MRI spine area of interest without IV contrast") == (
        "MRI spine without IV contrast"
    )
    assert {k: len(v) for k, v in policy.table_headers.items()} == CARD_TABLES


def test_every_phrase_is_used_by_the_card_code() -> None:
    """No phrase is kept in the data that no card (or the SMART view) says (count phrases by
    their stem)."""
    code = "\n".join(p.read_text() for p in [*CARDS.glob("*.py"), SMART_VIEW])
    for key in CARD_PHRASES:
        stem = key.removesuffix("-one") if key.endswith("-count-one") else key
        assert f'"{stem}"' in code or f"'{stem}'" in code, key


def test_placeholders() -> None:
    assert placeholders("{a} and {b} of {a}") == {"a", "b"}
    assert placeholders("no fields") == frozenset()
