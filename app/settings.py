"""Service settings from environment variables (prefix ``VCF_CDS_``)."""

from __future__ import annotations

from functools import lru_cache
from typing import Any, Literal

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    """Defaults run a self-contained service on SQLite in the working directory."""

    model_config = SettingsConfigDict(env_prefix="VCF_CDS_", extra="ignore")

    environment: Literal["development", "test", "production"] = "production"
    database_url: str = "sqlite:///./vcf_cds.db"
    public_base_url: str = "http://127.0.0.1:8000"

    # clinical-rules policies (named settings with the documented defaults)
    policy_escc_1c: Literal["low", "high"] = "low"
    policy_vcf_new_days: int = Field(default=90, ge=1, le=3650)
    policy_sins_collapse_exactly_50: Literal["lt50", "gt50"] = "lt50"
    adc_threshold: float | None = Field(default=None, gt=0)

    # CDS Hooks
    fhir_fetch_budget_seconds: float = Field(default=2.0, gt=0, le=30)
    fhir_server_allowlist: list[str] = Field(
        default_factory=list,
        description="FHIR base URLs the service may call with the EHR's token (exact match)",
    )
    refetch_on_operation_outcome: bool = True
    mirror_system_actions: bool = False  # also under response.extension for pre-2.0 clients

    def policies(self) -> dict[str, Any]:
        """Policy values named in every output that depends on them (clinical-rules)."""
        return {
            "escc_1c": self.policy_escc_1c,
            "vcf_new_days": self.policy_vcf_new_days,
            "sins_collapse_exactly_50": self.policy_sins_collapse_exactly_50,
            "adc_threshold": self.adc_threshold,
        }


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return Settings()
