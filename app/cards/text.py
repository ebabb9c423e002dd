"""Plain-text and GitHub-flavoured-markdown helpers for cards (no raw HTML, bounded length)."""

from __future__ import annotations

import re
from collections.abc import Sequence

from app.cds_hooks.card_rules import MAX_SUMMARY_CHARS

MAX_SUMMARY = MAX_SUMMARY_CHARS  # CDS Hooks: summary shorter than 140 characters

_MD_SPECIAL = "\\`*_{}[]<>|#"
# each special character gets a backslash, a newline becomes a space
_MD_ESCAPES = str.maketrans({c: "\\" + c for c in _MD_SPECIAL} | {"\n": " "})
_MD_NEEDS_ESCAPE = re.compile(r"[\\`*_{}\[\]<>|#\n]")


def md(text: object) -> str:
    """Escape markdown (and any angle bracket) in untrusted text such as EHR displays."""
    value = str(text)
    return value.translate(_MD_ESCAPES) if _MD_NEEDS_ESCAPE.search(value) else value


def summary(text: str) -> str:
    """Clamp to the CDS Hooks 140-character limit on a word boundary."""
    text = " ".join(text.split())
    if len(text) <= MAX_SUMMARY:
        return text
    cut = text[: MAX_SUMMARY - 1].rsplit(" ", 1)[0].rstrip(",;:-")
    return cut + "…"


def table(headers: list[str], rows: Sequence[Sequence[object]]) -> str:
    head = "| " + " | ".join(headers) + " |\n|" + "---|" * len(headers) + "\n"
    return head + "".join("| " + " | ".join(md(c) for c in row) + " |\n" for row in rows)


def lower_first(label: str) -> str:
    """'History of malignancy' -> 'history of malignancy'; 'VCF documented' stays."""
    if len(label) > 1 and label[1].isupper():
        return label
    return label[:1].lower() + label[1:]
