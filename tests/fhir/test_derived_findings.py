"""Findings derived from ordinary EHR data (app/fhir/derived.py, data/derived_findings.json).

Each test names the rule's source: fever is a red flag of seed 003 Appendix 1 / seed 004
Figure 1 (threshold 38.0 Cel is a stated policy); ECOG per LOINC 89247-1 / answer list LL529-9
(mCODE); low back pain (ICD-10-CM M54.5x, SNOMED CT 279039007) = symptomatic (clinical-rules
1.1); D84.821 = immunosuppression and Z79.52 = prolonged corticosteroids (seed 003 Appendix 1).
"""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from app.assessment.service import assess
from app.clinical.findings import PatientFindings
from app.fhir.adapter import read_resources
from app.fhir.codes import CodeDataError
from app.fhir.derived import DATA_FILE, derived_rules, load_derived_rules
from app.knowledge.schema import Knowledge
from app.settings import SitePolicies
from tests.fhir_builders import ICD10, PATIENT, condition, obs

LOINC = "http://loinc.org"
SNOMED = "http://snomed.info/sct"
TODAY = date(2026, 12, 1)
POLICIES: SitePolicies = {
    "vcf_new_days": 90,
    "escc_1c": "low",
    "sins_collapse_exactly_50": "lt50",
    "adc_threshold": None,
}


def temperature(
    oid: str, value: float, unit: str = "Cel", code: str = "8310-5", when: str = "2026-11-30"
) -> dict[str, Any]:
    return {
        "resourceType": "Observation",
        "id": oid,
        "status": "final",
        "category": [{"coding": [{"code": "vital-signs"}]}],
        "code": {"coding": [{"system": LOINC, "code": code}]},
        "subject": {"reference": f"Patient/{PATIENT}"},
        "effectiveDateTime": f"{when}T08:00:00Z",
        "valueQuantity": {
            "value": value,
            "unit": unit,
            "system": "http://unitsofmeasure.org",
            "code": unit,
        },
    }


def ecog(oid: str, **value: Any) -> dict[str, Any]:
    return {
        "resourceType": "Observation",
        "id": oid,
        "status": "final",
        "code": {"coding": [{"system": LOINC, "code": "89247-1"}]},
        "subject": {"reference": f"Patient/{PATIENT}"},
        "effectiveDateTime": "2026-11-20",
        **value,
    }


def snomed_condition(cid: str, code: str, status: str = "active") -> dict[str, Any]:
    c = condition(cid, "X00", status=status)
    c["code"] = {"coding": [{"system": SNOMED, "code": code}]}
    return c


def finding(pf: PatientFindings, code: str) -> Any:
    found = [f for f in pf.findings if f.code == code]
    return (found[0].value, found[0].sources) if found else (None, ())


def read(*resources: dict[str, Any]) -> PatientFindings:
    return read_resources(list(resources), today=TODAY)


# --- data file ---------------------------------------------------------------------------------


def test_rules_load_and_name_a_source_and_threshold() -> None:
    rules = derived_rules()
    for rule in rules.observation_rules:
        assert rule.source and all(c.source for c in rule.codes)
    fever = next(r for r in rules.observation_rules if r.finding == "fever")
    assert fever.threshold is not None and fever.threshold.value == 38.0 and fever.policy
    assert {c.code for c in fever.codes} >= {"8310-5", "8331-1", "8332-9"}
    assert {n.finding for n in rules.not_mapped} >= {"iv-drug-use"}  # left out, said so


