"""Standard and site-local codes -> project findings and vertebral levels (issue 8 items 1-2).

Two sources, merged once into dict lookups (the hot path never loops over rows):

* ``data/standard_maps.json``: SNOMED CT, LOINC, RadElement and DICOM CID 7603 codes; each
  row names where its code was verified. The older ``synonyms`` of ``finding_codes.json`` join
  them.
* a directory of FHIR R4 ``ConceptMap`` JSON files (``VCF_CDS_SITE_CONCEPTMAP_DIR``): a
  hospital's local codes. Each file is validated at start-up with ``fhir.resources.R4B``; every
  ``group.target`` must be the project finding or vertebral-level system and every target code
  one we know. A bad file, or a source code another map sends elsewhere, raises
  ``ConceptMapError`` naming the file and the element, which stops start-up.

``install`` replaces the process-wide index; ``index`` returns it (packaged maps only until
``install`` is called). The index digest (packaged maps + site files) is part of the knowledge
version, so a changed map changes the stated version.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from app.fhir.codes import DATA_DIR, FindingCode, code_tables
from app.json_types import JsonObject
from app.knowledge.loader import default_knowledge

STANDARD_FILE = "standard_maps.json"
LEVEL_SYSTEM = "http://vcf-cds.org/fhir/CodeSystem/vertebral-level"
MAX_SITE_FILES = 200
MAX_SITE_FILE_BYTES = 2 * 1024 * 1024

# canonical system URIs (HL7 terminology pages; RadElement as radelement.org names itself)
CANONICAL_SYSTEMS = {
    "snomed": "http://snomed.info/sct",
    "loinc": "http://loinc.org",
    "icd-10-cm": "http://hl7.org/fhir/sid/icd-10-cm",
    "rxnorm": "http://www.nlm.nih.gov/research/umls/rxnorm",
    "radelement": "http://radelement.org",
    "dcm": "http://dicom.nema.org/resources/ontology/DCM",
    "ucum": "http://unitsofmeasure.org",
}

# FHIR R4 ConceptMapEquivalence, read as "the target is ... than the source"
Equivalence = Literal[
    "equivalent", "equal", "wider", "subsumes", "narrower", "specializes", "inexact"
]


class ConceptMapError(RuntimeError):
    """A code map (packaged or site-local) is unreadable, invalid or conflicting."""


class _Row(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    system: str
    code: str = Field(min_length=1, max_length=64)
    display: str
    source: str = Field(min_length=3)
    note: str | None = None


class FindingRow(_Row):
    finding: str
    equivalence: Equivalence
    value_when_absent: bool  # an Observation with this code and no value reads as present


class LevelRow(_Row):
    level: str


class BooleanAnswer(_Row):
    value: bool


class IntegerAnswer(_Row):
    finding: str
    value: int


class TextAnswers(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    true: list[str]
    false: list[str]
    unknown: list[str]


class StandardMaps(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    name: Literal["standard-maps"]
    version: str
    source: str
    systems: dict[str, str]
    findings: list[FindingRow]
    levels: list[LevelRow]
    level_elements: list[_Row]
    boolean_answers: list[BooleanAnswer]
    integer_answers: list[IntegerAnswer]
    text_answers: TextAnswers

    @model_validator(mode="after")
    def _checked(self) -> StandardMaps:
        if self.systems != CANONICAL_SYSTEMS:
            raise ValueError(f"systems must be exactly the canonical URIs {CANONICAL_SYSTEMS}")
        allowed = set(CANONICAL_SYSTEMS.values())
        known = code_tables().findings.by_code()
        levels = set(default_knowledge().anatomy.levels())
        rows: list[_Row] = [
            *self.findings,
            *self.levels,
            *self.level_elements,
            *self.boolean_answers,
            *self.integer_answers,
        ]
        seen: set[tuple[str, str]] = set()
        for row in rows:
            if row.system not in allowed:
                raise ValueError(f"{row.system}|{row.code}: not a canonical system URI")
            if (row.system, row.code) in seen:
                raise ValueError(f"duplicate or conflicting row {row.system}|{row.code}")
            seen.add((row.system, row.code))
        for f in self.findings:
            if f.finding not in known:
                raise ValueError(f"{f.system}|{f.code}: unknown finding {f.finding!r}")
        for a in self.integer_answers:
            spec = known.get(a.finding)
            if spec is None or spec.type != "integer":
                raise ValueError(f"{a.system}|{a.code}: {a.finding!r} is no integer finding")
        for lv in self.levels:
            if lv.level not in levels:
                raise ValueError(f"{lv.system}|{lv.code}: unknown level {lv.level!r}")
        return self


@dataclass(frozen=True)
class MapEntry:
    """Where one mapping row came from (for ConceptMap rendering and docs)."""

    system: str
    code: str
    display: str
    target_system: str
    target: str
    equivalence: str
    source: str
    map_id: str  # "standard-findings", "site-<file stem>" ...
    note: str | None = None


@dataclass
class CodeIndex:
    """Every lookup the readers need, as dicts built once."""

    finding_by_coding: dict[tuple[str, str], str] = field(default_factory=dict)
    present_if_no_value: set[tuple[str, str]] = field(default_factory=set)
    level_by_coding: dict[tuple[str, str], str] = field(default_factory=dict)
    level_elements: set[tuple[str, str]] = field(default_factory=set)
    boolean_answers: dict[tuple[str, str], bool] = field(default_factory=dict)
    integer_answers: dict[tuple[str, str], tuple[str, int]] = field(default_factory=dict)
    text_true: frozenset[str] = frozenset()
    text_false: frozenset[str] = frozenset()
    text_unknown: frozenset[str] = frozenset()
    spec_by_coding: dict[tuple[str, str], FindingCode] = field(default_factory=dict)
    entries: list[MapEntry] = field(default_factory=list)
    site_files: list[str] = field(default_factory=list)
    digest: str = ""


def _read_standard(path: Path) -> tuple[StandardMaps, bytes]:
    try:
        raw = path.read_bytes()
        return StandardMaps.model_validate(json.loads(raw)), raw
    except (OSError, json.JSONDecodeError) as exc:
        raise ConceptMapError(f"code file {path.name} is unreadable: {exc}") from exc
    except ValidationError as exc:
        raise ConceptMapError(f"code file {path.name} is invalid:\n{exc}") from exc


def _standard_index(maps: StandardMaps) -> CodeIndex:
    tables = code_tables().findings
    idx = CodeIndex()
    for f in tables.findings:  # the older synonyms of finding_codes.json
        for s in f.synonyms:
            key = (s.system, s.code)
            if key in idx.finding_by_coding:
                raise ConceptMapError(f"finding_codes.json: synonym {s.system}|{s.code} twice")
            idx.finding_by_coding[key] = f.code
            idx.entries.append(
                MapEntry(
                    s.system, s.code, s.display or "", tables.system, f.code, "equivalent",
                    "finding_codes.json synonyms (verified against public FHIR/DICOM terminology)",
                    "standard-findings",
                )
            )  # fmt: skip
    for row in maps.findings:
        key = (row.system, row.code)
        if key in idx.finding_by_coding:
            raise ConceptMapError(f"{STANDARD_FILE}: {row.system}|{row.code} already a synonym")
        idx.finding_by_coding[key] = row.finding
        if row.value_when_absent:
            idx.present_if_no_value.add(key)
        idx.entries.append(
            MapEntry(
                row.system, row.code, row.display, tables.system, row.finding, row.equivalence,
                row.source, "standard-findings", row.note,
            )
        )  # fmt: skip
    for lv in maps.levels:
        idx.level_by_coding[(lv.system, lv.code)] = lv.level
        idx.entries.append(
            MapEntry(
                lv.system, lv.code, lv.display, LEVEL_SYSTEM, lv.level, "equivalent", lv.source,
                "standard-levels", lv.note,
            )
        )  # fmt: skip
    for el in maps.level_elements:
        idx.level_elements.add((el.system, el.code))
        idx.entries.append(
            MapEntry(
                el.system, el.code, el.display, tables.system, tables.level_component.code,
                "equivalent", el.source, "standard-findings", el.note,
            )
        )  # fmt: skip
    for b in maps.boolean_answers:
        idx.boolean_answers[(b.system, b.code)] = b.value
    for a in maps.integer_answers:
        idx.integer_answers[(a.system, a.code)] = (a.finding, a.value)
    idx.text_true = frozenset(maps.text_answers.true)
    idx.text_false = frozenset(maps.text_answers.false)
    idx.text_unknown = frozenset(maps.text_answers.unknown)
    return idx


# --- site-local ConceptMap files ------------------------------------------------------------


def _validate_concept_map(raw: Any, name: str) -> JsonObject:
    from fhir.resources.R4B.conceptmap import ConceptMap  # start-up only

    if not isinstance(raw, dict) or raw.get("resourceType") != "ConceptMap":
        raise ConceptMapError(f"site ConceptMap {name}: resourceType: not a ConceptMap")
    try:
        ConceptMap.model_validate(raw)
    except (ValidationError, ValueError) as exc:
        first = str(exc).splitlines()
        where = first[1].strip() if len(first) > 1 else "resource"
        message = f"site ConceptMap {name}: {where}: invalid R4 ConceptMap\n{exc}"
        raise ConceptMapError(message) from exc
    return raw


def _site_entries(raw: JsonObject, name: str, map_id: str) -> list[MapEntry]:
    tables = code_tables().findings
    known = tables.by_code()
    levels = set(default_knowledge().anatomy.levels())
    out: list[MapEntry] = []
    groups = raw.get("group") or []
    if not groups:
        raise ConceptMapError(f"site ConceptMap {name}: group: no group to read")
    for g, group in enumerate(groups):
        source, target = group.get("source"), group.get("target")
        at = f"group[{g}]"
        if not source:
            raise ConceptMapError(f"site ConceptMap {name}: {at}.source: missing")
        if target not in (tables.system, LEVEL_SYSTEM):
            raise ConceptMapError(
                f"site ConceptMap {name}: {at}.target: must be {tables.system} or "
                f"{LEVEL_SYSTEM}, not {target!r}"
            )
        for e, element in enumerate(group.get("element") or []):
            code = element.get("code")
            where = f"{at}.element[{e}]"
            if not code:
                raise ConceptMapError(f"site ConceptMap {name}: {where}.code: missing")
            for t, tgt in enumerate(element.get("target") or []):
                equivalence = tgt.get("equivalence", "equivalent")
                if equivalence in ("unmatched", "disjoint"):
                    continue
                tcode = tgt.get("code")
                ok = tcode in levels if target == LEVEL_SYSTEM else tcode in known
                if not ok:
                    raise ConceptMapError(
                        f"site ConceptMap {name}: {where}.target[{t}].code: {tcode!r} is not "
                        f"a code of {target}"
                    )
                out.append(
                    MapEntry(
                        source, code, element.get("display") or "", target, tcode, equivalence,
                        f"site ConceptMap {name}", map_id,
                    )
                )  # fmt: skip
    return out


def _add_site(idx: CodeIndex, entries: list[MapEntry], owner: dict[tuple[str, str], str]) -> None:
    tables = code_tables().findings
    for entry in entries:
        key = (entry.system, entry.code)
        lookup: dict[tuple[str, str], str] = (
            idx.level_by_coding if entry.target_system == LEVEL_SYSTEM else idx.finding_by_coding
        )
        other = idx.finding_by_coding if lookup is idx.level_by_coding else idx.level_by_coding
        before = lookup.get(key)
        if (before is not None and before != entry.target) or key in other:
            prior = owner.get(key, STANDARD_FILE)
            raise ConceptMapError(
                f"{entry.source}: {entry.system}|{entry.code} -> {entry.target} conflicts with "
                f"{prior} (-> {before or other.get(key)})"
            )
        if key == (tables.system, entry.code):
            raise ConceptMapError(f"{entry.source}: maps a project code onto itself")
        lookup[key] = entry.target
        owner[key] = entry.source
        idx.entries.append(entry)


def load_site_maps(directory: Path) -> list[tuple[str, bytes, list[MapEntry]]]:
    """``(file name, bytes, entries)`` of every ``*.json`` in ``directory`` (sorted)."""
    if not directory.is_dir():
        raise ConceptMapError(f"site ConceptMap directory {directory} does not exist")
    files = sorted(p for p in directory.iterdir() if p.suffix == ".json" and p.is_file())
    if len(files) > MAX_SITE_FILES:
        raise ConceptMapError(f"site ConceptMap directory: more than {MAX_SITE_FILES} files")
    loaded = []
    for path in files:
        name = path.name
        raw_bytes = path.read_bytes()
        if len(raw_bytes) > MAX_SITE_FILE_BYTES:
            raise ConceptMapError(f"site ConceptMap {name}: larger than {MAX_SITE_FILE_BYTES} B")
        try:
            raw = json.loads(raw_bytes)
        except (json.JSONDecodeError, UnicodeDecodeError) as exc:
            raise ConceptMapError(f"site ConceptMap {name}: not valid JSON ({exc})") from exc
        _validate_concept_map(raw, name)
        map_id = "site-" + "".join(ch if ch.isalnum() else "-" for ch in path.stem)[:50]
        loaded.append((name, raw_bytes, _site_entries(raw, name, map_id)))
    return loaded


def build_index(site_dir: Path | None = None, data_dir: Path = DATA_DIR) -> CodeIndex:
    """Packaged maps, then the site files; raises ``ConceptMapError`` on any problem."""
    maps, raw = _read_standard(data_dir / STANDARD_FILE)
    idx = _standard_index(maps)
    digest = hashlib.sha256(raw)
    if site_dir is not None:
        owner: dict[tuple[str, str], str] = {}
        for name, content, entries in load_site_maps(site_dir):
            _add_site(idx, entries, owner)
            idx.site_files.append(name)
            digest.update(name.encode() + b"\0" + content)
    tables = code_tables().findings
    by_code = tables.by_code()
    specs = {key: by_code[code] for key, code in idx.finding_by_coding.items()}
    specs.update(tables.by_coding())  # project codes as written win
    idx.spec_by_coding = specs
    idx.digest = digest.hexdigest()[:12]
    return idx


_INSTALLED: list[CodeIndex] = []


@lru_cache(maxsize=1)
def _packaged() -> CodeIndex:
    return build_index()


def install(site_dir: Path | None) -> CodeIndex:
    """Build and make current the index with the site maps of ``site_dir`` (start-up)."""
    idx = build_index(site_dir) if site_dir is not None else _packaged()
    _INSTALLED[:] = [idx]
    return idx


def index() -> CodeIndex:
    """The current index (the packaged maps until ``install`` is called)."""
    return _INSTALLED[0] if _INSTALLED else _packaged()


def versioned(knowledge_version: str, idx: CodeIndex) -> str:
    """The knowledge version with the code maps' digest when site maps are installed."""
    return f"{knowledge_version}+maps.{idx.digest}" if idx.site_files else knowledge_version
