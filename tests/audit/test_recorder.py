"""AuditRecorder: background commits, spooling on outage, replay, shutdown, bounded memory."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TypedDict

import pytest
from sqlalchemy.orm import Session, sessionmaker

from app.audit import repo as audit_repo
from app.audit.recorder import AuditRecorder
from app.db.engine import make_engine
from app.db.migrate import upgrade
from tests.audit.support import entry


class _Fast(TypedDict):
    replay_interval: float
    max_backoff: float


FAST: _Fast = {"replay_interval": 0.05, "max_backoff": 0.2}


def wait_for(condition: Callable[[], bool], timeout: float = 15.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.02)
    return condition()


def count(factory: sessionmaker[Session]) -> int:
    with factory() as s:
        return audit_repo.count_records(s)


@pytest.fixture
def unmigrated(tmp_path: Path) -> Iterator[tuple[str, sessionmaker[Session]]]:
    """A SQLite database without tables: every insert fails like an outage."""
    url = f"sqlite:///{tmp_path / 'later.db'}"
    engine = make_engine(url)
    yield url, sessionmaker(engine, expire_on_commit=False)
    engine.dispose()


def test_entries_reach_the_database(
    session_factory: sessionmaker[Session], spool_dir: Path
) -> None:
    recorder = AuditRecorder(session_factory, spool_dir, **FAST)
    recorder.start()
    for _ in range(50):
        recorder.submit(entry())
    assert recorder.wait_idle(10) and recorder.queue_depth() == 0
    # a cold connection may take longer than max_wait: such entries go through the spool
    assert wait_for(lambda: count(session_factory) == 50 and recorder.spool_depth() == 0)
    recorder.stop()


def test_outage_spools_and_replays(
    unmigrated: tuple[str, sessionmaker[Session]], spool_dir: Path
) -> None:
    url, factory = unmigrated
    recorder = AuditRecorder(factory, spool_dir, **FAST)
    recorder.start()
    for _ in range(20):
        recorder.submit(entry())
    assert wait_for(lambda: recorder.spool_depth() == 20)
    upgrade(url)  # the database comes back
    assert wait_for(lambda: recorder.spool_depth() == 0 and count(factory) == 20)
    recorder.stop()


def test_a_new_recorder_replays_what_the_old_one_spooled(
    unmigrated: tuple[str, sessionmaker[Session]], spool_dir: Path
) -> None:
    url, factory = unmigrated
    old = AuditRecorder(factory, spool_dir, **FAST)
    old.start()
    for _ in range(10):
        old.submit(entry())
    old.stop()
    assert old.spool_depth() == 10
    upgrade(url)
    new = AuditRecorder(factory, spool_dir, **FAST)
    new.start()
    assert wait_for(lambda: count(factory) == 10 and new.spool_depth() == 0)
    new.stop()


def test_stop_leaves_nothing_in_memory(
    session_factory: sessionmaker[Session], spool_dir: Path
) -> None:
    entries = [entry() for _ in range(300)]
    recorder = AuditRecorder(session_factory, spool_dir, **FAST)
    recorder.start()
    for e in entries:
        recorder.submit(e)
    recorder.stop()
    assert recorder.queue_depth() == 0
    # every entry is committed or spooled (a slow batch may be both: stored once on replay)
    assert count(session_factory) + recorder.spool_depth() >= 300
    after = AuditRecorder(session_factory, spool_dir, **FAST)
    after.start()
    assert wait_for(lambda: after.spool_depth() == 0)
    with session_factory() as s:
        assert sorted(audit_repo.consult_ids(s)) == sorted(e.consult_id for e in entries)
    after.stop()


def test_submit_without_a_running_recorder_spools(
    session_factory: sessionmaker[Session], spool_dir: Path
) -> None:
    recorder = AuditRecorder(session_factory, spool_dir)
    recorder.submit(entry())
    assert recorder.spool_depth() == 1
    recorder.start()
    assert wait_for(lambda: count(session_factory) == 1 and recorder.spool_depth() == 0)
    recorder.stop()


class Hanging:
    """A session factory whose first session blocks until released (a hung database)."""

    def __init__(self, real: sessionmaker[Session]) -> None:
        self.real, self.release, self.calls = real, threading.Event(), 0

    def __call__(self) -> Session:
        self.calls += 1
        if self.calls == 1:
            self.release.wait(30)
        return self.real()


def test_a_hanging_database_cannot_keep_entries_in_memory(
    session_factory: sessionmaker[Session], spool_dir: Path
) -> None:
    hanging = Hanging(session_factory)
    recorder = AuditRecorder(hanging, spool_dir, max_wait_ms=50, queue_size=1000, **FAST)
    recorder.start()
    entries = [entry() for _ in range(30)]
    for e in entries:
        recorder.submit(e)
    # within ~max_wait every entry is durable on disk although the writer is stuck
    assert wait_for(lambda: recorder.queue_depth() == 0, timeout=2)
    assert recorder.spool_depth() == 30
    hanging.release.set()
    assert wait_for(lambda: recorder.spool_depth() == 0 and count(session_factory) == 30)
    with session_factory() as s:
        assert sorted(audit_repo.consult_ids(s)) == sorted(e.consult_id for e in entries)
    recorder.stop()


def test_a_full_queue_spools_in_the_caller(
    session_factory: sessionmaker[Session], spool_dir: Path
) -> None:
    hanging = Hanging(session_factory)
    recorder = AuditRecorder(hanging, spool_dir, max_wait_ms=5000, queue_size=3, **FAST)
    recorder.start()
    for _ in range(10):
        recorder.submit(entry())
    assert recorder.spool_depth() >= 6  # at most 1 in flight + 3 queued stay in memory
    hanging.release.set()
    assert wait_for(lambda: recorder.spool_depth() == 0 and count(session_factory) == 10)
    recorder.stop()
