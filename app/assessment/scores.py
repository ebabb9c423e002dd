"""Per-level scores from findings: SINS, MRI malignancy score, ESCC, VBQ, sign evidence,
chemical shift and ADC. Levels come from the findings' bodySite; findings without a level form
an "unspecified" group and are never merged into a level."""

from __future__ import annotations

from app.assessment.index import FindingIndex
from app.assessment.model import (
    AdcValue,
    ChemicalShiftLevel,
    EsccGrade,
    MriLevelScore,
    SignEvidenceLevel,
    SinsLevelScore,
    VbqNotComputed,
    VbqScore,
)
from app.clinical.escc import classify_escc, cord_compressed
from app.clinical.findings import FindingValue
from app.clinical.mri_score import MriSigns, score_mri
from app.clinical.sign_evidence import qualitative_evidence, quantitative_evidence, sign_ids
from app.clinical.signal_tests import chemical_shift_drop, interpret_adc, interpret_chemical_shift
from app.clinical.sins import SinsInput, SinsResult, derive_collapse, index_level, score_sins
from app.clinical.vbq import VbqError, compute_vbq
from app.knowledge.schema import Knowledge
from app.settings import SitePolicies

MRI_CODES = {
    "signal_pattern": "marrow-signal-pattern",
    "posterior_border": "posterior-border",
    "fluid_cleft": "fluid-cleft",
    "signal_asymmetry": "signal-asymmetry",
    "pedicle_involvement": "pedicle-involvement",
    "posterior_wall_axial": "posterior-wall-axial",
    "contrast_enhancement": "contrast-enhancement",
    "cord_compression": "cord-compression",
    "paraspinal_mass": "paraspinal-mass",
}
_MRI_FINDINGS = tuple(MRI_CODES.values())
_MRI_ITEMS = tuple(MRI_CODES.items())
SINS_CODES = ("sins-pain", "sins-lesion", "sins-alignment", "sins-collapse", "sins-posterolateral")
SINS_MEASURES = ("collapse-percent", "body-involvement-percent")
EVIDENCE_CODES = (
    "compression-degree", "lesion-extent", "lesion-location", "posterior-wall-state",
    "soft-tissue-involvement", "pedicle-invasion", "pedicle-signal", "enhancement-pattern",
    "dwi-signal", "t1-low-signal", "t2-low-signal", "vertebral-height-loss",
)  # fmt: skip
QUALITATIVE_CODES = (
    "jigsaw-sign", "cancellous-fracture-lines", "vacuum-phenomenon", "retropulsion",
    "cortical-destruction", "cancellous-destruction", "paravertebral-hematoma", "epidural-mass",
    "paraspinal-mass", "other-osteoporotic-fractures", "focal-lesions-other-vertebrae",
    "fluid-cleft", "pedicle-involvement", "posterior-border",
)  # fmt: skip


_SIGN_CODES = EVIDENCE_CODES + QUALITATIVE_CODES
_QUALITATIVE_READ = tuple(c for c in QUALITATIVE_CODES if c != "posterior-border")


def _sources(idx: FindingIndex, codes: tuple[str, ...], level: str | None) -> tuple[str, ...]:
    here = idx.at(level)
    return tuple(s for c in codes if (f := here.get(c)) is not None for s in f.sources)


def _cord_compression(idx: FindingIndex, k: Knowledge, level: str | None) -> bool | None:
    """The cord-compression sign at a level composed with the Bilsky grade there (grades 2-3
    are cord compression; Montoya-Bordón et al. 2023, ESCC scale of Bilsky et al.), so the MRI
    score and the ESCC grade never disagree: True if either says so, else the stated sign,
    else what the grade says."""
    stated = idx.boolean("cord-compression", level)
    grade = idx.text("escc-grade", level)
    by_grade = (
        cord_compressed(grade, k.thresholds.escc)
        if grade is not None and grade.strip().lower() in k.thresholds.escc.grades
        else None
    )
    if stated is True or by_grade is True:
        return True
    return stated if stated is not None else by_grade


