"""Findings derived from ordinary EHR data (``data/derived_findings.json``; issue 8 item 5).

Each rule is data naming its codes, its threshold and its source:

- Observation rules: fever from a body temperature (LOINC 8310-5 and relatives, UCUM ``Cel`` /
  ``[degF]`` converted to Cel, threshold a stated policy), ECOG from LOINC 89247-1
  (``valueInteger`` or a LOINC LA / SNOMED CT answer code).
- A Condition (or an order's indication) coded as a finding (low back pain -> ``symptomatic``,
  D84.821 -> ``immunosuppression``, Z79.52 -> ``prolonged-corticosteroids``) is read by
  ``app.fhir.condition_findings`` from the standard maps / site ConceptMaps.
- Fracture enumeration: a listed assessment (RadElement RDES230) with a final status.

A derived value never outranks a finding coded with the project code (or its synonym): the
adapter uses derived candidates only for finding codes nothing coded speaks about. Problems are
``InputIssue``s, never errors.
"""

from __future__ import annotations

from datetime import date, timedelta
from functools import cached_property, lru_cache
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from app.clinical.findings import FractureEnumeration, InputIssue
from app.fhir.codes import ICD_CODE, LOINC_CODE, code_tables, load_code_file
from app.fhir.observations import Candidate, effective_time
from app.fhir.raw import codings, is_number, obj, objs, text
from app.json_types import JsonObject

DATA_FILE = Path(__file__).parent / "data" / "derived_findings.json"
USED_STATUSES = frozenset({"final", "amended", "corrected", "preliminary"})
Family = Literal["loinc", "snomed", "icd-10-cm"]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


def _check_code(family: str, code: str) -> None:
    if family == "loinc" and not (LOINC_CODE.match(code) or code.startswith("LA")):
        raise ValueError(f"malformed LOINC code {code!r}")
    if family == "snomed" and not code.isdigit():
        raise ValueError(f"malformed SNOMED CT code {code!r}")
    if family == "icd-10-cm" and not ICD_CODE.match(code):
        raise ValueError(f"malformed ICD-10-CM code {code!r}")


class _Code(_Strict):
    """A code of a known family, in its family's form, with the source that names it."""

    system: Family
    code: str
    source: str = Field(min_length=3)

    @model_validator(mode="after")
    def _form(self) -> _Code:
        _check_code(self.system, self.code)
        return self


class RuleCode(_Code):
    display: str


class Answer(_Code):
    value: int


class UnitConversion(_Strict):
    scale: float
    offset: float  # value in the rule's unit = raw * scale + offset


class Threshold(_Strict):
    op: Literal[">=", ">"]
    value: float
    unit: str


class ObservationRule(_Strict):
    id: str
    finding: str
    kind: Literal["threshold", "score"]
    codes: list[RuleCode] = Field(min_length=1)
    units: dict[str, UnitConversion] = {}
    threshold: Threshold | None = None
    max_age_days: int | None = Field(default=None, gt=0)
    answers: list[Answer] = []
    range: tuple[int, int] | None = None
    policy: bool
    source: str = Field(min_length=10)

    @model_validator(mode="after")
    def _complete(self) -> ObservationRule:
        if self.kind == "threshold":
            if self.threshold is None or self.threshold.unit not in self.units:
                raise ValueError(f"{self.id}: a threshold rule needs a threshold in one of units")
        elif self.range is None:
            raise ValueError(f"{self.id}: a score rule needs a range")
        return self


class Indication(_Strict):
    source: str
    reference_types: list[Literal["Condition", "Observation"]]
    max_references_per_order: int = Field(gt=0, le=100)


class EnumerationCode(_Strict):
    system: str
    code: str
    display: str
    source: str


class FractureEnumerationRule(_Strict):
    source: str
    observation_codes: list[EnumerationCode] = Field(min_length=1)
    statuses: list[str] = Field(min_length=1)


class NotMapped(_Strict):
    finding: str
    reason: str


