"""Pydantic schemas of the knowledge files in ``app/knowledge/data``.

Every file is validated at start-up; cross-file consistency is checked in ``Knowledge``.
"""

from __future__ import annotations

import itertools
from typing import Literal, TypeAlias

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from app.knowledge.phrases import check_phrases, check_tables

CATEGORY_NAMES = (
    "Usually Appropriate",
    "May Be Appropriate",
    "May Be Appropriate (Disagreement)",
    "Usually Not Appropriate",
)
STATE_INPUTS = (
    "vcf_present",
    "vcf_new",
    "symptomatic",
    "malignancy_history",
    "prior_vcf_treatment",
    "multiple_vcfs",
    "etiology",
    "marrow_edema_or_cleft",
    "worsening_pain",
    "deformity",
    "pulmonary_dysfunction",
    "mechanical_pain",
)


# published figures (sensitivity, AUC, counts) by name, and where they are printed ("source")
Figures: TypeAlias = dict[str, int | float | str]
# a site policy value: a choice, a number of days, or a variant precedence order
PolicyValue: TypeAlias = str | int | list[int] | None


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


# --- ACR variants (seed 003) ---------------------------------------------------------------


class Category(Strict):
    name: Literal[
        "Usually Appropriate",
        "May Be Appropriate",
        "May Be Appropriate (Disagreement)",
        "Usually Not Appropriate",
    ]
    rating_range: tuple[int, int]
    definition: str

    @field_validator("rating_range")
    @classmethod
    def _range(cls, v: tuple[int, int]) -> tuple[int, int]:
        if not 1 <= v[0] <= v[1] <= 9:
            raise ValueError("rating range must lie within 1-9")
        return v


class Procedure(Strict):
    name: str
    kind: Literal["imaging", "procedure", "treatment"]
    modality: str
    contrast: Literal["without", "with", "without-and-with"] | None = None
    relative_radiation_level: Literal["O", "1-10 mSv", "10-30 mSv", "unknown"] | None = None


class Condition(Strict):
    """A boolean expression over the clinical state (clinical-rules 1.2, 1.3)."""

    all: list[Condition] | None = None
    any: list[Condition] | None = None
    input: str | None = None
    equals: bool | str | None = None

    @model_validator(mode="after")
    def _one_form(self) -> Condition:
        forms = [self.all is not None, self.any is not None, self.input is not None]
        if sum(forms) != 1:
            raise ValueError("a condition is exactly one of: all, any, input")
        if self.input is not None:
            if self.input not in STATE_INPUTS:
                raise ValueError(f"unknown clinical-state input {self.input!r}")
            if self.equals is None:
                raise ValueError("an input condition needs 'equals'")
            if self.input == "etiology" and self.equals not in ("osteoporotic", "pathological"):
                raise ValueError("etiology compares with 'osteoporotic' or 'pathological'")
            if self.input != "etiology" and not isinstance(self.equals, bool):
                raise ValueError(f"{self.input} compares with true/false")
        return self

    def inputs(self) -> list[str]:
        """Clinical-state inputs referenced by this condition, in order of first use."""
        if self.input is not None:
            return [self.input]
        out: list[str] = []
        for child in self.all or self.any or []:
            for name in child.inputs():
                if name not in out:
                    out.append(name)
        return out


class VariantProcedure(Strict):
    name: str
    category: str


class Variant(Strict):
    id: int = Field(ge=1, le=9)
    title: str
    question: Literal["imaging", "treatment"]
    condition: Condition
    procedures: list[VariantProcedure]
    summary: str
    source: str


class AcrTables(Strict):
    name: Literal["acr-vcf"]
    source: str
    categories: list[Category]
    relative_radiation_levels_source: str
    procedures: list[Procedure]
    variants: list[Variant]

    @model_validator(mode="after")
    def _consistent(self) -> AcrTables:
        cats = {c.name for c in self.categories}
        if cats != set(CATEGORY_NAMES):
            raise ValueError(f"categories must be exactly {CATEGORY_NAMES}")
        procs = [p.name for p in self.procedures]
        if len(set(procs)) != len(procs):
            raise ValueError("duplicate procedure names")
        if [v.id for v in self.variants] != list(range(1, 10)):
            raise ValueError("variants must be 1..9 in order")
        for v in self.variants:
            names = [p.name for p in v.procedures]
            if len(set(names)) != len(names):
                raise ValueError(f"variant {v.id}: duplicate procedure")
            for p in v.procedures:
                if p.name not in procs:
                    raise ValueError(f"variant {v.id}: unknown procedure {p.name!r}")
                if p.category not in cats:
                    raise ValueError(f"variant {v.id}: unknown category {p.category!r}")
            expected = "imaging" if v.id <= 4 else "treatment"
            if v.question != expected:
                raise ValueError(f"variant {v.id} must be a {expected} variant")
        return self


