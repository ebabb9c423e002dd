"""Knowledge files are validated at start-up: a bad file stops the app with a clear message."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pytest

from app.knowledge.loader import DATA_DIR, KnowledgeError, load_knowledge


@pytest.fixture
def data_copy(tmp_path: Path) -> Path:
    target = tmp_path / "data"
    shutil.copytree(DATA_DIR, target)
    return target


def edit(path: Path, change: Any) -> None:
    doc = json.loads(path.read_text())
    change(doc)
    path.write_text(json.dumps(doc))


def test_packaged_knowledge_loads_with_version() -> None:
    k = load_knowledge()
    assert k.version.startswith("2026.11.1+")
    assert len(k.version.split("+")[1]) == 12


def test_edit_changes_version(data_copy: Path) -> None:
    before = load_knowledge(data_copy).version
    edit(data_copy / "sins.json", lambda d: d.update(inconsistency_note="edited"))
    assert load_knowledge(data_copy).version != before


@pytest.mark.parametrize(
    ("filename", "change", "message"),
    [
        (
            "acr_vcf.json",
            lambda d: d["variants"][0]["procedures"][0].update(category="Great"),
            "unknown category",
        ),
        (
            "acr_vcf.json",
            lambda d: d["variants"][1]["procedures"][0].update(name="MRI brain"),
            "unknown procedure",
        ),
        ("acr_vcf.json", lambda d: d["variants"].pop(), "variants must be 1..9"),
        (
            "acr_vcf.json",
            lambda d: d["variants"][0]["condition"]["all"][0].update(input="vcf_old"),
            "unknown clinical-state input",
        ),
        ("mri_malignancy_score.json", lambda d: d["signs"].pop(), "nine signs"),
        (
            "sins.json",
            lambda d: d["location_classes"]["mobile"].remove("L3"),
            "every vertebral level",
        ),
        ("sins.json", lambda d: d["categories"][1].update(range=[8, 12]), "contiguous"),
        ("sign_evidence.json", lambda d: d["signs"][0]["values"]["I"].update(benign=11), "add up"),
        (
            "policies.json",
            lambda d: d["policies"][3].update(default=[2, 4, 3]),
            "imaging_precedence",
        ),
        (
            "policies.json",
            lambda d: d["policies"][4].update(default="9, 7, 8, 6, 5"),
            "treatment_precedence must be a list of variant ids",
        ),
        ("policies.json", lambda d: d["policies"][0].update(default={"x": 1}), "default"),
        ("red_flags.json", lambda d: d["flags"][0].update(groups=["nope"]), "unknown group"),
    ],
)
def test_invalid_file_is_rejected(
    data_copy: Path, filename: str, change: Any, message: str
) -> None:
    edit(data_copy / filename, change)
    with pytest.raises(KnowledgeError, match=message):
        load_knowledge(data_copy)


def test_malformed_json_names_the_file(data_copy: Path) -> None:
    (data_copy / "thresholds.json").write_text("{not json")
    with pytest.raises(KnowledgeError, match=r"thresholds\.json is not valid JSON"):
        load_knowledge(data_copy)


def test_missing_file(data_copy: Path) -> None:
    (data_copy / "red_flags.json").unlink()
    with pytest.raises(KnowledgeError, match="missing"):
        load_knowledge(data_copy)