class DerivedRules(_Strict):
    name: Literal["derived-findings"]
    version: str
    source: str
    systems: dict[str, str]
    observation_rules: list[ObservationRule]
    indication: Indication
    fracture_enumeration: FractureEnumerationRule
    age: dict[str, str]
    not_mapped: list[NotMapped]

    @model_validator(mode="after")
    def _consistent(self) -> DerivedRules:
        known = code_tables().findings.by_code()
        ids: set[str] = set()
        keys: set[tuple[str, str]] = set()
        named: list[tuple[str, str]] = [(r.id, r.finding) for r in self.observation_rules]
        for rule_id, finding in named:
            if rule_id in ids:
                raise ValueError(f"duplicate rule id {rule_id!r}")
            ids.add(rule_id)
            if finding not in known:
                raise ValueError(f"{rule_id}: {finding!r} is not a project finding code")
        for o_rule in self.observation_rules:
            for code in o_rule.codes:
                if (code.system, code.code) in keys:
                    raise ValueError(f"{o_rule.id}: code {code.code} is used twice")
                keys.add((code.system, code.code))
        for family in ("loinc", "snomed", "icd-10-cm"):
            if family not in self.systems:
                raise ValueError(f"systems needs a URL for {family}")
        return self

    @cached_property
    def _observation_index(self) -> dict[tuple[str, str], ObservationRule]:
        return {
            (self.systems[c.system], c.code): rule
            for rule in self.observation_rules
            for c in rule.codes
        }

    def observation_rule(self, system: str | None, code: str) -> ObservationRule | None:
        return self._observation_index.get((system or "", code))

    @cached_property
    def _enumeration_keys(self) -> frozenset[tuple[str, str]]:
        return frozenset((c.system, c.code) for c in self.fracture_enumeration.observation_codes)

    @cached_property
    def _enumeration_codes(self) -> frozenset[str]:
        return frozenset(code for _, code in self._enumeration_keys)

    def is_enumeration(self, concept: object) -> bool:
        # hot path (every Observation): reject on the raw codes before the tolerant reader
        raw = concept.get("coding") if concept.__class__ is dict else None
        if raw.__class__ is not list:
            return False
        codes = self._enumeration_codes
        for coding in raw:  # a plain loop: no generator frame per Observation
            code = coding.get("code") if coding.__class__ is dict else None
            if code.__class__ is str and code.strip() in codes:
                return any((s or "", c) in self._enumeration_keys for s, c, _ in codings(concept))
        return False


def load_derived_rules(path: Path = DATA_FILE) -> DerivedRules:
    """Read and validate the derived-finding rules; ``CodeDataError`` names the file."""
    return load_code_file(path, DerivedRules)


@lru_cache(maxsize=1)
def derived_rules() -> DerivedRules:
    """The packaged rules, loaded (and validated) once per process."""
    return load_derived_rules()


# --- Observations ---------------------------------------------------------------------------


def _temperature(
    resource: JsonObject, rule: ObservationRule, label: str, issues: list[InputIssue]
) -> float | None:
    quantity = obj(resource, "valueQuantity")
    value = quantity.get("value") if quantity else None
    if quantity is None or not is_number(value):
        issues.append(InputIssue("information", label, f"{rule.id}: no valueQuantity; not read"))
        return None
    unit = text(quantity, "code", 16) or text(quantity, "unit", 16) or ""
    conversion = rule.units.get(unit)
    if conversion is None:
        known = ", ".join(rule.units)
        message = f"{rule.id}: unit {unit[:16] or 'missing'} is not one of {known}; not read"
        issues.append(InputIssue("warning", f"{label}.valueQuantity", message))
        return None
    return float(value) * conversion.scale + conversion.offset


def _score(
    resource: JsonObject, rule: ObservationRule, label: str, issues: list[InputIssue]
) -> int | None:
    raw = resource.get("valueInteger")
    low, high = rule.range or (0, 0)
    if isinstance(raw, int) and not isinstance(raw, bool):
        if low <= raw <= high:
            return raw
        message = f"{rule.id}: {raw} is outside {low}-{high}; not read"
        issues.append(InputIssue("error", f"{label}.valueInteger", message))
        return None
    answers = {(derived_rules().systems[a.system], a.code): a.value for a in rule.answers}
    for system, code, _ in codings(resource.get("valueCodeableConcept")):
        if (system or "", code) in answers:
            return answers[(system or "", code)]
    issues.append(InputIssue("information", label, f"{rule.id}: no value this rule reads"))
    return None


