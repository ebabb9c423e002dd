"""Markdown sections of the families that patient-view shows inside the summary card
(scores, treatment considerations, missing data) and that the rating cards borrow. Each
section reads ``CardFacts`` and records the findings it states."""

from __future__ import annotations

from app.cards.facts import CardExtension, Stated, score_text
from app.cards.kit import CardKit
from app.cards.text import md
from app.clinical.findings import InputIssue
from app.clinical.order_rating import OrderRating
from app.clinical.severity import is_urgent


def cord_text(kit: CardKit, value: bool | None) -> str:
    return kit.label(
        "cord-compression", "unknown" if value is None else ("present" if value else "absent")
    )


def red_flag_line(kit: CardKit) -> str:
    """Red flags that are not critical (the critical ones have their own card)."""
    others = [label for label, groups in kit.facts.red_flags if not is_urgent(groups)]
    if not others:
        return ""
    line = kit.phrase("red-flags-line", flags=md("; ".join(others)), citation=kit.cite("red-flags"))
    return "\n\n" + line


def scores_section(kit: CardKit, stated: Stated) -> str:
    f = kit.facts
    lines: list[str] = []
    if f.sins is not None:
        s = f.sins
        category = (
            kit.label("sins-category", s.category)
            if s.category
            else kit.phrase(
                "sins-undetermined",
                categories=f" {kit.phrase('or')} ".join(
                    kit.label("sins-category", c) for c in s.possible_categories
                ),
            )
        )
        stated.add("sins-category", s.level, s.category)
        stated.add("sins-index-level", None, s.level)
        action = f" - {s.action.lower()}" if s.action and s.category not in (None, "stable") else ""
        parts = ", ".join(f"{k} {'?' if v is None else v}" for k, v in s.points.items())
        lines.append(
            kit.phrase(
                "sins-line",
                score=score_text(s.total, s.min, s.max),
                level=md(s.level),
                category=category,
                action=action,
                components=parts,
                citation=kit.cite("sins"),
                index_citation=kit.cite("sins-index-level"),
            )
        )
    for e in f.escc:
        stated.add("escc-grade", e.level, e.grade)
        grade = kit.label("escc-class", "high" if e.high_grade else "low")
        lines.append(
            kit.phrase(
                "escc-line",
                grade=md(e.grade),
                level=md(e.level or kit.phrase("unspecified-level")),
                description=md(e.description),
                grade_class=grade,
                implication=md(e.implication),
                citation=kit.cite("escc"),
            )
        )
    if f.escc or any(m.points.get("cord_compression") is not None for m in f.mri):
        stated.add("cord-compression", None, cord_text(kit, f.cord_compression))
    signs = {s.id: s.label for s in kit.k.mri_score.signs}
    for m in f.mri:
        cls = kit.label("mri-classification", m.classification)
        stated.add("mri-classification", m.level, m.classification.replace("_", "-"))
        cord = m.points.get("cord_compression")
        if cord is not None:
            stated.add("cord-compression", m.level, "present" if cord else "absent")
        shown = ", ".join(
            f"{signs.get(k, k).lower()} {'?' if v is None else v}" for k, v in m.points.items()
        )
        notes = ""
        if m.points.get("fluid_cleft"):
            notes += " " + kit.policy.notes["fluid-cleft"]
        if "contrast-enhancement" not in m.missing:
            notes += " " + kit.policy.notes["contrast-enhancement"]
        lines.append(
            kit.phrase(
                "mri-line",
                score=score_text(m.total, m.min, m.max),
                level=md(m.level or kit.phrase("unspecified-level")),
                cutoff=m.cutoff,
                classification=cls,
                signs=md(shown),
                notes=notes,
                citation=kit.cite("mri-score"),
            )
        )
    if f.suspected_pathological:
        lines.append(kit.phrase("work-up-line", note=kit.policy.notes["work-up"]))
    if f.vbq is not None:
        v = f.vbq
        risk = kit.label("vbq-risk", "true" if v.elevated_risk else "false")
        stated.add("vbq-elevated", None, v.elevated_risk)
        lines.append(
            kit.phrase(
                "vbq-line",
                vbq=v.vbq,
                cutoff=f"{v.cutoff:g}",
                risk=risk,
                levels=md(", ".join(v.levels_used)),
                citation=kit.cite("vbq"),
            )
        )
    for ev in f.sign_evidence:
        favour_m = sum(1 for r in ev.seed_001 if r.favours == "malignant") + sum(
            1 for q in ev.seed_004_table_1 if q.favours == "metastatic"
        )
        favour_b = sum(1 for r in ev.seed_001 if r.favours == "benign") + sum(
            1 for q in ev.seed_004_table_1 if q.favours == "osteoporotic"
        )
        where = ev.level or kit.phrase("unspecified-level")
        lines.append(
            kit.phrase(
                "sign-evidence-line",
                level=md(where),
                malignant=kit.policy.count("sign-count", favour_m),
                benign=favour_b,
                note=kit.policy.notes["ratios"],
                citation=kit.cite("sign-evidence"),
                qualitative_citation=kit.cite("sign-evidence-qualitative"),
            )
        )
    return "\n\n" + kit.phrase("scores-heading") + "\n\n" + "\n".join(lines) if lines else ""