def mri_scores(idx: FindingIndex, k: Knowledge) -> tuple[MriLevelScore, ...]:
    out = []
    for level in idx.levels_with(MRI_CODES.values()):
        here = idx.at(level)
        values = {f: None if (x := here.get(code)) is None else x.value for f, code in _MRI_ITEMS}
        values["cord_compression"] = _cord_compression(idx, k, level)
        signs = MriSigns(**values)  # type: ignore[arg-type]
        try:
            r = score_mri(signs, k.mri_score)
        except ValueError:
            continue
        out.append(
            MriLevelScore(
                level=level,
                total=r.score.total,
                min=r.score.min,
                max=r.score.max,
                cutoff=r.cutoff,
                classification=r.classification,
                points=r.score.points,
                missing=tuple(MRI_CODES[m] for m in r.score.missing),
                notes=r.notes,
                sources=_sources(idx, _MRI_FINDINGS, level),
            )
        )
    return tuple(out)


def sins_scores(
    idx: FindingIndex, k: Knowledge, policies: SitePolicies, mechanical_pain: bool | None
) -> tuple[tuple[SinsLevelScore, ...], list[SinsResult], list[str]]:
    results: list[SinsResult] = []
    out: list[SinsLevelScore] = []
    skipped: list[str] = []
    for level in idx.levels_with(SINS_CODES + SINS_MEASURES):
        if level is None:
            skipped.append("SINS findings without a vertebral level: location cannot be scored")
            continue
        collapse = idx.text("sins-collapse", level) or derive_collapse(
            idx.number("collapse-percent", level),
            idx.number("body-involvement-percent", level),
            policies["sins_collapse_exactly_50"],
        )
        pain = idx.text("sins-pain", level)
        if pain is None and mechanical_pain is True:
            pain = "mechanical"
        try:
            r = score_sins(
                SinsInput(
                    level=level,
                    pain=pain,
                    lesion=idx.text("sins-lesion", level),
                    alignment=idx.text("sins-alignment", level),
                    collapse=collapse,
                    posterolateral=idx.text("sins-posterolateral", level),
                ),
                k,
            )
        except ValueError as exc:
            skipped.append(f"SINS at {level}: {exc}")
            continue
        results.append(r)
        out.append(
            SinsLevelScore(
                level=r.level,
                location_class=r.location_class,
                total=r.total,
                min=r.score.min,
                max=r.score.max,
                category=r.category,
                possible_categories=r.possible_categories,
                action=r.action,
                points=r.score.points,
                missing=tuple(f"sins-{m}" for m in r.score.missing),
                sources=_sources(idx, SINS_CODES + SINS_MEASURES, level),
            )
        )
    return tuple(out), results, skipped


def escc_grades(idx: FindingIndex, k: Knowledge, policy_1c: str) -> tuple[EsccGrade, ...]:
    out = []
    for f in idx.all("escc-grade"):
        if not isinstance(f.value, str):
            continue
        try:
            r = classify_escc(f.value, k.thresholds.escc, policy_1c)
        except ValueError:
            continue
        out.append(
            EsccGrade(
                level=f.level,
                grade=r.grade,
                description=r.description,
                high_grade=r.high_grade,
                policy=dict(r.policy),
                implication=r.implication,
                sources=f.sources,
            )
        )
    return tuple(out)