# --- scores ---------------------------------------------------------------------------------


class ScoredItem(Strict):
    id: str
    label: str
    points: dict[str, int]
    source: str


class Performance(Strict):
    model_config = ConfigDict(extra="allow", frozen=True)
    source: str | None = None


class MriScoreKnowledge(Strict):
    name: Literal["mri-malignancy-score"]
    source: str
    signs: list[ScoredItem]
    cutoff: int
    cutoff_source: str
    performance: Figures
    fluid_cleft_note: str

    @model_validator(mode="after")
    def _nine(self) -> MriScoreKnowledge:
        if len(self.signs) != 9:
            raise ValueError("the seed 000 score has exactly nine signs")
        return self


class SinsCategory(Strict):
    id: Literal["stable", "potentially_unstable", "unstable"]
    range: tuple[int, int]
    label: str
    action: str
    source: str


class SinsKnowledge(Strict):
    name: Literal["sins"]
    source: str
    components: list[ScoredItem]
    location_classes: dict[str, list[str]]
    location_source: str
    categories: list[SinsCategory]
    inconsistency_note: str
    performance: Figures
    index_level_rule: str

    @model_validator(mode="after")
    def _bands(self) -> SinsKnowledge:
        ids = [c.id for c in self.components]
        if ids != ["location", "pain", "lesion", "alignment", "collapse", "posterolateral"]:
            raise ValueError("SINS components must be the six of seed 004 Table 3, in order")
        loc = next(c for c in self.components if c.id == "location")
        if set(loc.points) != set(self.location_classes):
            raise ValueError("location classes must match the location points")
        lo = sum(min(c.points.values()) for c in self.components)
        hi = sum(max(c.points.values()) for c in self.components)
        bands = sorted(c.range for c in self.categories)
        if bands[0][0] != lo or bands[-1][1] != hi:
            raise ValueError(f"SINS categories must cover {lo}-{hi}")
        for (_, a_hi), (b_lo, _) in itertools.pairwise(bands):
            if b_lo != a_hi + 1:
                raise ValueError("SINS categories must be contiguous")
        return self


class Region(Strict):
    prefix: str
    count: int = Field(ge=1)
    name: str


class Anatomy(Strict):
    name: Literal["vertebral-levels"]
    source: str
    regions: list[Region]

    def levels(self) -> list[str]:
        return [f"{r.prefix}{i}" for r in self.regions for i in range(1, r.count + 1)]


class VbqPerformance(Strict):
    sensitivity: float
    specificity: float
    auc: float
    combined_with_categorical_sins_auc: float
    n_patients: int


class VbqThresholds(Strict):
    """Vertebral bone quality (seed 002 Methods and Results)."""

    cutoff: float
    rule: str
    vertebral_levels: tuple[str, ...]
    csf_levels: tuple[str, ...]
    performance: VbqPerformance
    source: str


class ChemicalShiftThresholds(Strict):
    """Out-of-phase signal drop (seed 004 Magnetic resonance, DIXON)."""

    cutoff_percent: float
    rule: str
    source: str


class AdcKnowledge(Strict):
    """ADC direction (seeds 001, 004); the cutoff is a site setting (no default)."""

    direction: str
    source: str
    note: str


class EsccThresholds(Strict):
    """Bilsky epidural spinal cord compression scale (seed 004 Magnetic resonance)."""

    grades: tuple[str, ...]
    descriptions: dict[str, str]
    low_grade: tuple[str, ...]
    high_grade: tuple[str, ...]  # grades 2 and 3: spinal cord compression
    policy_dependent: tuple[str, ...]
    implication_low: str
    implication_high: str
    source: str


