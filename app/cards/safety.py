"""Safety family: ONE card with the critical findings (app/clinical/severity.py) - urgent red
flags, high-grade cord compression, unstable spine - shown on every hook."""

from __future__ import annotations

from app.cards.facts import Stated
from app.cards.kit import CardKit
from app.cards.text import md
from app.cds_hooks.models import Card
from app.clinical.severity import CriticalFinding, passes


def _line(kit: CardKit, c: CriticalFinding, stated: Stated) -> tuple[str, str]:
    """(summary phrase, detail line) of one critical finding."""
    where = kit.where(c.level)
    if c.kind == "red-flag":
        return (
            kit.phrase("safety-red-flag", flags=c.detail.lower()),
            kit.phrase("safety-red-flag-line", flags=md(c.detail), citation=kit.cite(c.citation)),
        )
    if c.kind == "high-grade-escc":
        e = next(x for x in kit.facts.escc if x.level == c.level and x.grade == c.detail)
        stated.add("escc-grade", c.level, e.grade)
        if e.level in kit.facts.compressed:
            stated.add("cord-compression", c.level, "present")
        return (
            kit.phrase("safety-escc", where=where, grade=c.detail),
            kit.phrase(
                "safety-escc-line",
                where=md(where),
                grade=md(e.grade),
                description=md(e.description),
                implication=md(e.implication),
                citation=kit.cite(c.citation),
            ),
        )
    s = kit.facts.sins
    assert s is not None
    stated.add("sins-category", c.level, s.category)
    stated.add("sins-index-level", None, s.level)
    action = s.action or ""
    cat = next(x for x in kit.k.sins.categories if x.id == s.category)
    band = kit.phrase(
        "sins-band",
        low=cat.range[0],
        high=cat.range[1],
        category=kit.label("sins-category", cat.id),
    )
    return (
        kit.phrase("safety-sins", where=where, score=c.detail, action=action.lower()),
        kit.phrase(
            "safety-sins-line",
            where=md(where),
            score=md(c.detail),
            band=band,
            action=md(action),
            citation=kit.cite(c.citation),
        ),
    )


def safety_card(kit: CardKit) -> Card | None:
    if not kit.facts.critical or not passes("critical", kit.hook_policy.safety_min_indicator):
        return None
    stated = Stated()
    parts = [_line(kit, c, stated) for c in kit.facts.critical]
    text = kit.phrase("safety-summary", findings="; ".join(p[0] for p in parts))
    detail = kit.phrase("safety-intro") + "\n\n" + "\n".join(p[1] for p in parts)
    first = kit.facts.critical[0].kind
    topic = {"red-flag": "red-flags", "high-grade-escc": "escc", "unstable-spine": "sins"}[first]
    return kit.card(
        "safety",
        text,
        "critical",
        detail,
        (kit.phrase("safety-link"), f"/explain/topics/{topic}"),
        stated,
        acr_content=any(c.kind == "red-flag" for c in kit.facts.critical),
        machine={"critical": [c.kind for c in kit.facts.critical]},
    )
