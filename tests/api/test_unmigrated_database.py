"""An unmigrated database: readiness says 503 with the command to run, endpoints that need the
database answer 503 naming it (never 500), and VCF_CDS_MIGRATE_ON_START=true migrates it."""

from __future__ import annotations

import shutil
import uuid
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import create_engine, text

from app.db.migrate import upgrade
from app.db.schema_state import MIGRATE_COMMAND, expected_heads, schema_state
from app.main import create_app
from app.settings import Settings
from tests.conftest import ClientFactory
from tests.feedback.helpers import accepted, post_feedback


def _settings(tmp_path: Path, db: Path, **extra: Any) -> Settings:
    return Settings(
        environment="test",
        database_url=f"sqlite:///{db}",
        auth_required=False,
        audit_secret="test-secret",
        audit_spool_dir=tmp_path / "spool",
        **extra,
    )


@pytest.fixture
def unmigrated(make_client: ClientFactory, tmp_path: Path) -> TestClient:
    db = tmp_path / "empty.db"
    create_engine(f"sqlite:///{db}").connect().close()  # the file exists, with no tables
    return make_client(database_url=f"sqlite:///{db}")


def _names_command(message: str) -> None:
    assert f"`{MIGRATE_COMMAND}`" in message and "not migrated" in message, message


def test_readiness_is_503_with_the_command(unmigrated: TestClient) -> None:
    r = unmigrated.get("/api/v1/health/ready")
    assert r.status_code == 503
    body = r.json()
    assert body["status"] == "unavailable"
    assert body["checks"] == {"knowledge": True, "database": True, "schema": False}
    _names_command(body["message"])
    assert "never migrated" in body["message"]
    assert unmigrated.get("/api/v1/health/live").status_code == 200


def test_rest_endpoints_needing_the_database_are_503_naming_the_command(
    unmigrated: TestClient,
) -> None:
    for path in ("/api/v1/analytics", f"/api/v1/audit/urn:uuid:{uuid.uuid4()}"):
        r = unmigrated.get(path)
        assert r.status_code == 503, (path, r.text)
        [detail] = r.json()["detail"]
        assert detail["loc"] == ["database"]
        _names_command(detail["msg"])
        assert r.headers["Retry-After"]


def test_feedback_is_503_operation_outcome_naming_the_command(unmigrated: TestClient) -> None:
    r = post_feedback(unmigrated, [accepted(str(uuid.uuid4()), str(uuid.uuid4()))])
    assert r.status_code == 503, r.text
    assert r.headers["content-type"].startswith("application/fhir+json")
    [issue] = r.json()["issue"]
    assert issue["severity"] == "fatal" and issue["code"] == "transient"
    _names_command(issue["diagnostics"])


def test_ready_after_alembic_upgrade(tmp_path: Path) -> None:
    db = tmp_path / "late.db"
    with TestClient(create_app(_settings(tmp_path, db))) as client:
        assert client.get("/api/v1/health/ready").status_code == 503
        upgrade(f"sqlite:///{db}")
        r = client.get("/api/v1/health/ready")
        assert r.status_code == 200, r.text
        assert r.json()["checks"]["schema"] is True and "message" not in r.json()
        assert client.get("/api/v1/analytics").status_code == 200


def test_migrate_on_start_migrates_an_empty_database(tmp_path: Path) -> None:
    db = tmp_path / "fresh.db"
    settings = _settings(tmp_path, db, migrate_on_start=True)
    with TestClient(create_app(settings)) as client:
        assert client.get("/api/v1/health/ready").status_code == 200
        assert client.get("/api/v1/analytics").status_code == 200
    engine = create_engine(f"sqlite:///{db}")
    with engine.connect() as conn:
        revision = conn.execute(text("SELECT version_num FROM alembic_version")).scalar_one()
    assert (revision,) == expected_heads()


def test_migrate_on_start_leaves_a_current_database_alone(
    tmp_path: Path, migrated_sqlite: Path
) -> None:
    db = tmp_path / "current.db"
    shutil.copyfile(migrated_sqlite, db)
    with TestClient(create_app(_settings(tmp_path, db, migrate_on_start=True))) as client:
        assert client.get("/api/v1/health/ready").status_code == 200


def test_unreachable_database_is_not_ready(tmp_path: Path) -> None:
    state = schema_state(create_engine(f"sqlite:///{tmp_path}/missing-dir/x.db"))
    assert not state.reachable and not state.ok
    assert state.message() == "the database is unavailable"


def test_unmigrated_postgresql_is_not_ready_until_upgraded(
    tmp_path: Path, postgres_server: Any
) -> None:
    from app.db.migrate import downgrade

    url = postgres_server.url
    downgrade(url, "base")
    try:
        settings = _settings(tmp_path, tmp_path / "unused.db").model_copy(
            update={"database_url": url}
        )
        with TestClient(create_app(settings)) as client:
            r = client.get("/api/v1/health/ready")
            assert r.status_code == 503 and r.json()["checks"]["schema"] is False
            _names_command(r.json()["message"])
            r = client.get("/api/v1/analytics")
            assert r.status_code == 503, r.text
            _names_command(r.json()["detail"][0]["msg"])
            upgrade(url)
            assert client.get("/api/v1/health/ready").status_code == 200
            assert client.get("/api/v1/analytics").status_code == 200
    finally:
        upgrade(url)