def vbq_score(idx: FindingIndex, k: Knowledge) -> VbqScore | VbqNotComputed | None:
    cfg = k.thresholds.vbq
    signals = {lv: idx.number("vbq-signal", lv) for lv in cfg.vertebral_levels}
    if all(v is None for v in signals.values()):
        return None
    csf_level = next(
        (lv for lv in cfg.csf_levels if idx.number("csf-signal", lv) is not None), None
    )
    csf = idx.number("csf-signal", csf_level) if csf_level else idx.number("csf-signal")
    sources = (
        _sources(idx, ("vbq-signal",), None)
        + tuple(s for lv in cfg.vertebral_levels for s in idx.sources("vbq-signal", lv))
        + tuple(idx.sources("csf-signal", csf_level))
    )
    try:
        r = compute_vbq(signals, csf, cfg, idx.number("field-strength"))
    except VbqError as exc:
        return VbqNotComputed(
            vbq=None,
            error=str(exc),
            missing=("csf-signal" if exc.field == "csf" else "vbq-signal",),
            sources=sources,
        )
    return VbqScore(
        vbq=r.vbq,
        cutoff=r.cutoff,
        elevated_risk=r.elevated_risk,
        levels_used=r.levels_used,
        csf_level=csf_level,
        field_strength_t=r.field_strength_t,
        note=(
            f"VBQ > {r.cutoff:g} predicted a new VCF in patients with spinal metastasis (seed 002)."
        ),
        sources=sources,
    )


def _compression_degree(idx: FindingIndex, level: str | None) -> str | None:
    """compression-degree, or derived from vertebral-height-loss: < 1/3 I, 1/3-2/3 II, > 2/3 III
    (seed 001 Methods; fhir-input.md)."""
    coded = idx.text("compression-degree", level)
    if coded:
        return coded
    loss = idx.number("vertebral-height-loss", level)
    if loss is None:
        return None
    frac = loss / 100
    return "I" if frac < 1 / 3 else ("II" if frac <= 2 / 3 else "III")


def sign_evidence(idx: FindingIndex, k: Knowledge) -> tuple[SignEvidenceLevel, ...]:
    out = []
    signs = sign_ids(k.sign_evidence)
    for level in idx.levels_with(_SIGN_CODES):
        here = idx.at(level)
        observed: dict[str, FindingValue | None] = {
            sign: None if (f := here.get(sign)) is None else f.value for sign in signs
        }
        observed["compression-degree"] = _compression_degree(idx, level)
        try:
            rows = quantitative_evidence(observed, k.sign_evidence)
        except ValueError:
            rows = []
        qual_obs: dict[str, bool | None] = {
            code: f.value
            if (f := here.get(code)) is not None and isinstance(f.value, bool)
            else None
            for code in _QUALITATIVE_READ
        }
        border = idx.text("posterior-border", level)
        qual_obs["posterior-border-convex"] = None if border is None else border == "convex"
        qual = qualitative_evidence(qual_obs, k.sign_evidence)
        if rows or qual:
            out.append(SignEvidenceLevel(level, tuple(rows), tuple(qual)))
    return tuple(out)


def chemical_shift(idx: FindingIndex, k: Knowledge) -> tuple[ChemicalShiftLevel, ...]:
    out = []
    cfg = k.thresholds.chemical_shift
    for level in idx.levels_with(("chemical-shift-drop", "in-phase-signal", "out-of-phase-signal")):
        drop = idx.number("chemical-shift-drop", level)
        srcs = _sources(
            idx, ("chemical-shift-drop", "in-phase-signal", "out-of-phase-signal"), level
        )
        if drop is None:
            ip, op = idx.number("in-phase-signal", level), idx.number("out-of-phase-signal", level)
            if ip is None or op is None or ip <= 0:
                continue
            drop = chemical_shift_drop(ip, op)
        r = interpret_chemical_shift(drop, cfg)
        out.append(
            ChemicalShiftLevel(
                level, r.drop_percent, r.cutoff_percent, r.interpretation, r.source, srcs
            )
        )
    return tuple(out)


def adc_values(idx: FindingIndex, k: Knowledge, threshold: float | None) -> tuple[AdcValue, ...]:
    out = []
    for f in idx.all("adc"):
        value = idx.number("adc", f.level)
        if value is None:
            continue
        r = interpret_adc(value, threshold, k.thresholds.adc)
        out.append(
            AdcValue(f.level, r.value, r.unit, r.threshold, r.interpretation, r.note, f.sources)
        )
    return tuple(out)


def sins_index(results: list[SinsResult]) -> str | None:
    chosen = index_level(results)
    return chosen.level if chosen else None
