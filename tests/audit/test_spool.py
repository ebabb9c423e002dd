"""The durable spool: restart survival, locking, corrupt lines, failed commits, rotation."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from app.audit.entry import AuditEntry
from app.audit.spool import Spool
from tests.audit.support import entry


def _replay_all(spool: Spool) -> list[AuditEntry]:
    got: list[AuditEntry] = []
    spool.replay(got.extend)
    return got


def test_entries_survive_a_restart(spool_dir: Path) -> None:
    entries = [entry() for _ in range(5)]
    first = Spool(spool_dir)
    first.append(entries[:2])
    first.append(entries[2:])
    assert first.depth() == 5
    del first  # "process restart" without close(): the open segment was never sealed
    second = Spool(spool_dir)
    assert second.depth() == 5
    assert _replay_all(second) == entries  # a new spool replays the old segment, in order
    assert second.depth() == 0 and second.segments() == []


def test_a_segment_being_written_is_not_replayed(spool_dir: Path) -> None:
    writer, replayer = Spool(spool_dir), Spool(spool_dir)
    e = entry()
    writer.append([e])
    assert _replay_all(replayer) == []  # locked by the writer (separate open file)
    writer.seal()
    assert _replay_all(replayer) == [e]


def test_corrupt_trailing_line_is_tolerated_and_reported(spool_dir: Path) -> None:
    good = [entry(), entry()]
    spool = Spool(spool_dir)
    spool.append(good)
    spool.seal()
    [segment] = spool.segments()
    with segment.open("ab") as f:  # a write interrupted by a crash
        f.write(entry().to_json().encode()[:57])
    assert _replay_all(spool) == good
    assert spool.segments() == [] and spool.rejected == 1
    [rejected] = (spool_dir / "rejected").glob("*.jsonl")
    kept = json.loads(rejected.read_text())
    assert "truncated" in kept["reason"] and kept["line"].startswith('{"consult_id"')


def test_corrupt_middle_line_is_set_aside(spool_dir: Path) -> None:
    a, b = entry(), entry()
    (spool_dir).mkdir(parents=True)
    (spool_dir / "00000000000000000001-1-000000.jsonl").write_text(
        a.to_json() + "\n" + "{not json\n" + '{"x": 1}\n' + b.to_json() + "\n"
    )
    spool = Spool(spool_dir)
    assert spool.depth() == 4
    assert _replay_all(spool) == [a, b]
    assert spool.rejected == 2 and spool.depth() == 0


def test_a_failed_commit_keeps_the_segment(spool_dir: Path) -> None:
    spool = Spool(spool_dir)
    entries = [entry() for _ in range(5)]
    spool.append(entries)
    spool.seal()
    calls: list[int] = []

    def flaky(batch: list[AuditEntry]) -> None:
        calls.append(len(batch))
        if len(calls) == 2:
            raise ConnectionError("database went away")

    with pytest.raises(ConnectionError):
        spool.replay(flaky, batch_size=2)
    assert spool.depth() == 5  # nothing deleted: the first batch will be replayed again
    assert _replay_all(spool) == entries


def test_segments_rotate(spool_dir: Path) -> None:
    spool = Spool(spool_dir, max_segment_entries=3)
    entries = [entry() for _ in range(7)]
    for e in entries:
        spool.append([e])
    assert len(spool.segments()) == 3
    spool.seal()
    assert _replay_all(spool) == entries
