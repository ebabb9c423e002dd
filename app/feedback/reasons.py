"""The override reasons our cards offer (``card_codes.json``; CDS Hooks 2.0 "Feedback":
``overrideReason.reason`` is normally one of the card's ``overrideReasons``)."""

from __future__ import annotations

from app.knowledge.card_codes import card_codes


def offered_display(system: str | None, code: str | None) -> str | None:
    """The display of an offered reason, or None when the Coding is not one we offer."""
    codes = card_codes()
    if system != codes.override_reason_system:
        return None
    return next((r.display for r in codes.override_reasons if r.code == code), None)
