"""The orderable code of an alternative procedure for a suggestion: same body region as the
draft order it replaces (api.md "create the alternative ServiceRequest (same patient, same body
region)"), preferring the draft's code system."""

from __future__ import annotations

from app.clinical.findings import DraftOrder
from app.fhir.codes import OrderCode, code_tables

_LEVEL_REGION = {"C": "cervical", "T": "thoracic", "L": "lumbar", "S": "lumbar"}


def draft_region(order: DraftOrder) -> str | None:
    """Region of a draft order: from its code's table entry, else from a vertebral level."""
    tables = code_tables().orders
    if order.code_system and order.code:
        entry = tables.lookup().get((order.code_system, order.code))
        if entry is not None and entry.region is not None:
            return entry.region
    site = order.body_site or ""
    if len(site) >= 2 and site[0] in _LEVEL_REGION and site[1:].isdigit():
        return _LEVEL_REGION[site[0]]
    return None


def coding_for(procedure: str, order: DraftOrder) -> dict[str, str] | None:
    """A Coding for ``procedure`` in the draft's region and code system when one exists."""
    tables = code_tables().orders
    region = draft_region(order)
    preferred = tables.system_names.get(order.code_system or "", "cpt")
    if preferred == "project":
        preferred = "cpt"
    candidates = tables.for_procedure(procedure)

    def rank(c: OrderCode) -> tuple[int, int]:
        region_rank = 0 if c.region == region else (1 if c.region in (None, "whole") else 2)
        system_rank = 0 if c.system == preferred else (1 if c.system == "cpt" else 2)
        return (region_rank, system_rank)

    if not candidates:
        return None
    best = min(candidates, key=rank)  # min is stable: file order breaks ties
    return {"system": tables.systems[best.system], "code": best.code, "display": best.display}
