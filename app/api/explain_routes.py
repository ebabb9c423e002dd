"""Explanation pages the cards link to: the ACR variant tables and each card topic, rendered
from the knowledge files so they always match the rules that produced the card. Sources are
cited by publication (card_policy.json topic_publications, publications.json); the ACR
licence notice appears only on pages that show ACR content."""

from __future__ import annotations

from collections.abc import Iterable
from html import escape

from fastapi import APIRouter
from fastapi.responses import HTMLResponse

from app.api.deps import KnowledgeDep
from app.api.errors import FieldError
from app.knowledge.card_codes import card_codes
from app.knowledge.schema import Knowledge

router = APIRouter(prefix="/explain", tags=["explanations"], default_response_class=HTMLResponse)


def page(title: str, body: str, k: Knowledge, publications: Iterable[str]) -> HTMLResponse:
    pubs = list(publications)
    refs = "".join(f"<li>{escape(k.publications.reference(p))}</li>" for p in pubs)
    acr = any(k.publications.get(p).acr_content for p in pubs)
    notice = f" {escape(k.card_policy.acr_notice)}" if acr else ""
    return HTMLResponse(
        f"<!doctype html><html lang=en><head><meta charset=utf-8><title>{escape(title)}</title>"
        "<style>body{font-family:sans-serif;max-width:60rem;margin:2rem auto;padding:0 1rem}"
        "table{border-collapse:collapse}td,th{border:1px solid #ccc;padding:.3rem .5rem}</style>"
        f"</head><body><h1>{escape(title)}</h1>{body}"
        + (f"<h2>References</h2><ol>{refs}</ol>" if refs else "")
        + f"<hr><p><small>Knowledge version {escape(k.version)}.{notice}</small></p>"
        "</body></html>"
    )


@router.get("/variants/{n}", responses={404: {"description": "No such variant"}})
def explain_variant(n: int, knowledge: KnowledgeDep) -> HTMLResponse:
    """The ACR table of one variant with rating ranges and relative radiation levels."""
    v = knowledge.variant(n)
    if v is None:
        raise FieldError(["path", "n"], f"no ACR variant {n}", status_code=404)
    procs = {p.name: p for p in knowledge.acr.procedures}
    labels = knowledge.card_policy.relative_radiation_levels.labels
    rows = "".join(
        f"<tr><td>{escape(p.name)}</td><td>{escape(p.category)}</td>"
        f"<td>{'-'.join(map(str, knowledge.category(p.category).rating_range))}</td>"
        f"<td>{escape(labels.get(procs[p.name].relative_radiation_level or '', '-'))}</td></tr>"
        for p in v.procedures
    )
    question = knowledge.card_policy.label("question", v.question)
    body = (
        f"<p><strong>{escape(v.title)}</strong> ({escape(question)})</p>"
        "<table><tr><th>Procedure</th><th>Category</th><th>Rating</th>"
        "<th>Relative radiation level</th></tr>"
        f"{rows}</table><p>{escape(v.summary)}</p>"
        f"<p><small>Source: {escape(knowledge.publications.get('acr-vcf').short)}, "
        f"Variant {n} table and Summary of Highlights.</small></p>"
    )
    return page(f"ACR Variant {n}", body, knowledge, ["acr-vcf"])


@router.get("/topics/{topic}", responses={404: {"description": "No such card topic"}})
def explain_topic(topic: str, knowledge: KnowledgeDep) -> HTMLResponse:
    """What a card topic means and where its rules come from."""
    text = card_codes().topic_explanations.get(topic)
    if text is None:
        raise FieldError(["path", "topic"], f"no topic '{topic}'", status_code=404)
    title = card_codes().topics[topic]
    pubs = knowledge.card_policy.topic_publications.get(topic, [])
    return page(title, f"<p>{escape(text)}</p>", knowledge, pubs)