@pytest.mark.parametrize(
    ("change", "needle"),
    [
        (lambda d: d["observation_rules"][0]["codes"].append(d["observation_rules"][0]["codes"][0]),
         "used twice"),
        (lambda d: d["observation_rules"][0].update(finding="no-such-finding"), "not a project"),
        (lambda d: d["observation_rules"][1]["answers"][0].update(code="X9622-7"), "LOINC"),
        (lambda d: d["observation_rules"][1]["answers"][-1].update(code="42x"), "SNOMED CT"),
        (lambda d: d["observation_rules"][0]["codes"][0].update(code="8310"), "LOINC"),
        (lambda d: d["observation_rules"][0].pop("threshold"), "threshold"),
    ],
)  # fmt: skip
def test_bad_rule_file_stops_loading_naming_the_file(
    tmp_path: Path, change: Any, needle: str
) -> None:
    data = json.loads(DATA_FILE.read_text(encoding="utf-8"))
    change(data)
    bad = tmp_path / "derived_findings.json"
    bad.write_text(json.dumps(data), encoding="utf-8")
    with pytest.raises(CodeDataError) as err:
        load_derived_rules(bad)
    assert "derived_findings.json" in str(err.value) and needle in str(err.value)


# --- fever ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "unit", "code", "expected"),
    [
        (38.0, "Cel", "8310-5", True),  # at the threshold (>= 38.0 Cel)
        (37.9, "Cel", "8310-5", False),
        (100.4, "[degF]", "8331-1", True),  # 100.4 degF = 38.0 Cel (oral)
        (100.2, "[degF]", "8332-9", False),  # 37.9 Cel (rectal)
        (39.1, "Cel", "8328-7", True),  # axillary
    ],
)
def test_fever_from_body_temperature(value: float, unit: str, code: str, expected: bool) -> None:
    pf = read(temperature("t1", value, unit, code))
    assert finding(pf, "fever") == (expected, ("Observation/t1",))
    assert not [i for i in pf.issues if i.location == "Observation/t1.code"]


def test_newest_temperature_decides_and_old_readings_do_not_count() -> None:
    pf = read(temperature("t-old", 39.5, when="2026-11-20"), temperature("t-new", 36.8))
    assert finding(pf, "fever")[0] is False
    pf = read(temperature("t-ancient", 39.5, when="2026-09-01"))
    assert finding(pf, "fever")[0] is None  # older than 30 days: not used, and said so
    assert any("older than 30 days" in i.message for i in pf.issues)


def test_unknown_temperature_unit_is_reported_not_guessed() -> None:
    pf = read(temperature("t1", 310.0, "K"))
    assert finding(pf, "fever")[0] is None
    assert any(i.location == "Observation/t1.valueQuantity" for i in pf.issues)


def test_coded_fever_outranks_the_derived_one() -> None:
    pf = read(temperature("t1", 39.0), obs("o-fever", "fever", False, date="2026-11-01"))
    assert finding(pf, "fever") == (False, ("Observation/o-fever",))


def test_fever_reaches_the_red_flags(knowledge: Knowledge) -> None:
    pf = read(temperature("t1", 38.6))
    a = assess(pf, knowledge, POLICIES)
    assert "fever" in {h.id for h in a.red_flags.present}


@given(st.floats(min_value=30.0, max_value=45.0, allow_nan=False))
def test_fahrenheit_and_celsius_agree(celsius: float) -> None:
    fahrenheit = celsius * 9 / 5 + 32
    a = finding(read(temperature("t1", celsius)), "fever")[0]
    b = finding(read(temperature("t1", fahrenheit, "[degF]")), "fever")[0]
    if abs(celsius - 38.0) > 1e-6:
        assert a == b == (celsius >= 38.0)


# --- ECOG --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ({"valueInteger": 1}, 1),
        ({"valueCodeableConcept": {"coding": [{"system": LOINC, "code": "LA9622-7"}]}}, 0),
        ({"valueCodeableConcept": {"coding": [{"system": LOINC, "code": "LA9625-0"}]}}, 3),
        ({"valueCodeableConcept": {"coding": [{"system": SNOMED, "code": "422894000"}]}}, 2),
        ({"valueCodeableConcept": {"coding": [{"system": LOINC, "code": "LA9627-6"}]}}, None),
        ({"valueInteger": 7}, None),  # outside 0-4: reported
        ({"valueString": "good"}, None),
    ],
)
def test_ecog_from_loinc_89247_1(value: dict[str, Any], expected: int | None) -> None:
    pf = read(ecog("e1", **value))
    assert finding(pf, "ecog")[0] == expected
    about = [i for i in pf.issues if i.location.startswith("Observation/e1")]
    assert bool(about) == (expected is None)  # read: no complaint left; not read: said why


