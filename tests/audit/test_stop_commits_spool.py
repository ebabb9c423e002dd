"""A graceful stop (SIGTERM) leaves the spool empty while the database is up: entries the
guard spooled because a commit was slow are committed before the process exits (a pod's
emptyDir spool does not outlive the pod)."""

from __future__ import annotations

import time
from pathlib import Path

from sqlalchemy.orm import Session, sessionmaker

from app.audit import repo as audit_repo
from app.audit.recorder import AuditRecorder
from tests.audit.support import entry


def test_stop_commits_what_the_guard_spooled(
    session_factory: sessionmaker[Session], spool_dir: Path
) -> None:
    def slow_database() -> Session:
        time.sleep(0.1)  # every transaction starts late: queued entries outlive max_wait_ms
        return session_factory()

    recorder = AuditRecorder(
        slow_database, spool_dir, max_wait_ms=20, replay_interval=60, max_backoff=60
    )
    recorder.start()
    first = entry()
    recorder.submit(first)  # after the start-up replay (the next one is 60 s away)
    deadline = time.monotonic() + 10
    while not _stored(session_factory, first.consult_id) and time.monotonic() < deadline:
        time.sleep(0.01)
    entries = [entry() for _ in range(40)]
    for e in entries:
        recorder.submit(e)
    deadline = time.monotonic() + 10
    while recorder.spool_depth() == 0 and time.monotonic() < deadline:
        time.sleep(0.01)
    assert recorder.spool_depth() > 0, "the guard spooled nothing: the test proves nothing"
    recorder.stop()
    assert recorder.spool_depth() == 0
    with session_factory() as s:
        stored = sorted(audit_repo.consult_ids(s))
    assert stored == sorted(e.consult_id for e in [first, *entries])


def _stored(factory: sessionmaker[Session], consult_id: str) -> bool:
    with factory() as s:
        return audit_repo.get_record(s, consult_id) is not None
