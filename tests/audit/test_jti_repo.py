"""DbReplayStore on SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from sqlalchemy import Engine, func, select

from app.db.engine import make_engine
from app.db.models import ClientJti
from app.security.jti_repo import DbReplayStore


class Clock:
    def __init__(self) -> None:
        self.now = 1_000_000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def engine(database_url: str) -> Iterator[Engine]:
    engine = make_engine(database_url)
    yield engine
    engine.dispose()


def _rows(engine: Engine) -> int:
    with engine.connect() as conn:
        return int(conn.scalar(select(func.count()).select_from(ClientJti)) or 0)


def test_second_use_is_seen_until_expiry(engine: Engine) -> None:
    clock = Clock()
    store = DbReplayStore(engine, clock=clock)
    exp = int(clock.now) + 300
    assert store.seen("iss-a", "j1", exp) is False
    assert store.seen("iss-a", "j1", exp) is True
    assert store.seen("iss-b", "j1", exp) is False  # pairs are per issuer
    assert store.seen("iss-a", "j2", exp) is False
    clock.now += 301  # expired: the same jti may be used again (a new token)
    assert store.seen("iss-a", "j1", exp + 600) is False
    assert store.seen("iss-a", "j1", exp + 600) is True


def test_already_expired_is_not_stored_and_expired_rows_are_purged(engine: Engine) -> None:
    clock = Clock()
    store = DbReplayStore(engine, clock=clock, purge_interval=10)
    assert store.seen("iss", "old", int(clock.now) - 1) is False
    assert _rows(engine) == 0
    store.seen("iss", "a", int(clock.now) + 5)
    store.seen("iss", "b", int(clock.now) + 500)
    assert _rows(engine) == 2
    clock.now += 20  # past "a", and past the purge interval: the next call purges
    assert store.seen("iss", "c", int(clock.now) + 5) is False
    assert _rows(engine) == 2  # a purged, b and c kept
    assert store.purge() == 0
