"""The schema from the Alembic migrations equals the ORM models (autogenerate finds nothing to
change), on SQLite and PostgreSQL; migration 0002 downgrades and upgrades again."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from app.db.engine import make_engine
from app.db.migrate import downgrade, upgrade
from app.db.models import Base


def _diff(database_url: str) -> list[object]:
    engine = make_engine(database_url)
    try:
        with engine.connect() as conn:
            context = MigrationContext.configure(conn, opts={"compare_type": True})
            return list(compare_metadata(context, Base.metadata))
    finally:
        engine.dispose()


def test_migrations_match_the_models(database_url: str) -> None:
    assert _diff(database_url) == []


def test_0002_round_trip(database_url: str) -> None:
    downgrade(database_url, "0001")
    assert _diff(database_url) != []  # 0002's columns and index are missing again
    upgrade(database_url)
    assert _diff(database_url) == []
