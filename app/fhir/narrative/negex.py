"""Hand-made NegEx-style assertion: cue patterns before and after a target within its clause.

Kept only to measure medspaCy ConText against (docs/narrative-extraction.md); the service uses
ConText. A clause ends at "but", "however", "although", "which", "with" or ";".
"""

from __future__ import annotations

import re
from typing import Literal

_TERMINATE = re.compile(r"\b(?:but|however|although|though|whereas|which|with)\b|;", re.I)
_UNCERTAIN_BEFORE = re.compile(
    r"\b(?:possible|possibly|probable|probably|likely|questionable|questionably|equivocal|"
    r"suspicious\s+for|suspected|concern(?:ing)?\s+for|worrisome\s+for|indeterminate|"
    r"(?:may|might|could|can)\s+(?:represent|reflect|indicate|be)|"
    r"(?:cannot|can't|can\s+not|could\s+not)\s+(?:exclude|rule\s+out))\b",
    re.I,
)
_UNCERTAIN_AFTER = re.compile(
    r"^[^;]*?\b(?:(?:cannot|can't|could\s+not|is\s+not|are\s+not|not)\s+(?:be\s+)?"
    r"(?:excluded|ruled\s+out)|possibly|is\s+suspected|questionable|equivocal)\b",
    re.I,
)
_NEGATED_BEFORE = re.compile(
    r"\b(?:no|not|without|negative\s+for|free\s+of|absence\s+of|no\s+evidence\s+of|"
    r"rather\s+than|resolved)\b",
    re.I,
)
_NEGATED_AFTER = re.compile(
    r"^[^;]*?\b(?:is|are|was|were|remain|remains|appear|appears)\s+(?:not\s+(?:seen|identified|"
    r"present|demonstrated|visualized|evident|involved)|excluded|absent|intact|spared|preserved|"
    r"uninvolved|unremarkable|normal|maintained)\b",
    re.I,
)
_HYPOTHETICAL_BEFORE = re.compile(r"\b(?:if|evaluate\s+for|assess\s+for|recommend\w*)\b", re.I)


def _clause_before(before: str) -> str:
    parts = _TERMINATE.split(before)
    return parts[-1]


def _clause_after(after: str) -> str:
    return _TERMINATE.split(after)[0]


def status(before: str, after: str) -> Literal["present", "absent", "uncertain", "hypothetical"]:
    """Assertion of a target from the sentence text before and after it."""
    pre, post = _clause_before(before), _clause_after(after)
    if _HYPOTHETICAL_BEFORE.search(pre):
        return "hypothetical"
    if _UNCERTAIN_BEFORE.search(pre) or _UNCERTAIN_AFTER.search(post):
        return "uncertain"
    if _NEGATED_BEFORE.search(pre) or _NEGATED_AFTER.search(post):
        return "absent"
    return "present"
