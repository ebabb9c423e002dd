"""Fixtures: the app with the audit trail wired, and a recorder on a given database."""

from __future__ import annotations

import warnings
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy.orm import Session, sessionmaker

from app.audit.recorder import AuditRecorder
from app.db.engine import make_engine
from app.main import create_app
from app.settings import Settings

with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    from fastapi.testclient import TestClient


@pytest.fixture
def audited(settings: Settings) -> Iterator[tuple[TestClient, AuditRecorder]]:
    """A client of ``create_app(settings)``; the lifespan starts and stops the recorder."""
    app = create_app(settings)
    with TestClient(app) as client:
        yield client, app.state.audit


@pytest.fixture
def session_factory(database_url: str) -> Iterator[sessionmaker[Session]]:
    engine = make_engine(database_url)
    try:
        yield sessionmaker(engine, expire_on_commit=False)
    finally:
        engine.dispose()


@pytest.fixture
def spool_dir(tmp_path: Path) -> Path:
    return tmp_path / "spool"
