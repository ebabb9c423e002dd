"""Service settings from environment variables (prefix ``VCF_CDS_``)."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import ConfigDict, Field, SecretStr, with_config
from pydantic_settings import BaseSettings, SettingsConfigDict
from typing_extensions import TypedDict  # pydantic reads typing.TypedDict only from 3.12


class Settings(BaseSettings):
    """Defaults run a self-contained service on SQLite in the working directory."""

    model_config = SettingsConfigDict(env_prefix="VCF_CDS_", extra="ignore")

    environment: Literal["development", "test", "production"] = "production"
    database_url: str = "sqlite:///./vcf_cds.db"
    # apply the Alembic migrations at start-up (the container does); otherwise an unmigrated
    # database is reported not ready with the command to run
    migrate_on_start: bool = False
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
    # swap suggestions: one update of the draft order (Argonaut PAMA) or delete + create
    swap_actions: Literal["update", "delete-create"] = "update"

    # SMART on FHIR app at /app/ (app/smart, docs/smart-app.md); FHIR servers: the allow-list
    smart_app_enabled: bool = True
    smart_client_id: str = Field(default="vcf-cds-app", min_length=1, max_length=256)
    smart_scopes: str = Field(
        default="openid fhirUser patient/Patient.rs patient/Observation.rs patient/Condition.rs "
        "patient/Procedure.rs patient/MedicationStatement.rs patient/MedicationRequest.rs "
        "patient/DiagnosticReport.rs patient/Observation.c patient/QuestionnaireResponse.c",
        description="scopes the app requests besides launch (EHR) or launch/patient (standalone)",
    )

    # audit trail
    audit_secret: SecretStr | None = Field(
        default=None,
        description="HMAC key for patient ids in the audit trail (required in production)",
    )
    audit_spool_dir: Path = Path("spool")
    site_conceptmap_dir: Path | None = Field(
        default=None,
        description="directory of FHIR ConceptMap JSON files mapping site-local codes "
        "(validated at start-up; docs/fhir-inputs.md)",
    )
    audit_max_wait_ms: float = Field(default=50.0, gt=0, le=5000)

    # client authentication (CDS Hooks "Trusting CDS Clients")
    auth_required: bool | None = Field(default=None, description="default: on outside development")
    auth_config_file: Path | None = Field(
        default=None, description="JSON file of trusted issuers (JWKS / jku / fhir_servers)"
    )

    # limits and HTTP
    max_body_bytes: int = Field(default=5 * 1024 * 1024, ge=1024)
    max_json_depth: int = Field(default=64, ge=8, le=1000)
    max_prefetch_entries: int = Field(default=5000, ge=10)
    # docs/faults.md: caps on what one request may make the service read or compute
    max_draft_orders: int = Field(default=100, ge=1, le=5000)
    max_fhir_response_bytes: int = Field(default=8 * 1024 * 1024, ge=1024)
    cors_origins: list[str] = Field(default_factory=list)

    # OpenTelemetry (app/observability/tracing.py): off, console (stdout) or otlp (OTLP/HTTP)
    tracing: Literal["off", "console", "otlp"] = "off"

    @property
    def auth_enabled(self) -> bool:
        if self.auth_required is not None:
            return self.auth_required
        return self.environment != "development"

    def policies(self) -> SitePolicies:
        """Policy values named in every output that depends on them (clinical-rules); a plain
        dict built per request (a model per call cost ~30 us vs ~2.5 us)."""
        return {
            "escc_1c": self.policy_escc_1c,
            "vcf_new_days": self.policy_vcf_new_days,
            "sins_collapse_exactly_50": self.policy_sins_collapse_exactly_50,
            "adc_threshold": self.adc_threshold,
        }


@with_config(ConfigDict(extra="forbid"))
class SitePolicies(TypedDict):
    """The clinical-rules policies in force at this site (named in every output that depends
    on them; clinical-rules)."""

    escc_1c: Literal["low", "high"]
    vcf_new_days: int
    sins_collapse_exactly_50: Literal["lt50", "gt50"]
    adc_threshold: float | None


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return Settings()
