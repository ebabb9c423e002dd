"""Assessment -> what the SMART app shows (``AssessmentView``): clinician words; the FHIR
references stay in ``reference`` fields only. Pure: no I/O."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence

from app.assessment.service import Assessment
from app.clinical.findings import InputIssue
from app.clinical.order_rating import OrderRating
from app.clinical.variants import MatchResult, VariantStatus
from app.fhir.codes import code_tables
from app.json_types import JsonObject
from app.knowledge.schema import Condition, Knowledge
from app.smart.models import (
    AcrRow,
    AcrTable,
    Citation,
    FindingView,
    MriScoreView,
    OrderCoding,
    OrderView,
    QuestionOption,
    QuestionVariants,
    QuestionView,
    RedFlagView,
    ScoreComponent,
    SinsView,
    SourceLink,
    StateInputView,
    VariantView,
)
from app.smart.questions import ENTERED, AnswerValue, QuestionSet

_MRI_PHRASES = {
    "suggests_malignant": "smart-mri-malignant",
    "suggests_osteoporotic": "smart-mri-osteoporotic",
    "indeterminate": "smart-mri-indeterminate",
}


def citations(k: Knowledge) -> list[Citation]:
    """The sources the workspace names, as printed in ``publications.json``: one per topic of
    the ``smart-citation-topic`` labels, each with where in the source (the card citations)."""
    cp = k.card_policy
    out = []
    for key, topic in cp.labels["smart-citation-topic"].items():
        cite = cp.citations[key]
        reference = k.publications.reference(cite.publication)
        out.append(
            Citation(
                topic=topic, text=cp.phrase("smart-citation", reference=reference, where=cite.where)
            )
        )
    return out


def acr_notice(k: Knowledge) -> str:
    """The ACR licence notice, the same text the cards and explanation pages show."""
    return k.card_policy.acr_notice


def _question(k: Knowledge, question: str) -> str:
    """'Next imaging study'."""
    return k.card_policy.labels["smart-question"][question]


def _id_ranges(ids: Iterable[int]) -> str:
    """[1, 2, 3, 4] -> '1-4'; [1, 3] -> '1, 3'."""
    runs: list[list[int]] = []
    for i in sorted(ids):
        if runs and i == runs[-1][-1] + 1:
            runs[-1].append(i)
        else:
            runs.append([i])
    return ", ".join(f"{r[0]}-{r[-1]}" if len(r) > 1 else str(r[0]) for r in runs)


def heading(k: Knowledge, question: str) -> str:
    """'Next imaging study (ACR variants 1-4)': the variant numbers from the ACR tables."""
    ids = [v.id for v in k.acr.variants if v.question == question]
    return k.card_policy.phrase(
        "smart-question-heading", question=_question(k, question), variants=_id_ranges(ids)
    )


#: The clinical-state input values by name (true/false/null, or the etiology) that the variant
#: conditions are explained against.
StateValues = Mapping[str, bool | str | None]


def _resource_date(r: JsonObject) -> str | None:
    for key in ("effectiveDateTime", "issued", "onsetDateTime", "performedDateTime",
                "recordedDate", "authoredOn", "dateAsserted", "birthDate"):  # fmt: skip
        value = r.get(key)
        if isinstance(value, str) and value:
            return value[:10]
    period = r.get("effectivePeriod") or r.get("performedPeriod")
    if isinstance(period, dict) and isinstance(period.get("start"), str):
        return str(period["start"])[:10]
    return None


def _concept_text(concept: object) -> str | None:
    if not isinstance(concept, dict):
        return None
    if isinstance(concept.get("text"), str) and concept["text"].strip():
        return str(concept["text"]).strip()[:120]
    for coding in concept.get("coding") or []:
        if isinstance(coding, dict) and isinstance(coding.get("display"), str):
            return str(coding["display"])[:120]
    return None


class SourceLabels:
    """Words for the resources a finding came from: "Observation: MRI lumbar spine,
    2026-11-02"; answers entered in the app read "Entered by the clinician"."""

    def __init__(self, resources: Iterable[JsonObject], questions: QuestionSet) -> None:
        self.by_ref: dict[str, JsonObject] = {}
        for r in resources:
            rtype, rid = r.get("resourceType"), r.get("id")
            if isinstance(rtype, str) and isinstance(rid, str):
                self.by_ref[f"{rtype}/{rid}"] = r
        self.questions = questions

    def link(self, source: str, fallback: str) -> SourceLink:
        if source.startswith(ENTERED):
            q = self.questions.by_id().get(source[len(ENTERED) :])
            what = q.label if q else fallback
            return SourceLink(
                reference=source, label=f"Entered by the clinician: {what}", clinicianEntered=True
            )
        ref = source.split("#", 1)[0]
        rtype = ref.split("/", 1)[0]
        r = self.by_ref.get(ref)
        what = (_concept_text(r.get("code")) if r else None) or fallback
        when = _resource_date(r) if r else None
        label = f"{rtype}: {what}" + (f", {when}" if when else "")
        if "#component" in source:
            label += " (part of a structured report)"
        return SourceLink(reference=ref, label=label)

    def links(self, sources: Sequence[str], fallback: str) -> list[SourceLink]:
        out: dict[str, SourceLink] = {}
        for s in sources:
            link = self.link(s, fallback)
            out.setdefault(link.reference + link.label, link)
        return list(out.values())


