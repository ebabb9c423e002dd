"""Coverage report: per resource, what it contributed and why anything was ignored (issue 8
item 7).

Built after the read from what the adapter produced (findings, history facts, orders and
``InputIssue``s, all of which name their source resource), plus the codings no map knows: an
Observation or component code without a finding, or a Condition / Procedure code that no rule
uses. Those ``unmapped`` codings feed the ``vcf_cds_unmapped_codings`` metric so an integration
engineer sees what to map next (a site ConceptMap, docs/fhir-inputs.md).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field

from app.clinical.findings import FindingValue, PatientFindings
from app.fhir.observations import NOT_A_FINDING
from app.fhir.raw import MAX_TOKEN, codings, objs, resource_label
from app.json_types import JsonObject

MAX_UNMAPPED_PER_RESOURCE = 10


@dataclass
class Contribution:
    input: str  # finding code or history input ("malignancy_history", "etiology", "order")
    level: str | None = None
    value: FindingValue | None = None


@dataclass(frozen=True, slots=True)
class Ignored:
    """Why (part of) a resource was not read."""

    location: str  # ``Observation/a.valueQuantity``, or the resource label
    reason: str


@dataclass
class ResourceCoverage:
    resource: str
    contributed: list[Contribution] = field(default_factory=list)
    ignored: list[Ignored] = field(default_factory=list)
    unmapped: list[tuple[str, str]] = field(default_factory=list)  # (system, code)


def _owner(location: str, labels: set[str]) -> str:
    """``Observation/a.valueQuantity`` / ``Observation/a#component[1]`` -> ``Observation/a``
    (the longest known label the location starts with; ids may contain dots)."""
    if location in labels:
        return location
    cut = len(location)
    while cut > 0:
        cut = max(location.rfind(".", 0, cut), location.rfind("#", 0, cut))
        if cut <= 0:
            break
        if location[:cut] in labels:
            return location[:cut]
    return location


def _unmapped_codes(concept: object) -> list[tuple[str, str]]:
    return [(s or "(no system)", c[:MAX_TOKEN]) for s, c, _ in codings(concept)]


def _element(resource: JsonObject, path: str) -> object:
    """The CodeableConcept at ``code`` or ``component[i].code`` of ``resource``."""
    if path == "code":
        return resource.get("code")
    if path.startswith("component[") and path.endswith("].code"):
        i = path[len("component[") : -len("].code")]
        components = objs(resource, "component")
        if i.isdigit() and int(i) < len(components):
            return components[int(i)].get("code")
    return None


def _label(resource: JsonObject, index: int) -> str:
    """``resource_label``, inlined for the usual plain-string type and id."""
    if resource.__class__ is dict:
        rtype, rid = resource.get("resourceType"), resource.get("id")
        if rtype.__class__ is str and rid.__class__ is str and len(rtype) <= 64 >= len(rid):
            rtype = rtype.strip() or "Resource"
            rid = rid.strip()
            return f"{rtype}/{rid}" if rid else f"{rtype}[{index}]"
    return resource_label(resource, index)


def coverage_report(
    resources: Sequence[JsonObject],
    draft_orders: Sequence[JsonObject],
    pf: PatientFindings,
) -> list[ResourceCoverage]:
    """One entry per resource read (in input order), then one per draft order."""
    everything = [*resources, *draft_orders]
    labels = [_label(r, i) for i, r in enumerate(everything)]
    known = set(labels)
    contributed: dict[str, list[Contribution]] = {}

    def add(source: str, contribution: Contribution) -> None:
        owner = source if source in known else _owner(source, known)
        got = contributed.get(owner)
        if got is None:
            contributed[owner] = [contribution]
        else:
            got.append(contribution)

    for source, code, level, value in _contributions(pf):
        add(source, Contribution(code, level, value))
    for o in pf.orders:
        label = f"{o.resource_type}/{o.resource_id}"
        contribution = Contribution("order", None, o.procedure or "not rated")
        contributed.setdefault(label, []).append(contribution)
    ignored: dict[str, list[Ignored]] = defaultdict(list)
    for issue in pf.issues:
        owner = _owner(issue.location, known)
        ignored[owner].append(Ignored(issue.location, issue.message))
    unmapped_at = _unmapped_paths(pf, known)
    report: list[ResourceCoverage] = []
    seen: set[str] = set()
    for label, resource in zip(labels, everything, strict=True):
        if label in seen:
            continue
        seen.add(label)
        got = contributed.get(label, [])
        why = ignored.get(label, [])
        rtype = resource.get("resourceType")
        unmapped = _resource_unmapped(resource, rtype, unmapped_at.get(label), bool(got))
        if not got and not why:
            reason = _silent_reason(rtype, unmapped)
            if reason:
                why.append(Ignored(label, reason))
        report.append(ResourceCoverage(label, got, why, unmapped))
    return report


def _silent_reason(rtype: object, unmapped: list[tuple[str, str]]) -> str | None:
    if unmapped:
        return "no code of this resource is mapped to a VCF-CDS input"
    if rtype == "Observation":
        return "superseded: a newer value of the same finding was used"
    if rtype in ("Patient", "Medication"):
        return None  # read for context (birth date, medication codes), no finding of its own
    return "nothing in this resource is used by the rules"


def unmapped_codings(
    resources: Sequence[JsonObject],
    draft_orders: Sequence[JsonObject],
    pf: PatientFindings,
) -> list[tuple[str, str]]:
    """The ``unmapped`` codings of ``coverage_report``, in its order, without the rest of the
    report: what the ``vcf_cds_unmapped_codings`` metric counts on every CDS call."""
    everything = [*resources, *draft_orders]
    labels = [_label(r, i) for i, r in enumerate(everything)]
    known = set(labels)
    unmapped_at = _unmapped_paths(pf, known)
    contributing: set[str] | None = None  # owners with a contribution, only if needed
    out: list[tuple[str, str]] = []
    seen: set[str] = set()
    for label, resource in zip(labels, everything, strict=True):
        if label in seen:
            continue
        seen.add(label)
        rtype = resource.get("resourceType")
        if rtype == "Observation":
            if label in unmapped_at:
                out += _resource_unmapped(resource, rtype, unmapped_at[label], False)
            continue
        if rtype not in ("Condition", "Procedure"):
            continue
        if contributing is None:
            contributing = {s if s in known else _owner(s, known) for s, *_ in _contributions(pf)}
            contributing.update(f"{o.resource_type}/{o.resource_id}" for o in pf.orders)
        out += _resource_unmapped(resource, rtype, None, label in contributing)
    return out


def _contributions(
    pf: PatientFindings,
) -> Iterator[tuple[str, str, str | None, FindingValue | None]]:
    """(source location, input, level, value) of every finding and history fact (not the
    orders)."""
    for f in pf.findings:
        for source in f.sources:
            yield source, f.code, f.level, f.value
    history = {
        "malignancy_history": pf.malignancy_history,
        "prior_vcf_treatment": pf.prior_vcf_treatment,
        "prolonged_corticosteroids": pf.prolonged_corticosteroids,
        "bone_metastasis": pf.bone_metastasis,
        "osteoporosis": pf.osteoporosis,
    }
    for name, fact in history.items():
        for source in fact.sources:
            yield source, name, None, fact.value
    for e in pf.etiology:
        for source in e.sources:
            yield source, "etiology", None, e.value
    for fr in pf.documented_fractures:
        for source in fr.sources:
            yield source, "vcf", fr.level, True


def _unmapped_paths(pf: PatientFindings, known: set[str]) -> dict[str, list[str]]:
    """Resource label -> the paths ("code", "component[i].code") whose coding no map knows."""
    paths: dict[str, list[str]] = {}
    for issue in pf.issues:
        if issue.message.startswith(NOT_A_FINDING):
            owner = _owner(issue.location, known)
            if issue.location.startswith(owner + "."):
                paths.setdefault(owner, []).append(issue.location[len(owner) + 1 :])
    return paths


def _resource_unmapped(
    resource: JsonObject, rtype: object, paths: list[str] | None, contributed: bool
) -> list[tuple[str, str]]:
    """An Observation's codings at ``paths``; a Condition's or Procedure's codes when it
    contributed nothing (at most ``MAX_UNMAPPED_PER_RESOURCE``)."""
    unmapped: list[tuple[str, str]] = []
    if rtype == "Observation":
        for path in paths or ():
            unmapped += _unmapped_codes(_element(resource, path))
    elif rtype in ("Condition", "Procedure") and not contributed:
        unmapped = _unmapped_codes(resource.get("code"))
    return unmapped[:MAX_UNMAPPED_PER_RESOURCE]
