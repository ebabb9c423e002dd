"""Order-rating family: one card per draft order with its ACR rating (or why it cannot be
rated), the swap suggestions and the Argonaut PAMA rating actions ("CDS Hooks for PAMA")."""

from __future__ import annotations

from app.cards.facts import CardExtension, Stated
from app.cards.kit import CardKit, CodingFor
from app.cards.prune import prune_empty
from app.cards.sections import issues, issues_line, red_flag_line, treatment_section
from app.cards.text import lower_first, md, summary, table
from app.cds_hooks.models import Action, Card, Coding, Suggestion
from app.clinical.appropriateness import Alternative
from app.clinical.findings import DraftOrder
from app.clinical.order_rating import OrderRating, pama_for
from app.clinical.severity import order_rating_indicator
from app.ids import new_uuid

# Elements of a draft ServiceRequest that describe the ordered procedure itself: an update to
# the alternative replaces ``code`` and drops these (they belonged to the original procedure).
PROCEDURE_ELEMENTS = ("code", "orderDetail")


def order_ref(o: DraftOrder) -> str:
    return f"{o.resource_type}/{o.resource_id}"


class OrderRatingCards:
    def __init__(self, kit: CardKit, coding_for: CodingFor) -> None:
        self.kit = kit
        self.coding_for = coding_for

    def cards(self) -> list[Card]:
        kit = self.kit
        cards = [self.rating_card(o) for o in kit.orders if o.order.procedure is not None]
        unrateable = [o for o in kit.orders if o.order.procedure is None]
        if unrateable:
            cards.append(self.unrateable_card(unrateable))
        return cards

    def actions(self) -> list[Action]:
        return [act for o in self.kit.orders if (act := self.rating_action(o)) is not None]

    # --- cards ---------------------------------------------------------------------------

    def variant_line(self, n: int) -> str:
        v = self.kit.k.variant(n)
        assert v is not None
        return self.kit.phrase(
            "variant-line",
            variant=n,
            question=self.kit.label("question", v.question),
            title=md(v.title),
        )

    def machine(self, o: OrderRating) -> CardExtension:
        ext: CardExtension = {"order": order_ref(o.order), "status": o.status.replace("_", "-")}
        ext.update(issues(self.kit))
        return ext

    def rating_card(self, o: OrderRating) -> Card:
        kit = self.kit
        proc = o.order.procedure or ""
        stated = Stated()
        head = (
            kit.phrase("order-line", order=kit.order_name(o.order))
            + "\n\n"
            + kit.phrase("acr-procedure-line", procedure=md(proc))
            + "\n\n"
        )
        if o.status == "not_rated" or o.rating is None or o.rating.category is None:
            return self.not_rated_card(o, head, stated)
        r = o.rating
        lo, hi = r.rating_range or (0, 0)
        category = r.category or ""
        variant = kit.k.variant(r.variant)
        assert variant is not None
        stated.add(f"acr-{variant.question}-variant", None, r.variant)
        rating = kit.phrase("rating-line", category=md(category), low=lo, high=hi)
        detail = head + f"{self.variant_line(r.variant)}\n\n{rating}\n\n"
        if r.alternatives:
            detail += (
                kit.phrase("alternatives-intro")
                + "\n\n"
                + table(
                    kit.headers("alternatives"),
                    [
                        [
                            x.name,
                            f"{x.rating_range[0]}-{x.rating_range[1]}",
                            kit.radiation(x.relative_radiation_level),
                        ]
                        for x in r.alternatives
                    ],
                )
            )
        if o.other_ratings:
            ratings = "; ".join(
                kit.phrase(
                    "variant-category",
                    variant=x.variant,
                    category=md(x.category or kit.phrase("category-not-listed")),
                )
                for x in o.other_ratings
            )
            detail += "\n" + kit.phrase("also-matched-ratings", ratings=ratings)
        detail += (
            "\n\n"
            + kit.phrase("deciding-findings")
            + "\n\n"
            + kit.findings_table(variant.condition.inputs(), stated)
        )
        detail += self.context_lines(o, stated)
        text = kit.phrase(
            "rating-summary",
            procedure=kit.short_procedure(proc),
            category=category,
            low=lo,
            high=hi,
            variant=r.variant,
        )
        suggestions: list[Suggestion] = []
        if category != "Usually Appropriate" and r.alternatives:
            suggestions = [s for alt in r.alternatives if (s := self.swap(o.order, alt))]
        machine = self.machine(o)
        machine.update({"variant": r.variant, "category": category, "rating": [lo, hi]})
        return kit.card(
            "order-rating",
            text,
            order_rating_indicator(category),
            detail,
            (kit.phrase("rating-link", variant=r.variant), f"/explain/variants/{r.variant}"),
            stated,
            acr_content=True,
            smart=True,
            machine=machine,
            suggestions=suggestions or None,
            selection_behavior="at-most-one" if suggestions else None,
            override_reasons=self.override_reasons() if suggestions else None,
        )

    def context_lines(self, o: OrderRating, stated: Stated) -> str:
        """Red flags below the critical level, and for treatment orders of a pathological
        VCF the treatment considerations (critical findings have their own card)."""
        out = red_flag_line(self.kit)
        if o.question == "treatment" and self.kit.facts.etiology == "pathological":
            out += treatment_section(self.kit, stated)
        return out + issues_line(self.kit)

    def not_rated_card(self, o: OrderRating, head: str, stated: Stated) -> Card:
        kit = self.kit
        proc = kit.short_procedure(
            o.order.procedure or o.order.display or kit.phrase("order-unnamed-short")
        )
        why = kit.label("not-rated", o.reason or "insufficient_information")
        detail = head + kit.phrase("not-rated-line", why=md(why)) + "\n\n"
        if o.missing:
            detail += (
                kit.phrase("not-rated-missing-intro")
                + "\n\n"
                + "\n".join(f"- {md(kit.ask(m))}" for m in o.missing)
            )
            for m in o.missing:
                stated.add(m.replace("_", "-"), None, None)
        if o.candidates:
            detail += (
                "\n\n"
                + kit.phrase("candidates-intro")
                + "\n\n"
                + table(
                    kit.headers("candidates"),
                    [
                        [
                            kit.phrase("variant-name", variant=c.variant),
                            c.category or kit.phrase("category-not-listed"),
                        ]
                        for c in o.candidates
                    ],
                )
            )
        detail += self.context_lines(o, stated)
        if o.missing:
            why = kit.phrase(
                "not-rated-why-missing",
                why=why,
                missing=", ".join(lower_first(kit.input_label(m)) for m in o.missing[:3]),
            )
        return kit.card(
            "order-rating",
            kit.phrase("not-rated-summary", procedure=proc, why=why),
            "info",
            detail,
            (kit.phrase("not-rated-link"), "/explain/topics/order-appropriateness"),
            stated,
            acr_content=True,  # the ACR procedure name (and the candidate ratings)
            smart=True,
            machine=self.not_rated_machine(o),
        )

    def not_rated_machine(self, o: OrderRating) -> CardExtension:
        machine = self.machine(o)
        if o.reason:
            machine["reason"] = o.reason.replace("_", "-")
        if o.missing:
            machine["missing"] = [m.replace("_", "-") for m in o.missing]
        return machine

    def unrateable_card(self, orders: list[OrderRating]) -> Card:
        """Orders the ACR VCF tables cannot rate: no code at all, or a code that is no VCF
        imaging or treatment procedure. Nothing else is said about them."""
        kit = self.kit

        def why(o: OrderRating) -> str:
            return kit.label("not-rated", "unknown_procedure" if o.order.code else "no_code")

        lines = "\n".join(f"- {kit.order_name(o.order)}: {why(o)}" for o in orders)
        if len(orders) == 1:
            o = orders[0]
            text = (
                f"{o.order.display}: {why(o)}"
                if o.order.display
                else why(o)[:1].upper() + why(o)[1:]
            )
        else:
            text = kit.phrase("unrateable-summary", count=len(orders))
        return kit.card(
            "order-rating",
            text,
            "info",
            kit.phrase("unrateable-intro") + "\n\n" + lines,
            (kit.phrase("unrateable-link"), "/explain/topics/order-appropriateness"),
            Stated(),
            acr_content=False,
            machine={"orders": [order_ref(o.order) for o in orders], "status": "not-rated"},
        )

    def override_reasons(self) -> list[Coding]:
        codes = self.kit.codes
        return [
            Coding(system=codes.override_reason_system, code=r.code, display=r.display)
            for r in codes.override_reasons
        ]

    # --- suggestions and actions ------------------------------------------------------------

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
        ref = order_ref(order)
        kit = self.kit
        label = summary(kit.phrase("swap-label", procedure=kit.short_procedure(alternative.name)))
        if self.kit.ctx.swap_actions == "update" and order.resource_type == "ServiceRequest":
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
                    description=kit.phrase("swap-update", order=ref, procedure=alternative.name),
                    resource=resource,
                )
            ]
        else:
            raw = order.resource
            new: dict[str, object] = {
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
                Action(
                    type="delete",
                    description=kit.phrase("swap-delete", order=ref),
                    resourceId=ref,
                ),
                Action(
                    type="create",
                    description=kit.phrase("swap-create", procedure=alternative.name),
                    resource=new,
                ),
            ]
        return Suggestion(label=label, uuid=new_uuid(), actions=actions)

    def pama_extensions(
        self,
        existing: object,
        rating: str,
        category: str | None,
        rating_range: tuple[int, int] | None,
    ) -> list[object]:
        """``existing`` extensions without ours, plus the pama-rating (with the HL7
        appropriateness-score of the category when rated) and the consult id."""
        pama = self.kit.codes.pama
        codings = [{"system": pama.rating_system, "code": rating}]
        if category and rating_range:
            codings.append(
                {
                    "system": pama.appropriateness_score_system,
                    "code": pama.score_code(rating_range),
                    "display": category,
                }
            )
        ext: list[object] = [
            e
            for e in (existing if isinstance(existing, list) else [])
            if isinstance(e, dict)
            and e.get("url") not in (pama.rating_extension, pama.consult_extension)
        ]
        return [
            *ext,
            {"url": pama.rating_extension, "valueCodeableConcept": {"coding": codings}},
            {"url": pama.consult_extension, "valueUri": self.kit.ctx.consult_id},
        ]

    def rating_action(self, o: OrderRating) -> Action | None:
        """Argonaut PAMA: update the draft ServiceRequest with the rating and the consult id.
        Nothing is attached when information is insufficient (say what is missing instead)."""
        if o.pama is None or o.order.resource_type != "ServiceRequest" or o.order.procedure is None:
            return None
        resource = prune_empty(o.order.resource)  # a copy of the draft
        r = o.rating
        resource["extension"] = self.pama_extensions(
            resource.get("extension"),
            o.pama,
            r.category if r else None,
            r.rating_range if r else None,
        )
        return Action(
            type="update",
            description=self.kit.phrase("rating-action", rating=o.pama, order=order_ref(o.order)),
            resource=resource,
        )
