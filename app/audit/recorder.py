"""Writes audit entries to the database off the request path; never loses them to an outage.

``submit()`` only appends to a bounded in-memory queue. A worker thread commits what is
queued in one transaction of its own once the oldest entry has waited ``linger_ms`` (default
``max_wait_ms / 4``) or ``batch_size`` entries are waiting: one commit then carries several
entries. When the database fails, the batch goes to the durable spool (``spool.py``) and later
batches go there directly until a replay succeeds; the replay probes the database every
``replay_interval`` seconds, doubling up to ``max_backoff``, and deletes a spool segment only
after all its entries are committed. Inserts ignore a consult id already stored, so an entry
that reaches the database twice is stored once. The worker keeps one pooled connection between
batches (given back after ``IDLE_RECONNECT_S`` unused, dropped after any error: a connection
the server closed fails one batch, which goes to the spool and is replayed like any outage).

A guard thread bounds the time an entry lives only in memory: an entry neither committed nor
spooled ``max_wait_ms`` after ``submit()`` is appended to the spool (a slow or hanging
database cannot stretch it; an in-flight batch spooled this way may also commit, which the
idempotent insert absorbs).

Ownership (no duplicates, no livelock; docs/faults.md): an entry is in exactly one place at a
time - the queue, or the batch the worker has taken ("in flight"), or a spool write of the
guard. The guard may write an in-flight entry to the spool, but it never puts one back in the
queue: if that write fails the entry stays the worker's, and the worker waits for the guard's
write to end before it spools what is left of its batch. A batch that neither the database nor
the spool takes goes back to the front of the queue once (it left the queue, so nothing is
duplicated) and is retried after a backoff.

Overflow policy when the disk fails too: after a failed spool write, nobody touches the spool
again for a backoff (``replay_interval`` doubling up to ``max_backoff``), and the worker holds
the queue (no retry loop) until the database probe or the spool backoff says to try again.
Entries stay queued up to ``queue_size``. A ``submit()`` that finds the queue full appends the
entry to the spool in the caller's thread (one fsync) only while the spool is healthy; while
the spool is failing it drops the entry at once, counts it in ``lost`` (exported as
``vcf_cds_audit_entries_dropped_total``) and logs it at CRITICAL (the first drop of a run, then
every 1,000th). ``submit()`` therefore never blocks on the database and never waits for a
failing disk; memory is bounded by ``queue_size`` entries.

Crash window, honestly: an entry is lost only if the process dies (SIGKILL, power loss, OOM)
while it is in memory: from ``submit()`` until its commit or its spool fsync. That is
typically ``linger_ms`` plus one commit (~15 ms by default) and at most about ``max_wait_ms``
plus one fsync (default 50 ms) while the disk works (SQLite commits without an fsync,
``synchronous=NORMAL``: a power loss, not a process kill, can also take back its last commits;
``app/db/engine.py``). ``queue_depth()`` counts exactly these
entries. ``stop()`` (graceful shutdown, SIGTERM) drains the queue to the database or, failing
that within ``stop_timeout``, to the spool; what neither takes is counted in ``lost``. When
the database is up, ``stop()`` also replays the spool once more (entries the guard spooled
during a slow commit), so a graceful stop leaves the spool empty unless the database is down. The
spool grows without bound during an outage (disk space is the limit).
"""

from __future__ import annotations

import logging
import threading
import time
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from enum import Enum
from pathlib import Path

from sqlalchemy import Connection, Engine, text
from sqlalchemy.exc import DataError, DBAPIError, IntegrityError, StatementError
from sqlalchemy.orm import Session

from app.audit import repo as audit_repo
from app.audit.entry import AuditEntry
from app.audit.spool import Spool
from app.db.engine import READ_ONLY

log = logging.getLogger("vcf_cds.audit")

SessionFactory = Callable[[], Session]
LOG_EVERY_DROP = 1000
# the writer keeps one connection between batches; after this long unused it is given back and
# the next batch checks one out of the pool again (pinged there on a server database)
IDLE_RECONNECT_S = 10.0