def patient_name(resources: Iterable[JsonObject]) -> str | None:
    """The name of the Patient resource (text, else given and family names)."""
    for r in resources:
        if r.get("resourceType") != "Patient":
            continue
        for name in r.get("name") or []:
            if not isinstance(name, dict):
                continue
            if isinstance(name.get("text"), str) and name["text"].strip():
                return str(name["text"]).strip()[:120]
            given = [g for g in name.get("given") or [] if isinstance(g, str)]
            family = name.get("family")
            words = " ".join([*given, family if isinstance(family, str) else ""]).strip()
            if words:
                return words[:120]
    return None


def _value_words(value: object, unit: str | None) -> str:
    if value is True:
        return "yes"
    if value is False:
        return "no"
    if value is None:
        return "unknown"
    if isinstance(value, float | int):
        return f"{value:g}" + (f" {unit}" if unit else "")
    return str(value).replace("-", " ")


def findings_view(a: Assessment, labels: SourceLabels) -> list[FindingView]:
    specs = code_tables().findings.by_code()
    out = []
    for f in sorted(a.findings.findings, key=lambda f: (f.level or "", f.code)):
        spec = specs.get(f.code)
        name = spec.display if spec else f.code.replace("-", " ")
        out.append(
            FindingView(
                code=f.code,
                label=name,
                value=_value_words(f.value, f.unit),
                level=f.level,
                sources=labels.links(f.sources, name),
            )
        )
    return out


def state_view(a: Assessment, qs: QuestionSet, labels: SourceLabels) -> list[StateInputView]:
    out = []
    for name, inp in a.derived.inputs.items():
        known = inp.value is not None and inp.value != "unknown"
        label = qs.input_label(name)
        out.append(
            StateInputView(
                input=name,
                label=label,
                value=qs.value_label(name, inp.value),
                known=known,
                sources=labels.links(inp.sources, label),
            )
        )
    return out


def _holds_known(cond: Condition, values: StateValues) -> bool | None:
    """True/False when the known inputs decide ``cond``, None while unknown ones could."""
    if cond.input is not None:
        actual = values.get(cond.input)
        return None if actual in (None, "unknown") else bool(actual == cond.equals)
    parts = [_holds_known(c, values) for c in cond.all or cond.any or []]
    if cond.all is not None:
        return False if False in parts else (None if None in parts else True)
    return True if True in parts else (None if None in parts else False)


def _conflicts(cond: Condition, values: StateValues, qs: QuestionSet) -> list[str]:
    """Why a ruled-out variant fails, in words: the contradicted requirements (for an "any",
    all of its alternatives, joined by "or")."""
    if _holds_known(cond, values) is not False:
        return []
    if cond.input is not None:
        want = qs.value_label(cond.input, cond.equals)
        have = qs.value_label(cond.input, values.get(cond.input))
        return [f"{want} (record: {have})"]
    if cond.any is not None:
        return [" or ".join(w for c in cond.any for w in _conflicts(c, values, qs))]
    return [w for c in cond.all or [] for w in _conflicts(c, values, qs)]


def _explain(st: VariantStatus, cond: Condition, values: StateValues, qs: QuestionSet) -> str:
    if st.status == "matched":
        used = [n for n in cond.inputs() if values.get(n) not in (None, "unknown")]
        words = ", ".join(qs.value_label(n, values[n]) for n in used)
        return f"Matches: {words}." if words else "Matches."
    if st.status == "possible":
        deciding = ", ".join(qs.input_label(n).lower() for n in st.deciding_inputs)
        return f"Possible: depends on {deciding}." if deciding else "Possible."
    conflicts = _conflicts(cond, values, qs)
    if not conflicts:
        return "Ruled out."
    return "Ruled out: needs " + "; needs ".join(conflicts) + "."


