"""Writes audit entries to the database off the request path; never loses them to an outage.

``submit()`` only appends to an in-memory queue (when the queue is full, or the recorder is
not running, it appends the entry to the spool instead: one fsync in the caller's thread). A
worker thread commits what is queued in one transaction of its own once the oldest entry has
waited ``linger_ms`` (default ``max_wait_ms / 4``) or ``batch_size`` entries are waiting: one
commit then carries several entries, which cuts the writer's CPU (and so its GIL share) per
entry about threefold under load. When the database fails, the batch goes to the durable spool
(``spool.py``) and later batches go there directly until a replay succeeds; the replay probes
the database every ``replay_interval`` seconds, doubling up to ``max_backoff``, and deletes a
spool segment only after all its entries are committed. Inserts ignore a consult id already
stored, so an entry that reaches the database twice is stored once.

A guard thread bounds the time an entry lives only in memory: an entry neither committed nor
spooled ``max_wait_ms`` after ``submit()`` is appended to the spool (a slow or hanging
database cannot stretch it; an in-flight batch spooled this way may also commit, which the
idempotent insert absorbs).

Crash window, honestly: an entry is lost only if the process dies (SIGKILL, power loss, OOM)
while it is in memory: from ``submit()`` until its commit or its spool fsync. That is
typically ``linger_ms`` plus one commit (~15 ms by default) and at most about ``max_wait_ms``
plus one fsync (default 50 ms), i.e. the entries submitted in the last ~50 ms before the kill.
``queue_depth()`` counts exactly these entries. ``stop()`` (graceful shutdown, SIGTERM)
drains the queue to the database or, failing that within ``stop_timeout``, to the spool, and
when the database is up replays the spool once more (entries the guard spooled during a slow
commit), so a graceful stop leaves the spool empty unless the database is down. If
both the database and the disk fail, entries stay queued and are retried; ``lost`` counts
entries dropped because the queue was full and the spool write failed (logged at CRITICAL).
The spool grows without bound during an outage (disk space is the limit).
"""

from __future__ import annotations

import logging
import threading
import time
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import text
from sqlalchemy.exc import DataError, DBAPIError, IntegrityError, StatementError
from sqlalchemy.orm import Session

from app.audit.entry import AuditEntry
from app.audit.spool import Spool
from app.db import audit_repo

log = logging.getLogger("vcf_cds.audit")

SessionFactory = Callable[[], Session]


@dataclass(slots=True)
class _Item:
    entry: AuditEntry
    submitted: float  # time.monotonic()
    spooled: bool = False


def is_permanent(exc: BaseException) -> bool:
    """True for errors that retrying the same entry cannot fix (constraint, data, binding)."""
    if isinstance(exc, IntegrityError | DataError):
        return True
    return isinstance(exc, StatementError) and not isinstance(exc, DBAPIError)


