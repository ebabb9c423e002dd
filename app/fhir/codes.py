"""Code tables of the FHIR layer (``app/fhir/data/*.json``), validated when first loaded.

Every list the adapter matches against lives in a data file (fhir-input.md: "keep every code
list in data files that a test checks for duplicates and typos"). A duplicate code, a malformed
ICD-10-CM prefix or range, or an order mapped to a name that is not an ACR procedure stops
loading with ``CodeDataError`` naming the file and the entry.
"""

from __future__ import annotations

import json
import re
from functools import cached_property, lru_cache
from pathlib import Path
from typing import Any, Literal, TypeVar

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from app.fhir.raw import MAX_TOKEN
from app.knowledge.coding import Coding
from app.knowledge.loader import default_knowledge
from app.knowledge.per_object import BoundedMemo

DATA_DIR = Path(__file__).parent / "data"

ICD_CODE = re.compile(r"^[A-Z][0-9][0-9A-Z](\.[0-9A-Z]{1,4})?$")
ICD_CATEGORY = re.compile(r"^[A-Z][0-9][0-9A-Z]$")
CPT_CODE = re.compile(r"^[0-9]{4}[0-9A-Z]$")
LOINC_CODE = re.compile(r"^[0-9]{1,7}-[0-9]$")
PROJECT_CODE = re.compile(r"^[a-z0-9]+(-[a-z0-9]+)*$")


class CodeDataError(RuntimeError):
    """A code data file is missing, unreadable or invalid."""


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


def plain(value: str, limit: int = MAX_TOKEN) -> bool:
    """Whether ``value`` is what the tolerant reader (``raw.text``) makes of it unchanged."""
    return 0 < len(value) <= limit and value.strip() == value


def _unique(items: list[str], what: str) -> None:
    seen: set[str] = set()
    for item in items:
        if item in seen:
            raise ValueError(f"duplicate {what} {item!r}")
        seen.add(item)


# --- findings (fhir-input.md "Observations") ------------------------------------------------


class FindingCode(_Strict):
    code: str = Field(pattern=PROJECT_CODE.pattern)
    display: str
    definition: str
    type: Literal["boolean", "coded", "quantity", "integer"]
    per_level: bool
    used_by: str
    values: list[str] | None = None
    unit: str | None = None
    unit_aliases: list[str] = []
    unit_factors: dict[str, float] = {}
    min: float | None = None
    max: float | None = None
    levels: list[str] | None = None
    synonyms: list[Coding] = []

    @model_validator(mode="after")
    def _shape(self) -> FindingCode:
        if any(s.model_extra for s in self.synonyms):  # the shared Coding keeps extra members
            raise ValueError(f"{self.code}: a synonym has members other than system/code/display")
        if (self.type == "coded") != (self.values is not None):
            raise ValueError(f"{self.code}: 'values' is required for coded findings only")
        if self.values is not None:
            _unique(self.values, f"{self.code} value")
        if self.type != "quantity" and (self.unit or self.unit_factors or self.unit_aliases):
            raise ValueError(f"{self.code}: units are for quantity findings only")
        if self.unit is None and self.unit_factors:
            raise ValueError(f"{self.code}: unit_factors need a unit")
        return self


class BooleanCodes(_Strict):
    system: str
    yes: str
    no: str
    unknown: str
    note: str


class LevelComponent(_Strict):
    code: str
    display: str
    definition: str


