"""The order's indication: ``ServiceRequest.reasonCode`` and ``reasonReference`` (issue 8 item 3).

The indication the clinician picks when ordering is evidence like a Condition with the same
code: each coded ``reasonCode[n]`` is read by the Condition rules (``condition_codes.json``) and
as a Condition coded as a finding (``app.fhir.condition_findings``) with provenance
``ServiceRequest/<id>.reasonCode[n]``; each ``reasonReference[n]`` to a Condition or Observation
found among the resources of the request (prefetch, posted Bundle, or fetched from the FHIR
server by the hook) is read as that resource, with provenance
``ServiceRequest/<id>.reasonReference[n]``. ``reasonCode.text`` without a coding is reported as
uncoded and never interpreted. Nothing here raises on input.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime

from app.clinical.findings import InputIssue
from app.fhir.condition_findings import (
    finding_of,
    read_condition_findings,
    read_indication_findings,
)
from app.fhir.derived import derive_from_observation, derived_rules
from app.fhir.history import HistorySources, condition_effects, read_condition
from app.fhir.observations import Candidate, read_observation
from app.fhir.raw import codings, obj, objs, parse_datetime, text
from app.json_types import JsonObject

Resource = JsonObject
REFERENCE = re.compile(r"(?:^|/)(Condition|Observation)/([A-Za-z0-9\-.]{1,64})$")


@dataclass
class IndicationRead:
    """What the indications of the draft orders contributed."""

    candidates: list[Candidate] = field(default_factory=list)  # coded findings (Observations)
    derived: list[Candidate] = field(default_factory=list)  # Conditions coded as findings
    issues: list[InputIssue] = field(default_factory=list)


def reason_references(order: Resource) -> list[tuple[int, str, str]]:
    """``(n, resourceType, id)`` of each ``reasonReference[n]`` to a Condition/Observation."""
    out: list[tuple[int, str, str]] = []
    limit = derived_rules().indication.max_references_per_order
    for n, ref in enumerate(objs(order, "reasonReference")[:limit]):
        raw = text(ref, "reference", 512)
        match = REFERENCE.search(raw) if raw else None
        if match:
            out.append((n, match.group(1), match.group(2)))
    return out


def _authored(order: Resource) -> datetime | None:
    return parse_datetime(order.get("authoredOn"))


def _reason_code(
    order: Resource, label: str, history: HistorySources, into: IndicationRead
) -> None:
    authored = _authored(order)
    for n, concept in enumerate(objs(order, "reasonCode")):
        where = f"{label}.reasonCode[{n}]"
        coded = codings(concept)
        if not coded:
            if text(concept, "text", 512):
                message = "indication given as text only (no coding): not interpreted"
                into.issues.append(InputIssue("information", where, message))
            continue
        known = bool(condition_effects(concept)) or finding_of(concept) is not None
        if not known:
            system, code, _ = coded[0]
            shown = f"{(system or '(no system)')[:60]}|{code[:40]}"
            message = f"indication ({shown}) has no code this service reads; ignored"
            into.issues.append(InputIssue("information", where, message))
            continue
        # read as a Condition with this code, first documented when the order was written
        pseudo: Resource = {"resourceType": "Condition", "code": concept}
        if authored is not None:
            pseudo["recordedDate"] = order.get("authoredOn")
        read_condition(pseudo, where, history, into.issues)
        into.derived += read_indication_findings(concept, where, authored)


def _reason_reference(
    order: Resource,
    label: str,
    resources: Mapping[str, Resource],
    history: HistorySources,
    into: IndicationRead,
    today: date,
    other_patient: Callable[[Resource, str], bool],
) -> None:
    for n, rtype, rid in reason_references(order):
        where = f"{label}.reasonReference[{n}]"
        target = resources.get(f"{rtype}/{rid}")
        if target is None:
            message = f"{rtype}/{rid} is neither in the request nor fetched; not read"
            into.issues.append(InputIssue("warning", where, message))
            continue
        if other_patient(target, where):
            continue
        if rtype == "Condition":
            read_condition(target, where, history, into.issues)
            found_c, notes = read_condition_findings(target, where)
            into.derived += found_c
            into.issues += notes
        else:
            found, problems = read_observation(target, where)
            into.candidates += found
            if not found:
                derived = derive_from_observation(target, where, today, into.issues)
                into.derived += derived
                if derived:
                    problems = [p for p in problems if p.location != f"{where}.code"]
            into.issues += problems
    for n, ref in enumerate(objs(order, "reasonReference")):
        raw = text(ref, "reference", 512)
        if raw is None or not REFERENCE.search(raw):
            shown = (raw or text(obj(ref, "identifier"), "value", 64) or "no reference")[:80]
            message = f"reasonReference {shown} is not a Condition or Observation; not read"
            into.issues.append(InputIssue("information", f"{label}.reasonReference[{n}]", message))


def read_indications(
    orders: list[tuple[Resource, str]],
    resources: Mapping[str, Resource],
    history: HistorySources,
    today: date,
    other_patient: Callable[[Resource, str], bool],
) -> IndicationRead:
    """Read the indication of every draft order ``(resource, label)``; ``resources`` maps
    ``"Condition/<id>"`` / ``"Observation/<id>"`` to the resources of the request."""
    into = IndicationRead()
    for order, label in orders:
        _reason_code(order, label, history, into)
        _reason_reference(order, label, resources, history, into, today, other_patient)
    return into
