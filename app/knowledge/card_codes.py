"""Card codes (topics, override reasons, PAMA extension URLs) loaded from a validated file."""

from __future__ import annotations

import json
from functools import lru_cache
from pathlib import Path

from pydantic import BaseModel, ConfigDict, model_validator


class OverrideReasonCode(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    code: str
    display: str


class PamaCodes(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    rating_extension: str
    rating_system: str
    consult_extension: str
    appropriateness_score_system: str
    appropriateness_score_scale: list[str]
    appropriateness_score_note: str

    @model_validator(mode="after")
    def _nine(self) -> PamaCodes:
        if len(self.appropriateness_score_scale) != 9:
            raise ValueError("the HL7 appropriateness score has nine codes (ratings 1-9)")
        return self

    def score_code(self, rating_range: tuple[int, int]) -> str:
        """The score code of a category: the midpoint of its rating range on the 1-9 scale."""
        mid = (rating_range[0] + rating_range[1]) // 2
        return self.appropriateness_score_scale[mid - 1]


class CardCodes(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    topic_system: str
    topics: dict[str, str]
    override_reason_system: str
    override_reasons: list[OverrideReasonCode]
    pama: PamaCodes
    topic_explanations: dict[str, str]

    @model_validator(mode="after")
    def _complete(self) -> CardCodes:
        required = {f"acr-variant-{n}" for n in range(1, 10)} | {
            "order-appropriateness", "mri-malignancy-score", "sign-evidence", "sins", "escc",
            "vbq", "red-flags", "treatment-considerations", "missing-data", "patient-summary",
            "urgent-findings",
        }  # fmt: skip
        if set(self.topics) != required:
            raise ValueError(f"card topics must be exactly {sorted(required)} (api.md)")
        if set(self.topic_explanations) != set(self.topics) - {
            f"acr-variant-{n}" for n in range(1, 10)
        }:
            raise ValueError("every non-variant topic needs an explanation")
        codes = [r.code for r in self.override_reasons]
        if len(set(codes)) != len(codes):
            raise ValueError("duplicate override reason codes")
        return self


@lru_cache(maxsize=1)
def card_codes() -> CardCodes:
    path = Path(__file__).parent / "data" / "card_codes.json"
    return CardCodes.model_validate(json.loads(path.read_text(encoding="utf-8")))
