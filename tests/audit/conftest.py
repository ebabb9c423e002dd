"""Fixtures: the app with the audit trail wired, and a recorder on a given database."""

from __future__ import annotations

import warnings
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy.orm import Session, sessionmaker

from app.audit.recorder import AuditRecorder
from app.db.engine import make_engine
from tests.conftest import ClientFactory

with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    from fastapi.testclient import TestClient


@pytest.fixture
def audited(make_client: ClientFactory) -> tuple[TestClient, AuditRecorder]:
    """A client of the app; the lifespan starts and (at teardown) stops the recorder."""
    client = make_client()
    return client, client.app.state.audit  # type: ignore[attr-defined]


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
