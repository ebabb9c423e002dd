"""The committed OpenAPI document is the one the app generates."""

from __future__ import annotations

import json

from app.main import create_app
from app.settings import Settings
from tests.conftest import ROOT


def test_committed_openapi_is_current() -> None:
    committed = json.loads((ROOT / "openapi" / "openapi.json").read_text())
    assert committed == create_app(Settings(environment="test", auth_required=False)).openapi(), (
        "run: .venv/bin/python scripts/export_openapi.py"
    )


def test_openapi_has_contract_paths() -> None:
    paths = set(create_app(Settings(environment="test", auth_required=False)).openapi()["paths"])
    for p in [
        "/api/v1/scores/sins",
        "/api/v1/scores/mri-malignancy",
        "/api/v1/scores/vbq",
        "/api/v1/scores/escc",
        "/api/v1/acr/match",
        "/api/v1/acr/variants",
        "/api/v1/acr/variants/{n}",
        "/api/v1/health/live",
        "/api/v1/health/ready",
    ]:
        assert p in paths
