"""Treatment considerations for a pathological VCF (seed 003 Variant 9; clinical-rules 7)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from app.clinical.fast_init import fast_init
from app.clinical.tristate import Tri, tri_all, tri_any, tri_compare, tri_not
from app.knowledge.schema import ConsiderationsKnowledge, SinsKnowledge

Met = Literal["met", "not_met", "unknown"]


def _met(value: Tri) -> Met:
    return "unknown" if value is None else ("met" if value else "not_met")


@dataclass(frozen=True)
class Criterion:
    id: str
    label: str
    status: Met
    inputs: tuple[str, ...]


@dataclass(frozen=True)
class Consideration:
    id: str
    label: str
    status: Met
    criteria: tuple[Criterion, ...]
    source: str
    missing: tuple[str, ...]


@fast_init
@dataclass(frozen=True)
class PatientFactors:
    """Inputs of the Variant 9 considerations; None = unknown."""

    life_expectancy_months: float | None = None
    ecog: int | None = None
    visceral_metastases: str | None = None  # none | few | many
    cord_compression: Tri = None  # metastatic epidural spinal cord compression (ESCC 2-3)
    sins_category: str | None = None  # stable | potentially_unstable | unstable | None
    sins_possible: tuple[str, ...] = ()
    tumor_histology: str | None = None  # hematologic | seminoma | small-cell-lung | other
    age_years: float | None = None
    compression_levels: int | None = None
    neurologic_deficit: Tri = None
    neurologic_deficit_hours: float | None = None


def _crit(cid: str, label: str, value: Tri, *inputs: str) -> Criterion:
    return Criterion(cid, label, _met(value), inputs)


def _consideration(
    cid: str, label: str, value: Tri, criteria: list[Criterion], source: str
) -> Consideration:
    missing = tuple(i for c in criteria if c.status == "unknown" for i in c.inputs)
    return Consideration(cid, label, _met(value), tuple(criteria), source, missing)


def _sins_is(f: PatientFactors, wanted: set[str]) -> Tri:
    if f.sins_category is not None:
        return f.sins_category in wanted
    if f.sins_possible:
        if set(f.sins_possible) <= wanted:
            return True
        if not set(f.sins_possible) & wanted:
            return False
    return None


def _sins_bands(sins: SinsKnowledge) -> dict[str, str]:
    """SINS category -> its score band as published ('stable' -> 'SINS 0-6', sins.json)."""
    return {c.id: f"SINS {c.range[0]}-{c.range[1]}" for c in sins.categories}


def assess_considerations(
    f: PatientFactors, k: ConsiderationsKnowledge, sins: SinsKnowledge
) -> list[Consideration]:
    """Each Variant 9 criterion as met / not met / unknown, and each consideration overall
    (the SINS bands in the labels are those of ``sins``)."""
    a, rt, ds = k.ablation, k.short_course_rt, k.decompressive_surgery
    band = _sins_bands(sins)
    visceral: Tri = (
        None if f.visceral_metastases is None else f.visceral_metastases in a.visceral_metastases_ok
    )
    abl = [
        _crit(
            "life-expectancy-gt-6-months",
            f"Life expectancy > {a.life_expectancy_months_gt} months",
            tri_compare(f.life_expectancy_months, ">", a.life_expectancy_months_gt),
            "life-expectancy",
        ),
        _crit(
            "good-performance-status",
            f"Good performance status (ECOG 0-{a.good_performance_ecog_max})",
            tri_compare(f.ecog, "<=", a.good_performance_ecog_max),
            "ecog",
        ),
        _crit(
            "few-visceral-metastases",
            "Few or no visceral metastases",
            visceral,
            "visceral-metastases",
        ),
        _crit(
            "no-mescc",
            "No metastatic epidural spinal cord compression",
            tri_not(f.cord_compression),
            "escc-grade",
        ),
        _crit(
            "stable-vcf",
            f"Stable pathological VCF ({band['stable']})",
            _sins_is(f, {"stable"}),
            "sins",
        ),
    ]
    radiosensitive: Tri = (
        None if f.tumor_histology is None else f.tumor_histology in rt.radiosensitive_histologies
    )
    short = [
        _crit(
            "radiosensitive-tumour",
            "Radiosensitive tumour (hematologic, seminoma, small-cell lung)",
            radiosensitive,
            "tumor-histology",
        ),
        _crit(
            "survival-lt-3-months",
            f"Survival < {rt.survival_months_lt} months",
            tri_compare(f.life_expectancy_months, "<", rt.survival_months_lt),
            "life-expectancy",
        ),
    ]
    decomp = [
        _crit(
            "symptomatic-cord-compression",
            "Symptomatic spinal cord compression",
            tri_all([f.cord_compression, f.neurologic_deficit]),
            "escc-grade",
            "neurologic-deficit-hours",
        ),
        _crit(
            "age-lt-65",
            f"Age < {ds.age_lt} years",
            tri_compare(f.age_years, "<", ds.age_lt),
            "birthDate",
        ),
        _crit(
            "single-level",
            "Single level of compression",
            tri_compare(f.compression_levels, "==", ds.compression_levels),
            "compression-levels",
        ),
        _crit(
            "deficit-lt-48-hours",
            f"Neurologic deficit < {ds.deficit_hours_lt} hours",
            tri_compare(f.neurologic_deficit_hours, "<", ds.deficit_hours_lt),
            "neurologic-deficit-hours",
        ),
        _crit(
            "survival-gte-3-months",
            f"Predicted survival >= {ds.survival_months_gte} months",
            tri_compare(f.life_expectancy_months, ">=", ds.survival_months_gte),
            "life-expectancy",
        ),
    ]
    unstable = _sins_is(f, {"unstable"})
    surgery = [
        _crit("sins-unstable", f"Frank instability ({band['unstable']})", unstable, "sins"),
        _crit(
            "neurologic-deficit",
            "Neurologic deficit",
            f.neurologic_deficit,
            "neurologic-deficit-hours",
        ),
    ]
    consult = [
        _crit(
            "sins-potentially-unstable",
            f"Potentially unstable ({band['potentially_unstable']})",
            _sins_is(f, {"potentially_unstable"}),
            "sins",
        ),
    ]
    return [
        _consideration(
            "percutaneous-ablation",
            "Percutaneous thermal ablation candidate",
            tri_all(c.status == "met" if c.status != "unknown" else None for c in abl),
            abl,
            a.source,
        ),
        _consideration(
            "short-course-radiation",
            "Short-course radiation (8 Gy in 1 fraction) favoured",
            tri_any(c.status == "met" if c.status != "unknown" else None for c in short),
            short,
            rt.source,
        ),
        _consideration(
            "decompressive-surgery-then-rt",
            "Decompressive surgery followed by radiation may benefit",
            tri_all(c.status == "met" if c.status != "unknown" else None for c in decomp),
            decomp,
            ds.source,
        ),
        _consideration(
            "surgery-standard-of-care",
            "Surgery is standard of care (instability and/or neurologic deficit)",
            tri_any([unstable, f.neurologic_deficit]),
            surgery,
            k.surgery.source,
        ),
        _consideration(
            "surgical-consultation",
            f"Surgical consultation ({band['potentially_unstable']})",
            _sins_is(f, {"potentially_unstable"}),
            consult,
            k.surgery.source,
        ),
        _consideration(
            "medical-management",
            "Medical management offered alongside",
            True,
            [],
            k.medical_management.source,
        ),
    ]
