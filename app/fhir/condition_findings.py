"""Condition -> finding candidates: a symptom or finding on the problem list (SNOMED CT
``Low back pain``, ICD-10-CM ``R50.9`` fever...) reads like the same Observation stated without
a value (issue 8: read the record as EHRs code it).

Only codes of the standard / site maps that stand for a clinical finding (``value_when_absent``)
and boolean findings are read; codes that already have a Condition rule (malignancy, fracture,
osteoporosis: ``condition_codes.json``) keep that meaning only. ``clinicalStatus`` active /
recurrence / relapse = present; ``verificationStatus`` refuted = absent; unconfirmed /
provisional / differential = unknown; anything else is skipped and reported.
"""

from __future__ import annotations

from typing import Any

from app.clinical.findings import InputIssue
from app.fhir.codes import code_tables
from app.fhir.concept_maps import index
from app.fhir.history import condition_effects, icd_form
from app.fhir.observations import Candidate
from app.fhir.raw import codings, obj, parse_datetime, text
from app.fhir.sites import body_site

ICD10CM = "http://hl7.org/fhir/sid/icd-10-cm"
PRESENT_STATUSES = frozenset({"active", "recurrence", "relapse"})
UNKNOWN_VERIFICATION = frozenset({"unconfirmed", "provisional", "differential"})


def _status(concept: object) -> str | None:
    for _, code, _ in codings(concept):
        return code
    return None


def read_condition_findings(
    resource: dict[str, Any], label: str
) -> tuple[list[Candidate], list[InputIssue]]:
    """Finding candidates of one Condition (usually none)."""
    idx = index()
    keys = [
        (s, icd_form(c) if s == ICD10CM else c)
        for s, c, _ in codings(resource.get("code"))
        if s is not None
    ]
    match = next((idx.finding_by_coding[k] for k in keys if k in idx.present_if_no_value), None)
    if match is None or condition_effects(resource.get("code")):
        return [], []
    spec = code_tables().findings.by_code()[match]
    if spec.type != "boolean":
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
    if spec.per_level:
        site = body_site(resource)
        if site.error is not None:
            message = f"{site.error}; {match} skipped"
            return [], [InputIssue("error", f"{label}.bodySite", message)]
        level = site.level
    when = None
    for field in ("onsetDateTime", "recordedDate"):
        when = parse_datetime(text(resource, field))
        if when is not None:
            break
    return [Candidate(match, value, label, level, None, when)], []
