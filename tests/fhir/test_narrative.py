"""Report-narrative extractor: negation, uncertainty, levels, percentages, and the corpus."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from app.fhir.narrative.evaluation import evaluate, load_corpus
from app.fhir.narrative.extract import KINDS, TextFinding, extract, extract_cached
from app.fhir.narrative.levels import levels_in

ROOT = Path(__file__).resolve().parents[2]
CORPUS = ROOT / "tests" / "fhir" / "data" / "report_sentences.jsonl"
HELDOUT = ROOT / "tests" / "fhir" / "data" / "report_sentences_heldout.jsonl"


def read(text: str) -> dict[str, TextFinding]:
    found = extract(text)
    assert len({f.kind for f in found}) == len(found)  # one per kind in one sentence
    return {f.kind: f for f in found}


@pytest.mark.parametrize(
    ("text", "kind"),
    [
        ("No retropulsion.", "retropulsion"),
        ("There is no evidence of vertebral compression fracture.", "fracture"),
        ("The pedicles are intact.", "posterior_element"),
        ("Fracture is excluded.", "fracture"),
        ("Fracture is not seen.", "fracture"),
        ("No epidural mass or cord compression is identified.", "cord_compression"),
        ("Acute L1 burst fracture without retropulsion.", "retropulsion"),
        ("Negative for epidural mass.", "epidural_mass"),
    ],
)
def test_negated_finding_is_false(text: str, kind: str) -> None:
    assert read(text)[kind].value is False


@pytest.mark.parametrize(
    ("text", "kind"),
    [
        ("Possible subtle compression fracture of the L3 superior endplate.", "fracture"),
        ("Cannot exclude a nondisplaced fracture of the T11 vertebral body.", "fracture"),
        ("The endplate irregularity at L4 may represent a subtle fracture.", "fracture"),
        ("Retropulsion cannot be excluded on this radiograph.", "retropulsion"),
        ("A subtle fracture of L1 is not excluded.", "fracture"),
        ("Questionable faint marrow edema along the superior endplate of L2.", "marrow_edema"),
        ("Compression deformity of T12 of indeterminate age.", "acuity"),
    ],
)
def test_uncertain_finding_is_unknown(text: str, kind: str) -> None:
    assert read(text)[kind].value is None


def test_stated_findings_with_levels_and_percent() -> None:
    found = read("Acute L1 compression fracture with approximately 40% loss of height.")
    assert found["fracture"].value is True and found["fracture"].levels == ("L1",)
    assert found["acuity"].value is True
    assert found["height_loss"].value is True and found["height_loss"].percent == 40.0
    assert "multiple" not in found
    chronic = read("Chronic compression deformity of T12, unchanged from prior.")
    assert chronic["fracture"].value is True and chronic["acuity"].value is False


@pytest.mark.parametrize(
    ("text", "levels"),
    [
        ("Compression fractures at T12-L1.", ("T12", "L1")),
        ("Compression fractures of T11 and T12.", ("T11", "T12")),
        ("Compression fractures involving L1 through L3.", ("L1", "L2", "L3")),
        ("Multiple compression fractures at T11, T12 and L1.", ("T11", "T12", "L1")),
    ],
)
def test_several_levels_are_multiple_fractures(text: str, levels: tuple[str, ...]) -> None:
    found = read(text)
    assert found["fracture"].levels == levels
    assert found["multiple"].value is True


def test_levels_skip_discs_and_mri_sequences() -> None:
    assert levels_in("Small disc bulge at L4-5 and an L4-L5 disc protrusion.") == ()
    assert levels_in("Linear T2 hyperintensity in L1 on T1-weighted images.") == ("L1",)
    assert levels_in("T1 compression fracture.") == ("T1",)


def test_sentences_without_findings_give_nothing() -> None:
    assert (
        extract("Mild multilevel degenerative disc disease. The paraspinal muscles are normal.")
        == []
    )
    assert extract("If there is clinical concern for fracture, MRI could be obtained.") == []


def test_each_sentence_is_read_on_its_own() -> None:
    found = extract("Acute L1 compression fracture. No retropulsion; the pedicles are intact.")
    by_kind = {f.kind: f for f in found}
    assert by_kind["fracture"].value is True
    assert by_kind["retropulsion"].value is False
    assert by_kind["posterior_element"].value is False
    assert by_kind["retropulsion"].sentence == "No retropulsion;"


def test_cached_extraction_is_the_same_and_remembered() -> None:
    text = "Acute T12 compression fracture with 30% loss of height. No cord compression."
    first = extract_cached(text)
    assert first == tuple(extract(text)) and len(first) == 4
    assert extract_cached(text) is first


def test_regex_alternative_reads_negation_and_uncertainty() -> None:
    found = {f.kind: f.value for f in extract("No retropulsion. Possible L1 fracture.", "regex")}
    assert found == {"retropulsion": False, "fracture": None}


def test_corpus_has_at_least_200_labelled_sentences_covering_every_finding() -> None:
    corpus = load_corpus(CORPUS)
    assert len(corpus) >= 200
    assert len({item.text for item in corpus}) == len(corpus)
    labelled = {kind for item in corpus for kind in item.labels}
    assert labelled == set(KINDS)
    for cls in ("absent", "uncertain"):
        assert sum(cls == lab.value for i in corpus for lab in i.labels.values()) >= 30


@pytest.mark.parametrize("path", [CORPUS, HELDOUT], ids=["corpus", "held-out"])
def test_negated_findings_are_never_read_as_present(path: Path) -> None:
    result = evaluate(load_corpus(path), "context")
    assert result.negated_read_present == []


def test_corpus_precision_and_recall() -> None:
    result = evaluate(load_corpus(CORPUS), "context")
    present = result.total("present")
    assert present.precision is not None and present.precision >= 0.98
    assert present.recall is not None and present.recall >= 0.9
    assert result.level_exact == result.level_checked > 50


def test_docs_page_is_current() -> None:
    script = ROOT / "scripts" / "narrative_metrics.py"
    done = subprocess.run(
        [sys.executable, str(script), "--check"], capture_output=True, text=True, check=False
    )
    assert done.returncode == 0, done.stdout + done.stderr


def test_every_kind_maps_to_a_known_finding_code() -> None:
    from app.fhir.codes import code_tables
    from app.fhir.reports import text_codes

    codes = text_codes()
    assert set(codes) == set(KINDS)
    assert set(codes.values()) <= set(code_tables().findings.by_code())
