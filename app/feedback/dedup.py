"""Dedup key of one feedback entry (CDS Hooks 2.0 "Feedback": a client may send the same
feedback for a card several times; each distinct interaction is stored once)."""

from __future__ import annotations

import hashlib
import json
from datetime import UTC

from app.feedback.schema import FeedbackItem


def dedup_key(item: FeedbackItem) -> str:
    """SHA-256 (hex) of card, outcome, UTC timestamp, sorted accepted suggestion ids,
    ``system|code`` of the reason and the user comment, JSON-encoded so no two distinct tuples
    share an encoding."""
    reason = item.overrideReason.reason if item.overrideReason else None
    parts = [
        item.card,
        item.outcome,
        item.outcomeTimestamp.astimezone(UTC).isoformat(),
        accepted_ids(item),
        f"{reason.system}|{reason.code}" if reason else "",
        (item.overrideReason.userComment if item.overrideReason else None) or "",
    ]
    encoded = json.dumps(parts, ensure_ascii=True, separators=(",", ":"))
    return hashlib.sha256(encoded.encode("ascii")).hexdigest()


def accepted_ids(item: FeedbackItem) -> list[str]:
    """The accepted suggestion ids, sorted and without repeats."""
    return sorted({s.id for s in item.acceptedSuggestions or []})
