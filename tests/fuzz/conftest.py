"""Fixtures of the fuzz tests: one app per module on a copy of the migrated SQLite database,
auth off, served in process (no sockets)."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi import FastAPI

from app.main import create_app
from app.settings import Settings


@pytest.fixture(scope="module")
def fuzz_settings(tmp_path_factory: pytest.TempPathFactory, migrated_sqlite: Path) -> Settings:
    """As the ``settings`` fixture of tests/conftest.py, once per module: Hypothesis runs many
    examples against one app, so a function-scoped database would be shared anyway."""
    tmp = tmp_path_factory.mktemp("fuzz")
    db = tmp / "fuzz.db"
    shutil.copyfile(migrated_sqlite, db)
    return Settings(
        environment="test",
        database_url=f"sqlite:///{db}",
        auth_required=False,
        audit_secret="test-secret",
        audit_spool_dir=tmp / "spool",
    )


@pytest.fixture(scope="module")
def fuzz_app(fuzz_settings: Settings) -> Iterator[FastAPI]:
    yield create_app(fuzz_settings)