class AuditRecorder:
    """Background audit writer with a durable local spool; see the module docstring."""

    def __init__(
        self,
        session_factory: SessionFactory,
        spool_dir: Path,
        *,
        max_wait_ms: float = 50.0,
        linger_ms: float | None = None,
        queue_size: int = 10_000,
        batch_size: int = 200,
        replay_interval: float = 1.0,
        max_backoff: float = 30.0,
        stop_timeout: float = 5.0,
    ) -> None:
        self._session_factory = session_factory
        self._spool_dir = Path(spool_dir)
        self._max_wait = max_wait_ms / 1000.0
        self._linger = (max_wait_ms / 4 if linger_ms is None else linger_ms) / 1000.0
        self._queue_size = queue_size
        self._batch_size = batch_size
        self._interval = replay_interval
        self._max_backoff = max_backoff
        self._stop_timeout = stop_timeout
        self._cond = threading.Condition()
        self._queue: deque[_Item] = deque()
        self._inflight: list[_Item] = []
        self._spool_obj: Spool | None = None
        self._spool_init = threading.Lock()
        self._threads: list[threading.Thread] = []
        self._guard_stop = threading.Event()
        self._running = False
        self._stopping = False
        self._db_ok = True
        self._warm = False  # the first replay probes the database (opens a connection)
        self._backoff = replay_interval
        self._next_replay = 0.0
        self._spool_failing = False
        self._writing = 0  # entries claimed for the spool, not yet fsynced
        self.lost = 0

    # ------------------------------------------------------------------ public API

    def start(self) -> None:
        """Start the worker and guard threads; spooled entries are replayed at once."""
        if self._running:
            return
        self._spool()
        with self._cond:
            self._running, self._stopping = True, False
            self._next_replay = time.monotonic()
        self._guard_stop.clear()
        self._threads = [
            threading.Thread(target=self._work, name="audit-writer", daemon=True),
            threading.Thread(target=self._guard, name="audit-guard", daemon=True),
        ]
        for thread in self._threads:
            thread.start()

    def stop(self, timeout: float | None = None) -> None:
        """Drain the queue to the database or else the spool (within ``timeout`` seconds)."""
        if not self._running:
            return
        with self._cond:
            self._stopping = True
            self._cond.notify_all()
        deadline = time.monotonic() + (self._stop_timeout if timeout is None else timeout)
        worker, guard = self._threads
        worker.join(max(0.0, deadline - time.monotonic()))
        with self._cond:
            left = self._claim([i for i in [*self._inflight, *self._queue] if not i.spooled])
            self._queue.clear()
            self._running = False
            self._cond.notify_all()
        if left:
            log.warning("audit: database slow at shutdown; spooling %d entries", len(left))
            if not self._to_spool(left):
                with self._cond:
                    self.lost += len(left)  # database and disk both failed at shutdown
                    self._queue.clear()
        self._guard_stop.set()
        guard.join(1.0)
        if self._db_ok:  # entries the guard spooled while a commit was slow: commit them now,
            try:  # a pod's emptyDir spool does not outlive the pod
                self._replay()
            except Exception:
                log.exception("audit: replay at shutdown failed; entries stay in the spool")
        self._spool().close()

    def submit(self, entry: AuditEntry) -> None:
        """Hand over an entry; never blocks on the database and never raises."""
        item = _Item(entry, time.monotonic())
        with self._cond:
            if self._running and not self._stopping and len(self._queue) < self._queue_size:
                self._queue.append(item)
                self._cond.notify_all()
                return
        try:
            self._spool().append([entry])
        except Exception:
            with self._cond:
                self.lost += 1
            log.critical("audit: entry %s LOST: queue full and spool failed", entry.consult_id)

    def queue_depth(self) -> int:
        """Entries only in memory: queued, being committed or being spooled."""
        with self._cond:
            unclaimed = sum(1 for i in self._inflight if not i.spooled)
            return len(self._queue) + unclaimed + self._writing

    def spool_depth(self) -> int:
        """Entries waiting in the spool for the database."""
        return self._spool().depth()

    def wait_idle(self, timeout: float) -> bool:
        """Wait until nothing is queued or in flight (tests, benchmarks)."""
        deadline = time.monotonic() + timeout
        with self._cond:
            while self._queue or self._inflight or self._writing:
                left = deadline - time.monotonic()
                if left <= 0:
                    return False
                self._cond.wait(min(left, 0.05))
        return True

    # ------------------------------------------------------------------ worker

    def _work(self) -> None:
        while True:
            with self._cond:
                while not self._stopping:
                    now = time.monotonic()
                    if self._queue:  # linger a little so one commit carries several entries
                        due = self._queue[0].submitted + self._linger
                        if len(self._queue) >= self._batch_size or now >= due:
                            break
                        self._cond.wait(due - now)
                        continue
                    if now >= self._next_replay:
                        break
                    self._cond.wait(self._next_replay - now)
                if self._stopping and not self._queue:
                    self._inflight = []
                    self._cond.notify_all()
                    return
                batch = [
                    self._queue.popleft() for _ in range(min(len(self._queue), self._batch_size))
                ]
                self._inflight = batch
            if batch:
                try:
                    self._persist(batch)
                except Exception:  # a bug must not kill the writer nor lose the batch
                    log.exception("audit: worker error")
                    self._spool_unsaved(batch)
                with self._cond:
                    self._inflight = []
                    self._cond.notify_all()
            if not self._stopping and time.monotonic() >= self._next_replay:
                try:
                    self._replay()
                except Exception:
                    log.exception("audit: replay error")
                    self._next_replay = time.monotonic() + self._backoff

    def _persist(self, batch: list[_Item]) -> None:
        if self._db_ok:
            try:
                self._commit([i.entry for i in batch])
                return
            except Exception as exc:
                if not is_permanent(exc):
                    self._mark_down(exc)
                else:
                    log.warning("audit: batch refused (%s); spooling", type(exc).__name__)
        self._spool_unsaved(batch)

    def _spool_unsaved(self, batch: list[_Item]) -> None:
        with self._cond:
            todo = self._claim([i for i in batch if not i.spooled])
        if todo and not self._to_spool(todo):
            time.sleep(min(self._backoff, 1.0))  # disk failing too: retry later, not hot

    def _commit(self, entries: Sequence[AuditEntry]) -> None:
        with self._session_factory() as session, session.begin():
            audit_repo.add_entries(session, entries)

    def _commit_isolating(self, entries: list[AuditEntry]) -> None:
        """Replay commit: an entry the database refuses for good goes to ``rejected/``."""
        try:
            self._commit(entries)
            return
        except Exception as exc:
            if not is_permanent(exc):
                raise
        for entry in entries:
            try:
                self._commit([entry])
            except Exception as exc:
                if not is_permanent(exc):
                    raise
                self._spool().reject("db-refused", entry.to_json(), type(exc).__name__)

    def _mark_down(self, exc: BaseException) -> None:
        if self._db_ok:
            log.error("audit: database unavailable (%s); spooling", type(exc).__name__)
        self._db_ok = False
        self._next_replay = min(self._next_replay, time.monotonic() + self._backoff)

    def _replay(self) -> None:
        spool = self._spool()
        if self._db_ok and self._warm and not spool.segments():
            self._next_replay = time.monotonic() + self._interval
            return
        try:
            with self._session_factory() as session:
                session.execute(text("SELECT 1"))
            spool.seal()
            done = spool.replay(self._commit_isolating, self._batch_size)
        except Exception as exc:
            self._mark_down(exc)
            self._next_replay = time.monotonic() + self._backoff
            self._backoff = min(self._backoff * 2, self._max_backoff)
            return
        if not self._db_ok or done:
            log.info("audit: database available; %d spooled entries committed", done)
        self._db_ok = self._warm = True
        self._backoff = self._interval
        self._next_replay = time.monotonic() + self._interval

    # ------------------------------------------------------------------ guard

    def _guard(self) -> None:
        tick = max(self._max_wait / 2, 0.005)
        while not self._guard_stop.wait(tick):
            with self._cond:
                limit = time.monotonic() - self._max_wait
                stale: list[_Item] = []
                while self._queue and self._queue[0].submitted <= limit:
                    stale.append(self._queue.popleft())
                stale += [i for i in self._inflight if not i.spooled and i.submitted <= limit]
                self._claim(stale)
            if stale:
                self._to_spool(stale)

    # ------------------------------------------------------------------ spool

    def _spool(self) -> Spool:
        with self._spool_init:
            if self._spool_obj is None:
                self._spool_obj = Spool(self._spool_dir)
            return self._spool_obj

    def _claim(self, items: list[_Item]) -> list[_Item]:
        """Mark ``items`` as going to the spool (call with ``_cond`` held)."""
        for item in items:
            item.spooled = True
        self._writing += len(items)
        return items

    def _to_spool(self, items: list[_Item]) -> bool:
        """Append claimed items to the spool; on failure put them back at the queue's front."""
        try:
            self._spool().append([i.entry for i in items])
        except Exception:
            if not self._spool_failing:
                log.critical("audit: spool write failed; %d entries kept in memory", len(items))
            self._spool_failing = True
            with self._cond:
                for item in reversed(items):
                    item.spooled = False
                    self._queue.appendleft(item)
                self._writing -= len(items)
                self._cond.notify_all()
            return False
        with self._cond:
            self._writing -= len(items)
        self._spool_failing = False
        return True
