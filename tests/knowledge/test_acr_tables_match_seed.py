"""The ACR data file reproduces every variant table of seed 003 exactly (names, order,
categories), parsed independently from the seed text."""

from __future__ import annotations

import re

import pytest

from app.knowledge.schema import Knowledge
from tests.conftest import SHARED

SEED = (SHARED / "seeds" / "003_164fc0a2a8b8113f.txt").read_text()


def seed_tables() -> dict[int, tuple[str, list[tuple[str, str]]]]:
    """Parse 'Variant N: title' + 'Procedure<TAB>Appropriateness Category' tables."""
    head = SEED.split("MANAGEMENT OF VERTEBRAL COMPRESSION FRACTURES")[0]
    tables: dict[int, tuple[str, list[tuple[str, str]]]] = {}
    for block in re.split(r"\n(?=Variant \d+:)", head):
        m = re.match(r"Variant (\d+): (.+)", block)
        if not m:
            continue
        title = m.group(2).replace("*", "").strip()
        rows = [
            tuple(line.split("\t"))
            for line in block.splitlines()
            if "\t" in line and not line.startswith("Procedure\t")
        ]
        tables[int(m.group(1))] = (title, [(r[0].strip(), r[1].strip()) for r in rows])
    return tables


TABLES = seed_tables()


def test_seed_has_nine_tables() -> None:
    assert sorted(TABLES) == list(range(1, 10))


@pytest.mark.parametrize("n", range(1, 10))
def test_variant_table_matches_seed(knowledge: Knowledge, n: int) -> None:
    title, rows = TABLES[n]
    variant = knowledge.variant(n)
    assert variant is not None
    assert variant.title == title
    assert [(p.name, p.category) for p in variant.procedures] == rows


def test_category_ranges_match_seed_definitions(knowledge: Knowledge) -> None:
    # seed 003 "Appropriateness Category Names and Definitions"
    text = SEED.split("Appropriateness Category Names and Definitions")[1]
    assert "Usually Appropriate\t7, 8, or 9" in text
    assert "May Be Appropriate\t4, 5, or 6" in text
    assert "May Be Appropriate (Disagreement)\t5" in text
    assert "Usually Not Appropriate\t1, 2, or 3" in text
    ranges = {c.name: c.rating_range for c in knowledge.acr.categories}
    assert ranges == {
        "Usually Appropriate": (7, 9),
        "May Be Appropriate": (4, 6),
        "May Be Appropriate (Disagreement)": (5, 5),
        "Usually Not Appropriate": (1, 3),
    }


def test_radiation_levels(knowledge: Knowledge) -> None:
    rrl = {p.name: p.relative_radiation_level for p in knowledge.acr.procedures}
    assert rrl["MRI spine area of interest without IV contrast"] == "O"
    assert rrl["CT spine area of interest without IV contrast"] == "1-10 mSv"
    assert rrl["FDG-PET/CT skull base to mid-thigh"] == "10-30 mSv"
    assert rrl["CT myelography spine area of interest"] == "10-30 mSv"
    assert rrl["CT spine area of interest with IV contrast"] == "unknown"
    assert rrl["Medical management only"] is None
