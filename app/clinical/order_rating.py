"""Rating of draft orders under the matched ACR variants (clinical-rules 1.5; api.md): when an
order can be rated, pure (clinical core).

An order is rated under the primary variant of its question (imaging 1-4 for imaging studies
and biopsy, treatment 5-9 for treatments) only when the answer cannot change with the missing
findings: every variant that could still be primary gives the same category. Otherwise it is
not rated and the findings that would decide it are named.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Literal

from app.clinical.appropriateness import Rating, rate
from app.clinical.fast_init import fast_init
from app.clinical.findings import DraftOrder
from app.clinical.variants import MatchResult, Question
from app.knowledge.per_object import PerObject
from app.knowledge.schema import Knowledge

PamaRating = Literal["appropriate", "not-appropriate", "no-criteria-apply"]
Status = Literal["rated", "not_rated"]
NotRatedReason = Literal[
    "unknown_procedure", "no_vcf", "no_matching_variant", "not_listed", "insufficient_information"
]


@fast_init
@dataclass(frozen=True)
class OrderRating:
    order: DraftOrder
    question: Question | None
    status: Status
    rating: Rating | None  # under the primary variant
    other_ratings: tuple[Rating, ...]  # under the other matched variants
    candidates: tuple[Rating, ...]  # when not rated: the rating under each possible primary
    reason: NotRatedReason | None
    reason_text: str | None
    missing: tuple[str, ...]
    pama: PamaRating | None  # None: do not attach a rating (information insufficient)


def _make_kinds(k: Knowledge) -> dict[str, str]:
    """procedure -> kind (the first listing of each procedure)."""
    kinds: dict[str, str] = {}
    for p in k.acr.procedures:
        kinds.setdefault(p.name, p.kind)
    return kinds


_kinds = PerObject(_make_kinds)  # once per (frozen) knowledge object


def _question(procedure: str, k: Knowledge) -> Question:
    kind = _kinds(k).get(procedure)
    if kind is None:
        raise StopIteration  # what the scan over the procedures raised
    return "treatment" if kind == "treatment" else "imaging"


def pama_for(category: str | None) -> PamaRating:
    """Argonaut PAMA rating of an ACR category. "May Be Appropriate" (including Disagreement)
    is an appropriate use under the criteria; only Usually Not Appropriate is not."""
    if category is None:
        return "no-criteria-apply"
    return "not-appropriate" if category == "Usually Not Appropriate" else "appropriate"


def rate_order(
    order: DraftOrder,
    matches: Mapping[Question, MatchResult],
    vcf_present: bool | None,
    k: Knowledge,
) -> OrderRating:
    if order.procedure is None:
        return OrderRating(
            order, None, "not_rated", None, (), (), "unknown_procedure",
            order.not_mapped_reason or "the ordered code maps to no ACR procedure", (), None,
        )  # fmt: skip
    question = _question(order.procedure, k)
    m = matches[question]
    if m.primary is None:
        if m.possible:
            cands = tuple(rate(order.procedure, n, k) for n in m.possible)
            return OrderRating(
                order, question, "not_rated", None, (), cands, "insufficient_information",
                f"no {question} variant is certain yet; possible: "
                + ", ".join(f"Variant {n}" for n in m.possible),
                m.missing, None,
            )  # fmt: skip
        reason: NotRatedReason = "no_vcf" if vcf_present is False else "no_matching_variant"
        text = (
            "no vertebral compression fracture is documented"
            if reason == "no_vcf"
            else f"the clinical state matches no ACR {question} variant for VCF"
        )
        return OrderRating(
            order, question, "not_rated", None, (), (), reason, text, (), "no-criteria-apply"
        )
    earlier = m.precedence[: m.precedence.index(m.primary)]
    contenders = [n for n in earlier if n in m.possible] + [m.primary]
    ratings = {n: rate(order.procedure, n, k) for n in contenders}
    primary_rating = ratings[m.primary]
    if len({r.category for r in ratings.values()}) > 1:
        deciding = tuple(i for s in m.statuses if s.id in contenders for i in s.deciding_inputs)
        return OrderRating(
            order, question, "not_rated", None, (), tuple(ratings[n] for n in contenders),
            "insufficient_information",
            "the rating depends on findings not yet known: "
            + "; ".join(f"Variant {n}: {ratings[n].category or 'not listed'}" for n in contenders),
            tuple(dict.fromkeys(deciding)), None,
        )  # fmt: skip
    others = tuple(rate(order.procedure, n, k) for n in m.matched if n != m.primary)
    if primary_rating.category is None:
        return OrderRating(
            order, question, "not_rated", primary_rating, others, (), "not_listed",
            primary_rating.reason, (), "no-criteria-apply",
        )  # fmt: skip
    return OrderRating(
        order, question, "rated", primary_rating, others, (), None, None, (),
        pama_for(primary_rating.category),
    )  # fmt: skip