def variants_view(a: Assessment, k: Knowledge, qs: QuestionSet) -> list[QuestionVariants]:
    values = {n: inp.value for n, inp in a.derived.inputs.items()}
    out = []
    for question in ("imaging", "treatment"):
        m: MatchResult = a.matches[question]
        views = []
        for st in m.statuses:
            variant = k.variant(st.id)
            assert variant is not None
            views.append(
                VariantView(
                    id=st.id,
                    title=variant.title,
                    status=st.status,
                    primary=st.id == m.primary,
                    explanation=_explain(st, variant.condition, values, qs),
                    decidingInputs=list(st.deciding_inputs),
                )
            )
        out.append(
            QuestionVariants(
                question=question,
                heading=heading(k, question),
                variants=views,
                missing=[qs.input_label(n) for n in m.missing],
            )
        )
    return out


def _radiation(level: str | None) -> str | None:
    if level in (None, "unknown"):
        return None
    return "0 mSv" if level in ("O", "0") else level


def acr_tables(a: Assessment, k: Knowledge) -> list[AcrTable]:
    """The matched variants' tables; for a question with none matched, the possible ones."""
    ordered = {o.order.procedure for o in a.orders if o.order.procedure}
    radiation = {p.name: p.relative_radiation_level for p in k.acr.procedures}
    tables = []
    for question in ("imaging", "treatment"):
        m = a.matches[question]
        shown = [(n, "matched") for n in m.matched] or [(n, "possible") for n in m.possible]
        for n, status in shown:
            variant = k.variant(n)
            assert variant is not None
            rows = [
                AcrRow(
                    procedure=p.name,
                    category=p.category,
                    ratingRange=list(k.category(p.category).rating_range),
                    radiation=_radiation(radiation.get(p.name)),
                    ordered=p.name in ordered,
                )
                for p in variant.procedures
            ]
            tables.append(AcrTable(variant=n, title=variant.title, status=status, rows=rows))
    return tables


def _rating_words(o: OrderRating, qs: QuestionSet) -> str:
    r = o.rating
    if o.status == "rated" and r is not None and r.category and r.rating_range:
        lo, hi = r.rating_range
        return f"{r.category} ({lo}-{hi}), ACR variant {r.variant}"
    if o.reason == "insufficient_information":
        missing = ", ".join(qs.input_label(n).lower() for n in o.missing) or "missing findings"
        options = "; ".join(
            f"variant {c.variant}: {c.category or 'not listed'}" for c in o.candidates
        )
        return f"Not rated yet: depends on {missing} ({options})"
    if o.reason == "unknown_procedure":
        return "No ACR rating: the ordered code is not a procedure of these criteria"
    if o.reason == "no_vcf":
        return "No ACR rating: no vertebral compression fracture is documented"
    if o.reason == "no_matching_variant":
        return f"No ACR rating: the findings match no ACR {o.question} scenario"
    if o.reason == "not_listed" and r is not None:
        return f"Not listed in the ACR table of variant {r.variant}"
    return "No ACR rating"


def orders_view(a: Assessment, codings: Sequence[OrderCoding], qs: QuestionSet) -> list[OrderView]:
    out = []
    for i, (o, coding) in enumerate(zip(a.orders, codings, strict=True)):
        r = o.rating
        out.append(
            OrderView(
                index=i,
                coding=coding,
                label=coding.display or o.order.procedure or coding.code,
                procedure=o.order.procedure,
                rated=o.status == "rated",
                rating=_rating_words(o, qs),
                category=r.category if r and o.status == "rated" else None,
                variant=r.variant if r else None,
                missing=[qs.input_label(n) for n in o.missing],
            )
        )
    return out


def _component(cid: str, label: str, points: object, table: Mapping[str, int]) -> ScoreComponent:
    if isinstance(points, int):
        return ScoreComponent(id=cid, label=label, points=str(points), known=True)
    lo, hi = min(table.values()), max(table.values())
    return ScoreComponent(id=cid, label=label, points=f"{lo}-{hi}", known=False)


def _range(lo: object, hi: object, total: object) -> str:
    if isinstance(total, int):
        return str(total)
    return f"{lo}-{hi}"


