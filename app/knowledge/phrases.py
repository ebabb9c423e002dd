"""The card phrases the card families (and the SMART view, app/smart/view.py) need from
``card_policy.json`` (``phrases``, ``table_headers``), each with the placeholders its template
must use. ``CardPolicy`` checks
the data against this at start-up, so a missing phrase, an unknown placeholder or a dropped one
stops loading instead of failing (or saying less) in a card."""

from __future__ import annotations

import string

# phrase key -> the placeholders the card code fills (str.format names)
_PHRASES: dict[str, tuple[str, ...]] = {
    # the card factory and shared pieces (app/cards/kit.py)
    "smart-link": (),
    "source-unknown": (),
    "order-unnamed": (),
    "order-with-code": ("code", "name"),
    "knowledge-version": ("version",),
    "deciding-findings": (),
    "unspecified-level": (),
    "at-level": ("level",),
    "or": (),
    "variant-name": ("variant",),
    "category-not-listed": (),
    # order-rating family (app/cards/order_rating.py)
    "variant-line": ("question", "title", "variant"),
    "order-line": ("order",),
    "acr-procedure-line": ("procedure",),
    "rating-line": ("category", "high", "low"),
    "alternatives-intro": (),
    "also-matched-ratings": ("ratings",),
    "variant-category": ("category", "variant"),
    "rating-summary": ("category", "high", "low", "procedure", "variant"),
    "rating-link": ("variant",),
    "order-unnamed-short": (),
    "not-rated-line": ("why",),
    "not-rated-missing-intro": (),
    "candidates-intro": (),
    "not-rated-why-missing": ("missing", "why"),
    "not-rated-summary": ("procedure", "why"),
    "not-rated-link": (),
    "unrateable-summary": ("count",),
    "unrateable-intro": (),
    "unrateable-link": (),
    "swap-label": ("procedure",),
    "swap-update": ("order", "procedure"),
    "swap-delete": ("order",),
    "swap-create": ("procedure",),
    "rating-action": ("order", "rating"),
    # safety family (app/cards/safety.py)
    "safety-summary": ("findings",),
    "safety-intro": (),
    "safety-link": (),
    "safety-red-flag": ("flags",),
    "safety-red-flag-line": ("citation", "flags"),
    "safety-escc": ("grade", "where"),
    "safety-escc-line": ("citation", "description", "grade", "implication", "where"),
    "safety-sins": ("action", "score", "where"),
    "safety-sins-line": ("action", "band", "citation", "score", "where"),
    "sins-band": ("category", "high", "low"),
    # sections: scores, treatment, missing data (app/cards/sections.py)
    "red-flags-line": ("citation", "flags"),
    "scores-heading": (),
    "sins-undetermined": ("categories",),
    "sins-line": (
        "action",
        "category",
        "citation",
        "components",
        "index_citation",
        "level",
        "score",
    ),
    "escc-line": ("citation", "description", "grade", "grade_class", "implication", "level"),
    "mri-line": ("citation", "classification", "cutoff", "level", "notes", "score", "signs"),
    "work-up-line": ("note",),
    "vbq-line": ("citation", "cutoff", "levels", "risk", "vbq"),
    "sign-evidence-line": (
        "benign",
        "citation",
        "level",
        "malignant",
        "note",
        "qualitative_citation",
    ),
    "sign-count-one": ("count",),
    "sign-count": ("count",),
    "treatment-heading": ("citation",),
    "missing-heading": (),
    "issues-line": ("inputs",),
    "input-count-one": ("count",),
    "input-count": ("count",),
    # summary family (app/cards/summary.py)
    "summary-head": ("procedures", "question", "variant"),
    "summary-head-provisional": ("procedures", "question", "variant"),
    "more-procedures": ("first", "more", "second"),
    "summary-variant-heading": ("question", "title", "variant"),
    "usually-appropriate-list": ("procedures",),
    "also-matched-variants": ("variants",),
    "provisional-note": (),
    "more-information": ("inputs",),
    "no-variant-summary": (),
    "no-variant-detail": (),
    "treatment-in-details": ("head",),
    "summary-link-variant": ("variant",),
    "summary-link": (),
    # the SMART workspace view (app/smart/view.py)
    "smart-question-heading": ("question", "variants"),
    "smart-citation": ("reference", "where"),
    "smart-mri-malignant": ("cutoff",),
    "smart-mri-osteoporotic": ("cutoff",),
    "smart-mri-indeterminate": ("cutoff",),
    "smart-sins-between": ("high", "low"),
    "smart-headline-variant": ("question", "variant"),
    "smart-headline-possible": ("question", "variants"),
    "smart-headline-none": (),
}
CARD_PHRASES: dict[str, frozenset[str]] = {k: frozenset(v) for k, v in _PHRASES.items()}

# table key -> its number of columns
CARD_TABLES: dict[str, int] = {
    "findings": 3,
    "alternatives": 3,
    "candidates": 2,
    "usually-appropriate": 2,
}


def placeholders(template: str) -> frozenset[str]:
    """The ``str.format`` field names of ``template`` ('{a} and {b}' -> {'a', 'b'}); a
    malformed template (an unmatched brace) raises ``ValueError``."""
    return frozenset(name for _, name, _, _ in string.Formatter().parse(template) if name)


def check_phrases(phrases: dict[str, str]) -> None:
    """``ValueError`` naming the first phrase that is missing, unknown or whose placeholders
    differ from what the card code fills."""
    missing = sorted(set(CARD_PHRASES) - set(phrases))
    if missing:
        raise ValueError(f"phrases.{missing[0]} is missing")
    unknown = sorted(set(phrases) - set(CARD_PHRASES))
    if unknown:
        raise ValueError(f"phrases.{unknown[0]} is not used by any card")
    for key, template in phrases.items():
        try:
            used = placeholders(template)
        except ValueError as exc:
            raise ValueError(f"phrases.{key}: {exc}") from None
        if used != CARD_PHRASES[key]:
            expected = ", ".join(sorted(CARD_PHRASES[key])) or "none"
            raise ValueError(f"phrases.{key} must use the placeholders {expected}")


def check_tables(headers: dict[str, tuple[str, ...]]) -> None:
    for key, columns in CARD_TABLES.items():
        if key not in headers:
            raise ValueError(f"table_headers.{key} is missing")
        if len(headers[key]) != columns:
            raise ValueError(f"table_headers.{key} needs {columns} columns")
    unknown = sorted(set(headers) - set(CARD_TABLES))
    if unknown:
        raise ValueError(f"table_headers.{unknown[0]} is not used by any card")
