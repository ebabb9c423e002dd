"""The assessment: one pass from findings to everything the cards and the REST API report."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from datetime import UTC, date, datetime
from typing import Any

from app.assessment import scores as sc
from app.assessment.index import FindingIndex
from app.assessment.orders import OrderRating, order_json, rate_order
from app.assessment.state import DerivedState, derive_state, state_inputs_json
from app.clinical.considerations import PatientFactors, assess_considerations
from app.clinical.escc import cord_compressed
from app.clinical.findings import PatientFindings
from app.clinical.red_flags import RedFlagReport, assess_red_flags
from app.clinical.tristate import Tri, tri_any
from app.clinical.variants import MatchResult, match
from app.knowledge.schema import Knowledge

RED_FLAG_CODES = (
    "unexplained-weight-loss", "immunosuppression", "urinary-infection", "iv-drug-use",
    "pain-not-improved-conservative", "fever", "significant-trauma", "minor-fall-or-lift",
    "urinary-retention-or-overflow", "fecal-incontinence-or-sphincter-loss", "saddle-anesthesia",
    "progressive-motor-weakness", "severe-neurologic-compromise",
)  # fmt: skip


@dataclass
class Assessment:
    """Everything derived for one patient and its draft orders."""

    findings: PatientFindings
    derived: DerivedState
    matches: dict[str, MatchResult]
    orders: list[OrderRating]
    scores: dict[str, Any]
    sins_index_category: str | None
    red_flags: RedFlagReport
    considerations: list[dict[str, Any]]
    etiology_assessment: dict[str, Any]
    knowledge_version: str
    policies: dict[str, Any]
    issues: list[dict[str, Any]] = field(default_factory=list)
    # composed: a stated cord-compression sign at any level or any ESCC grade 2-3 (the value
    # the treatment considerations and every card read)
    cord_compression: Tri = None


def _age(birth: date | None, today: date) -> float | None:
    if birth is None:
        return None
    return today.year - birth.year - ((today.month, today.day) < (birth.month, birth.day))


def assess(
    pf: PatientFindings,
    k: Knowledge,
    policies: dict[str, Any],
    now: datetime | None = None,
) -> Assessment:
    """Run every rule on the findings (clinical-rules 1-7)."""
    now = now or datetime.now(UTC)
    idx = FindingIndex(pf.findings)
    derived = derive_state(pf, idx, k.thresholds.deformity, policies, now)
    state = derived.state
    matches = {"imaging": match(state, k, "imaging"), "treatment": match(state, k, "treatment")}

    sins_json, sins_results, sins_skipped = sc.sins_scores(idx, k, policies, state.mechanical_pain)
    index_level = sc.sins_index(sins_results)
    index_result = next((r for r in sins_results if r.level == index_level), None)
    escc = sc.escc_grades(idx, k, policies["escc_1c"])
    mri = sc.mri_scores(idx, k)
    scores: dict[str, Any] = {
        "mri_malignancy": mri,
        "sins": {"levels": sins_json, "index_level": index_level},
        "escc": escc,
        "vbq": sc.vbq_score(idx, k),
        "sign_evidence": sc.sign_evidence(idx, k),
        "chemical_shift": sc.chemical_shift(idx, k),
        "adc": sc.adc_values(idx, k, policies.get("adc_threshold")),
    }

    flags_in: dict[str, Tri] = {c: idx.any_boolean(c)[0] for c in RED_FLAG_CODES}
    flags_in["history-of-cancer"] = state.malignancy_history
    # a stated finding or the medication record (closed-world when read): either one known
    # is enough; True wins
    steroid_parts = [
        idx.any_boolean("prolonged-corticosteroids")[0],
        pf.prolonged_corticosteroids.value,
    ]
    flags_in["prolonged-corticosteroids"] = (
        tri_any(v for v in steroid_parts if v is not None)
        if any(v is not None for v in steroid_parts)
        else None
    )
    red_flags = assess_red_flags(flags_in, k.red_flags)

    cord: Tri = tri_any(
        [idx.any_boolean("cord-compression")[0]]
        + [cord_compressed(e["grade"], k.thresholds.escc) for e in escc]
        + ([None] if not escc else [])
    )
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
    considerations: list[dict[str, Any]] = []
    if state.etiology == "pathological" or 9 in matches["treatment"].possible:
        considerations = [asdict(c) for c in assess_considerations(factors, k.considerations)]

    orders = [rate_order(o, matches, state.vcf_present, k) for o in pf.orders]

    suspicious = [m for m in mri if m["classification"] == "suggests_malignant"]
    etiology_assessment: dict[str, Any] = {
        "etiology": state.etiology,
        "suspected_pathological": False,
    }
    if state.etiology == "unknown" and suspicious:
        etiology_assessment = {
            "etiology": "unknown",
            "suspected_pathological": True,
            "basis": [
                f"MRI malignancy score {m['min']}-{m['max']} (cutoff 4) at "
                f"{m['level'] or 'an unspecified level'}"
                for m in suspicious
            ],
            "recommendation": (
                "Scores are evidence, not proof: complete the work-up (Variant 2/4 imaging; "
                "image-guided biopsy is May Be Appropriate) before treating as pathological."
            ),
        }
    issues = [sc.scalar_fields(i) for i in pf.issues] + [
        {"severity": "warning", "location": "findings", "message": m} for m in sins_skipped
    ]
    if derived.etiology_conflict:
        issues.append(
            {
                "severity": "warning",
                "location": "etiology",
                "message": derived.inputs["etiology"].note or "conflicting etiology",
            }
        )
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
        knowledge_version=k.version,
        policies=policies,
        issues=issues,
        cord_compression=cord,
    )


def match_json(m: MatchResult) -> dict[str, Any]:
    return {
        "matched": list(m.matched),
        "primary": m.primary,
        "possible": list(m.possible),
        "missing": list(m.missing),
        "primary_certain": m.primary_certain,
        "precedence": list(m.precedence),
        "statuses": [
            {"id": s.id, "status": s.status, "deciding_inputs": list(s.deciding_inputs)}
            for s in m.statuses
        ],
        "notes": list(m.notes),
    }


def assessment_json(a: Assessment) -> dict[str, Any]:
    """The assessment body of POST /api/v1/assessments (without cards)."""
    return {
        "patient_id": a.findings.patient_id,
        "clinical_state": state_inputs_json(a.derived),
        "imaging": match_json(a.matches["imaging"]),
        "treatment": match_json(a.matches["treatment"]),
        "orders": [order_json(o) for o in a.orders],
        "scores": a.scores,
        "etiology_assessment": a.etiology_assessment,
        "red_flags": {
            "present": [asdict(h) for h in a.red_flags.present],
            "groups_present": list(a.red_flags.groups_present),
            "absent": list(a.red_flags.absent),
            "unknown": list(a.red_flags.unknown),
            "cauda_equina": a.red_flags.cauda_equina,
            "source": a.red_flags.source,
        },
        "considerations": a.considerations,
        "issues": a.issues,
        "knowledge_version": a.knowledge_version,
        "policies": a.policies,
    }