def sins_view(a: Assessment, k: Knowledge) -> list[SinsView]:
    sins = a.scores.sins
    cp = k.card_policy
    out = []
    for s in sins.levels:
        comps = [_component(c.id, c.label, s.points.get(c.id), c.points) for c in k.sins.components]
        if s.category:
            category = cp.label("sins-category", s.category)
        else:
            possible = [cp.label("sins-category", c) for c in s.possible_categories]
            category = (
                cp.phrase("smart-sins-between", low=possible[0], high=possible[-1])
                if possible
                else ""
            )
        out.append(
            SinsView(
                level=s.level,
                range=_range(s.min, s.max, s.total),
                category=category or "unknown",
                components=comps,
                index=s.level == sins.index_level,
            )
        )
    return out


def _mri_words(k: Knowledge, classification: str) -> str:
    """'suggests a malignant fracture (score 4 or more)': the cutoff from the score's data."""
    key = _MRI_PHRASES.get(classification)
    return k.card_policy.phrase(key, cutoff=k.mri_score.cutoff) if key else classification


def mri_view(a: Assessment, k: Knowledge) -> list[MriScoreView]:
    out = []
    for m in a.scores.mri_malignancy:
        comps = [_component(s.id, s.label, m.points.get(s.id), s.points) for s in k.mri_score.signs]
        out.append(
            MriScoreView(
                level=m.level,
                range=_range(m.min, m.max, m.total),
                classification=_mri_words(k, m.classification),
                components=comps,
            )
        )
    return out


def red_flags_view(a: Assessment, k: Knowledge) -> list[RedFlagView]:
    labels = {f.id: f.label for f in k.red_flags.flags}
    present = {h.id for h in a.red_flags.present}
    out = [RedFlagView(id=i, label=labels.get(i, i), status="present") for i in sorted(present)]
    out += [RedFlagView(id=i, label=labels.get(i, i), status="absent") for i in a.red_flags.absent]
    out += [
        RedFlagView(id=i, label=labels.get(i, i), status="unknown") for i in a.red_flags.unknown
    ]
    return out


def questions_view(
    a: Assessment, k: Knowledge, qs: QuestionSet, answers: Mapping[str, AnswerValue]
) -> list[QuestionView]:
    """The form: every input that would decide a variant or an order's rating, plus the
    questions already answered (so an answer can be changed)."""
    deciding: dict[str, list[str]] = {}
    for question in ("imaging", "treatment"):
        for name in a.matches[question].missing:
            deciding.setdefault(name, []).append(_question(k, question).lower())
    for o in a.orders:
        for name in o.missing:
            deciding.setdefault(name, []).append("the rating of the order")
    out = []
    for q in qs.questions:
        if q.input not in deciding and q.id not in answers:
            continue
        decides = ", ".join(dict.fromkeys(deciding.get(q.input, [])))
        out.append(
            QuestionView(
                id=q.id,
                label=q.label,
                kind=q.kind,
                options=[QuestionOption(value=o.value, label=o.label) for o in q.options],
                unit=q.unit,
                min=q.min,
                max=q.max,
                answer=answers.get(q.id),
                answered=q.id in answers,
                affects=f"Decides: {decides}" if decides else "Answered: change it here if needed",
                writable=q.finding is not None,
                note=q.not_written,
            )
        )
    return out


def notices(issues: Sequence[InputIssue]) -> list[str]:
    """Data that could not be read, in words (the prefetch key names are not shown)."""
    words = {
        "observations": "observations",
        "conditions": "diagnoses",
        "procedures": "procedures",
        "medicationStatements": "medication statements",
        "medicationRequests": "medication orders",
        "diagnosticReports": "imaging reports",
        "patient": "patient details",
    }
    out = []
    for issue in issues:
        if issue.severity == "information" or not issue.location.startswith("prefetch."):
            continue
        key = issue.location.removeprefix("prefetch.")
        out.append(f"The patient's {words.get(key, 'records')} could not be read: {issue.message}")
    return out


def headline(a: Assessment, k: Knowledge) -> str:
    cp = k.card_policy
    parts = []
    for question in ("imaging", "treatment"):
        m = a.matches[question]
        if m.primary is not None:
            parts.append(
                cp.phrase(
                    "smart-headline-variant", question=_question(k, question), variant=m.primary
                )
            )
        elif m.possible:
            shown = ", ".join(str(n) for n in m.possible)
            parts.append(
                cp.phrase(
                    "smart-headline-possible", question=_question(k, question), variants=shown
                )
            )
    return "; ".join(parts) or cp.phrase("smart-headline-none")
