"""Composed findings every card and every consumer must agree on, computed once per assessment:
cord compression, the fracture's etiology and the SINS index level.

Pure: inputs are values and their FHIR-independent source labels; no I/O, no FHIR.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

from app.clinical.state import Etiology
from app.clinical.tristate import Tri

CordBasis = Literal["finding", "escc-grade", "finding-and-escc-grade", "none"]
EtiologyBasis = Literal["documented", "conflicting-documentation", "mri-malignancy-score", "none"]


@dataclass(frozen=True, slots=True)
class EsccEvidence:
    """One Bilsky grade as read, with the records it came from."""

    level: str | None
    grade: str
    sources: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class CordCompression:
    """Metastatic epidural spinal cord compression: true / false / unknown, and from what."""

    value: Tri
    basis: CordBasis
    sources: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class EtiologyConsensus:
    """The fracture's etiology as every card states it (clinical-rules 1.4).

    ``value`` is the documented etiology only: the malignancy scores are evidence, never proof,
    so a score above the cutoff leaves ``value`` unknown and sets ``suspected_pathological``.
    """

    value: Etiology
    basis: EtiologyBasis
    suspected_pathological: bool
    sources: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class Consensus:
    cord_compression: CordCompression
    etiology: EtiologyConsensus
    index_level: str | None  # the SINS index level (highest SINS; seed 002), None without SINS


def compose_cord_compression(
    stated: Tri,
    stated_sources: tuple[str, ...],
    grades: Sequence[EsccEvidence],
    compression_grades: Sequence[str],
) -> CordCompression:
    """Cord compression from a stated finding and the Bilsky grades read.

    Bilsky grades 2 and 3 are spinal cord compression, 0-1c are not (seed 004 "Magnetic
    resonance", Bilsky et al., J Neurosurg Spine 2010; ``compression_grades`` is the knowledge
    ``escc.high_grade`` list). A stated finding or any compressing grade is enough: True wins.
    Absence needs both a stated "no cord compression" and at least one Bilsky grade read, none
    compressing: a low grade at one level does not rule out compression at another, and a
    stated absence without graded MRI stays unknown (never closed-world). ``sources`` are the
    records the value rests on (for True only those that say so).
    """
    compressing = [g for g in grades if g.grade in compression_grades]
    if stated is True or compressing:
        from_finding = stated_sources if stated is True else ()
        from_grades = tuple(s for g in compressing for s in g.sources)
        basis: CordBasis = (
            "finding-and-escc-grade"
            if from_finding and from_grades
            else ("finding" if stated is True else "escc-grade")
        )
        return CordCompression(True, basis, tuple(dict.fromkeys(from_finding + from_grades)))
    graded = tuple(s for g in grades for s in g.sources)
    if stated is False and grades:
        sources = tuple(dict.fromkeys(stated_sources + graded))
        return CordCompression(False, "finding-and-escc-grade", sources)
    known = (stated_sources if stated is False else ()) + graded
    return CordCompression(None, "none", tuple(dict.fromkeys(known)))


def compose_etiology(
    documented: Etiology,
    documented_sources: tuple[str, ...],
    conflicting: bool,
    suggests_malignant_sources: Sequence[tuple[str, ...]],
) -> EtiologyConsensus:
    """Etiology with its basis (clinical-rules 1.4): documentation decides; conflicting
    documentation stays unknown. While the etiology is unknown, an MRI malignancy score at or
    above the cutoff (seed 000, Sahib & Kadhim: evidence, not proof) marks the fracture as
    suspected pathological, which calls for the work-up, never for Variant 9 treatment."""
    suspected = documented == "unknown" and bool(suggests_malignant_sources)
    if conflicting:
        basis: EtiologyBasis = "conflicting-documentation"
        return EtiologyConsensus("unknown", basis, suspected, documented_sources)
    if documented != "unknown":
        return EtiologyConsensus(documented, "documented", False, documented_sources)
    if suspected:
        sources = tuple(dict.fromkeys(s for srcs in suggests_malignant_sources for s in srcs))
        return EtiologyConsensus("unknown", "mri-malignancy-score", True, sources)
    return EtiologyConsensus("unknown", "none", False, ())