class FindingCodes(_Strict):
    name: Literal["finding-codes"]
    source: str
    system: str
    level_component: LevelComponent
    boolean_codes: BooleanCodes
    findings: list[FindingCode]

    @model_validator(mode="after")
    def _consistent(self) -> FindingCodes:
        _unique([f.code for f in self.findings] + [self.level_component.code], "finding code")
        _unique([f"{s.system}|{s.code}" for f in self.findings for s in f.synonyms], "synonym")
        levels = set(default_knowledge().anatomy.levels())
        for f in self.findings:
            bad = [lv for lv in f.levels or [] if lv not in levels]
            if bad:
                raise ValueError(f"{f.code}: unknown levels {bad}")
        return self

    @cached_property
    def _by_code(self) -> dict[str, FindingCode]:
        return {f.code: f for f in self.findings}

    @cached_property
    def _by_synonym(self) -> dict[tuple[str, str], str]:
        return {(s.system, s.code): f.code for f in self.findings for s in f.synonyms}

    def by_code(self) -> dict[str, FindingCode]:
        """``code -> spec`` (built once)."""
        return self._by_code

    def by_synonym(self) -> dict[tuple[str, str], str]:
        """``(system, code) -> finding code`` of the accepted standard synonyms (built once)."""
        return self._by_synonym

    @cached_property
    def _by_coding(self) -> dict[tuple[str, str], FindingCode]:
        merged = {key: self._by_code[code] for key, code in self._by_synonym.items()}
        merged.update({(self.system, f.code): f for f in self.findings})  # project code first
        return {key: spec for key, spec in merged.items() if plain(key[0], 512) and plain(key[1])}

    def by_coding(self) -> dict[tuple[str, str], FindingCode]:
        """``(system, code) -> spec`` of every project code and synonym, exactly as written in
        the table (built once): the lookup of a coding that needs no normalisation."""
        return self._by_coding


# --- conditions -----------------------------------------------------------------------------

Effect = Literal[
    "malignancy",
    "bone_metastasis",
    "etiology_osteoporotic",
    "etiology_pathological",
    "vcf",
    "osteoporosis",
]


class ConditionRule(_Strict):
    system: Literal["icd-10-cm", "snomed"]
    match: Literal["prefix", "exact", "range"]
    value: str | tuple[str, str]
    effects: list[Effect] = Field(min_length=1)
    display: str
    verified: bool
    note: str | None = None

    @model_validator(mode="after")
    def _well_formed(self) -> ConditionRule:
        if self.match == "range":
            if self.system != "icd-10-cm" or isinstance(self.value, str):
                raise ValueError(f"range rule must be ICD-10-CM [start, end]: {self.value!r}")
            start, end = self.value
            if not (ICD_CATEGORY.match(start) and ICD_CATEGORY.match(end)) or start > end:
                raise ValueError(f"malformed ICD-10-CM range {self.value!r}")
        elif not isinstance(self.value, str):
            raise ValueError(f"{self.match} rule needs a single code, not {self.value!r}")
        elif self.system == "icd-10-cm" and not ICD_CODE.match(self.value):
            raise ValueError(f"malformed ICD-10-CM code {self.value!r}")
        elif self.system == "snomed" and not self.value.isdigit():
            raise ValueError(f"malformed SNOMED CT code {self.value!r}")
        return self

    def key(self) -> str:
        value = "-".join(self.value) if isinstance(self.value, tuple) else self.value
        return f"{self.system}|{self.match}|{value}"


# exact code -> effects; (prefix, effects); (first, last category, effects)
RuleIndex = tuple[
    dict[str, frozenset[Effect]],
    list[tuple[str, frozenset[Effect]]],
    list[tuple[str, str, frozenset[Effect]]],
]
_NO_RULES: RuleIndex = ({}, [], [])
EFFECTS_MEMO_MAX = 4096  # distinct (family, code) pairs remembered by ``ConditionCodes.effects``


