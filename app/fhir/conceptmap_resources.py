"""The code maps of ``app.fhir.concept_maps`` as FHIR R4 ``ConceptMap`` resources.

One ConceptMap per map id (``standard-findings``, ``standard-levels``, ``standard-answers``,
and one per site-local file), one ``group`` per (source system, target system). Each element
states where its code was verified in ``target.comment``. Built with ``fhir.resources.R4B`` so
every served resource is valid R4; built once per installed index.
"""

from __future__ import annotations

import copy
from collections import defaultdict
from functools import lru_cache

from fhir.resources.R4B.bundle import Bundle
from fhir.resources.R4B.conceptmap import ConceptMap

from app.fhir.concept_maps import CodeIndex, MapEntry, index
from app.json_types import JsonObject

BASE = "http://vcf-cds.org/fhir/ConceptMap"
VERSION = "0.1.0"

_TITLES = {
    "standard-findings": (
        "Standard codes to VCF-CDS findings",
        "SNOMED CT, LOINC, RadElement and DICOM codes the service reads as VCF-CDS findings.",
    ),
    "standard-levels": (
        "Vertebra codes to vertebral levels",
        "SNOMED CT vertebra codes (DICOM CID 7603) and vertebral body structures read as the "
        "vertebral level of a per-level finding.",
    ),
    "standard-answers": (
        "Standard answer codes to finding values",
        "SNOMED CT qualifiers read as yes/no and LOINC answer codes read as integer values.",
    ),
}
ANSWER_SYSTEM = "http://vcf-cds.org/fhir/CodeSystem/finding-value"


def _answer_entries(idx: CodeIndex) -> list[MapEntry]:
    out = []
    for (system, code), flag in idx.boolean_answers.items():
        out.append(
            MapEntry(
                system, code, "", ANSWER_SYSTEM, "true" if flag else "false", "equivalent",
                "SNOMED CT qualifier value", "standard-answers",
            )
        )  # fmt: skip
    for (system, code), (finding, value) in idx.integer_answers.items():
        out.append(
            MapEntry(
                system, code, "", ANSWER_SYSTEM, f"{finding}={value}", "equivalent",
                "LOINC answer list", "standard-answers",
            )
        )  # fmt: skip
    return out


def _concept_map(map_id: str, entries: list[MapEntry]) -> JsonObject:
    groups: dict[tuple[str, str], list[MapEntry]] = defaultdict(list)
    for e in entries:
        groups[(e.system, e.target_system)].append(e)
    title, description = _TITLES.get(
        map_id, (f"Site-local codes ({map_id[5:]})", "Loaded from the site ConceptMap directory.")
    )
    resource = ConceptMap.model_validate(
        {
            "resourceType": "ConceptMap",
            "id": map_id,
            "url": f"{BASE}/{map_id}",
            "version": VERSION,
            "name": "".join(p.capitalize() for p in map_id.split("-") if p.isalnum()),
            "title": title,
            "status": "active",
            "experimental": False,
            "publisher": "VCF-CDS",
            "description": description,
            "group": [
                {
                    "source": source,
                    "target": target,
                    "element": [
                        {
                            "code": e.code,
                            **({"display": e.display} if e.display else {}),
                            "target": [
                                {
                                    "code": e.target,
                                    "equivalence": e.equivalence,
                                    "comment": e.source + (f"; {e.note}" if e.note else ""),
                                }
                            ],
                        }
                        for e in rows
                    ],
                }
                for (source, target), rows in groups.items()
            ],
        }
    )
    return dict(resource.model_dump(mode="json", exclude_none=True, by_alias=True))


@lru_cache(maxsize=4)
def _built(idx_id: int) -> dict[str, JsonObject]:
    idx = index()
    by_map: dict[str, list[MapEntry]] = defaultdict(list)
    for e in idx.entries:
        by_map[e.map_id].append(e)
    by_map["standard-answers"] = _answer_entries(idx)
    return {map_id: _concept_map(map_id, rows) for map_id, rows in by_map.items()}


def _all() -> dict[str, JsonObject]:
    return _built(id(index()))


def concept_map_ids() -> list[str]:
    return list(_all())


def get_concept_map(map_id: str) -> JsonObject | None:
    """The ConceptMap with this id as JSON, or ``None``."""
    found = _all().get(map_id)
    return copy.deepcopy(found) if found is not None else None


def concept_map_bundle() -> JsonObject:
    """A ``searchset`` Bundle of every ConceptMap."""
    entries = [
        {"fullUrl": cm["url"], "resource": cm, "search": {"mode": "match"}}
        for cm in _all().values()
    ]
    bundle = Bundle.model_validate(
        {"resourceType": "Bundle", "type": "searchset", "total": len(entries), "entry": entries}
    )
    return dict(bundle.model_dump(mode="json", exclude_none=True, by_alias=True))