class DeformityThresholds(Strict):
    """Spinal deformity (seed 003 Variants 5 and 8): any measurement at or above its value."""

    kyphosis_percent: float
    scoliosis_percent: float
    dorsal_wall_height_reduction_percent: float
    vertebral_height_loss_percent: float
    rule: str
    source: str


class Thresholds(Strict):
    model_config = ConfigDict(extra="forbid", frozen=True)
    name: Literal["thresholds"]
    vbq: VbqThresholds
    chemical_shift: ChemicalShiftThresholds
    adc: AdcKnowledge
    escc: EsccThresholds
    deformity: DeformityThresholds

    @model_validator(mode="after")
    def _escc(self) -> Thresholds:
        e = self.escc
        if sorted(e.low_grade + e.high_grade + e.policy_dependent) != sorted(e.grades):
            raise ValueError("ESCC grades must be split exactly into low/high/policy-dependent")
        if set(e.descriptions) != set(e.grades):
            raise ValueError("every ESCC grade needs exactly one description")
        return self


class Policy(Strict):
    id: str
    default: PolicyValue
    allowed: list[PolicyValue] | None
    description: str


class Policies(Strict):
    name: Literal["policies"]
    source: str
    policies: list[Policy]

    def defaults(self) -> dict[str, PolicyValue]:
        return {p.id: p.default for p in self.policies}

    def precedence(self, question: Literal["imaging", "treatment"]) -> list[int]:
        """The variant precedence order of one question (policy ``<question>_precedence``)."""
        value = self.defaults().get(f"{question}_precedence")
        if not isinstance(value, list):
            raise ValueError(f"policy {question}_precedence must be a list of variant ids")
        return value


class EvidenceValue(Strict):
    label: str
    benign: int = Field(ge=0)
    malignant: int = Field(ge=0)
    derived: bool = False


class EvidenceSign(Strict):
    id: str
    label: str
    table: str
    values: dict[str, EvidenceValue]


class QualitativeSign(Strict):
    id: str
    label: str
    when_true: Literal["osteoporotic", "metastatic"]
    when_false: Literal["osteoporotic", "metastatic"] | None = None
    source: str


class SignEvidenceKnowledge(Strict):
    name: Literal["sign-evidence"]
    source: str
    groups: dict[Literal["benign", "malignant"], int]
    reading_notes: list[str]
    modality_accuracy: Figures
    signs: list[EvidenceSign]
    qualitative_signs: list[QualitativeSign]

    @model_validator(mode="after")
    def _counts(self) -> SignEvidenceKnowledge:
        nb, nm = self.groups["benign"], self.groups["malignant"]
        for s in self.signs:
            b = sum(v.benign for v in s.values.values())
            m = sum(v.malignant for v in s.values.values())
            if (b, m) != (nb, nm):
                raise ValueError(f"{s.id}: counts add up to {b}/{m}, expected {nb}/{nm}")
        return self


class RedFlagGroup(Strict):
    id: str
    label: str
    source: str


class RedFlag(Strict):
    id: str
    label: str
    groups: list[str]


class RedFlagsKnowledge(Strict):
    name: Literal["red-flags"]
    source: str
    groups: list[RedFlagGroup]
    flags: list[RedFlag]

    @model_validator(mode="after")
    def _groups(self) -> RedFlagsKnowledge:
        known = {g.id for g in self.groups}
        ids = [f.id for f in self.flags]
        if len(set(ids)) != len(ids):
            raise ValueError("duplicate red flag ids")
        for f in self.flags:
            if not f.groups or not set(f.groups) <= known:
                raise ValueError(f"red flag {f.id}: unknown group")
        return self


class AblationCriteria(Strict):
    """seed 003 Variant 9, Percutaneous Ablation Spine."""

    life_expectancy_months_gt: int
    good_performance_ecog_max: int
    visceral_metastases_ok: tuple[str, ...]
    source: str
    ecog_note: str


class ShortCourseRtCriteria(Strict):
    """seed 003 Variant 9, Radiation Oncology Consultation."""

    radiosensitive_histologies: tuple[str, ...]
    survival_months_lt: int
    source: str


class DecompressiveSurgeryCriteria(Strict):
    """seed 003 Variant 9, Surgical Consultation."""

    age_lt: int
    compression_levels: int
    deficit_hours_lt: int
    survival_months_gte: int
    source: str


class Sourced(Strict):
    source: str


