"""Schemathesis against the COMMITTED contract (openapi/openapi.json, not ``app.openapi()``).

Every operation gets a bounded, seeded run of valid (positive) and invalid (negative) requests
in three phases (the contract's examples, boundary "coverage" cases, random fuzzing), sent to
the ASGI app in process (no sockets). Each response must

* not be a 5xx (``not_a_server_error``),
* carry a status code the contract documents for that operation (``status_code_conformance``),
* match the documented body schema when one is declared (``response_schema_conformance``),
* have a documented content type (``content_type_conformance``).

The negative-data checks (``negative_data_rejection``, ``positive_data_acceptance``) stay off:
the CDS Hooks and FHIR inputs are deliberately tolerant (unknown fields are spec "Extensions",
bad resources are skipped and reported), so "invalid per schema yet 200" is intended there.

A failure raises with the check that failed, the response and a curl command reproducing it.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from functools import partial
from pathlib import Path
from typing import Any

import pytest
import schemathesis
from fastapi import FastAPI
from hypothesis import strategies as st
from schemathesis.config import SchemathesisConfig
from schemathesis.python import asgi

from app.cds_hooks.catalog import service_catalog

ROOT = Path(__file__).resolve().parents[2]
CONTRACT = ROOT / "openapi" / "openapi.json"

# Budget: at most MAX_EXAMPLES generated cases per operation and phase, plus the coverage
# phase's boundary cases; ~20 operations, ~1,500 requests, ~20 s on 2 cores.
# FUZZ_SEED / FUZZ_MAX_EXAMPLES explore further locally; CI uses the fixed, derandomized values.
MAX_EXAMPLES = int(os.environ.get("FUZZ_MAX_EXAMPLES", "40"))
SEED = int(os.environ.get("FUZZ_SEED", "20260520"))

CONFIG = SchemathesisConfig.from_dict(
    {
        "seed": SEED,
        "generation": {
            "mode": "all",  # positive and negative data
            "max-examples": MAX_EXAMPLES,
            "deterministic": True,
            "database": "none",  # nothing is stored between runs
        },
        "checks": {
            "enabled": False,  # only the checks named here
            "not_a_server_error": {"enabled": True},
            "status_code_conformance": {"enabled": True},
            "response_schema_conformance": {"enabled": True},
            "content_type_conformance": {"enabled": True},
        },
        "phases": {
            "examples": {"enabled": True},
            "coverage": {"enabled": True},
            "fuzzing": {"enabled": True},
            "stateful": {"enabled": False},  # no links between operations in the contract
        },
    }
)

schema = schemathesis.openapi.from_path(CONTRACT, config=CONFIG)

HOOK_OF = {service.id: service.hook for service in service_catalog().services}
EMPTY_BUNDLE: dict[str, Any] = {"resourceType": "Bundle", "type": "collection", "entry": []}


def _aim(case: schemathesis.Case[Any], service_id: str | None) -> schemathesis.Case[Any]:
    """Point a CDS Hooks case at a real service so generated bodies get past the 404 and reach
    the service (``None`` keeps the generated, usually unknown, id). For invocations the hook
    name, patient id and the required keys are made valid; everything else stays generated."""
    if service_id is None:
        return case
    case.path_parameters = {**(case.path_parameters or {}), "service_id": service_id}
    body = case.body
    if case.operation.path != "/cds-services/{service_id}" or not isinstance(body, dict):
        return case
    hook = HOOK_OF[service_id]
    raw_context = body.get("context")
    context: dict[str, Any] = raw_context if isinstance(raw_context, dict) else {}
    context["patientId"] = "p1"
    if hook in ("order-select", "order-sign") and not isinstance(context.get("draftOrders"), dict):
        context["draftOrders"] = EMPTY_BUNDLE
    if hook == "order-select" and not isinstance(context.get("selections"), list):
        context["selections"] = []
    raw_prefetch = body.get("prefetch")
    prefetch: dict[str, Any] = raw_prefetch if isinstance(raw_prefetch, dict) else {}
    if not isinstance(prefetch.get("observations"), dict):
        prefetch["observations"] = EMPTY_BUNDLE
    case.body = {**body, "hook": hook, "context": context, "prefetch": prefetch}
    return case


@schema.hook
def flatmap_case(
    context: Any, case: schemathesis.Case[Any]
) -> st.SearchStrategy[schemathesis.Case[Any]]:
    if "{service_id}" not in case.operation.path:
        return st.just(case)
    return st.sampled_from([None, *HOOK_OF]).map(partial(_aim, case))


@pytest.fixture(scope="module")
def app(fuzz_app: FastAPI) -> Iterator[FastAPI]:
    yield fuzz_app
    asgi.shutdown_lifespans()  # the transport started the app's lifespan: stop it here


@schema.parametrize()
def test_contract(case: schemathesis.Case[Any], app: FastAPI) -> None:
    case.call_and_validate(app=app)