def criterion_text(kit: CardKit, cid: str, label: str, status: str) -> str:
    phrasing = kit.policy.criteria_phrasing.get(cid)
    if phrasing is not None:
        return phrasing[status]  # type: ignore[index]
    return f"{label}: {kit.label('consideration-status', status)}"


def treatment_section(kit: CardKit, stated: Stated) -> str:
    """Treatment considerations - only for a pathological VCF (never next to a card that
    says the cause is unknown)."""
    if kit.facts.etiology != "pathological" or not kit.a.considerations:
        return ""
    stated.add("etiology", None, "pathological")
    stated.add("cord-compression", None, cord_text(kit, kit.facts.cord_compression))
    rows = []
    for c in kit.a.considerations:
        # met: nothing more to say; otherwise the criteria that are not met or unknown
        crit = "; ".join(
            criterion_text(kit, x.id, x.label, x.status)
            for x in c.criteria
            if c.status != "met" and x.status != "met"
        )
        status = kit.label("consideration-status", c.status)
        rows.append(f"- {md(c.label)}: **{status}**" + (f" ({md(crit)})" if crit else ""))
    heading = kit.phrase("treatment-heading", citation=kit.cite("treatment"))
    return f"\n\n{heading}\n\n" + "\n".join(rows)


def missing_inputs(kit: CardKit, orders: list[OrderRating]) -> list[str]:
    """The findings that would change the answer: of the orders, of a variant that is not yet
    certain, and of the treatment considerations."""
    missing: list[str] = []
    for o in orders:
        missing += [m for m in o.missing if m not in missing]
    for q in ("imaging", "treatment"):
        m = kit.a.matches[q]
        if m.primary is None or not m.primary_certain:
            missing += [x for x in m.missing if x not in missing]
    return missing


def missing_section(kit: CardKit, missing: list[str], stated: Stated) -> str:
    out = ""
    if missing:
        for m in missing:
            stated.add(m.replace("_", "-"), None, None)
        out += (
            "\n\n"
            + kit.phrase("missing-heading")
            + "\n\n"
            + "\n".join(f"- {md(kit.ask(m))}" for m in missing)
        )
    return out + issues_line(kit)


def _problems(kit: CardKit) -> list[InputIssue]:
    return [i for i in kit.a.issues if i.severity in ("error", "warning")]


def issues_line(kit: CardKit) -> str:
    """How many inputs were skipped or read with a caveat (their locations are resource ids:
    they go into the machine-readable part and the workspace app)."""
    problems = _problems(kit)
    if not problems:
        return ""
    return "\n\n" + kit.phrase("issues-line", inputs=kit.policy.count("input-count", len(problems)))


def issues(kit: CardKit) -> CardExtension:
    """The machine-readable list of those inputs (location and message)."""
    problems = _problems(kit)[:20]
    if not problems:
        return {}
    return {"issues": [{"location": i.location, "message": i.message} for i in problems]}
