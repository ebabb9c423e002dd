"""Feedback fixtures: the app with the feedback and analytics routers, and a session factory
on its database."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session, sessionmaker


@pytest.fixture
def db(client: TestClient) -> Iterator[Session]:
    """A session on the app's database (for arranging rows and checking what was stored)."""
    factory: sessionmaker[Session] = client.app.state.session_factory  # type: ignore[attr-defined]
    with factory() as session:
        yield session
