"""The audit writer batches: entries waiting together are committed in one transaction (one
``add_entries`` executemany), in the order they were submitted, and a consult id stored once
stays stored once whether it repeats within a batch, across batches or after a replay."""

from __future__ import annotations

import threading
from collections.abc import Sequence
from pathlib import Path

import pytest
from sqlalchemy.orm import Session, sessionmaker

from app.audit import repo as audit_repo
from app.audit.entry import AuditEntry
from app.audit.recorder import AuditRecorder
from app.audit.spool import Spool
from tests.audit.support import entry
from tests.audit.test_recorder import count, wait_for


class Batches:
    """Records what each ``add_entries`` call was given; ``gate`` holds the first call back
    until it is set (so that later submissions pile up behind it)."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.calls: list[list[str]] = []
        self.gate = threading.Event()
        self.entered = threading.Event()
        real = audit_repo.add_entries

        def add_entries(session: Session, entries: Sequence[AuditEntry]) -> list[str]:
            self.entered.set()
            self.gate.wait(10)
            self.calls.append([e.consult_id for e in entries])
            return real(session, entries)

        monkeypatch.setattr(audit_repo, "add_entries", add_entries)


def _recorder(factory: sessionmaker[Session], spool_dir: Path) -> AuditRecorder:
    # max_wait 5 s: the guard never spools during these tests, only the writer commits
    return AuditRecorder(
        factory, spool_dir, max_wait_ms=5000, linger_ms=1, replay_interval=60, batch_size=50
    )


def test_entries_waiting_together_share_one_commit_in_submission_order(
    session_factory: sessionmaker[Session], spool_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    batches = Batches(monkeypatch)
    recorder = _recorder(session_factory, spool_dir)
    recorder.start()
    first = entry()
    recorder.submit(first)
    assert batches.entered.wait(10)  # the writer holds a batch of one, blocked
    rest = [entry() for _ in range(120)]
    for e in rest:
        recorder.submit(e)
    batches.gate.set()
    assert recorder.wait_idle(15)
    assert count(session_factory) == 121
    # 120 entries queued behind the first commit: batches of at most batch_size (50)
    assert [len(c) for c in batches.calls] == [1, 50, 50, 20]
    committed = [cid for call in batches.calls for cid in call]
    assert committed == [first.consult_id, *(e.consult_id for e in rest)]
    recorder.stop()


def test_a_repeated_consult_id_is_stored_once_within_and_across_batches(
    session_factory: sessionmaker[Session], spool_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    batches = Batches(monkeypatch)
    recorder = _recorder(session_factory, spool_dir)
    recorder.start()
    recorder.submit(entry("urn:uuid:dup-a"))
    assert batches.entered.wait(10)
    for cid in ("urn:uuid:dup-a", "urn:uuid:dup-b", "urn:uuid:dup-b", "urn:uuid:c"):
        recorder.submit(entry(cid))
    batches.gate.set()
    assert recorder.wait_idle(15)
    assert batches.calls == [
        ["urn:uuid:dup-a"],
        ["urn:uuid:dup-a", "urn:uuid:dup-b", "urn:uuid:dup-b", "urn:uuid:c"],
    ]
    with session_factory() as s:
        assert sorted(audit_repo.consult_ids(s)) == [
            "urn:uuid:c",
            "urn:uuid:dup-a",
            "urn:uuid:dup-b",
        ]
        # the first of the repeated ids won: its cards, not a mix
        assert len(audit_repo.card_records(s, "urn:uuid:dup-a")) == 2
    recorder.stop()


def test_a_batch_committed_after_the_guard_spooled_it_is_stored_once(
    session_factory: sessionmaker[Session], spool_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The crash window with batches: the writer's commit hangs, the guard makes the batch
    durable in the spool after ``max_wait_ms``; the commit then succeeds and the replay finds
    the same consult ids: each is stored once."""
    batches = Batches(monkeypatch)
    recorder = AuditRecorder(
        session_factory, spool_dir, max_wait_ms=50, linger_ms=1, replay_interval=0.05
    )
    recorder.start()
    entries = [entry() for _ in range(5)]
    for e in entries:
        recorder.submit(e)
    assert batches.entered.wait(10)
    assert wait_for(lambda: recorder.spool_depth() >= 1, timeout=5)  # durable while in flight
    batches.gate.set()
    assert wait_for(lambda: recorder.spool_depth() == 0 and recorder.queue_depth() == 0)
    with session_factory() as s:
        assert sorted(audit_repo.consult_ids(s)) == sorted(e.consult_id for e in entries)
    recorder.stop()


def test_replaying_entries_already_stored_takes_no_write_transaction(
    session_factory: sessionmaker[Session], spool_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """What the guard spooled and the writer then committed anyway is only read back on
    replay: the write goes to the entries missing from the database, if any."""
    stored = [entry() for _ in range(3)]
    with session_factory() as s, s.begin():
        audit_repo.add_entries(s, stored)
    missing = entry()
    spool = Spool(spool_dir)
    spool.append([*stored, missing])
    spool.close()  # unlocks the segment: a dead process's, as the replay finds it
    batches = Batches(monkeypatch)
    batches.gate.set()
    recorder = AuditRecorder(session_factory, spool_dir, replay_interval=0.05)
    recorder.start()
    assert wait_for(lambda: recorder.spool_depth() == 0 and count(session_factory) == 4)
    assert batches.calls == [[missing.consult_id]]
    recorder.stop()
    assert batches.calls == [[missing.consult_id]]  # nothing more at shutdown
