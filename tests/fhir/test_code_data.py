"""Code data files: no duplicates, every ACR procedure orderable, every fhir-input.md finding
code present with the table's value list and unit, bad files rejected with a clear error."""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path
from typing import Any

import pytest

from app.fhir.codes import DATA_DIR, CodeDataError, code_tables, load_code_tables
from app.knowledge.schema import Knowledge
from tests.conftest import SHARED

SPEC = SHARED / "spec" / "fhir-input.md"
TICKED = re.compile(r"`([^`]+)`")


def _spec_rows() -> list[tuple[str, str]]:
    """(code column, value column) of the fhir-input.md Observations table."""
    text = SPEC.read_text(encoding="utf-8")
    section = text.split("## Observations", 1)[1].split("## Other resources", 1)[0]
    rows = []
    for line in section.splitlines():
        if not line.startswith("| ") or line.startswith("| code") or line.startswith("|---"):
            continue
        cells = [c.strip() for c in line.replace("\\|", "\u2016").strip("|").split("|")]
        rows.append((cells[0], cells[1].replace("\u2016", "|")))
    return rows


def spec_codes() -> dict[str, dict[str, Any]]:
    """Every finding code of the table with its expected type, values and unit."""
    out: dict[str, dict[str, Any]] = {}
    for code_cell, value_cell in _spec_rows():
        main, _, alternative = value_cell.partition("(or ")
        if main.startswith("boolean"):
            expected: dict[str, Any] = {"type": "boolean"}
        elif main.startswith("Quantity"):
            units = TICKED.findall(main)
            expected = {"type": "quantity", "unit": units[0] if units else None}
        elif main.startswith("integer"):
            expected = {"type": "integer"}
        else:
            expected = {"type": "coded", "values": TICKED.findall(main)}
        for code in TICKED.findall(code_cell):
            out[code] = expected
        alt_codes = [t for t in TICKED.findall(alternative) if "-" in t]
        alt_units = [t for t in TICKED.findall(alternative) if "-" not in t]
        for code in alt_codes:
            out.setdefault(code, {"type": "quantity", "unit": alt_units[0] if alt_units else None})
    return out


def test_spec_table_parsed() -> None:
    codes = spec_codes()
    assert len(codes) > 70
    assert codes["escc-grade"]["values"] == ["0", "1a", "1b", "1c", "2", "3"]
    assert codes["collapse-percent"] == {"type": "quantity", "unit": "%"}


@pytest.mark.parametrize(("code", "expected"), sorted(spec_codes().items()))
def test_every_spec_finding_code_is_in_the_data(code: str, expected: dict[str, Any]) -> None:
    spec = code_tables().findings.by_code().get(code)
    assert spec is not None, f"{code} missing from finding_codes.json"
    assert spec.type == expected["type"]
    if "values" in expected:
        assert spec.values == expected["values"]
    if expected["type"] == "quantity" and expected.get("unit"):
        assert spec.unit == expected["unit"]


def test_finding_codes_carry_display_and_definition() -> None:
    for f in code_tables().findings.findings:
        assert f.display.strip() and f.definition.strip(), f.code


@pytest.mark.parametrize("name", sorted(p.name for p in DATA_DIR.glob("*.json")))
def test_no_duplicate_codes(name: str) -> None:
    data = json.loads((DATA_DIR / name).read_text())
    entries = (
        data.get("findings")
        or data.get("codes")
        or data.get("rules")
        or data.get("ingredients")
        or []
    )
    keys = [
        f"{e.get('system', '')}|{e.get('match', '')}|{e.get('code') or e.get('value') or e['rxnorm']}"
        for e in entries
    ]
    assert len(keys) == len(set(keys)), name


def test_order_procedures_are_acr_names(knowledge: Knowledge) -> None:
    names = {p.name for p in knowledge.acr.procedures}
    used = {c.procedure for c in code_tables().orders.codes}
    assert used <= names
    assert used == names, f"ACR procedures without an order code: {names - used}"


def test_synonyms_include_verified_standard_codes() -> None:
    by_syn = code_tables().findings.by_synonym()
    assert by_syn[("http://dicom.nema.org/resources/ontology/DCM", "113041")] == "adc"
    yes_no = code_tables().findings.boolean_codes
    assert (yes_no.yes, yes_no.no) == ("373066001", "373067005")


def _broken_copy(tmp_path: Path, name: str, edit: Any) -> Path:
    target = tmp_path / "data"
    shutil.copytree(DATA_DIR, target)
    data = json.loads((target / name).read_text())
    edit(data)
    (target / name).write_text(json.dumps(data))
    return target


@pytest.mark.parametrize(
    ("name", "edit", "needle"),
    [
        (
            "finding_codes.json",
            lambda d: d["findings"].append(dict(d["findings"][0])),
            "duplicate finding code",
        ),
        (
            "order_codes.json",
            lambda d: d["codes"][0].update(procedure="MRI of the moon"),
            "unknown ACR procedure",
        ),
        (
            "condition_codes.json",
            lambda d: d["rules"][0].update(value=["C96", "C00"]),
            "malformed ICD-10-CM range",
        ),
        (
            "condition_codes.json",
            lambda d: d["rules"][1].update(value="Z8.5"),
            "malformed ICD-10-CM code",
        ),
        (
            "procedure_codes.json",
            lambda d: d["codes"].append(dict(d["codes"][0])),
            "duplicate procedure code",
        ),
        (
            "medication_codes.json",
            lambda d: d["ingredients"].append(dict(d["ingredients"][0])),
            "duplicate RxNorm code",
        ),
    ],
)
def test_bad_data_files_are_rejected(tmp_path: Path, name: str, edit: Any, needle: str) -> None:
    with pytest.raises(CodeDataError) as err:
        load_code_tables(_broken_copy(tmp_path, name, edit))
    assert name in str(err.value)
    assert needle in str(err.value)
