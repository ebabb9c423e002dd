"""The SMART view's words and numbers come from the knowledge data: headings, the SINS and MRI
score wording with the published cutoff, the citations (publications.json) and the ACR notice
(one text with the cards), so an edit of the data changes the page and a missing phrase stops
loading."""

from __future__ import annotations

import json
import re
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from app.knowledge.loader import DATA_DIR, KnowledgeError, load_knowledge
from app.knowledge.schema import Knowledge
from app.smart import view
from app.smart.questions import question_set
from tests.smart.test_view import _assessment


def _with_policy(k: Knowledge, **changes: dict[str, Any]) -> Knowledge:
    """A copy of ``k`` whose card policy has ``changes`` merged into the named fields."""
    cp = k.card_policy
    update = {field: {**getattr(cp, field), **values} for field, values in changes.items()}
    return k.model_copy(update={"card_policy": cp.model_copy(update=update)})


def test_headings_and_headline_come_from_the_phrases_and_the_acr_tables(
    knowledge: Knowledge,
) -> None:
    a = _assessment(knowledge)
    qs = question_set()
    imaging = [v.id for v in knowledge.acr.variants if v.question == "imaging"]
    heading = view.variants_view(a, knowledge, qs)[0].heading
    assert heading == f"Next imaging study (ACR variants {min(imaging)}-{max(imaging)})"

    labels = {**knowledge.card_policy.labels}
    labels["smart-question"] = {**labels["smart-question"], "imaging": "Imaging next"}
    changed = _with_policy(
        knowledge,
        labels=labels,
        phrases={"smart-question-heading": "{question} [{variants}]"},
    )
    assert (
        view.variants_view(a, changed, qs)[0].heading
        == f"Imaging next [{min(imaging)}-{max(imaging)}]"
    )
    assert view.headline(a, changed).startswith("Imaging next: ")
    deciding = [q.affects for q in view.questions_view(a, changed, qs, {})]
    assert any("imaging next" in d for d in deciding), deciding


def test_mri_wording_fills_in_the_published_cutoff(knowledge: Knowledge) -> None:
    cutoff = knowledge.mri_score.cutoff
    assert view._mri_words(knowledge, "suggests_malignant") == (
        f"suggests a malignant fracture (score {cutoff} or more)"
    )
    assert view._mri_words(knowledge, "suggests_osteoporotic").endswith(f"below {cutoff})")
    other = knowledge.model_copy(
        update={"mri_score": knowledge.mri_score.model_copy(update={"cutoff": cutoff + 1})}
    )
    assert view._mri_words(other, "indeterminate").endswith(f"cutoff of {cutoff + 1}")


def test_sins_categories_use_the_card_labels(knowledge: Knowledge) -> None:
    a = _assessment(knowledge)
    labels = {**knowledge.card_policy.labels}
    labels["sins-category"] = {c: c.upper() for c in labels["sins-category"]}
    changed = _with_policy(
        knowledge, labels=labels, phrases={"smart-sins-between": "{low}..{high}"}
    )
    [sins] = view.sins_view(a, changed)
    assert re.fullmatch(r"[A-Z_]+(\.\.[A-Z_]+)?", sins.category), sins.category


def test_citations_and_notice_are_the_ones_cards_and_explanations_use(
    knowledge: Knowledge,
) -> None:
    """Deliberate change: the app used its own copy of the references (with "cutoff 4") and of
    the ACR notice; it now shows the references as printed in publications.json and the card
    policy's ACR notice."""
    cp = knowledge.card_policy
    assert view.acr_notice(knowledge) == cp.acr_notice
    cited = view.citations(knowledge)
    assert [c.topic for c in cited] == list(cp.labels["smart-citation-topic"].values())
    for c, key in zip(cited, cp.labels["smart-citation-topic"], strict=True):
        assert c.text.startswith(knowledge.publications.reference(cp.citations[key].publication))
        assert c.text.endswith(f"{cp.citations[key].where}.")
    assert not any("cutoff" in c.text for c in cited)


@pytest.fixture
def data_copy(tmp_path: Path) -> Path:
    target = tmp_path / "data"
    shutil.copytree(DATA_DIR, target)
    return target


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda d: d["phrases"].pop("smart-mri-malignant"), "phrases.smart-mri-malignant"),
        (
            lambda d: d["phrases"].update({"smart-mri-malignant": "malignant (score 4+)"}),
            "phrases.smart-mri-malignant must use the placeholders cutoff",
        ),
        (lambda d: d["labels"].pop("smart-question"), "labels.smart-question is missing"),
        (
            lambda d: d["labels"]["smart-citation-topic"].update({"nope": "Nope"}),
            "labels.smart-citation-topic.nope is not a citation",
        ),
    ],
)
def test_a_missing_or_wrong_view_phrase_stops_loading(
    data_copy: Path, change: Callable[[dict[str, Any]], object], message: str
) -> None:
    path = data_copy / "card_policy.json"
    doc = json.loads(path.read_text())
    change(doc)
    path.write_text(json.dumps(doc))
    with pytest.raises(KnowledgeError, match=re.escape(message)):
        load_knowledge(data_copy)
