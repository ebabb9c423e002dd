"""Database fixtures: a migrated SQLite database always, and a real PostgreSQL server on
loopback (tests/support/postgres.py) when its binaries exist. In CI (CI set) PostgreSQL is
required: a missing server fails instead of skipping."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from app.db.migrate import upgrade


def _postgres_available() -> bool:
    return any(Path("/usr/lib/postgresql").glob("*/bin/initdb"))


@pytest.fixture(scope="session")
def postgres_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[object]:
    if not _postgres_available():
        if os.environ.get("CI"):
            pytest.fail(
                "PostgreSQL server binaries are required in CI (scripts/install_postgres.sh)"
            )
        pytest.skip("PostgreSQL is not installed here (scripts/install_postgres.sh)")
    from tests.support.postgres import PostgresServer

    server = PostgresServer()
    server.start()
    try:
        yield server
    finally:
        server.close()


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A freshly migrated database of each kind (the schema comes only from Alembic)."""
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'db.sqlite'}"
        upgrade(url)
        yield url
        return
    server = request.getfixturevalue("postgres_server")
    url = server.url
    from app.db.migrate import downgrade

    downgrade(url, "base")
    upgrade(url)
    yield url
