"""FallbackReplayStore semantics on a real SQLite database whose connection is cut: the
memory decides during an outage (same-process replays rejected), the database is retried
after retry_interval, outage pairs are written back, a full memory fails closed."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine, select
from sqlalchemy.exc import OperationalError

from app.db.engine import make_engine
from app.db.models import ClientJti
from app.security.jti_repo import DbReplayStore, FallbackReplayStore


class Clock:
    def __init__(self) -> None:
        self.now = 1_000_000.0

    def __call__(self) -> float:
        return self.now


class Cuttable(DbReplayStore):
    """The real store; ``down`` makes every call fail like a lost connection."""

    down = False
    calls = 0

    def seen(self, iss: str, jti: str, expires_at: int) -> bool:
        self.calls += 1
        if self.down:
            raise OperationalError("INSERT", {}, Exception("connection refused"))
        return super().seen(iss, jti, expires_at)


@pytest.fixture
def engine(tmp_path: Path, migrated_sqlite: Path) -> Iterator[Engine]:
    shutil.copyfile(migrated_sqlite, tmp_path / "db.sqlite")
    engine = make_engine(f"sqlite:///{tmp_path / 'db.sqlite'}")
    yield engine
    engine.dispose()


def stored(engine: Engine) -> set[str]:
    with engine.connect() as conn:
        return set(conn.scalars(select(ClientJti.jti)))


def test_outage_semantics(engine: Engine) -> None:
    wall, mono = Clock(), Clock()
    db = Cuttable(engine, clock=wall)
    store = FallbackReplayStore(db, retry_interval=1.0, clock=wall, monotonic=mono)
    exp = int(wall.now) + 300
    assert store.seen("a", "before", exp) is False
    db.down = True
    assert store.seen("a", "j1", exp) is False  # answered from memory
    assert store.seen("a", "j1", exp) is True  # a replay to this process: rejected
    assert store.seen("a", "before", exp) is True  # seen before the outage: still rejected
    calls = db.calls
    assert store.seen("a", "j2", exp) is False
    assert db.calls == calls  # within retry_interval the dead database is not asked
    db.down = False
    mono.now += 1.5
    assert store.seen("a", "j3", exp) is False  # the database decides again
    assert {"before", "j1", "j2", "j3"} <= stored(engine)  # outage pairs written back
    # another process (a fresh store on the same database) rejects an outage pair's replay
    assert FallbackReplayStore(DbReplayStore(engine, clock=wall), clock=wall).seen("a", "j2", exp)


def test_memory_full_during_an_outage_fails_closed(engine: Engine) -> None:
    wall = Clock()
    db = Cuttable(engine, clock=wall)
    store = FallbackReplayStore(db, max_entries=3, clock=wall)
    exp = int(wall.now) + 300
    db.down = True
    assert [store.seen("a", f"j{i}", exp) for i in range(3)] == [False] * 3
    assert store.seen("a", "j9", exp) is True  # bounded: no eviction, no unbounded growth
    wall.now = exp + 1  # the remembered pairs expire: room again
    assert store.seen("a", "j10", exp + 300) is False


def test_memory_full_while_the_database_answers_is_no_problem(engine: Engine) -> None:
    wall = Clock()
    store = FallbackReplayStore(DbReplayStore(engine, clock=wall), max_entries=2, clock=wall)
    exp = int(wall.now) + 300
    assert [store.seen("a", f"j{i}", exp) for i in range(5)] == [False] * 5
    assert store.seen("a", "j4", exp) is True  # the database remembers what memory could not