class _State(Enum):
    MEMORY = "memory"  # only in memory (queued or in flight)
    WRITING = "writing"  # the guard is appending it to the spool
    SPOOLED = "spooled"  # durable on disk


@dataclass(slots=True, eq=False)  # identity: an entry is in one place at a time
class _Item:
    entry: AuditEntry
    submitted: float  # time.monotonic()
    state: _State = _State.MEMORY


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
        max_backoff: float = 2.0,
        stop_timeout: float = 5.0,
        spool: Spool | None = None,
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
        self._spool_obj: Spool | None = spool
        self._spool_init = threading.Lock()
        self._threads: list[threading.Thread] = []
        self._guard_stop = threading.Event()
        self._running = False
        self._stopping = False
        self._db_ok = True
        self._warm = False  # the first replay probes the database (opens a connection)
        self._backoff = replay_interval
        self._next_replay = 0.0
        self._spool_retry_at = 0.0  # no spool write before this (monotonic) after a failure
        self._spool_backoff = replay_interval
        self._writing = 0  # entries the guard took from the queue, not yet fsynced
        self._conn: Connection | None = None  # the writer thread's own, between batches
        self._conn_used = 0.0
        self.lost = 0  # entries dropped: queue full and spool failing, or both failed at stop

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
        self._conn = None  # a previous writer that outlived stop() keeps its own
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
        if not worker.is_alive():
            self._drop_connection()
        self._guard_stop.set()
        guard.join(max(1.0, deadline - time.monotonic()))
        with self._cond:
            pending = [*self._inflight, *self._queue]
            left = [i for i in pending if i.state is _State.MEMORY]
            for item in left:
                item.state = _State.WRITING
            self._queue.clear()
            self._running = False
            self._cond.notify_all()
        if left:
            log.warning("audit: database unavailable at shutdown; spooling %d entries", len(left))
            try:
                self._spool().append([i.entry for i in left])
            except Exception:
                self._count_lost(len(left), "database and spool both failed at shutdown")
        elif self._db_ok:  # entries the guard spooled while a commit was slow: commit them now,
            try:  # a pod's emptyDir spool does not outlive the pod
                self._replay()
            except Exception:
                log.exception("audit: replay at shutdown failed; entries stay in the spool")
        try:
            self._spool().close()
        except Exception:
            log.exception("audit: closing the spool failed")

    def submit(self, entry: AuditEntry) -> None:
        """Hand over an entry; never blocks on the database or a failing disk, never raises."""
        item = _Item(entry, time.monotonic())
        with self._cond:
            running = self._running and not self._stopping
            if running and self._in_memory() < self._queue_size:
                self._queue.append(item)
                # the worker sleeps until the oldest entry is due (or a batch is full): only
                # the first entry or a full batch changes that; waking it for every entry
                # cost a thread switch per request (the GIL, on the request path)
                queued = len(self._queue)
                if queued == 1 or queued >= self._batch_size:
                    self._cond.notify_all()
                return
            if item.submitted < self._spool_retry_at:  # the disk failed a moment ago
                self._count_lost(1, "queue full and spool failing")
                return
        try:
            self._spool().append([entry])
        except Exception:
            self._spool_failed()
            with self._cond:
                self._count_lost(1, "queue full and spool write failed")

    def queue_depth(self) -> int:
        """Entries only in memory: queued, being committed or being spooled."""
        with self._cond:
            unclaimed = sum(1 for i in self._inflight if i.state is not _State.SPOOLED)
            return len(self._queue) + unclaimed + self._writing

    def lost_count(self) -> int:
        """Entries dropped so far (see the overflow policy in the module docstring)."""
        with self._cond:
            return self.lost

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

    def _in_memory(self) -> int:
        return len(self._queue) + len(self._inflight) + self._writing

    def _holding(self, now: float) -> float:
        """Until when the worker leaves the queue alone: the database is down and the spool
        failed a moment ago, so any write now would fail again (0.0: not holding)."""
        if self._db_ok or now >= self._spool_retry_at:
            return 0.0
        return min(self._spool_retry_at, self._next_replay)

    def _next_batch(self) -> list[_Item] | None:
        """Wait for work (call with ``_cond`` held); None when the worker should exit."""
        while True:
            now = time.monotonic()
            if self._stopping:
                if not self._queue or self._holding(now):
                    return None
                break
            hold = self._holding(now)
            if self._queue and not hold:
                due = self._queue[0].submitted + self._linger
                if len(self._queue) >= self._batch_size or now >= due or not self._db_ok:
                    break
                self._cond.wait(min(due, self._next_replay) - now)
                if time.monotonic() >= self._next_replay:
                    return []
                continue
            if now >= self._next_replay:
                return []
            wake = min(self._next_replay, hold) if hold else self._next_replay
            self._cond.wait(max(wake - now, 0.001))
        batch = [self._queue.popleft() for _ in range(min(len(self._queue), self._batch_size))]
        self._inflight = batch
        return batch

    def _work(self) -> None:
        while True:
            with self._cond:
                batch = self._next_batch()
                if batch is None:
                    self._cond.notify_all()
                    return
            if batch:
                try:
                    self._persist(batch)
                except Exception:  # a bug must not kill the writer nor lose the batch
                    log.exception("audit: worker error")
                    self._spool_batch(batch)
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
        self._spool_batch(batch)

    def _spool_batch(self, batch: list[_Item]) -> None:
        """Spool what of the worker's ``batch`` is neither spooled nor being spooled by the
        guard; if the disk fails, put it back at the queue's front (it is in no other place)."""
        with self._cond:
            while any(i.state is _State.WRITING for i in batch):  # the guard's write: bounded
                self._cond.wait(0.05)
            todo = [i for i in batch if i.state is _State.MEMORY]
            if todo and time.monotonic() < self._spool_retry_at:
                self._requeue(todo)
                self._inflight = []  # the batch is back in the queue: counted once
                return
            for item in todo:  # ours to write: the guard leaves WRITING items alone
                item.state = _State.WRITING
        if todo and not self._write_spool(todo):
            with self._cond:
                self._requeue(todo)
                self._inflight = []

    def _requeue(self, items: list[_Item]) -> None:
        """Put items that left the queue back at its front (call with ``_cond`` held)."""
        for item in reversed(items):
            item.state = _State.MEMORY
            self._queue.appendleft(item)
        self._cond.notify_all()

    def _commit(self, entries: Sequence[AuditEntry]) -> None:
        """One transaction for ``entries``. The factory is called for every batch (it names
        the database, and a database that refuses or hangs fails here), but the batch is
        written in a plain Core transaction: in the writer thread on the connection it keeps
        between batches (a pool checkout and check-in, with the server ping and the
        reset-on-return rollback, cost ~0.4 ms CPU per batch of one; an ORM session ~0.15),
        in any other thread (``stop()``) on a connection of its own."""
        with self._session_factory() as session:
            engine = session.get_bind().engine
            if not (self._threads and threading.current_thread() is self._threads[0]):
                with engine.begin() as conn:
                    audit_repo.add_entries(conn, entries)
                return
            conn = self._connection(engine)
            try:
                with conn.begin():
                    audit_repo.add_entries(conn, entries)
            except BaseException:
                self._drop_connection()  # the next batch starts on a fresh connection
                raise

    def _connection(self, engine: Engine) -> Connection:
        """The writer thread's connection to ``engine`` (only that thread calls this)."""
        now = time.monotonic()
        conn = self._conn
        stale = now - self._conn_used > IDLE_RECONNECT_S
        if conn is None or stale or conn.closed or conn.invalidated or conn.engine is not engine:
            self._drop_connection()
            conn = self._conn = engine.connect()
        self._conn_used = now
        return conn

    def _drop_connection(self) -> None:
        conn, self._conn = self._conn, None
        if conn is not None:
            try:
                conn.close()
            except Exception:
                log.warning("audit: closing the writer's connection failed")

    def _unstored(self, entries: list[AuditEntry]) -> list[AuditEntry]:
        """The entries whose consult id is not stored yet, read without the write lock. Most
        spooled entries were spooled by the guard while the writer's commit was slow, and
        that commit then stored them: their replay needs no write transaction (which on
        SQLite would queue for the lock behind every other worker's writer)."""
        with self._session_factory() as session:
            session.connection(execution_options=READ_ONLY)
            stored = audit_repo.stored_consult_ids(session, [e.consult_id for e in entries])
        return [e for e in entries if e.consult_id not in stored]

    def _commit_isolating(self, entries: list[AuditEntry]) -> None:
        """Replay commit: an entry the database refuses for good goes to ``rejected/``;
        entries already stored are skipped without a write transaction."""
        entries = self._unstored(entries)
        if not entries:
            return
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
        with self._cond:
            self._db_ok = False
            self._next_replay = min(self._next_replay, time.monotonic() + self._backoff)

    def _replay(self) -> None:
        spool = self._spool()
        if self._db_ok and self._warm and not spool.segments():
            self._next_replay = time.monotonic() + self._interval
            return
        try:
            with self._session_factory() as session:
                session.connection(execution_options=READ_ONLY)
                session.execute(text("SELECT 1"))
            spool.seal()
            done = spool.replay(self._commit_isolating, self._batch_size)
        except Exception as exc:
            self._mark_down(exc)
            with self._cond:
                self._next_replay = time.monotonic() + self._backoff
                self._backoff = min(self._backoff * 2, self._max_backoff)
            return
        if not self._db_ok or done:
            log.info("audit: database available; %d spooled entries committed", done)
        with self._cond:
            self._db_ok = self._warm = True
            self._backoff = self._interval
            self._next_replay = time.monotonic() + self._interval
            self._cond.notify_all()

    # ------------------------------------------------------------------ guard

    def _guard(self) -> None:
        tick = max(self._max_wait / 2, 0.005)
        while not self._guard_stop.wait(tick):
            with self._cond:
                now = time.monotonic()
                if now < self._spool_retry_at:
                    continue  # the disk failed a moment ago: no retry loop
                limit = now - self._max_wait
                queued: list[_Item] = []
                while self._queue and self._queue[0].submitted <= limit:
                    queued.append(self._queue.popleft())
                flying = [
                    i for i in self._inflight if i.state is _State.MEMORY and i.submitted <= limit
                ]
                for item in (*queued, *flying):
                    item.state = _State.WRITING
                self._writing += len(queued)
            if not queued and not flying:
                continue
            ok = self._write_spool([*queued, *flying])
            with self._cond:
                self._writing -= len(queued)
                if not ok:
                    for item in flying:  # still the worker's: it spools them or requeues them
                        item.state = _State.MEMORY
                    self._requeue(queued)
                self._cond.notify_all()

    # ------------------------------------------------------------------ spool

    def _spool(self) -> Spool:
        with self._spool_init:
            if self._spool_obj is None:
                self._spool_obj = Spool(self._spool_dir)
            return self._spool_obj

    def _write_spool(self, items: list[_Item]) -> bool:
        """Append ``items`` to the spool; True (and the items marked spooled) on success."""
        try:
            self._spool().append([i.entry for i in items])
        except Exception as exc:
            self._spool_failed(exc)
            return False
        with self._cond:
            for item in items:
                item.state = _State.SPOOLED
            self._spool_backoff = self._interval
            self._spool_retry_at = 0.0
        return True

    def _spool_failed(self, exc: BaseException | None = None) -> None:
        with self._cond:
            first = self._spool_retry_at == 0.0
            self._spool_retry_at = time.monotonic() + self._spool_backoff
            self._spool_backoff = min(self._spool_backoff * 2, self._max_backoff)
            self._cond.notify_all()
        if first:
            why = type(exc).__name__ if exc else "error"
            log.critical("audit: spool write failed (%s); entries kept in memory", why)

    def _count_lost(self, n: int, why: str) -> None:
        """Count dropped entries (call with ``_cond`` held for submit; any thread at stop)."""
        before = self.lost
        self.lost += n
        if before == 0 or before // LOG_EVERY_DROP != self.lost // LOG_EVERY_DROP:
            log.critical("audit: %d entries LOST so far (%s)", self.lost, why)
