"""FHIR R4 JSON -> ``PatientFindings`` (the contract is ``shared/spec/fhir-input.md``).

Hot path: raw dicts are read with narrow, tolerant accessors (``app.fhir.raw``); no FHIR model
is validated here. One bad resource, component or value is skipped and reported as an
``InputIssue`` naming the resource and field; nothing here raises on input. Newest
(effectiveDateTime / effectivePeriod.end / issued) wins per finding code and level. History is
closed-world only for the kinds of record the caller says were obtained. DiagnosticReport:
``app.fhir.reports`` (findings read from its narrative never outrank coded ones).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import UTC, date, datetime

from app.clinical.findings import (
    Finding,
    HistoryFact,
    InputIssue,
    PatientFindings,
)
from app.fhir.condition_findings import (
    finding_codes,
    may_name_finding,
    read_condition_findings,
)
from app.fhir.derived import (
    derive_from_observation,
    enumerations,
    is_enumeration,
)
from app.fhir.history import HistorySources, merge_fractures, read_condition, read_procedure
from app.fhir.indication import read_indications
from app.fhir.medications import (
    IGNORED_STATUSES,
    Course,
    course_of,
    is_systemic_corticosteroid,
    prolonged,
)
from app.fhir.observations import Candidate, plain_one, plain_plans, tolerant_read
from app.fhir.orders import read_order
from app.fhir.raw import objs, parse_date, reference_id, resource_label, text
from app.fhir.report_count import report_enumerations
from app.fhir.reports import NarrativeBudget, read_report, without_outranked_text
from app.json_types import JsonObject

MAX_DEPTH = 4  # Bundles inside Bundles
MAX_RESOURCES = 10_000
MEDICATION_TYPES = ("MedicationStatement", "MedicationRequest")
# resource types read here: a JSON object with one of these exactly as its resourceType is a
# resource as it stands (not a Bundle or OperationOutcome to unpack)
_READ_TYPES = frozenset(
    {"Patient", "Observation", "Condition", "Procedure", "ServiceRequest", "Medication"}
    | {"DiagnosticReport"}
    | set(MEDICATION_TYPES)
)
_OLDEST = datetime.min.replace(tzinfo=UTC)

Resource = JsonObject


# --- unpacking ------------------------------------------------------------------------------


def _plain_type(value: object) -> str | None:
    """The ``resourceType`` of a JSON object whose type is exactly one of those read here
    (``text`` gives it unchanged; not a Bundle or OperationOutcome): ``_unpack`` takes such a
    value as one resource, with no issue."""
    if isinstance(value, dict):
        rtype = value.get("resourceType")
        if rtype.__class__ is str and rtype in _READ_TYPES:
            return rtype
    return None


def unpack(value: object, location: str) -> tuple[list[Resource], list[InputIssue]]:
    """Resources in a prefetch value, Bundle (any or no ``type``), list or single resource.

    ``null`` and OperationOutcome give an ``InputIssue`` (the data were not obtained), never
    resources; anything that is not a resource is reported and skipped.
    """
    resources: list[Resource] = []
    issues: list[InputIssue] = []
    _unpack(value, location, 0, resources, issues)
    return resources, issues


def _outcome_summary(outcome: Resource) -> str:
    parts = []
    for issue in objs(outcome, "issue")[:5]:
        severity = text(issue, "severity", 16) or "?"
        code = text(issue, "code", 32) or "?"
        parts.append(f"{severity}/{code}")
    return ", ".join(parts) or "no issue given"


def _unpack(
    value: object, where: str, depth: int, out: list[Resource], issues: list[InputIssue]
) -> None:
    if len(out) >= MAX_RESOURCES:
        issues.append(InputIssue("error", where, f"more than {MAX_RESOURCES} resources; skipped"))
        return
    if value is None:
        issues.append(InputIssue("warning", where, "no data (null): not obtained"))
        return
    if isinstance(value, list):
        if depth >= MAX_DEPTH:
            issues.append(InputIssue("error", where, "nested too deeply; skipped"))
            return
        for i, item in enumerate(value[:MAX_RESOURCES]):
            _unpack(item, f"{where}[{i}]", depth + 1, out, issues)
        return
    if not isinstance(value, dict):
        issues.append(InputIssue("error", where, "not a FHIR resource (expected a JSON object)"))
        return
    rtype = text(value, "resourceType", 64)
    if rtype is None:
        issues.append(InputIssue("error", where, "not a FHIR resource (no resourceType)"))
    elif rtype == "OperationOutcome":
        summary = _outcome_summary(value)
        what = "reported by the server" if ".entry[" in where else "instead of data"
        issues.append(InputIssue("warning", where, f"OperationOutcome {what} ({summary})"))
    elif rtype == "Bundle":
        _unpack_bundle(value, where, depth, out, issues)
    else:
        out.append(value)


def _unpack_bundle(
    bundle: Resource, where: str, depth: int, out: list[Resource], issues: list[InputIssue]
) -> None:
    if depth >= MAX_DEPTH:
        issues.append(InputIssue("error", where, "Bundle nested too deeply; skipped"))
        return
    entries = bundle.get("entry")
    if entries is None:
        return
    if not isinstance(entries, list):
        issues.append(InputIssue("error", f"{where}.entry", "entry is not a list; skipped"))
        return
    for i, entry in enumerate(entries[:MAX_RESOURCES]):
        if isinstance(entry, dict) and "resource" in entry:
            resource = entry["resource"]
            if (  # ``_plain_type``, inlined
                len(out) < MAX_RESOURCES
                and isinstance(resource, dict)
                and (rtype := resource.get("resourceType")).__class__ is str
                and rtype in _READ_TYPES
            ):
                out.append(resource)  # what ``_unpack`` does with it, without its location
                continue
            _unpack(resource, f"{where}.entry[{i}].resource", depth + 1, out, issues)
        elif not isinstance(entry, dict):
            issues.append(InputIssue("error", f"{where}.entry[{i}]", "entry is not an object"))


# --- reading --------------------------------------------------------------------------------


def _newest(group: list[Candidate], issues: list[InputIssue]) -> Finding:
    """Newest known value wins; a newer unknown never hides an older known value; values
    that disagree at the same newest time give unknown (with a warning)."""
    if len(group) == 1:  # the usual case: one reading of this code at this level
        c = group[0]
        return Finding(c.code, c.value, (c.source,), c.level, c.unit, c.effective, c.from_text)
    known = [c for c in group if c.value is not None]
    pool = known or group
    latest = max(c.effective or _OLDEST for c in pool)
    newest = [c for c in pool if (c.effective or _OLDEST) == latest]
    sources = tuple(dict.fromkeys(c.source for c in newest))
    values = {c.value for c in newest}
    first = newest[0]
    value = first.value
    if len(values) > 1:
        where = ", ".join(sources)[:200]
        message = f"{first.code}: conflicting values at the same time; read as unknown"
        issues.append(InputIssue("warning", where, message))
        value = None
    from_text = all(c.from_text for c in newest)
    return Finding(first.code, value, sources, first.level, first.unit, first.effective, from_text)


def _names_vcf(candidates: list[Candidate]) -> bool:
    return any(c.code == "vcf" for c in candidates)


def _merge(candidates: list[Candidate], issues: list[InputIssue]) -> list[Finding]:
    groups: dict[tuple[str, str | None], list[Candidate]] = {}
    for candidate in candidates:
        key = (candidate.code, candidate.level)
        group = groups.get(key)
        if group is None:
            groups[key] = [candidate]
        else:
            group.append(candidate)
    # by (code, level or ""), ties in first-seen order (what a stable sort on that key gives)
    order = sorted((k[0], k[1] or "", i) for i, k in enumerate(groups))
    values = list(groups.values())
    out: list[Finding] = []
    for _, _, i in order:
        group = values[i]
        if len(group) == 1:  # ``_newest`` of the usual one reading, without the call
            c = group[0]
            out.append(
                Finding(c.code, c.value, (c.source,), c.level, c.unit, c.effective, c.from_text)
            )
        else:
            out.append(_newest(group, issues))
    return out


def _history(found: list[str], kinds: tuple[str, ...], obtained: Mapping[str, bool]) -> HistoryFact:
    """True with sources when found; False only when one of ``kinds`` was obtained."""
    if found:
        return HistoryFact(True, tuple(dict.fromkeys(found)))
    if any(obtained.get(kind) is True for kind in kinds):
        return HistoryFact(False)
    return HistoryFact(None)


def _corticosteroids(courses: list[Course], obtained: Mapping[str, bool]) -> HistoryFact:
    if not courses:
        return _history([], MEDICATION_TYPES, obtained)
    value, sources = prolonged(courses)
    if value is False and not any(obtained.get(kind) is True for kind in MEDICATION_TYPES):
        return HistoryFact(None, sources)
    return HistoryFact(value, sources)


class _Read:
    """Mutable state of one ``read_resources`` call."""

    def __init__(self, today: date) -> None:
        self.today = today
        self.pf = PatientFindings()
        self.candidates: list[Candidate] = []
        self.derived: list[Candidate] = []  # app.fhir.derived: used where nothing coded speaks
        self.panels: list[tuple[Resource, str, list[Candidate]]] = []
        self.reports: list[tuple[Resource, str, list[Candidate]]] = []
        self.history = HistorySources()
        self.courses: list[Course] = []
        self.medications: dict[str, Resource] = {}
        self.refs: dict[str, str | None] = {}
        self.dates: dict[str, datetime | None] = {}
        self.plans = plain_plans()
        self.condition_codes = finding_codes()  # Conditions that may name a finding
        self.labels: frozenset[str] = frozenset()  # every resource of the input, "Type/id"
        self.narratives = NarrativeBudget()

    def patient(self, resources: list[tuple[Resource, str, str]]) -> None:
        for resource, label, rtype in resources:
            if rtype != "Patient":
                continue
            pid = text(resource, "id", 64)
            if self.pf.patient_id is None:
                self.pf.patient_id = pid
                self.pf.birth_date = parse_date(resource.get("birthDate"))
                if resource.get("birthDate") is not None and self.pf.birth_date is None:
                    message = "not a full date (YYYY-MM-DD); age unknown"
                    self.pf.issues.append(InputIssue("warning", f"{label}.birthDate", message))
            elif pid != self.pf.patient_id:
                message = "a second patient in the input; ignored"
                self.pf.issues.append(InputIssue("error", label, message))
        if self.pf.patient_id is None:
            for resource, _, _ in resources:
                subject = reference_id(resource.get("subject"), "Patient")
                subject = subject or reference_id(resource.get("patient"), "Patient")
                if subject is not None:
                    self.pf.patient_id = subject
                    break

    def patient_ref(self, reference: object) -> str | None:
        """``reference_id(reference, "Patient")``, once per distinct reference string."""
        if reference is None:
            return None
        raw = reference.get("reference") if isinstance(reference, dict) else None
        if not isinstance(raw, str):
            return reference_id(reference, "Patient")
        if raw not in self.refs:
            self.refs[raw] = reference_id(reference, "Patient")
        return self.refs[raw]

    def other_patient(self, resource: Resource, label: str) -> bool:
        if self.pf.patient_id is None:
            return False
        refs = self.refs
        for key in ("subject", "patient"):
            reference = resource.get(key)
            if reference is None:
                continue
            raw = reference.get("reference") if reference.__class__ is dict else None
            # ``patient_ref`` inlined for a reference string seen before (most of them)
            ref = refs[raw] if raw.__class__ is str and raw in refs else self.patient_ref(reference)
            if ref is not None and ref != self.pf.patient_id:
                message = "refers to another patient; skipped"
                self.pf.issues.append(InputIssue("error", f"{label}.{key}", message))
                return True
        return False

    def one(self, resource: Resource, label: str, rtype: str) -> None:
        if rtype == "Patient" or rtype == "Medication":
            return
        if self.other_patient(resource, label):
            return
        issues = self.pf.issues
        if rtype == "Observation":
            fast = plain_one(resource, label, self.dates, self.plans)
            if fast.__class__ is Candidate:  # ``read_observation``'s one candidate, no issue
                self.candidates.append(fast)
                if fast.code == "vcf" and is_enumeration(resource):
                    self.panels.append((resource, label, [fast]))
                return
            if fast is None:
                candidates, found = tolerant_read(resource, label)
            else:  # the one "no VCF-CDS finding code" note
                candidates, found = [], [fast]  # type: ignore[list-item]
            self.candidates.extend(candidates)
            if not candidates and (
                d := derive_from_observation(resource, label, self.today, found)
            ):
                self.derived.extend(d)
                # the value was read after all: drop the finding reader's notes on it
                found = [i for i in found if not i.location.startswith((f"{label}.", label + "#"))]
            elif (
                not candidates
                or (candidates[0].code == "vcf" if len(candidates) == 1 else _names_vcf(candidates))
            ) and is_enumeration(
                resource
            ):  # a listed fracture assessment (counting): it names fractures, or has members
                self.panels.append((resource, label, candidates))
            issues.extend(found)
        elif rtype == "Condition":
            read_condition(resource, label, self.history, issues)
            if may_name_finding(resource.get("code"), self.condition_codes):
                symptoms, notes = read_condition_findings(resource, label)  # problem-list findings
                self.derived.extend(symptoms)  # used where no Observation / report speaks
                issues.extend(notes)
        elif rtype == "Procedure":
            read_procedure(resource, label, self.history, issues)
        elif rtype in MEDICATION_TYPES:
            self.medication(resource, label)
        elif rtype == "DiagnosticReport":
            read = read_report(resource, label, self.labels, self.history, issues, self.narratives)
            self.candidates.extend(read)
            self.reports.append((resource, label, read))  # a final spine report counts fractures
        elif rtype == "ServiceRequest":
            if text(resource, "status", 40) == "draft":
                self.pf.orders.append(read_order(resource, label))
        else:
            message = f"resource type {rtype} is not read"
            issues.append(InputIssue("information", label, message))

    def medication(self, resource: Resource, label: str) -> None:
        status = text(resource, "status", 40)
        if status in IGNORED_STATUSES:
            return
        if is_systemic_corticosteroid(resource, self.medications):
            self.courses.append(course_of(resource, label, self.today))

    def finish(self, obtained: Mapping[str, bool]) -> PatientFindings:
        pf, history = self.pf, self.history
        pf.obtained = dict(obtained)
        pf.fracture_enumerations = enumerations(self.panels, self.candidates, pf.issues)
        pf.fracture_enumerations += report_enumerations(self.reports, self.candidates, pf.issues)
        coded = {c.code for c in self.candidates}
        candidates = self.candidates + [d for d in self.derived if d.code not in coded]
        pf.findings = _merge(without_outranked_text(candidates, pf.issues), pf.issues)
        pf.malignancy_history = _history(history.malignancy, ("Condition",), obtained)
        pf.prior_vcf_treatment = _history(history.prior_treatment, ("Procedure",), obtained)
        pf.prolonged_corticosteroids = _corticosteroids(self.courses, obtained)
        pf.bone_metastasis = _history(history.bone_metastasis, (), obtained)
        pf.osteoporosis = _history(history.osteoporosis, (), obtained)
        pf.etiology = list(history.etiology)
        pf.documented_fractures = merge_fractures(history.fractures)
        kinds = {e.value for e in pf.etiology}
        if len(kinds) > 1:
            where = ", ".join(dict.fromkeys(s for e in pf.etiology for s in e.sources))[:200]
            message = "Conditions document both osteoporotic and pathological fracture"
            pf.issues.append(InputIssue("warning", where, message))
        return pf


def read_resources(
    resources: Iterable[object],
    *,
    today: date | None = None,
    obtained: Mapping[str, bool] | None = None,
    draft_orders: Iterable[object] = (),
) -> PatientFindings:
    """Read FHIR R4 resources (or Bundles of them) into ``PatientFindings``.

    ``obtained`` says which record kinds were actually read ("Condition", "Procedure",
    "MedicationStatement", "MedicationRequest"): history is false only for those.
    ``draft_orders`` are the orders being placed (CDS Hooks ``draftOrders``): each becomes a
    ``DraftOrder`` whatever its status; a ServiceRequest with status ``draft`` among
    ``resources`` does too.
    """
    read = _Read(today or datetime.now(UTC).date())
    flat: list[tuple[Resource, str, str]] = []  # resource, label, resourceType
    seen: set[str] = set()
    for i, value in enumerate(resources):
        if (  # ``_plain_type``, inlined
            isinstance(value, dict)
            and (plain := value.get("resourceType")).__class__ is str
            and plain in _READ_TYPES
        ):
            typed: list[tuple[Resource, str]] = [(value, plain)]  # as ``unpack`` would give it
        else:
            unpacked, issues = unpack(value, f"resources[{i}]")
            read.pf.issues.extend(issues)
            typed = [(r, text(r, "resourceType", 64) or "Resource") for r in unpacked]
        for one, rtype in typed:
            rid = one.get("id")  # ``text(one, "id", 64)``, inlined for a plain string
            rid = (
                (rid.strip() or None)
                if rid.__class__ is str and len(rid) <= 64
                else text(one, "id", 64)
            )
            label = f"{rtype}/{rid}" if rid else f"{rtype}[{len(flat)}]"  # resource_label
            if label in seen:  # the same resource twice (prefetch and search): read once
                continue
            seen.add(label)
            flat.append((one, label, rtype))
    read.medications = {
        rid: r for r, _, rtype in flat if rtype == "Medication" and (rid := text(r, "id", 64))
    }
    read.labels = frozenset(seen)  # the labels of ``flat``
    read.patient(flat)
    read_one = read.one
    for resource, label, rtype in flat:
        try:  # ``_guarded``, inlined: one resource never breaks the read
            read_one(resource, label, rtype)
        except Exception as exc:
            message = f"could not be read ({type(exc).__name__}); skipped"
            read.pf.issues.append(InputIssue("error", label, message))
    ordered = {f"{o.resource_type}/{o.resource_id}" for o in read.pf.orders}
    for i, value in enumerate(draft_orders):
        found, issues = unpack(value, f"draftOrders[{i}]")
        read.pf.issues.extend(issues)
        for j, resource in enumerate(found):
            label = resource_label(resource, j)
            if label in ordered:  # also a draft ServiceRequest among the resources
                continue
            ordered.add(label)
            try:
                read.pf.orders.append(read_order(resource, label))
            except Exception as exc:  # one order never breaks the read
                message = f"could not be read ({type(exc).__name__}); skipped"
                read.pf.issues.append(InputIssue("error", label, message))
    _indications(read, flat)
    return read.finish(obtained or {})


def _indications(read: _Read, flat: list[tuple[Resource, str, str]]) -> None:
    """The draft orders' reasonCode / reasonReference (``app.fhir.indication``)."""
    orders = [
        (o.resource, f"ServiceRequest/{o.resource_id}")
        for o in read.pf.orders
        if o.resource_type == "ServiceRequest"
    ]
    if not any("reasonCode" in r or "reasonReference" in r for r, _ in orders):
        return
    found = {label: r for r, label, rtype in flat if rtype in ("Condition", "Observation")}
    got = read_indications(orders, found, read.history, read.today, read.other_patient)
    read.candidates += got.candidates
    read.derived += got.derived
    read.pf.issues += got.issues
