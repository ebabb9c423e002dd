"""One definition per vocabulary: the lists that cannot be derived agree with their source."""

from __future__ import annotations

import json
from dataclasses import fields
from typing import Any, get_args

import pytest
from pydantic import TypeAdapter, ValidationError

from app.api.rest.audit import AuditRecordOut
from app.api.rest.schemas import ClinicalStateRequest
from app.assessment.service import HISTORY_OF_CANCER
from app.audit.repo import ENTRY_COLUMNS
from app.cards.builder import Hook
from app.cards.text import MAX_SUMMARY, summary
from app.cds_hooks.card_rules import MAX_SUMMARY_CHARS
from app.cds_hooks.catalog import service_catalog
from app.clinical.state import STATE_FIELDS, TRI_INPUTS, ClinicalState
from app.db.models import AuditRecord
from app.knowledge.schema import STATE_INPUTS, Knowledge
from tests.conftest import ROOT

FINDING_CODES = ROOT / "app" / "fhir" / "data" / "finding_codes.json"


def test_every_red_flag_is_a_finding_code_or_the_cancer_history(knowledge: Knowledge) -> None:
    """Red flags are read by their knowledge id (seed 003 Appendix 1): a flag without a finding
    code of the same id would stay unknown for ever."""
    codes = {f["code"] for f in json.loads(FINDING_CODES.read_text())["findings"]}
    ids = {f.id for f in knowledge.red_flags.flags}
    assert ids - codes == {HISTORY_OF_CANCER}


def test_state_inputs_are_the_state_type() -> None:
    assert STATE_FIELDS == STATE_INPUTS == tuple(f.name for f in fields(ClinicalState))
    assert set(STATE_FIELDS) - {"etiology"} == TRI_INPUTS


def test_state_request_is_the_state_type_with_strict_booleans() -> None:
    adapter = TypeAdapter(ClinicalStateRequest)
    state = adapter.validate_python({"vcf_present": True, "etiology": "osteoporotic"})
    assert isinstance(state, ClinicalState) and state.vcf_present is True
    assert [f.name for f in fields(ClinicalStateRequest)] == list(STATE_FIELDS)
    for bad in ({"vcf_present": 1}, {"symptomatic": "no"}, {"vcf_presnt": True}):
        with pytest.raises(ValidationError):
            adapter.validate_python(bad)


def test_audit_entry_fields_are_the_record_columns_and_the_api_fields() -> None:
    columns = {c.name for c in AuditRecord.__table__.columns} - {"id"}
    assert set(ENTRY_COLUMNS.values()) == columns
    assert set(AuditRecordOut.model_fields) == columns


def test_hooks_of_the_cards_are_the_served_hooks_and_the_rest_assessment() -> None:
    def values(t: Any) -> set[str]:
        args = get_args(t)
        return {v for a in args for v in values(a)} if args else {t}

    served = {s.hook for s in service_catalog().services}
    assert values(Hook) == served | {"assessment"}


def test_summary_limit_is_the_card_rule_limit() -> None:
    assert MAX_SUMMARY == MAX_SUMMARY_CHARS == 139
    long: Any = "word " * 60
    assert len(summary(long)) <= MAX_SUMMARY_CHARS