class ConsiderationsKnowledge(Strict):
    model_config = ConfigDict(extra="forbid", frozen=True)
    name: Literal["treatment-considerations"]
    source: str
    ablation: AblationCriteria
    short_course_rt: ShortCourseRtCriteria
    decompressive_surgery: DecompressiveSurgeryCriteria
    surgery: Sourced
    medical_management: Sourced


# --- publications and card policy ------------------------------------------------------------


class Publication(Strict):
    """A source as printed in the copy held; what the copy does not print stays empty."""

    id: str
    short: str
    authors: str
    title: str | None
    journal: str | None
    year: int | None
    doi: str | None
    not_printed: str | None
    acr_content: bool


class Publications(Strict):
    name: Literal["publications"]
    source: str
    publications: list[Publication]

    @model_validator(mode="after")
    def _unique(self) -> Publications:
        ids = [p.id for p in self.publications]
        if len(set(ids)) != len(ids):
            raise ValueError("duplicate publication ids")
        return self

    def get(self, pub_id: str) -> Publication:
        return next(p for p in self.publications if p.id == pub_id)

    def reference(self, pub_id: str) -> str:
        """The full reference as printed, saying what the copy held does not print."""
        p = self.get(pub_id)
        parts = [p.authors + "."]
        if p.title:
            parts.append(p.title + ".")
        if p.journal or p.year:
            parts.append(" ".join(str(x) for x in (p.journal, p.year) if x) + ".")
        if p.doi:
            parts.append(f"doi:{p.doi}.")
        if p.not_printed:
            parts.append(f"({p.not_printed[0].upper()}{p.not_printed[1:]}.)")
        return " ".join(parts)


CardFamily = Literal["order-rating", "safety", "summary", "scores", "treatment", "missing-data"]
CARD_HOOKS = ("order-select", "order-sign", "patient-view", "assessment")


class FamilyPolicy(Strict):
    topic: str | None  # None: shown as a section of the summary, never as a card
    description: str


class MaxCards(Strict):
    per_draft_order: int = Field(ge=0, le=1)
    fixed: int = Field(ge=1)

    def limit(self, draft_orders: int) -> int:
        return self.fixed + self.per_draft_order * draft_orders


class HookCardPolicy(Strict):
    cards: list[CardFamily]
    max_cards: MaxCards
    safety_min_indicator: Literal["critical", "warning", "info"]
    summary_sections: list[Literal["scores", "treatment", "missing-data"]]

    @model_validator(mode="after")
    def _shape(self) -> HookCardPolicy:
        if len(set(self.cards)) != len(self.cards):
            raise ValueError("a family is listed twice")
        if not set(self.cards) <= {"order-rating", "safety", "summary"}:
            raise ValueError("only order-rating, safety and summary families are shown as cards")
        if self.summary_sections and "summary" not in self.cards:
            raise ValueError("summary_sections need the summary card")
        if ("order-rating" in self.cards) != (self.max_cards.per_draft_order == 1):
            raise ValueError("one rating card per draft order exactly when order-rating is shown")
        return self


class Citation(Strict):
    publication: str
    where: str


class StateInputText(Strict):
    label: str
    ask: str


class RadiationLevels(Strict):
    source: str
    labels: dict[str, str]


