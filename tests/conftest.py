"""Shared fixtures: the knowledge, and the ASGI app on a throwaway SQLite database."""

from __future__ import annotations

import shutil
import warnings
from collections.abc import Callable, Iterator
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck
from hypothesis import settings as hypothesis_settings

with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    from fastapi.testclient import TestClient

from app.db.migrate import upgrade
from app.knowledge.loader import default_knowledge
from app.knowledge.schema import Knowledge
from app.main import create_app
from app.settings import Settings

# Property tests check values, never time: hypothesis's per-example deadline (200 ms) and its
# too-slow health check are wall-clock assertions, which failed under load on the shared CI machine.
hypothesis_settings.register_profile(
    "vcf-cds", deadline=None, suppress_health_check=[HealthCheck.too_slow]
)
hypothesis_settings.load_profile("vcf-cds")

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared"


@pytest.fixture(scope="session")
def knowledge() -> Knowledge:
    return default_knowledge()


pytest_plugins = ["tests.db_fixtures"]


@pytest.fixture(scope="session")
def migrated_sqlite(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One SQLite file migrated by Alembic; tests get copies of it."""
    path = tmp_path_factory.mktemp("template") / "template.db"
    upgrade(f"sqlite:///{path}")
    return path


@pytest.fixture
def settings(tmp_path: Path, migrated_sqlite: Path) -> Settings:
    """Test settings on a migrated SQLite file (the schema only ever comes from Alembic)."""
    db = tmp_path / "test.db"
    shutil.copyfile(migrated_sqlite, db)
    url = f"sqlite:///{db}"
    return Settings(
        environment="test",
        database_url=url,
        auth_required=False,
        audit_secret="test-secret",
        audit_spool_dir=tmp_path / "spool",
    )


ClientFactory = Callable[..., TestClient]


@pytest.fixture
def make_client(settings: Settings) -> Iterator[ClientFactory]:
    """The one way tests get the app: ``create_app`` on the test settings (keyword arguments
    override them), in a started ``TestClient`` so the lifespan runs (schema check, audit
    recorder, warm-up). Every client is stopped at teardown, which drains its audit recorder."""
    with ExitStack() as started:

        def make(*, raise_server_exceptions: bool = True, **overrides: Any) -> TestClient:
            app = create_app(settings.model_copy(update=overrides) if overrides else settings)
            client = TestClient(app, raise_server_exceptions=raise_server_exceptions)
            return started.enter_context(client)

        yield make


@pytest.fixture
def client(make_client: ClientFactory) -> TestClient:
    """A started client of the app on the test settings."""
    return make_client()
