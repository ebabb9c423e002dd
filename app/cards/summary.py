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
from app.cards.text import lower_first, md, short_procedure, table
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
        names = [short_procedure(b) for b in best]
        shown = (
            " or ".join(names) if len(names) <= 2 else f"{names[0]}, {names[1]} (+{len(names) - 2})"
        )
        provisional = "" if m.primary_certain else ", provisional"
        heads.append(f"{words.capitalize()} (ACR Variant {v.id}{provisional}): {shown}")
        detail += f"**{words.capitalize()} - ACR Variant {v.id}:** {md(v.title)}\n\n"
        if question == "imaging":  # relative radiation levels are given for imaging only
            radiation = {p.name: p.relative_radiation_level for p in kit.k.acr.procedures}
            detail += table(
                ["Usually appropriate", "Relative radiation level"],
                [[b, kit.radiation(radiation.get(b))] for b in best],
            )
        else:
            detail += "Usually appropriate: " + "; ".join(md(b) for b in best) + ".\n"
        detail += "\n**Deciding findings:**\n\n" + kit.findings_table(v.condition.inputs(), stated)
        others = [n for n in m.matched if n != v.id]
        if others:
            detail += "\nAlso matched: " + ", ".join(f"Variant {n}" for n in others) + "."
        if not m.primary_certain:
            detail += (
                "\nProvisional: a variant earlier in the precedence order is still possible"
                " (see what would change the answer).\n\n"
            )
    missing = missing_inputs(kit, kit.orders)
    if not heads:
        text = (
            "More information needed: "
            + ", ".join(lower_first(kit.input_label(x)) for x in missing[:4])
            if missing
            else "No ACR VCF variant applies"
        )
        detail += "No ACR VCF variant can be chosen yet."
    else:
        text = "; ".join(heads)
        if len(text) > 139 and len(heads) > 1:
            text = heads[0] + "; treatment in details"
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
            f"ACR Variant {kit.a.matches['imaging'].primary}",
            f"/explain/variants/{kit.a.matches['imaging'].primary}",
        )
        if kit.a.matches["imaging"].primary
        else ("How the advice is made", "/explain/topics/patient-summary")
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
