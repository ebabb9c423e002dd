"""Cards and system actions from an assessment (shared/spec/api.md "CDS Hooks"; CDS Hooks 2.0
Card Attributes; Argonaut "CDS Hooks for PAMA" rating pattern).

Order hooks get one order-appropriateness card per considered draft order plus safety cards;
patient-view gets the variant recommendations, scores and considerations. Every card names its
basis in ``detail`` and links to the explanation page of its topic.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass
from functools import cached_property
from typing import Any, Literal

from app.assessment.model import Assessment, MriLevelScore, VbqScore
from app.cards.prune import prune_empty
from app.cards.text import md, plural, short_procedure, summary, table
from app.cds_hooks.catalog import HookName
from app.cds_hooks.models import Action, Card, CdsResponse, Coding, Link, Source, Suggestion
from app.clinical.appropriateness import Alternative
from app.clinical.findings import DraftOrder
from app.clinical.order_rating import OrderRating, pama_for
from app.knowledge.card_codes import CardCodes, card_codes
from app.knowledge.schema import Knowledge

Hook = HookName | Literal["assessment"]  # the CDS hooks served, and POST /api/v1/assessments
# How a swap suggestion changes the draft order (settings.swap_actions)
SwapActions = Literal["update", "delete-create"]
# Elements of a draft ServiceRequest that describe the ordered procedure itself: an update to
# the alternative replaces ``code`` and drops these (they belonged to the original procedure).
PROCEDURE_ELEMENTS = ("code", "orderDetail")
# (procedure name, draft order) -> a Coding for the alternative order in the same body region
CodingFor = Callable[[str, DraftOrder], dict[str, str] | None]

INPUT_SOURCES: dict[str, str] = {
    "vcf_present": "Observation `vcf` (with bodySite) or Condition ICD-10-CM M48.5*",
    "vcf_new": "Observation `vcf-acute` or `marrow-edema`, or the fracture's onset date",
    "symptomatic": "Observation `symptomatic`",
    "malignancy_history": "the patient's Conditions (ICD-10-CM C00-C96, Z85.*)",
    "prior_vcf_treatment": "the patient's Procedures (CPT 22510-22515, spine surgery)",
    "multiple_vcfs": "How many vertebrae are fractured? (Observation `multiple-vcfs`, `vcf` at "
    "each level, or one complete imaging report / RadElement assessment listing the levels)",
    "etiology": "Observation `fracture-etiology` or Condition M80.* / M84.5*",
    "marrow_edema_or_cleft": "Observation `marrow-edema`, `fluid-cleft` or `vacuum-phenomenon`",
    "worsening_pain": "Observation `worsening-pain`",
    "deformity": "Observations `kyphosis`, `scoliosis`, `dorsal-wall-height-reduction`, "
    "`vertebral-height-loss` (%)",
    "pulmonary_dysfunction": "Observation `pulmonary-dysfunction`",
    "mechanical_pain": "Observation `mechanical-pain` or `sins-pain`",
}
READABLE: dict[str, str] = {k: k.replace("_", " ").replace("vcf", "VCF") for k in INPUT_SOURCES}


@dataclass(frozen=True)
class CardContext:
    hook: Hook
    base_url: str
    consult_id: str  # urn:uuid:..., also the audit key
    selections: frozenset[str] | None = None  # order-select: only these orders
    mirror_system_actions: bool = False
    swap_actions: SwapActions = "update"


class CardBuilder:
    """Builds the CDS Hooks response for one assessment."""

    def __init__(self, k: Knowledge, ctx: CardContext, coding_for: CodingFor) -> None:
        self.k = k
        self.ctx = ctx
        self.codes: CardCodes = card_codes()
        self.coding_for = coding_for

    # --- entry point -----------------------------------------------------------------------

    def build(self, a: Assessment) -> CdsResponse:
        orders = self.considered_orders(a)
        cards: list[Card] = []
        actions: list[Action] = []
        if self.ctx.hook == "patient-view":
            cards += self.variant_cards(a)
        else:
            cards += [self.order_card(a, o) for o in orders if o.order.procedure is not None]
            unknown = [o for o in orders if o.order.procedure is None]
            if unknown:
                cards.append(self.unknown_orders_card(unknown))
            actions = [act for o in orders if (act := self.rating_action(o)) is not None]
        cards += self.safety_cards(a)
        treatment_orders = any(o.question == "treatment" for o in orders)
        if a.considerations and (
            self.ctx.hook in ("patient-view", "assessment") or treatment_orders
        ):
            cards.append(self.considerations_card(a))
        if self.ctx.hook in ("patient-view", "assessment"):
            cards += self.evidence_cards(a)
        missing = self.missing_data_card(a, orders)
        if missing:
            cards.append(missing)
        extra: dict[str, Any] = {}
        if self.ctx.mirror_system_actions and actions:
            # pre-2.0 clients read system actions from the response extension
            extra["extension"] = {
                "systemActions": [x.model_dump(exclude_none=True) for x in actions]
            }
        return CdsResponse(cards=cards, systemActions=actions or None, **extra)

    def considered_orders(self, a: Assessment) -> list[OrderRating]:
        """order-select looks at the selections only; order-sign at every draft order."""
        if self.ctx.selections is None:
            return list(a.orders)
        return [
            o for o in a.orders
            if f"{o.order.resource_type}/{o.order.resource_id}" in self.ctx.selections
        ]  # fmt: skip

    # --- shared pieces ---------------------------------------------------------------------

    def card(
        self,
        topic: str,
        text: str,
        indicator: Literal["info", "warning", "critical"],
        detail: str,
        link: tuple[str, str],
        **extra: Any,
    ) -> Card:
        url = f"{self.ctx.base_url}{link[1]}"
        return Card(
            uuid=str(uuid.uuid4()),
            summary=summary(text),
            indicator=indicator,
            detail=detail.strip() + self.footer(),
            source=Source(
                label="VCF-CDS",
                url=url,
                topic=Coding(
                    system=self.codes.topic_system, code=topic, display=self.codes.topics[topic]
                ),
            ),
            links=[Link(label=link[0], url=url, type="absolute")],
            **extra,
        )

    def footer(self) -> str:
        return self._footer

    @cached_property
    def _footer(self) -> str:  # the same on every card of the response
        return (
            f"\n\n---\nKnowledge version {md(self.k.version)}. Consult "
            f"{md(self.ctx.consult_id)}. ACR Appropriateness Criteria content © American "
            "College of Radiology."
        )

    def variant_line(self, n: int) -> str:
        v = self.k.variant(n)
        assert v is not None
        return f"**ACR Variant {n}** ({v.question}): {md(v.title)}"

    def override_reasons(self) -> list[Coding]:
        return [
            Coding(system=self.codes.override_reason_system, code=r.code, display=r.display)
            for r in self.codes.override_reasons
        ]

    def basis(self, a: Assessment, names: list[str]) -> str:
        rows = []
        for name in names:
            inp = a.derived.inputs[name]
            value = "unknown" if inp.value is None else str(inp.value).lower()
            rows.append([READABLE[name], value, ", ".join(inp.sources) or "-"])
        return table(["Input", "Value", "From"], rows)

    # --- orders ----------------------------------------------------------------------------

    def order_label(self, o: DraftOrder) -> str:
        code = f"{o.code}" if o.code else "no code"
        ref = f"{o.resource_type}/{o.resource_id}"
        return f"{md(o.display or o.procedure or code)} ({md(code)}, `{md(ref)}`)"

    def order_card(self, a: Assessment, o: OrderRating) -> Card:
        proc = o.order.procedure or ""
        head = f"**Order:** {self.order_label(o.order)}\n\n**ACR procedure:** {md(proc)}\n\n"
        if o.status == "not_rated" or o.rating is None or o.rating.category is None:
            return self.not_rated_card(a, o, head)
        r = o.rating
        lo, hi = r.rating_range or (0, 0)
        category = r.category or ""
        variant = self.k.variant(r.variant)
        assert variant is not None
        inputs = variant.condition.inputs()
        detail = (
            head + f"{self.variant_line(r.variant)}\n\n**Rating:** {md(category)} ({lo}-{hi})\n\n"
        )
        if r.alternatives:
            detail += "Usually Appropriate under this variant:\n\n" + table(
                ["Procedure", "Rating", "Relative radiation"],
                [
                    [
                        x.name,
                        f"{x.rating_range[0]}-{x.rating_range[1]}",
                        x.relative_radiation_level or "-",
                    ]
                    for x in r.alternatives
                ],
            )
        if o.other_ratings:
            detail += "\n**Also matched:** " + "; ".join(
                f"Variant {x.variant}: {md(x.category or 'not listed')}" for x in o.other_ratings
            )
        detail += "\n\n**Basis:**\n\n" + self.basis(a, inputs)
        text = f"{short_procedure(proc)}: {category} ({lo}-{hi}) under ACR Variant {r.variant}"
        extra: dict[str, Any] = {}
        if category != "Usually Appropriate" and r.alternatives:
            suggestions = [s for alt in r.alternatives if (s := self.swap(o.order, alt))]
            if suggestions:
                extra = {
                    "suggestions": suggestions,
                    "selectionBehavior": "at-most-one",
                    "overrideReasons": self.override_reasons(),
                }
        indicator: Literal["info", "warning"] = (
            "warning" if category == "Usually Not Appropriate" else "info"
        )
        link = (f"Why: ACR Variant {r.variant} table", f"/explain/variants/{r.variant}")
        return self.card("order-appropriateness", text, indicator, detail, link, **extra)

    def not_rated_card(self, a: Assessment, o: OrderRating, head: str) -> Card:
        proc = short_procedure(o.order.procedure or o.order.display or "Order")
        detail = head + f"**Not rated:** {md(o.reason_text or o.reason or '')}\n\n"
        if o.missing:
            detail += "Findings that would decide it:\n\n" + "\n".join(
                f"- {READABLE.get(m, m)}: {INPUT_SOURCES.get(m, m)}" for m in o.missing
            )
        if o.candidates:
            detail += "\n\nRating under each variant that may apply:\n\n" + table(
                ["Variant", "Category"],
                [[f"Variant {c.variant}", c.category or "not listed"] for c in o.candidates],
            )
        why = {
            "insufficient_information": "more information needed",
            "no_vcf": "no VCF documented",
            "no_matching_variant": "no ACR VCF variant matches",
            "not_listed": "not listed for the matched variant",
            "unknown_procedure": "not an ACR VCF procedure",
        }.get(o.reason or "", "not rated")
        if o.missing:
            why += ": " + ", ".join(READABLE.get(m, m) for m in o.missing[:3])
        return self.card(
            "order-appropriateness",
            f"{proc}: not rated ({why})",
            "info",
            detail,
            ("How orders are rated", "/explain/topics/order-appropriateness"),
        )

    def unknown_orders_card(self, orders: list[OrderRating]) -> Card:
        lines = "\n".join(
            f"- {self.order_label(o.order)}: {md(o.reason_text or '')}" for o in orders
        )
        return self.card(
            "order-appropriateness",
            f"{plural(len(orders), 'order')} not rated: not an ACR VCF imaging or treatment"
            " procedure",
            "info",
            "These draft orders map to no procedure of the ACR VCF tables:\n\n" + lines,
            ("Accepted order codes", "/explain/topics/order-appropriateness"),
        )

    def swap(self, order: DraftOrder, alternative: Alternative) -> Suggestion | None:
        """Suggestion to order ``alternative`` instead of the draft (same patient, same body
        region); None when no orderable code exists for the alternative.

        Default (``swap_actions="update"``, Argonaut "CDS Hooks for PAMA"): ONE ``update`` of
        the draft ServiceRequest, same id, the alternative's code and its pre-calculated rating
        - what EHRs that apply only ``update`` actions to draft orders (the CDS Hooks sandbox's
        PAMA screen) can accept. ``"delete-create"``: delete the draft and create a new one."""
        coding = self.coding_for(alternative.name, order)
        if coding is None:
            return None
        code = {"coding": [coding], "text": alternative.name}
        ref = f"{order.resource_type}/{order.resource_id}"
        label = summary(f"Order {short_procedure(alternative.name)} instead")
        if self.ctx.swap_actions == "update" and order.resource_type == "ServiceRequest":
            resource = {
                k: v for k, v in prune_empty(order.resource).items() if k not in PROCEDURE_ELEMENTS
            }  # a copy: the draft is never shared
            resource["id"] = order.resource_id
            resource["code"] = code
            resource["extension"] = self.pama_extensions(
                resource.get("extension"),
                pama_for(alternative.category),
                alternative.category,
                alternative.rating_range,
            )
            actions = [
                Action(
                    type="update",
                    description=f"Change the draft order {ref} to {alternative.name}",
                    resource=resource,
                )
            ]
        else:
            raw = order.resource
            new: dict[str, Any] = {
                "resourceType": "ServiceRequest",
                "status": "draft",
                "intent": raw.get("intent") or "order",
                "code": code,
            }
            for key in (
                "subject",
                "encounter",
                "bodySite",
                "reasonCode",
                "reasonReference",
                "requester",
            ):
                if raw.get(key):
                    new[key] = prune_empty(raw[key])  # a copy: the draft is never shared
            actions = [
                Action(type="delete", description=f"Remove the draft order {ref}", resourceId=ref),
                Action(type="create", description=f"Order {alternative.name}", resource=new),
            ]
        return Suggestion(label=label, uuid=str(uuid.uuid4()), actions=actions)

    def pama_extensions(
        self,
        existing: Any,
        rating: str,
        category: str | None,
        rating_range: tuple[int, int] | None,
    ) -> list[Any]:
        """``existing`` extensions without ours, plus the pama-rating (with the HL7
        appropriateness-score of the category when rated) and the consult id."""
        pama = self.codes.pama
        codings = [{"system": pama.rating_system, "code": rating}]
        if category and rating_range:
            codings.append(
                {
                    "system": pama.appropriateness_score_system,
                    "code": pama.score_code(rating_range),
                    "display": category,
                }
            )
        ext = [
            e
            for e in (existing if isinstance(existing, list) else [])
            if isinstance(e, dict)
            and e.get("url") not in (pama.rating_extension, pama.consult_extension)
        ]
        return [
            *ext,
            {"url": pama.rating_extension, "valueCodeableConcept": {"coding": codings}},
            {"url": pama.consult_extension, "valueUri": self.ctx.consult_id},
        ]

    def rating_action(self, o: OrderRating) -> Action | None:
        """Argonaut PAMA: update the draft ServiceRequest with the rating and the consult id.
        Nothing is attached when information is insufficient (say what is missing instead)."""
        if o.pama is None or o.order.resource_type != "ServiceRequest" or o.order.procedure is None:
            return None
        pama = self.codes.pama
        codings = [{"system": pama.rating_system, "code": o.pama}]
        if o.rating and o.rating.category and o.rating.rating_range:
            codings.append(
                {
                    "system": pama.appropriateness_score_system,
                    "code": pama.score_code(o.rating.rating_range),
                    "display": o.rating.category,
                }
            )
        resource = prune_empty(o.order.resource)  # a copy of the draft
        existing = resource.get("extension")
        ext = [
            e
            for e in (existing if isinstance(existing, list) else [])
            if isinstance(e, dict)
            and e.get("url") not in (pama.rating_extension, pama.consult_extension)
        ]
        ext += [
            {"url": pama.rating_extension, "valueCodeableConcept": {"coding": codings}},
            {"url": pama.consult_extension, "valueUri": self.ctx.consult_id},
        ]
        resource["extension"] = ext
        return Action(
            type="update",
            description=f"Attach the ACR appropriateness rating ({o.pama}) to "
            f"{o.order.resource_type}/{o.order.resource_id}",
            resource=resource,
        )

    # --- patient-level cards ---------------------------------------------------------------

    def variant_cards(self, a: Assessment) -> list[Card]:
        cards = []
        for question in ("imaging", "treatment"):
            m = a.matches[question]
            if m.primary is None:
                continue
            v = self.k.variant(m.primary)
            assert v is not None
            best = [p.name for p in v.procedures if p.category == "Usually Appropriate"]
            detail = f"{self.variant_line(v.id)}\n\n" + table(
                ["Procedure", "Category", "Rating"],
                [
                    [
                        p.name,
                        p.category,
                        "-".join(map(str, self.k.category(p.category).rating_range)),
                    ]
                    for p in v.procedures
                ],
            )
            detail += f"\n{md(v.summary)}\n\n**Basis:**\n\n" + self.basis(a, v.condition.inputs())
            if len(m.matched) > 1:
                detail += "\n**Also matched:** " + ", ".join(
                    f"Variant {n}" for n in m.matched if n != v.id
                )
            if not m.primary_certain:
                detail += (
                    "\n\nA variant earlier in the precedence order is still possible;"
                    " see the missing-data card."
                )
            verb = "next imaging" if question == "imaging" else "initial treatment"
            text = f"ACR Variant {v.id} ({verb}): usually appropriate: " + "; ".join(
                short_procedure(b) for b in best
            )
            cards.append(
                self.card(
                    f"acr-variant-{v.id}",
                    text,
                    "info",
                    detail,
                    (f"ACR Variant {v.id}", f"/explain/variants/{v.id}"),
                )
            )
        return cards

    def safety_cards(self, a: Assessment) -> list[Card]:
        cards: list[Card] = []
        rf = a.red_flags
        if rf.present:
            critical = "epidural-cord-compression" in rf.groups_present
            names = ", ".join(h.label for h in rf.present)
            detail = "Red flags present (seed 003 Appendix 1; seed 004 Figure 1):\n\n" + table(
                ["Flag", "Group"], [[h.label, ", ".join(h.groups)] for h in rf.present]
            )
            lead = (
                "Red flag: possible cord compression - urgent evaluation"
                if critical
                else "Red flags"
            )
            cards.append(
                self.card(
                    "red-flags",
                    f"{lead}: {names}",
                    "critical" if critical else "warning",
                    detail,
                    ("Red flags", "/explain/topics/red-flags"),
                )
            )
        high = [e for e in a.scores.escc if e.high_grade]
        if high or (a.scores.escc and self.ctx.hook in ("patient-view", "assessment")):
            worst = (high or a.scores.escc)[0]
            lvl = worst.level or "unspecified level"
            grade_text = f"ESCC grade {worst.grade} at {lvl}"
            text = (
                f"{grade_text}: high-grade cord compression - decompression first"
                if high
                else f"{grade_text}: low grade"
            )
            detail = table(
                ["Level", "Grade", "Description", "High grade"],
                [[e.level or "-", e.grade, e.description, e.high_grade] for e in a.scores.escc],
            )
            policy = md(a.policies["escc_1c"])
            detail += f"\n{md(worst.implication)}\n\nPolicy escc_1c = {policy} (seed 004)."
            cards.append(
                self.card(
                    "escc",
                    text,
                    "critical" if high else "info",
                    detail,
                    ("ESCC", "/explain/topics/escc"),
                )
            )
        cards += self.sins_cards(a)
        for m in a.scores.mri_malignancy:
            if m.classification == "suggests_malignant" or self.ctx.hook in (
                "patient-view",
                "assessment",
            ):
                cards.append(self.mri_card(a, m))
        return cards

    def sins_cards(self, a: Assessment) -> list[Card]:
        sins = a.scores.sins
        index = next((s for s in sins.levels if s.level == sins.index_level), None)
        if index is None:
            return []
        cat = index.category
        if cat not in ("unstable", "potentially_unstable") and self.ctx.hook not in (
            "patient-view",
            "assessment",
        ):
            return []
        score = str(index.total) if index.total is not None else f"{index.min}-{index.max}"
        label = (cat or "category undetermined").replace("_", " ")
        action = f" - {index.action.lower()}" if index.action and cat != "stable" else ""
        text = f"SINS {score} at {index.level} (index level): {label}{action}"
        indicator: Literal["info", "warning", "critical"] = {
            "unstable": "critical",
            "potentially_unstable": "warning",
        }.get(cat or "", "info")  # type: ignore[assignment]
        detail = table(
            ["Level", "Total", "Range", "Category", "Missing"],
            [
                [
                    s.level,
                    s.total if s.total is not None else "-",
                    f"{s.min}-{s.max}",
                    s.category or ", ".join(s.possible_categories),
                    ", ".join(s.missing) or "-",
                ]
                for s in sins.levels
            ],
        )
        detail += "\nComponents at the index level: " + ", ".join(
            f"{k} {'?' if v is None else v}" for k, v in index.points.items()
        )
        bands = "; ".join(
            f"{c.range[0]}-{c.range[1]} {c.label.lower()} ({c.action.lower()})"
            for c in self.k.sins.categories
        )
        detail += f"\n\nSeed 004 Table 3: {bands}. Index level = highest SINS (seed 002)."
        return [self.card("sins", text, indicator, detail, ("SINS", "/explain/topics/sins"))]

    def mri_card(self, a: Assessment, m: MriLevelScore) -> Card:
        lvl = m.level or "unspecified level"
        score = str(m.total) if m.total is not None else f"{m.min}-{m.max}"
        cls = m.classification.replace("_", " ")
        text = f"MRI malignancy score {score} at {lvl} (cutoff 4): {cls}"
        detail = table(
            ["Sign", "Points"],
            [[k.replace("_", " "), "unknown" if v is None else v] for k, v in m.points.items()],
        )
        p = self.k.mri_score.performance
        detail += (
            f"\nSeed 000: total >= {m.cutoff} suggests malignant (sensitivity "
            f"{p['sensitivity']} %, specificity {p['specificity']} %, PPV {p['ppv']} %, NPV "
            f"{p['npv']} %, AUC {p['auc']}; {p['n_patients']} patients)."
        )
        for note in m.notes:
            detail += f"\n\n{md(note)}"
        if a.etiology_assessment.suspected_pathological:
            detail += f"\n\n**Work-up:** {md(a.etiology_assessment.recommendation or '')}"
        indicator: Literal["info", "warning"] = (
            "warning"
            if m.classification == "suggests_malignant"
            and a.derived.state.etiology != "pathological"
            else "info"
        )
        return self.card(
            "mri-malignancy-score",
            text,
            indicator,
            detail,
            ("MRI malignancy score", "/explain/topics/mri-malignancy-score"),
        )

    def evidence_cards(self, a: Assessment) -> list[Card]:
        cards = []
        vbq = a.scores.vbq
        if isinstance(vbq, VbqScore):
            risk = "elevated risk of a new VCF" if vbq.elevated_risk else "not elevated"
            perf = self.k.thresholds.vbq.performance
            levels = ", ".join(vbq.levels_used)
            csf = vbq.csf_level or "level not given"
            detail = (
                f"VBQ = median T1 signal of {levels} / CSF ({csf}) = {vbq.vbq}.\n\n"
                f"{md(vbq.note)} Cutoff > {vbq.cutoff}: sensitivity {perf.sensitivity} %,"
                f" specificity {perf.specificity} %, AUC {perf.auc}; with categorical SINS"
                f" AUC {perf.combined_with_categorical_sins_auc}."
            )
            if vbq.field_strength_t:
                detail += f" Field strength {vbq.field_strength_t} T."
            cards.append(
                self.card(
                    "vbq",
                    f"VBQ {vbq.vbq}: {risk} (cutoff 3)",
                    "info",
                    detail,
                    ("VBQ", "/explain/topics/vbq"),
                )
            )
        for ev in a.scores.sign_evidence:
            rows = [
                [
                    r.label,
                    r.value_label,
                    f"{r.benign_count}/{r.benign_n}",
                    f"{r.malignant_count}/{r.malignant_n}",
                    r.likelihood_ratio if r.likelihood_ratio is not None else "not computable",
                ]
                for r in ev.seed_001
            ]
            detail = ""
            if rows:
                detail += "Seed 001 (76 benign, 74 malignant, biopsy-proven):\n\n" + table(
                    ["Sign", "Observed", "Benign", "Malignant", "LR"], rows
                )
            qual = ev.seed_004_table_1
            if qual:
                detail += "\nSeed 004 Table 1:\n\n" + "\n".join(
                    f"- {md(q.label)} ({'present' if q.present else 'absent'}): favours {q.favours}"
                    for q in qual
                )
            detail += "\n\nRatios are per sign and are not combined into one probability."
            favour_m = sum(1 for r in ev.seed_001 if r.favours == "malignant") + sum(
                1 for q in qual if q.favours == "metastatic"
            )
            favour_b = sum(1 for r in ev.seed_001 if r.favours == "benign") + sum(
                1 for q in qual if q.favours == "osteoporotic"
            )
            where = ev.level or "unspecified level"
            text = (
                f"Sign evidence at {where}: {favour_m} favour malignant, {favour_b} favour benign"
            )
            cards.append(
                self.card(
                    "sign-evidence",
                    text,
                    "info",
                    detail,
                    ("Sign evidence", "/explain/topics/sign-evidence"),
                )
            )
        return cards

    def considerations_card(self, a: Assessment) -> Card:
        rows = []
        for c in a.considerations:
            rows.append(
                [
                    c.label,
                    c.status.replace("_", " "),
                    ", ".join(f"{x.label}: {x.status.replace('_', ' ')}" for x in c.criteria)
                    or "-",
                ]
            )
        met = [
            c.label for c in a.considerations if c.status == "met" and c.id != "medical-management"
        ]
        detail = "Seed 003 Variant 9 (pathological VCF):\n\n" + table(
            ["Consideration", "Status", "Criteria"], rows
        )
        text = "Pathological VCF considerations: " + (
            "; ".join(met) if met else "criteria incomplete - see details"
        )
        return self.card(
            "treatment-considerations",
            text,
            "info",
            detail,
            ("Treatment considerations", "/explain/topics/treatment-considerations"),
        )

    def missing_data_card(self, a: Assessment, orders: list[OrderRating]) -> Card | None:
        missing: list[str] = []
        for o in orders:
            missing += [m for m in o.missing if m not in missing]
        if self.ctx.hook in ("patient-view", "assessment"):
            for q in ("imaging", "treatment"):
                m = a.matches[q]
                if m.primary is None or not m.primary_certain:
                    missing += [x for x in m.missing if x not in missing]
        problems = [i for i in a.issues if i.severity in ("error", "warning")]
        if not missing and not problems:
            return None
        detail = ""
        if missing:
            detail += "These findings would change the answer:\n\n" + "\n".join(
                f"- **{READABLE.get(m, m)}**: {INPUT_SOURCES.get(m, m)}" for m in missing
            )
        if problems:
            detail += "\n\nInput skipped or read with a caveat:\n\n" + "\n".join(
                f"- `{md(i.location)}`: {md(i.message)}" for i in problems[:20]
            )
            if len(problems) > 20:
                detail += f"\n- … and {len(problems) - 20} more"
        if missing:
            text = "More information needed: " + ", ".join(READABLE.get(m, m) for m in missing[:4])
        else:
            n = plural(len(problems), "input")
            text = f"{n} skipped or unclear - the advice may be incomplete"
        return self.card(
            "missing-data",
            text,
            "info",
            detail,
            ("Accepted inputs", "/explain/topics/missing-data"),
        )
