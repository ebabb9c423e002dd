"""What every card family shares: the response context, the one reading of the assessment
(``CardFacts``), clinician wording from the knowledge data (labels, citations, radiation
levels) and the card factory (source, links, footer, machine-readable extension)."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from functools import cached_property
from typing import Literal

from app.assessment.model import Assessment
from app.cards.facts import EXTENSION_KEY, CardExtension, CardFacts, Stated, card_facts
from app.cards.text import md, summary, table
from app.cds_hooks.models import Card, Coding, Link, SelectionBehavior, Source, Suggestion
from app.clinical.findings import DraftOrder
from app.clinical.order_rating import OrderRating
from app.clinical.severity import Indicator
from app.ids import new_uuid
from app.knowledge.card_codes import CardCodes, card_codes
from app.knowledge.schema import CardFamily, CardPolicy, HookCardPolicy, Knowledge

Hook = Literal["order-select", "order-sign", "patient-view", "assessment"]
# How a swap suggestion changes the draft order (settings.swap_actions)
SwapActions = Literal["update", "delete-create"]
# (procedure name, draft order) -> a Coding for the alternative order in the same body region
CodingFor = Callable[[str, DraftOrder], dict[str, str] | None]


@dataclass(frozen=True)
class CardContext:
    hook: Hook
    base_url: str
    consult_id: str  # urn:uuid:..., also the audit key
    selections: frozenset[str] | None = None  # order-select: only these orders
    mirror_system_actions: bool = False
    swap_actions: SwapActions = "update"
    smart_app_enabled: bool = True


class CardKit:
    """Shared by the card families of one response."""

    def __init__(
        self, k: Knowledge, ctx: CardContext, a: Assessment, orders: list[OrderRating]
    ) -> None:
        self.k = k
        self.ctx = ctx
        self.a = a
        self.orders = orders  # the draft orders this hook considers
        self.codes: CardCodes = card_codes()
        self.policy: CardPolicy = k.card_policy
        self.hook_policy: HookCardPolicy = k.card_policy.hooks[ctx.hook]
        self.facts: CardFacts = card_facts(a, k)
        # a card phrase of the card policy with its placeholders filled (escape untrusted
        # values with ``md`` first); bound once, it is called for every line of every card
        self.phrase: Callable[..., str] = self.policy.phrase

    # --- wording from the knowledge data -----------------------------------------------------

    def short_procedure(self, name: str) -> str:
        return self.policy.short_procedure(name)

    def headers(self, key: str) -> list[str]:
        return list(self.policy.table_headers[key])

    def where(self, level: str | None) -> str:
        """' at L1' after a finding, or nothing without a level."""
        return " " + self.phrase("at-level", level=level) if level else ""

    def label(self, group: str, value: str | None) -> str:
        return self.policy.label(group, value)

    def cite(self, key: str) -> str:
        """'Montoya-Bordón et al. 2023, Imaging diagnosis of vertebral metastasis, Table 3'."""
        c = self.policy.citations[key]
        return f"{self.k.publications.get(c.publication).short}, {c.where}"

    def radiation(self, level: str | None) -> str:
        labels = self.policy.relative_radiation_levels.labels
        return labels.get(level or "unknown", labels["unknown"])

    def input_label(self, name: str) -> str:
        s = self.policy.state_inputs.get(name)
        if s is not None:
            return s.label
        return self.policy.finding_labels.get(name, name.replace("_", " ").replace("-", " "))

    def ask(self, name: str) -> str:
        s = self.policy.state_inputs.get(name)
        return s.ask if s is not None else self.input_label(name)

    def value_text(self, name: str, value: object) -> str:
        if name == "etiology":
            return self.label("etiology", value if isinstance(value, str) else None)
        if value is None:
            return self.label("tristate", "unknown")
        if isinstance(value, bool):
            return self.label("tristate", "true" if value else "false")
        return str(value)

    def from_text(self, sources: Iterable[str]) -> str:
        """Where a finding came from, in words ('observation, problem list'); the resource ids
        stay in the machine-readable extension."""
        kinds = self.policy.source_kinds
        out: list[str] = []
        for s in sources:
            kind = kinds.get(s.split("/", 1)[0]) or self.phrase("source-unknown")
            if " (" in s:  # the adapter's words after the id, e.g. the quoted report sentence
                kind += " " + s[s.index(" (") + 1 :]
            if kind not in out:
                out.append(kind)
        return ", ".join(out) or "-"

    def findings_table(self, names: list[str], stated: Stated) -> str:
        """The deciding clinical-state inputs: finding, value, where it came from."""
        rows = []
        for name in names:
            inp = self.a.derived.inputs[name]
            stated.add(name.replace("_", "-"), None, inp.value)
            rows.append(
                [
                    self.input_label(name),
                    self.value_text(name, inp.value),
                    self.from_text(inp.sources),
                ]
            )
        return table(self.headers("findings"), rows)

    def order_name(self, o: DraftOrder) -> str:
        """The order as the clinician ordered it: its display (or ACR procedure) and code."""
        name = o.display or o.procedure or self.phrase("order-unnamed")
        return (
            self.phrase("order-with-code", name=md(name), code=md(o.code)) if o.code else md(name)
        )

    # --- the card factory --------------------------------------------------------------------

    @cached_property
    def smart_link(self) -> Link | None:
        """merge_notes.md: a smart link to the workspace with the consult id and the draft
        orders' codings (no patient data; orders without a code are left out)."""
        if not self.ctx.smart_app_enabled:
            return None
        orders = [
            {"system": o.order.code_system, "code": o.order.code}
            | ({"display": o.order.display} if o.order.display else {})
            for o in self.orders
            if o.order.code and o.order.code_system
        ]
        context = json.dumps({"consultId": self.ctx.consult_id, "orders": orders})
        return Link(
            label=self.phrase("smart-link"),  # merge_notes.md (the SMART app of issue 9)
            url=f"{self.ctx.base_url}/app/launch.html",
            type="smart",
            appContext=context,
        )

    def card(
        self,
        family: CardFamily,
        text: str,
        indicator: Indicator,
        detail: str,
        link: tuple[str, str],
        stated: Stated,
        *,
        acr_content: bool,
        smart: bool = False,
        machine: CardExtension | None = None,
        suggestions: list[Suggestion] | None = None,
        selection_behavior: SelectionBehavior | None = None,
        override_reasons: list[Coding] | None = None,
    ) -> Card:
        topic = self.policy.families[family].topic
        assert topic is not None, f"family {family} is not shown as a card"
        url = f"{self.ctx.base_url}{link[1]}"
        links = [Link(label=link[0], url=url, type="absolute")]
        if smart and self.smart_link is not None:
            links.append(self.smart_link)
        footer = "\n\n---\n" + self.phrase("knowledge-version", version=md(self.k.version))
        if acr_content:
            footer += " " + self.policy.acr_notice
        ext: CardExtension = {"family": family, "consultId": self.ctx.consult_id}
        if stated.values:
            ext["findings"] = stated.json()
        if stated.conflicts:
            ext["conflicts"] = stated.conflicts
        if machine:
            ext.update(machine)
        return Card(
            uuid=new_uuid(),
            summary=summary(text),
            indicator=indicator,
            detail=detail.strip() + footer,
            source=Source(
                label="VCF-CDS",
                url=url,
                topic=Coding(
                    system=self.codes.topic_system, code=topic, display=self.codes.topics[topic]
                ),
            ),
            suggestions=suggestions,
            selectionBehavior=selection_behavior,
            overrideReasons=override_reasons,
            links=links,
            extension={EXTENSION_KEY: ext},
        )
