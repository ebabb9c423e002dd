"""``unmapped_codings`` (the metric's path, issue 8 item 7) gives exactly the unmapped codings
of the full ``coverage_report``, in its order, for malformed and realistic inputs alike."""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from app.fhir.adapter import read_resources, unpack
from app.fhir.coverage import coverage_report, unmapped_codings
from bench.payload import realistic_request
from tests.fhir_builders import bundle, condition, obs, procedure
from tests.fuzz import fhir_strategies as fs

TODAY = date(2026, 12, 5)
pytestmark = pytest.mark.filterwarnings("ignore:Generating overly large repr")


def _both(values: list[Any], drafts: Any = None) -> tuple[list[Any], list[Any]]:
    resources: list[Any] = []
    for i, value in enumerate(values):
        resources += unpack(value, f"prefetch.k{i}")[0]
    orders = unpack(drafts, "context.draftOrders")[0] if drafts is not None else []
    pf = read_resources(resources, draft_orders=orders, today=TODAY)
    full = [u for c in coverage_report(resources, orders, pf) for u in c.unmapped]
    return full, unmapped_codings(resources, orders, pf)


@settings(
    max_examples=300,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(
    st.lists(fs.bundles(4), min_size=1, max_size=3),
    st.one_of(st.none(), fs.bundles(3)),
)
def test_equal_to_the_report_on_malformed_input(values: list[Any], drafts: Any) -> None:
    full, fast = _both(values, drafts)
    assert fast == full


def test_equal_to_the_report_on_the_realistic_patient() -> None:
    request = realistic_request()
    full, fast = _both(list(request["prefetch"].values()), request["context"]["draftOrders"])
    assert fast == full


def test_names_unmapped_observation_condition_and_procedure_codes() -> None:
    """A local Observation code, and a Condition and a Procedure no rule reads, are named;
    a Condition that contributed (a fracture) is not."""
    local = obs("o-local", "ZZZ", True, system="http://hospital.example/local")
    values = [
        bundle(
            [
                local,
                condition("c-vcf", "M80.08"),
                condition("c-other", "J45.909"),
                procedure("p-other", "99999"),
            ]
        )
    ]
    full, fast = _both(values)
    assert fast == full
    codes = {code for _, code in fast}
    assert {"ZZZ", "J45.909", "99999"} <= codes
    assert "M80.08" not in codes
