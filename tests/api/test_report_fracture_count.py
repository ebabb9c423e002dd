"""Counting fractures from one final spine imaging report (issue 8 item 6; fhir-input.md
"Other resources": one final spine imaging report enumerates the fractured levels completely).

Through POST /api/v1/assessments for multiple_vcfs, and through ``read_resources`` for the
enumeration itself (``app.fhir.report_count``). The report code LOINC 24967-2 "MR Lumbar spine
WO and W contrast IV" is a spine study of order_codes.json.
"""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest

from app.fhir.adapter import read_resources
from app.fhir.reports import TEXT_MARK
from tests.api.test_fracture_count_and_records import missing_card, post
from tests.fhir_builders import CPT, FINDING, LOINC, diagnostic_report, obs, patient


def spine_report(
    conclusion: str | None,
    status: str = "final",
    code: tuple[str, str] = (LOINC, "24967-2"),
    **parts: Any,
) -> dict[str, Any]:
    return diagnostic_report("r1", conclusion, status=status, code=code, **parts)


def symptomatic() -> list[dict[str, Any]]:
    return [patient(), obs("o-sym", "symptomatic", True), obs("o-acute", "vcf-acute", True, "L1")]


def multiple(out: dict[str, Any]) -> dict[str, Any]:
    state: dict[str, Any] = out["clinical_state"]["multiple_vcfs"]
    return state


def test_a_final_report_naming_t12_and_l1_makes_it_true(client: Any) -> None:
    report = spine_report("Acute compression fractures of T12 and L1.")
    state = multiple(post(client, [*symptomatic(), report]))
    assert state["value"] is True


def test_a_final_report_naming_only_l1_makes_it_false(client: Any) -> None:
    report = spine_report("Acute compression fracture of L1.")  # no statement on other levels
    out = post(client, [*symptomatic(), report])
    state = multiple(out)
    assert state["value"] is False
    assert f"DiagnosticReport/r1 ({TEXT_MARK})" in state["sources"]  # read from text: marked
    assert "L1" in state["note"]
    card = missing_card(out)
    assert card is None or "How many vertebrae" not in card["detail"]


def test_a_preliminary_report_naming_only_l1_leaves_it_unknown(client: Any) -> None:
    report = spine_report("Acute compression fracture of L1.", status="preliminary")
    out = post(client, [*symptomatic(), report])
    assert multiple(out)["value"] is None
    card = missing_card(out)
    assert card is not None and card["detail"].count("How many vertebrae are fractured?") == 1


def enumerations(*resources: dict[str, Any]) -> list[Any]:
    pf = read_resources([patient(), *resources], today=date(2026, 12, 1))
    return pf.fracture_enumerations


@pytest.mark.parametrize("status", ["final", "amended", "corrected"])
def test_a_report_saying_no_fracture_lists_none(status: str) -> None:
    [e] = enumerations(spine_report("No fracture.", status=status))
    assert e.levels == () and e.from_text and TEXT_MARK in e.source


@pytest.mark.parametrize("status", ["preliminary", "registered", "appended", "cancelled"])
def test_only_final_amended_corrected_reports_count(status: str) -> None:
    assert enumerations(spine_report("Compression fracture of L1.", status=status)) == []


def test_coded_results_enumerate_without_the_text_mark() -> None:
    contained = obs("f1", "vcf", True, "L2")
    contained.pop("subject", None)
    report = spine_report(
        None,
        code=(CPT, "72131"),  # CT lumbar spine without contrast
        contained=[contained],
        result=[{"reference": "#f1"}, {"reference": "Observation/o-no"}],
    )
    [e] = enumerations(report, obs("o-no", "vcf", False, "L3"))
    assert (e.source, e.levels, e.from_text) == ("DiagnosticReport/r1", ("L2",), False)


def test_coded_result_outranks_the_same_reports_text() -> None:
    report = spine_report(
        "Compression fractures of L1 and L2.", result=[{"reference": "Observation/o-l2"}]
    )
    [e] = enumerations(report, obs("o-l2", "vcf", False, "L2"))
    assert e.levels == ("L1",)


def test_a_report_of_another_study_counts_only_when_its_fractures_have_levels() -> None:
    local = ("urn:local:orders", "XR-CHEST")
    assert enumerations(spine_report("No fracture.", code=local)) == []
    [e] = enumerations(spine_report("Compression fracture of L1.", code=local))
    assert e.levels == ("L1",)


@pytest.mark.parametrize(
    ("conclusion", "extra", "message"),
    [
        ("Possible fracture of T12. Fracture of L1.", {}, "uncertain"),
        ("Fracture of L1.", {"result": [{"reference": "Observation/absent"}]}, "not complete"),
    ],
)
def test_an_incomplete_report_is_not_counted_and_says_why(
    conclusion: str, extra: dict[str, Any], message: str
) -> None:
    pf = read_resources([patient(), spine_report(conclusion, **extra)], today=date(2026, 12, 1))
    assert pf.fracture_enumerations == []
    assert any(message in i.message for i in pf.issues), pf.issues


def test_a_coded_fracture_without_a_level_is_not_counted() -> None:
    report = spine_report(None, conclusionCode=[{"coding": [{"system": FINDING, "code": "vcf"}]}])
    pf = read_resources([patient(), report], today=date(2026, 12, 1))
    assert pf.fracture_enumerations == []
    assert any("without a vertebral level" in i.message for i in pf.issues), pf.issues