def test_ecog_feeds_the_performance_status_criterion(knowledge: Knowledge) -> None:
    pf = read(ecog("e1", valueInteger=3), condition("c-path", "M84.58XA"))
    a = assess(pf, knowledge, POLICIES)
    crit = [c for c in a.considerations for x in c.criteria if x.id == "good-performance-status"]
    assert crit, a.considerations
    [good] = [x for x in crit[0].criteria if x.id == "good-performance-status"]
    assert good.status == "not_met"


# --- Conditions ----------------------------------------------------------------------------------


@pytest.mark.parametrize("code", ["M54.50", "M54.5", "M5459", "M54.51"])
def test_low_back_pain_icd_is_symptomatic(code: str) -> None:
    pf = read(condition("c-lbp", code))
    assert finding(pf, "symptomatic") == (True, ("Condition/c-lbp",))


def test_low_back_pain_snomed_is_symptomatic_only_while_active() -> None:
    assert finding(read(snomed_condition("c1", "279039007")), "symptomatic")[0] is True
    assert finding(read(snomed_condition("c1", "279039007", "resolved")), "symptomatic")[0] is None
    refuted = snomed_condition("c1", "279039007")
    refuted["verificationStatus"] = {"coding": [{"code": "refuted"}]}
    assert finding(read(refuted), "symptomatic")[0] is False  # refuted: documented absent


def test_other_back_codes_are_not_low_back_pain() -> None:
    assert finding(read(condition("c1", "M54.9")), "symptomatic")[0] is None  # dorsalgia NOS


def test_symptomatic_observation_outranks_the_condition() -> None:
    pf = read(condition("c-lbp", "M54.50"), obs("o-sym", "symptomatic", False))
    assert finding(pf, "symptomatic") == (False, ("Observation/o-sym",))


def test_immunosuppression_and_long_term_steroids_are_red_flags(knowledge: Knowledge) -> None:
    pf = read(condition("c-imm", "D84.821"), condition("c-ster", "Z79.52"))
    assert finding(pf, "immunosuppression") == (True, ("Condition/c-imm",))
    assert finding(pf, "prolonged-corticosteroids") == (True, ("Condition/c-ster",))
    a = assess(pf, knowledge, POLICIES)
    present = {h.id for h in a.red_flags.present}
    assert {"immunosuppression", "prolonged-corticosteroids"} <= present


def test_icd_10_system_url_variants_and_other_patients() -> None:
    other = condition("c-x", "D84.821")
    other["subject"] = {"reference": "Patient/someone-else"}
    pf = read({"resourceType": "Patient", "id": PATIENT}, other)
    assert finding(pf, "immunosuppression")[0] is None
    who = condition("c-who", "D84.821")
    who["code"]["coding"][0]["system"] = "http://hl7.org/fhir/sid/icd-10"
    assert finding(read(who), "immunosuppression")[0] is True
    assert ICD10.endswith("icd-10-cm")


def test_age_from_birth_date_feeds_the_surgery_criterion(knowledge: Knowledge) -> None:
    young = read({"resourceType": "Patient", "id": PATIENT, "birthDate": "1970-01-01"},
                 condition("c-path", "M84.58XA"))  # fmt: skip
    a = assess(young, knowledge, POLICIES)
    rows = [x for c in a.considerations for x in c.criteria if x.id == "age-lt-65"]
    assert rows and rows[0].status == "met"
