"""Draft orders -> ``DraftOrder`` with the ACR procedure name (fhir-input.md, draft
ServiceRequest).

``code`` CPT or LOINC (or a project order code) maps through ``order_codes.json``. CT myelography:
a CT-with-contrast CPT (72126/72129/72132) together with a myelography code (62284, 62302-62305)
in the same ServiceRequest, or a myelography code 62302-62305 alone. An order that maps to no
ACR procedure keeps ``procedure=None`` and says why in ``not_mapped_reason``. The raw resource
is kept as given so it round-trips untouched.
"""

from __future__ import annotations

from app.clinical.findings import DraftOrder
from app.fhir.codes import OrderCode, code_tables
from app.fhir.raw import codings, objs, text
from app.fhir.sites import parse_level
from app.json_types import JsonObject

NO_CODE = "no code: the order has no coding to map"
UNSUPPORTED_SYSTEM = "code system not supported: expected CPT, LOINC or the VCF-CDS order codes"
UNKNOWN_CODE = "unknown code: no ACR procedure for this code"
NOT_AN_ORDER = "resource type not supported: only ServiceRequest orders are rated"


def _body_site(resource: JsonObject, entry: OrderCode | None) -> str | None:
    """A vertebral level or a label from ``bodySite``, else the region the code implies."""
    for site in objs(resource, "bodySite"):
        for _, code, display in codings(site):
            level = parse_level(code)
            if level is not None:
                return level
            if display is not None:
                return display[:64]
        label = text(site, "text", 64)
        if label is not None:
            return parse_level(label) or label
    return entry.region if entry is not None else None


def _myelography(found: list[tuple[str | None, str, str | None]]) -> OrderCode | None:
    """The CT-with-contrast coding of an order that is CT myelography, if it is one."""
    tables = code_tables().orders
    rule = tables.myelography
    cpt = tables.systems["cpt"]
    codes = {c for s, c, _ in found if s == cpt}
    if codes.intersection(rule.ct_with_contrast) and codes.intersection(rule.myelography_codes):
        lookup = tables.lookup()
        ct = next(c for c in rule.ct_with_contrast if c in codes)
        entry = lookup[(cpt, ct)]
        return entry.model_copy(update={"procedure": rule.procedure})
    return None


def read_order(resource: JsonObject, label: str) -> DraftOrder:
    """Map one draft order (any resource type) to a ``DraftOrder``."""
    rtype = text(resource, "resourceType", 64) or "Resource"
    rid = text(resource, "id", 64) or label
    concept = resource.get("code")
    found = list(codings(concept))
    first = found[0] if found else (None, None, None)

    def out(
        system: str | None, code: str | None, procedure: str | None, reason: str | None
    ) -> DraftOrder:
        entry = code_tables().orders.lookup().get((system or "", code or ""))
        shown = next((d for s, c, d in found if (s, c) == (system, code) and d), None)
        return DraftOrder(
            resource_type=rtype,
            resource_id=rid,
            code_system=system,
            code=code,
            display=shown or text(concept, "text", 256),
            procedure=procedure,
            not_mapped_reason=reason,
            body_site=_body_site(resource, entry),
            resource=resource,
        )

    if rtype != "ServiceRequest":
        return out(first[0], first[1], None, NOT_AN_ORDER)
    if not found:
        return out(None, None, None, NO_CODE)
    tables = code_tables().orders
    supported = [f for f in found if f[0] in tables.systems.values()]
    if not supported:
        return out(first[0], first[1], None, UNSUPPORTED_SYSTEM)
    myelo = _myelography(supported)
    if myelo is not None:
        cpt = tables.systems["cpt"]
        return out(cpt, myelo.code, myelo.procedure, None)
    lookup = tables.lookup()
    for system, code, _ in supported:
        entry = lookup.get((system or "", code))
        if entry is not None:
            return out(system, code, entry.procedure, None)
    return out(supported[0][0], supported[0][1], None, UNKNOWN_CODE)
