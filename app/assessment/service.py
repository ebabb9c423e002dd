"""The assessment: one pass from findings to everything the cards and the REST API report."""

from __future__ import annotations

from datetime import UTC, date, datetime

from app.assessment import scores as sc
from app.assessment.index import FindingIndex
from app.assessment.model import (
    Assessment,
    EtiologyAssessment,
    MriLevelScore,
    Scores,
    SinsScores,
)
from app.assessment.state import derive_state
from app.clinical.consensus import (
    Consensus,
    EsccEvidence,
    compose_cord_compression,
    compose_etiology,
)
from app.clinical.considerations import Consideration, PatientFactors, assess_considerations
from app.clinical.findings import InputIssue, PatientFindings
from app.clinical.order_rating import rate_order
from app.clinical.red_flags import assess_red_flags
from app.clinical.tristate import Tri, tri_any
from app.clinical.variants import MatchResult, Question, match
from app.knowledge.schema import Knowledge
from app.settings import SitePolicies

__all__ = ["Assessment", "assess"]

HISTORY_OF_CANCER = "history-of-cancer"  # red flag read from the history (seed 003 Appendix 1)
WORK_UP = (
    "Scores are evidence, not proof: complete the work-up (Variant 2/4 imaging; "
    "image-guided biopsy is May Be Appropriate) before treating as pathological."
)


def _age(birth: date | None, today: date) -> float | None:
    if birth is None:
        return None
    return today.year - birth.year - ((today.month, today.day) < (birth.month, birth.day))


def assess(
    pf: PatientFindings,
    k: Knowledge,
    policies: SitePolicies,
    now: datetime | None = None,
) -> Assessment:
    """Run every rule on the findings (clinical-rules 1-7)."""
    now = now or datetime.now(UTC)
    idx = FindingIndex(pf.findings)
    derived = derive_state(pf, idx, k.thresholds.deformity, policies, now)
    state = derived.state
    matches: dict[Question, MatchResult] = {
        "imaging": match(state, k, "imaging"),
        "treatment": match(state, k, "treatment"),
    }

    sins_levels, sins_results, sins_skipped = sc.sins_scores(
        idx, k, policies, state.mechanical_pain
    )
    index_level = sc.sins_index(sins_results)
    index_result = next((r for r in sins_results if r.level == index_level), None)
    escc = sc.escc_grades(idx, k, policies["escc_1c"])
    mri = sc.mri_scores(idx, k)
    scores = Scores(
        mri_malignancy=mri,
        sins=SinsScores(sins_levels, index_level),
        escc=escc,
        vbq=sc.vbq_score(idx, k),
        sign_evidence=sc.sign_evidence(idx, k),
        chemical_shift=sc.chemical_shift(idx, k),
        adc=sc.adc_values(idx, k, policies["adc_threshold"]),
    )

    # every red flag of the knowledge is a finding code of the same id (tests/assessment), except
    # the history of cancer, which is the clinical state's malignancy history
    flags_in: dict[str, Tri] = {f.id: idx.any_boolean(f.id)[0] for f in k.red_flags.flags}
    flags_in[HISTORY_OF_CANCER] = state.malignancy_history
    # a stated finding or the medication record (closed-world when read): either one known
    # is enough; True wins
    steroid_parts = [
        flags_in["prolonged-corticosteroids"],
        pf.prolonged_corticosteroids.value,
    ]
    flags_in["prolonged-corticosteroids"] = (
        tri_any(v for v in steroid_parts if v is not None)
        if any(v is not None for v in steroid_parts)
        else None
    )
    red_flags = assess_red_flags(flags_in, k.red_flags)

    stated_cord, stated_cord_sources = idx.any_boolean("cord-compression")
    cord_compression = compose_cord_compression(
        stated_cord,
        stated_cord_sources,
        [EsccEvidence(e.level, e.grade, e.sources) for e in escc],
        k.thresholds.escc.high_grade,
    )
    cord = cord_compression.value
    deficit_hours = idx.number("neurologic-deficit-hours")
    deficit: Tri = tri_any(
        [
            True if deficit_hours is not None else None,
            flags_in.get("progressive-motor-weakness"),
            flags_in.get("severe-neurologic-compromise"),
        ]
    )
    factors = PatientFactors(
        life_expectancy_months=idx.number("life-expectancy"),
        ecog=int(e) if (e := idx.number("ecog")) is not None else None,
        visceral_metastases=idx.text("visceral-metastases"),
        cord_compression=cord,
        sins_category=index_result.category if index_result else None,
        sins_possible=index_result.possible_categories if index_result else (),
        tumor_histology=idx.text("tumor-histology"),
        age_years=_age(pf.birth_date, now.date()),
        compression_levels=int(c) if (c := idx.number("compression-levels")) is not None else None,
        neurologic_deficit=deficit,
        neurologic_deficit_hours=deficit_hours,
    )
    considerations: tuple[Consideration, ...] = ()
    if state.etiology == "pathological" or 9 in matches["treatment"].possible:
        considerations = tuple(assess_considerations(factors, k.considerations, k.sins))

    orders = tuple(rate_order(o, matches, state.vcf_present, k) for o in pf.orders)

    suspicious = [m for m in mri if m.suggests_malignant]
    documented = derived.inputs["etiology"]
    etiology = compose_etiology(
        state.etiology,
        documented.sources,
        derived.etiology_conflict,
        [m.sources for m in suspicious],
    )
    consensus = Consensus(cord_compression, etiology, index_level)
    etiology_assessment = _etiology_assessment(
        state.etiology, etiology.suspected_pathological, suspicious
    )
    issues = [
        *pf.issues,
        *(InputIssue("warning", "findings", m) for m in sins_skipped),
    ]
    if derived.etiology_conflict:
        message = documented.note or "conflicting etiology"
        issues.append(InputIssue("warning", "etiology", message))
    return Assessment(
        findings=pf,
        derived=derived,
        matches=matches,
        orders=orders,
        scores=scores,
        sins_index_category=index_result.category if index_result else None,
        red_flags=red_flags,
        considerations=considerations,
        etiology_assessment=etiology_assessment,
        consensus=consensus,
        knowledge_version=k.version,
        policies=policies,
        issues=tuple(issues),
    )


def _etiology_assessment(
    documented: str, suspected: bool, suspicious: list[MriLevelScore]
) -> EtiologyAssessment:
    """``etiology_assessment`` (clinical-rules 1.4): the work-up while only scores suggest
    malignancy."""
    if not suspected:
        return EtiologyAssessment(documented, False)
    basis = tuple(
        f"MRI malignancy score {m.min}-{m.max} (cutoff {m.cutoff}) at "
        f"{m.level or 'an unspecified level'}"
        for m in suspicious
    )
    return EtiologyAssessment("unknown", True, basis, WORK_UP)