class ConditionCodes(_Strict):
    name: Literal["condition-codes"]
    source: str
    systems: dict[Literal["icd-10-cm", "snomed"], list[str]]
    note: str
    rules: list[ConditionRule]

    @model_validator(mode="after")
    def _unique_rules(self) -> ConditionCodes:
        _unique([r.key() for r in self.rules], "condition rule")
        return self

    @cached_property
    def _families(self) -> dict[str, str]:
        return {url: family for family, urls in self.systems.items() for url in urls}

    def family_of(self) -> dict[str, str]:
        """``system URL -> "icd-10-cm" | "snomed"`` (built once)."""
        return self._families

    @cached_property
    def _rule_index(self) -> dict[str, RuleIndex]:
        index: dict[str, RuleIndex] = {}
        for rule in self.rules:
            exact, prefixes, ranges = index.setdefault(rule.system, ({}, [], []))
            effects = frozenset(rule.effects)
            if rule.match == "range" and isinstance(rule.value, tuple):
                ranges.append((rule.value[0], rule.value[1], effects))
            elif rule.match == "prefix":
                prefixes.append((str(rule.value), effects))
            elif isinstance(rule.value, str):
                exact[rule.value] = exact.get(rule.value, frozenset()) | effects
        return index

    @cached_property
    def _effects_memo(self) -> BoundedMemo[tuple[str, str], frozenset[Effect]]:
        return BoundedMemo(EFFECTS_MEMO_MAX)

    def effects(self, family: str, code: str) -> set[Effect]:
        """Effects of every rule of ``family`` that matches the normalised ``code`` (the rules
        grouped once by match kind; the same answer as testing each rule in turn).

        Memo: per loaded table (so per data version), at most ``EFFECTS_MEMO_MAX`` codes,
        emptied when full; a record repeats the same few codes."""
        memo = self._effects_memo
        found = memo.get((family, code))
        if found is None:
            found = memo.put((family, code), frozenset(self._match_rules(family, code)))
        return set(found)

    def _match_rules(self, family: str, code: str) -> set[Effect]:
        exact, prefixes, ranges = self._rule_index.get(family, _NO_RULES)
        found: set[Effect] = set(exact.get(code, ()))
        for prefix, effects in prefixes:
            if code.startswith(prefix):
                found.update(effects)
        category = code[:3]
        for start, end, effects in ranges:
            if start <= category <= end:
                found.update(effects)
        return found


# --- procedures -----------------------------------------------------------------------------


class ProcedureCode(_Strict):
    code: str = Field(pattern=CPT_CODE.pattern)
    group: Literal["vertebroplasty", "augmentation", "fusion", "decompression", "corpectomy"]
    display: str
    verified: bool
    note: str | None = None


class ProcedureCodes(_Strict):
    name: Literal["procedure-codes"]
    source: str
    system: str
    counted_statuses: list[str]
    note: str
    codes: list[ProcedureCode]

    @model_validator(mode="after")
    def _unique_codes(self) -> ProcedureCodes:
        _unique([c.code for c in self.codes], "procedure code")
        return self

    @cached_property
    def _code_set(self) -> frozenset[str]:
        return frozenset(c.code for c in self.codes)

    def code_set(self) -> frozenset[str]:
        """The listed CPT codes (built once)."""
        return self._code_set


# --- orders ---------------------------------------------------------------------------------

OrderSystem = Literal["cpt", "loinc", "project"]


class OrderCode(_Strict):
    system: OrderSystem
    code: str
    display: str
    procedure: str
    region: (
        Literal["cervical", "thoracic", "lumbar", "cervical-thoracic", "multiple", "whole"] | None
    ) = None
    definition: str | None = None
    verified: bool
    note: str | None = None

    @model_validator(mode="after")
    def _code_form(self) -> OrderCode:
        pattern = {"cpt": CPT_CODE, "loinc": LOINC_CODE, "project": PROJECT_CODE}[self.system]
        if not pattern.match(self.code):
            raise ValueError(f"malformed {self.system} code {self.code!r}")
        if self.system == "project" and not self.definition:
            raise ValueError(f"project order code {self.code!r} needs a definition")
        return self


class Myelography(_Strict):
    procedure: str
    ct_with_contrast: list[str]
    myelography_codes: list[str]
    rule: str