def _observation_rule(concept: object) -> ObservationRule | None:
    """The rule of the first coding of ``concept`` that has one (raw dict lookups: this runs
    for every Observation without a finding code)."""
    index = derived_rules()._observation_index
    coding = concept.get("coding") if isinstance(concept, dict) else None
    if not isinstance(coding, list):
        return None
    for c in coding:
        if isinstance(c, dict):
            system, code = c.get("system"), c.get("code")
            if isinstance(system, str) and isinstance(code, str):
                rule = index.get((system.strip(), code.strip()))
                if rule is not None:
                    return rule
    return None


def derive_from_observation(
    resource: JsonObject, label: str, today: date, issues: list[InputIssue]
) -> list[Candidate]:
    """Candidates of one Observation that carries no project finding code."""
    rule = _observation_rule(resource.get("code"))
    if rule is None:  # the usual case: a vital sign or lab this service does not read
        return []
    if text(resource, "status", 40) not in USED_STATUSES:
        return []
    effective = effective_time(resource, label, [])
    if rule.kind == "threshold":
        if rule.max_age_days is not None:
            if effective is None:
                message = (
                    f"{rule.id}: no date; a reading must be at most {rule.max_age_days} days old"
                )
                issues.append(InputIssue("information", label, message))
                return []
            if effective.date() < today - timedelta(days=rule.max_age_days):
                message = f"{rule.id}: older than {rule.max_age_days} days; not used"
                issues.append(InputIssue("information", label, message))
                return []
        celsius = _temperature(resource, rule, label, issues)
        if celsius is None or rule.threshold is None:
            return []
        limit = rule.threshold.value
        present = celsius >= limit if rule.threshold.op == ">=" else celsius > limit
        return [Candidate(rule.finding, present, label, None, None, effective)]
    score = _score(resource, rule, label, issues)
    if score is None:
        return []
    return [Candidate(rule.finding, score, label, None, None, effective)]


# --- fracture enumeration -------------------------------------------------------------------


def is_enumeration(resource: JsonObject) -> bool:
    """Whether ``resource`` is a listed fracture assessment (RadElement RDES230 ...)."""
    return derived_rules().is_enumeration(resource.get("code"))


def _members(resource: JsonObject) -> list[str] | None:
    """``Observation/<id>`` of each ``hasMember``; None when one is not such a reference."""
    out = []
    for ref in objs(resource, "hasMember"):
        raw = text(ref, "reference", 512) or ""
        tail = "/".join(raw.split("/")[-2:])
        if not tail.startswith("Observation/"):
            return None
        out.append(tail)
    return out


def enumerations(
    panels: list[tuple[JsonObject, str, list[Candidate]]],
    candidates: list[Candidate],
    issues: list[InputIssue],
) -> list[FractureEnumeration]:
    """Complete lists of fractured levels (fhir-input.md "Other resources"). A panel is a
    listed assessment (RadElement RDES230) with a final status; its ``vcf`` findings are its
    own (component) candidates and those of its ``hasMember`` Observations. It is complete only
    when every member is in the request and every fracture it reports has a level; then its
    levels are those with ``vcf`` true (none when it reports no fracture)."""
    if not panels:
        return []
    by_source: dict[str, list[Candidate]] = {}
    for c in candidates:
        by_source.setdefault(c.source.split("#", 1)[0], []).append(c)
    statuses = derived_rules().fracture_enumeration.statuses
    out: list[FractureEnumeration] = []
    for resource, label, own in panels:
        if text(resource, "status", 40) not in statuses:
            continue
        members = _members(resource)
        missing = [m for m in members or [] if m not in by_source]
        if members is None or missing:
            shown = ", ".join(missing)[:120] or "a member that is not an Observation"
            message = f"fracture list not complete ({shown} not read); fractures not counted"
            issues.append(InputIssue("warning", f"{label}.hasMember", message))
            continue
        fractures = [c for c in own if c.code == "vcf"]
        fractures += [c for m in members for c in by_source[m] if c.code == "vcf"]
        if not fractures or any(c.value is None for c in fractures):
            continue
        present = [c for c in fractures if c.value is True]
        if any(c.level is None for c in present):
            message = "a fracture without a vertebral level; fractures not counted"
            issues.append(InputIssue("warning", label, message))
            continue
        levels = tuple(sorted({c.level for c in present if c.level is not None}))
        effective = next((c.effective for c in fractures if c.effective is not None), None)
        out.append(FractureEnumeration(label, levels, effective))
    return out
