"""The CDS Hooks response for one assessment (shared/spec/api.md "CDS Hooks"; CDS Hooks 2.0
Card Attributes; Argonaut "CDS Hooks for PAMA" rating pattern).

Which card families a hook shows and how many cards at most is policy data
(``app/knowledge/data/card_policy.json``, docs/cards.md): order-select / order-sign show one
rating card per draft order plus the critical safety card; patient-view shows one summary card
plus the critical safety card. Every family reads the same ``CardFacts``.
"""

from __future__ import annotations

import logging

from pydantic import BaseModel

from app.assessment.model import Assessment
from app.cards.kit import CardContext, CardKit, CodingFor, Hook, SwapActions
from app.cards.order_rating import OrderRatingCards
from app.cards.safety import safety_card
from app.cards.summary import summary_card
from app.cds_hooks.models import Action, Card, CdsResponse
from app.clinical.order_rating import OrderRating
from app.knowledge.schema import Knowledge

__all__ = ["CardBuilder", "CardContext", "CodingFor", "Hook", "SwapActions"]
log = logging.getLogger(__name__)


class MirroredActions(BaseModel):
    """``response.extension`` for pre-2.0 clients that read system actions there
    (settings.mirror_system_actions); dumped like the response's own ``systemActions``."""

    systemActions: list[Action]


class CardBuilder:
    """Builds the CDS Hooks response for one assessment under the hook's card policy."""

    def __init__(self, k: Knowledge, ctx: CardContext, coding_for: CodingFor) -> None:
        self.k = k
        self.ctx = ctx
        self.coding_for = coding_for

    def build(self, a: Assessment) -> CdsResponse:
        orders = self.considered_orders(a)
        kit = CardKit(self.k, self.ctx, a, orders)
        policy = kit.hook_policy
        ratings = OrderRatingCards(kit, self.coding_for)
        cards: list[Card] = []
        actions: list[Action] = []
        for family in policy.cards:
            if family == "summary":
                cards.append(summary_card(kit))
            elif family == "order-rating":
                cards += ratings.cards()
                actions = ratings.actions()
            elif family == "safety" and (card := safety_card(kit)) is not None:
                # the most urgent card first
                cards.insert(0, card)
        limit = policy.max_cards.limit(len(orders))
        if len(cards) > limit:  # cannot happen with the families above; never silently
            log.error(
                "card policy %s: %d cards over the limit %d", self.ctx.hook, len(cards), limit
            )
            cards = cards[:limit]
        if self.ctx.mirror_system_actions and actions:
            return CdsResponse(
                cards=cards,
                systemActions=actions,
                extension=MirroredActions(systemActions=actions),
            )
        return CdsResponse(cards=cards, systemActions=actions or None)

    def considered_orders(self, a: Assessment) -> list[OrderRating]:
        """order-select looks at the selections only; order-sign at every draft order."""
        if self.ctx.selections is None:
            return list(a.orders)
        return [
            o for o in a.orders
            if f"{o.order.resource_type}/{o.order.resource_id}" in self.ctx.selections
        ]  # fmt: skip