class OrderCodes(_Strict):
    name: Literal["order-codes"]
    source: str
    systems: dict[OrderSystem, str]
    myelography: Myelography
    codes: list[OrderCode]

    @model_validator(mode="after")
    def _consistent(self) -> OrderCodes:
        _unique([f"{c.system}|{c.code}" for c in self.codes], "order code")
        names = {p.name for p in default_knowledge().acr.procedures}
        for c in self.codes:
            if c.procedure not in names:
                raise ValueError(
                    f"order {c.system}|{c.code}: unknown ACR procedure {c.procedure!r}"
                )
        if self.myelography.procedure not in names:
            raise ValueError(f"unknown ACR procedure {self.myelography.procedure!r}")
        missing = names - {c.procedure for c in self.codes}
        if missing:
            raise ValueError(f"ACR procedures without an orderable code: {sorted(missing)}")
        return self

    @cached_property
    def _lookup(self) -> dict[tuple[str, str], OrderCode]:
        return {(self.systems[c.system], c.code): c for c in self.codes}

    def lookup(self) -> dict[tuple[str, str], OrderCode]:
        """``(system URL, code) -> entry`` (built once; do not modify)."""
        return self._lookup

    @cached_property
    def _by_procedure(self) -> dict[str, tuple[OrderCode, ...]]:
        grouped: dict[str, list[OrderCode]] = {}
        for c in self.codes:
            grouped.setdefault(c.procedure, []).append(c)
        return {name: tuple(group) for name, group in grouped.items()}

    def for_procedure(self, procedure: str) -> tuple[OrderCode, ...]:
        """The entries whose ACR procedure is ``procedure``, in file order (built once)."""
        return self._by_procedure.get(procedure, ())

    @cached_property
    def system_names(self) -> dict[str, str]:
        """``system URL -> system name`` (the inverse of ``systems``; built once)."""
        return {url: name for name, url in self.systems.items()}


# --- medications ----------------------------------------------------------------------------


class Ingredient(_Strict):
    rxnorm: str = Field(pattern=r"^[0-9]+$")
    name: str
    atc: str
    names: list[str]
    verified: bool


class DurationRule(_Strict):
    min_days: int = Field(gt=0)
    merge_gap_days: int = Field(ge=0)
    note: str


class MedicationCodes(_Strict):
    name: Literal["medication-codes"]
    source: str
    systems: dict[Literal["rxnorm", "atc"], str]
    atc_prefixes: list[str]
    ingredients: list[Ingredient]
    non_systemic_stems: list[str]
    duration_rule: DurationRule

    @model_validator(mode="after")
    def _unique_codes(self) -> MedicationCodes:
        _unique([i.rxnorm for i in self.ingredients], "RxNorm code")
        _unique([n.lower() for i in self.ingredients for n in i.names], "ingredient name")
        _unique(self.non_systemic_stems, "non-systemic stem")
        return self

    @cached_property
    def _cuis(self) -> frozenset[str]:
        return frozenset(i.rxnorm for i in self.ingredients)

    @cached_property
    def _names(self) -> frozenset[str]:
        return frozenset(n.lower() for i in self.ingredients for n in i.names)

    def cuis(self) -> frozenset[str]:
        """RxNorm ingredient CUIs (built once)."""
        return self._cuis

    def names(self) -> frozenset[str]:
        """Lower-case ingredient names (built once)."""
        return self._names


# --- loading --------------------------------------------------------------------------------


class CodeTables(_Strict):
    findings: FindingCodes
    conditions: ConditionCodes
    procedures: ProcedureCodes
    orders: OrderCodes
    medications: MedicationCodes


_FILES: dict[str, tuple[str, type[BaseModel]]] = {
    "findings": ("finding_codes.json", FindingCodes),
    "conditions": ("condition_codes.json", ConditionCodes),
    "procedures": ("procedure_codes.json", ProcedureCodes),
    "orders": ("order_codes.json", OrderCodes),
    "medications": ("medication_codes.json", MedicationCodes),
}


M = TypeVar("M", bound=BaseModel)


def load_code_file(path: Path, model: type[M]) -> M:
    """Read and validate one code data file; ``CodeDataError`` names the file."""
    try:
        raw: Any = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as exc:
        raise CodeDataError(f"code file {path.name} is unreadable: {exc}") from exc
    try:
        return model.model_validate(raw)
    except ValidationError as exc:
        raise CodeDataError(f"code file {path.name} is invalid:\n{exc}") from exc


def load_code_tables(data_dir: Path = DATA_DIR) -> CodeTables:
    """Read and validate every code file; raise ``CodeDataError`` naming the bad file."""
    loaded = {key: load_code_file(data_dir / name, model) for key, (name, model) in _FILES.items()}
    return CodeTables.model_validate(loaded)


@lru_cache(maxsize=1)
def code_tables() -> CodeTables:
    """The packaged code tables, loaded once per process."""
    return load_code_tables()
