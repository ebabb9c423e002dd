"""``new_uuid`` gives what ``str(uuid.uuid4())`` gives: canonical random version-4 UUIDs, from a
pool of system random bytes per thread that a forked child does not share (app/ids.py)."""

from __future__ import annotations

import os
import threading
import uuid

import pytest

from app import ids
from app.ids import new_uuid


def test_new_uuid_is_a_canonical_random_uuid4() -> None:
    seen = {new_uuid() for _ in range(2000)}
    assert len(seen) == 2000
    for text in seen:
        parsed = uuid.UUID(text)
        assert str(parsed) == text  # lower-case 8-4-4-4-12
        assert parsed.version == 4
        assert parsed.variant == uuid.RFC_4122


def test_ids_come_from_a_pool_not_one_system_call_each(monkeypatch: pytest.MonkeyPatch) -> None:
    """``os.urandom`` gives the GIL up: an id per call cost a hand-over per id (app/ids.py)."""
    calls: list[int] = []
    real = os.urandom

    def counting(n: int) -> bytes:
        calls.append(n)
        return real(n)

    monkeypatch.setattr(os, "urandom", counting)
    monkeypatch.setattr(ids, "_pool", ids._Pool())  # empty: the first id fills it
    per_pool = ids.POOL_BYTES // 16
    made = {new_uuid() for _ in range(per_pool + 1)}
    assert len(made) == per_pool + 1
    assert calls == [ids.POOL_BYTES, ids.POOL_BYTES]


def test_threads_never_share_ids() -> None:
    made: list[list[str]] = [[] for _ in range(4)]

    def make(into: list[str]) -> None:
        into.extend(new_uuid() for _ in range(1000))

    threads = [threading.Thread(target=make, args=(into,)) for into in made]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    every = [u for into in made for u in into]
    assert len(set(every)) == len(every) == 4000


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs os.fork")
def test_a_forked_child_does_not_repeat_the_parents_ids() -> None:
    new_uuid()  # the pool now holds bytes a naive child would hand out again
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: its next ids, then exit without running the test session's hooks
        try:
            os.write(write, ",".join(new_uuid() for _ in range(10)).encode())
        finally:
            os._exit(0)
    os.close(write)
    with os.fdopen(read) as pipe:
        child = set(pipe.read().split(","))
    os.waitpid(pid, 0)
    parent = {new_uuid() for _ in range(10)}
    assert len(child) == 10 and not child & parent
