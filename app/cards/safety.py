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
    where = f" at {c.level}" if c.level else ""
    if c.kind == "red-flag":
        return (
            f"red flag ({c.detail.lower()})",
            f"- **Red flags of epidural spinal cord compression:** {md(c.detail)} - urgent "
            f"evaluation ({kit.cite(c.citation)}).",
        )
    if c.kind == "high-grade-escc":
        e = next(x for x in kit.facts.escc if x.level == c.level and x.grade == c.detail)
        stated.add("escc-grade", c.level, e.grade)
        if e.level in kit.facts.compressed:
            stated.add("cord-compression", c.level, "present")
        return (
            f"high-grade cord compression{where} (ESCC {c.detail}) - decompression first",
            f"- **High-grade epidural spinal cord compression{md(where)}:** ESCC grade "
            f"{md(e.grade)}, {md(e.description)}. {md(e.implication)} "
            f"({kit.cite(c.citation)}).",
        )
    s = kit.facts.sins
    assert s is not None
    stated.add("sins-category", c.level, s.category)
    stated.add("sins-index-level", None, s.level)
    action = s.action or ""
    cat = next(x for x in kit.k.sins.categories if x.id == s.category)
    band = f"{cat.range[0]}-{cat.range[1]} {kit.label('sins-category', cat.id)}"
    return (
        f"unstable spine{where} (SINS {c.detail}) - {action.lower()}",
        f"- **Unstable spine{md(where)}:** SINS {md(c.detail)} ({band}). {md(action)} "
        f"({kit.cite(c.citation)}).",
    )


def safety_card(kit: CardKit) -> Card | None:
    if not kit.facts.critical or not passes("critical", kit.hook_policy.safety_min_indicator):
        return None
    stated = Stated()
    parts = [_line(kit, c, stated) for c in kit.facts.critical]
    text = "Urgent: " + "; ".join(p[0] for p in parts)
    detail = "Needs action now, whatever is ordered:\n\n" + "\n".join(p[1] for p in parts)
    first = kit.facts.critical[0].kind
    topic = {"red-flag": "red-flags", "high-grade-escc": "escc", "unstable-spine": "sins"}[first]
    return kit.card(
        "safety",
        text,
        "critical",
        detail,
        ("Why this is urgent", f"/explain/topics/{topic}"),
        stated,
        acr_content=any(c.kind == "red-flag" for c in kit.facts.critical),
        machine={"critical": [c.kind for c in kit.facts.critical]},
    )