class CardPolicy(Strict):
    """Which card families each hook shows, how many cards at most, and every clinician-facing
    label, citation and note the cards use (validated at start-up, part of the knowledge
    version)."""

    name: Literal["card-policy"]
    source: str
    families: dict[CardFamily, FamilyPolicy]
    hooks: dict[str, HookCardPolicy]
    acr_notice: str
    relative_radiation_levels: RadiationLevels
    labels: dict[str, dict[str, str]]
    state_inputs: dict[str, StateInputText]
    finding_labels: dict[str, str]
    criteria_phrasing: dict[str, dict[Literal["met", "not_met", "unknown"], str]]
    source_kinds: dict[str, str]
    citations: dict[str, Citation]
    notes: dict[str, str]
    topic_publications: dict[str, list[str]]  # explanation page topic -> its references
    phrases: dict[str, str]  # card text templates (app/knowledge/phrases.py names each)
    table_headers: dict[str, tuple[str, ...]]
    short_procedure_drop: tuple[str, ...]  # words left out of procedure names in summaries

    @model_validator(mode="after")
    def _complete(self) -> CardPolicy:
        if set(self.hooks) != set(CARD_HOOKS):
            raise ValueError(f"card policy needs exactly the hooks {CARD_HOOKS}")
        if set(self.state_inputs) != set(STATE_INPUTS):
            raise ValueError("every clinical-state input needs a label and a question")
        for group in (
            "sins-category", "mri-classification", "etiology", "consideration-status",
            "tristate", "cord-compression", "favours", "question", "not-rated", "escc-class",
            "vbq-risk", "smart-question", "smart-citation-topic",
        ):  # fmt: skip
            if group not in self.labels:
                raise ValueError(f"labels.{group} is missing")
        for key in ("fluid-cleft", "contrast-enhancement", "work-up", "ratios"):
            if key not in self.notes:
                raise ValueError(f"notes.{key} is missing")
        if set(self.labels["smart-question"]) != {"imaging", "treatment"}:
            raise ValueError("labels.smart-question needs exactly imaging and treatment")
        unknown = sorted(set(self.labels["smart-citation-topic"]) - set(self.citations))
        if unknown:
            raise ValueError(f"labels.smart-citation-topic.{unknown[0]} is not a citation")
        check_phrases(self.phrases)
        check_tables(self.table_headers)
        return self

    def phrase(self, key: str, **values: object) -> str:
        """The card phrase ``key`` with its placeholders filled (values already escaped)."""
        return self.phrases[key].format(**values)

    def count(self, key: str, n: int) -> str:
        """'1 input' / '3 inputs': phrase ``<key>-one`` for one, ``<key>`` otherwise."""
        return self.phrase(f"{key}-one" if n == 1 else key, count=n)

    def short_procedure(self, name: str) -> str:
        """Shorter display for summaries: 'MRI spine area of interest without IV contrast' ->
        'MRI spine without IV contrast'."""
        for words in self.short_procedure_drop:
            name = name.replace(words, "")
        return name

    def label(self, group: str, value: str | None) -> str:
        """The human label of an enum value (never the identifier itself)."""
        labels = self.labels[group]
        if value is None:
            return labels.get("unknown", "unknown")
        return labels.get(value, value.replace("_", " "))


class Manifest(Strict):
    knowledge_version: str
    description: str
    files: list[str]


class Knowledge(Strict):
    """All knowledge files, validated together. ``version`` is stated in every output."""

    version: str
    acr: AcrTables
    mri_score: MriScoreKnowledge
    sins: SinsKnowledge
    anatomy: Anatomy
    thresholds: Thresholds
    policies: Policies
    sign_evidence: SignEvidenceKnowledge
    red_flags: RedFlagsKnowledge
    considerations: ConsiderationsKnowledge
    publications: Publications
    card_policy: CardPolicy

    @model_validator(mode="after")
    def _cross(self) -> Knowledge:
        levels = self.anatomy.levels()
        placed = [lv for group in self.sins.location_classes.values() for lv in group]
        if sorted(placed) != sorted(levels):
            raise ValueError("SINS location classes must place every vertebral level exactly once")
        for question in ("imaging", "treatment"):
            expected = sorted(v.id for v in self.acr.variants if v.question == question)
            if sorted(self.policies.precedence(question)) != expected:
                raise ValueError(
                    f"policy {question}_precedence must order exactly the {question} variants"
                )
        self._cross_card_policy()
        return self

    def _cross_card_policy(self) -> None:
        cp = self.card_policy
        known = {p.id for p in self.publications.publications}
        for key, cite in cp.citations.items():
            if cite.publication not in known:
                raise ValueError(f"card policy citation {key}: unknown publication")
        for topic, pubs in cp.topic_publications.items():
            if not set(pubs) <= known:
                raise ValueError(f"card policy topic_publications {topic}: unknown publication")
        levels = {p.relative_radiation_level for p in self.acr.procedures} - {None}
        if not levels <= set(cp.relative_radiation_levels.labels):
            raise ValueError("every relative radiation level needs a label")
        if set(cp.labels["sins-category"]) != {c.id for c in self.sins.categories}:
            raise ValueError("every SINS category needs a label")

    def variant(self, n: int) -> Variant | None:
        return next((v for v in self.acr.variants if v.id == n), None)

    def category(self, name: str) -> Category:
        return next(c for c in self.acr.categories if c.name == name)
