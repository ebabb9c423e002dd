"""Summary family (patient-view): ONE card with the next step, the deciding findings and what
is missing; the scores, treatment considerations and missing data go into its detail."""

from __future__ import annotations

from app.cards.facts import Stated
from app.cards.kit import CardKit
from app.cards.sections import (
    issues,
    missing_inputs,
    missing_section,
    red_flag_line,
    scores_section,
    treatment_section,
)
from app.cards.text import MAX_SUMMARY, lower_first, md, table
from app.cds_hooks.models import Card
from app.clinical.severity import is_urgent, summary_indicator

SECTIONS = {"scores": scores_section, "treatment": treatment_section}


def summary_card(kit: CardKit) -> Card:
    stated = Stated()
    heads: list[str] = []
    detail = ""
    acr = False
    for question in ("imaging", "treatment"):
        m = kit.a.matches[question]
        if m.primary is None:
            continue
        v = kit.k.variant(m.primary)
        assert v is not None
        acr = True
        stated.add(f"acr-{question}-variant", None, v.id)
        best = [p.name for p in v.procedures if p.category == "Usually Appropriate"]
        words = kit.label("question", question)
        names = [kit.short_procedure(b) for b in best]
        shown = (
            f" {kit.phrase('or')} ".join(names)
            if len(names) <= 2
            else kit.phrase("more-procedures", first=names[0], second=names[1], more=len(names) - 2)
        )
        heads.append(
            kit.phrase(
                "summary-head" if m.primary_certain else "summary-head-provisional",
                question=words.capitalize(),
                variant=v.id,
                procedures=shown,
            )
        )
        heading = kit.phrase(
            "summary-variant-heading", question=words.capitalize(), variant=v.id, title=md(v.title)
        )
        detail += heading + "\n\n"
        if question == "imaging":  # relative radiation levels are given for imaging only
            radiation = {p.name: p.relative_radiation_level for p in kit.k.acr.procedures}
            detail += table(
                kit.headers("usually-appropriate"),
                [[b, kit.radiation(radiation.get(b))] for b in best],
            )
        else:
            listed = kit.phrase(
                "usually-appropriate-list", procedures="; ".join(md(b) for b in best)
            )
            detail += listed + "\n"
        detail += "\n" + kit.phrase("deciding-findings") + "\n\n"
        detail += kit.findings_table(v.condition.inputs(), stated)
        others = [n for n in m.matched if n != v.id]
        if others:
            variants = ", ".join(kit.phrase("variant-name", variant=n) for n in others)
            detail += "\n" + kit.phrase("also-matched-variants", variants=variants)
        if not m.primary_certain:
            detail += "\n" + kit.phrase("provisional-note") + "\n\n"
    missing = missing_inputs(kit, kit.orders)
    if not heads:
        text = (
            kit.phrase(
                "more-information",
                inputs=", ".join(lower_first(kit.input_label(x)) for x in missing[:4]),
            )
            if missing
            else kit.phrase("no-variant-summary")
        )
        detail += kit.phrase("no-variant-detail")
    else:
        text = "; ".join(heads)
        if len(text) >= MAX_SUMMARY and len(heads) > 1:  # would be clamped: keep one whole
            text = kit.phrase("treatment-in-details", head=heads[0])
    detail += red_flag_line(kit)
    for section in kit.hook_policy.summary_sections:
        if section == "missing-data":
            detail += missing_section(kit, missing, stated)
        else:
            detail += SECTIONS[section](kit, stated)
    f = kit.facts
    indicator = summary_indicator(
        f.critical,
        f.sins.category if f.sins else None,
        f.suspected_pathological,
        any(not is_urgent(groups) for _, groups in f.red_flags),
    )
    topic_link = (
        (
            kit.phrase("summary-link-variant", variant=kit.a.matches["imaging"].primary),
            f"/explain/variants/{kit.a.matches['imaging'].primary}",
        )
        if kit.a.matches["imaging"].primary
        else (kit.phrase("summary-link"), "/explain/topics/patient-summary")
    )
    return kit.card(
        "summary",
        text,
        indicator,
        detail,
        topic_link,
        stated,
        acr_content=acr,
        smart=True,
        machine=({"missing": [x.replace("_", "-") for x in missing]} if missing else {})
        | issues(kit),
    )
