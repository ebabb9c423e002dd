"""A Condition coded as a finding: the one reader (issue 8: read the record as EHRs code it).

A symptom, sign or risk factor on the problem list (SNOMED CT ``Low back pain``, ICD-10-CM
``M54.50`` / ``R50.9`` / ``D84.821`` / ``Z79.52``...) or picked as an order's indication reads
like the same finding stated without a value. The codes are data: the ``findings`` rows of
``data/standard_maps.json`` with ``value_when_absent`` (served as the ``standard-findings``
ConceptMap) and the site ConceptMaps - one table for Observations, Conditions and indications.

Only boolean findings are read; codes that already have a Condition rule (malignancy, fracture,
osteoporosis: ``condition_codes.json``) keep that meaning only. ICD-10-CM is matched in its
dotted form under either ICD-10 system URI (as ``condition_codes.json`` does). For a Condition:
``clinicalStatus`` active / recurrence / relapse = present; ``verificationStatus`` refuted =
absent; unconfirmed / provisional / differential = unknown; entered-in-error is skipped;
anything else is skipped and reported. An indication (``ServiceRequest.reasonCode``) has no
status: the clinician states it now, so it reads as present.

The adapter uses these candidates only for findings nothing coded (an Observation, a report)
speaks about, like the other findings derived from ordinary EHR data (``app.fhir.derived``).
"""

from __future__ import annotations

from datetime import datetime

from app.clinical.findings import InputIssue
from app.fhir.codes import code_tables
from app.fhir.concept_maps import CodeIndex, index
from app.fhir.history import condition_effects, icd_form
from app.fhir.observations import Candidate
from app.fhir.raw import codings, obj, parse_datetime
from app.fhir.sites import body_site
from app.json_types import JsonObject
from app.knowledge.per_object import PerObject

ICD10CM = "http://hl7.org/fhir/sid/icd-10-cm"
PRESENT_STATUSES = frozenset({"active", "recurrence", "relapse"})
UNKNOWN_VERIFICATION = frozenset({"unconfirmed", "provisional", "differential"})


def _status(concept: object) -> str | None:
    for _, code, _ in codings(concept):
        return code
    return None


def _keys(concept: object) -> list[tuple[str, str]]:
    """``(system, code)`` of each coding, ICD-10-CM in its dotted form under one URI."""
    families = code_tables().conditions.family_of()
    out = []
    for system, code, _ in codings(concept):
        if system is None:
            continue
        if families.get(system) == "icd-10-cm":
            out.append((ICD10CM, icd_form(code)))
        else:
            out.append((system, code.strip()))
    return out


def _make_codes(idx: CodeIndex) -> frozenset[str]:
    """Every code of ``present_if_no_value`` as written and in compact ICD form (no dot,
    upper case): a Condition none of whose raw codes is among them cannot match."""
    codes = {code for _, code in idx.present_if_no_value}
    codes |= {code.replace(".", "").upper() for code in codes}
    return frozenset(codes)


_codes_of = PerObject(_make_codes, limit=1)  # the current code index only


def finding_codes() -> frozenset[str]:
    """``_make_codes`` of the current code index: ``may_name_finding``'s second argument."""
    return _codes_of(index())


def may_name_finding(concept: object, codes: frozenset[str]) -> bool:
    """False when ``finding_of(concept)`` is certainly ``None`` (no raw code is among
    ``codes``, which is ``finding_codes()``): its first test, without its lookups."""
    raw = concept.get("coding") if concept.__class__ is dict else None
    if raw.__class__ is not list:
        return False
    for coding in raw:  # the hot path: ten Conditions a request, nearly all without a match
        code = coding.get("code") if coding.__class__ is dict else None
        if code.__class__ is str:
            code = code.strip()
            if code in codes or code.replace(".", "").upper() in codes:
                return True
    return False


def finding_of(concept: object) -> str | None:
    """The boolean project finding a Condition / indication code stands for, if any."""
    idx = index()
    if not may_name_finding(concept, _codes_of(idx)):
        return None
    match = next(
        (idx.finding_by_coding[k] for k in _keys(concept) if k in idx.present_if_no_value), None
    )
    if match is None or condition_effects(concept):
        return None
    if code_tables().findings.by_code()[match].type != "boolean":
        return None
    return match


def read_indication_findings(
    concept: object, source: str, effective: datetime | None
) -> list[Candidate]:
    """The finding an order's ``reasonCode`` names (present, no level)."""
    match = finding_of(concept)
    return [] if match is None else [Candidate(match, True, source, None, None, effective)]


def _onset(resource: JsonObject) -> datetime | None:
    """onsetDateTime, onsetPeriod.start or recordedDate: the first that parses."""
    period = obj(resource, "onsetPeriod")
    for raw in (
        resource.get("onsetDateTime"),
        period.get("start") if period else None,
        resource.get("recordedDate"),
    ):
        if (moment := parse_datetime(raw)) is not None:
            return moment
    return None


def read_condition_findings(
    resource: JsonObject, label: str
) -> tuple[list[Candidate], list[InputIssue]]:
    """Finding candidates of one Condition (usually none)."""
    match = finding_of(resource.get("code"))
    if match is None:
        return [], []
    verification = _status(obj(resource, "verificationStatus"))
    clinical = _status(obj(resource, "clinicalStatus"))
    value: bool | None
    if verification == "entered-in-error":
        return [], []
    if verification == "refuted":
        value = False
    elif verification in UNKNOWN_VERIFICATION:
        value = None
    elif clinical in PRESENT_STATUSES:
        value = True
    else:
        shown = clinical or "missing"
        message = f"clinicalStatus {shown}: {match} not read from this Condition"
        return [], [InputIssue("information", f"{label}.clinicalStatus", message)]
    level = None
    if code_tables().findings.by_code()[match].per_level:
        site = body_site(resource)
        if site.error is not None:
            message = f"{site.error}; {match} skipped"
            return [], [InputIssue("error", f"{label}.bodySite", message)]
        level = site.level
    return [Candidate(match, value, label, level, None, _onset(resource))], []
