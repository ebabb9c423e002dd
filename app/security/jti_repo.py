"""Database-backed :class:`app.security.client_auth.ReplayStore` (SQLite and PostgreSQL).

Each call is one short transaction on the engine (never the request session), so a replay
verdict is committed before the request goes on. ``seen`` is synchronous: from async code call
it through ``starlette.concurrency.run_in_threadpool`` (it blocks for one round trip).
"""

from __future__ import annotations

import heapq
import itertools
import logging
import threading
import time
from collections.abc import Callable
from typing import Any, cast

from sqlalchemy import Engine, Table, delete
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import IntegrityError, SQLAlchemyError
from sqlalchemy.sql.dml import ReturningInsert

from app.db.models import ClientJti

log = logging.getLogger("vcf_cds.auth")

_JTI = cast(Table, ClientJti.__table__)


class DbReplayStore:
    """Remembers ``(iss, jti)`` in ``client_jti`` until ``expires_at`` (epoch seconds).

    Insert-or-revive in one statement: a new pair is inserted; a stored pair that has expired
    is taken over; a stored live pair (a unique conflict) means "seen". Expired rows are purged
    at most every ``purge_interval`` seconds. Database errors propagate (fail closed: the
    request errors instead of skipping the replay check).
    """

    def __init__(
        self,
        engine: Engine,
        *,
        purge_interval: float = 60.0,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._engine = engine
        self._purge_interval = purge_interval
        self._clock = clock
        self._purge_lock = threading.Lock()
        self._last_purge = float("-inf")

    def seen(self, iss: str, jti: str, expires_at: int) -> bool:
        now = self._clock()
        self._maybe_purge(now)
        if expires_at <= now:
            return False  # would be purged at once; the verifier rejects such tokens anyway
        values = {"iss": iss, "jti": jti, "expires_at": expires_at}
        try:
            with self._engine.begin() as conn:
                row = conn.execute(self._insert_or_revive(values, now)).first()
        except IntegrityError:
            return True
        return row is None

    def purge(self) -> int:
        """Delete expired pairs now; returns how many."""
        with self._engine.begin() as conn:
            result = conn.execute(delete(_JTI).where(_JTI.c.expires_at <= self._clock()))
        return int(result.rowcount or 0)

    def _maybe_purge(self, now: float) -> None:
        with self._purge_lock:
            if now - self._last_purge < self._purge_interval:
                return
            self._last_purge = now
        try:
            self.purge()
        except SQLAlchemyError as exc:  # opportunistic: the next call tries again later
            log.warning("client_jti purge failed: %s", type(exc).__name__)

    def _insert_or_revive(self, values: dict[str, object], now: float) -> ReturningInsert[Any]:
        dialect = self._engine.dialect.name
        stmt: postgresql.Insert | sqlite.Insert
        if dialect == "postgresql":
            stmt = postgresql.insert(_JTI).values(values)
        elif dialect == "sqlite":
            stmt = sqlite.insert(_JTI).values(values)
        else:
            raise NotImplementedError(f"client_jti supports sqlite and postgresql, not {dialect}")
        return stmt.on_conflict_do_update(
            index_elements=[_JTI.c.iss, _JTI.c.jti],
            set_={"expires_at": stmt.excluded.expires_at},
            where=_JTI.c.expires_at <= now,
        ).returning(_JTI.c.jti)


class FallbackReplayStore:
    """A :class:`DbReplayStore` that keeps answering through a database outage.

    Every ``(iss, jti)`` pair is also remembered in a bounded in-process memory until its
    expiry. While the database answers, it decides (a pair seen by any process is a replay) and
    a pair in the memory is a replay too. When the database fails (any ``SQLAlchemyError``),
    the memory decides alone and the database is tried again after ``retry_interval`` seconds
    (a request does not wait for a dead server each time). Semantics during an outage,
    honestly (docs/faults.md): a replay to **this** process is still rejected; a replay to
    **another** process (another worker or replica) is not, because they share only the
    database. Pairs accepted from memory alone are written to the database once it is back
    (``flush_batch`` per call), so replays after the outage are rejected everywhere. When the
    memory holds ``max_entries`` live pairs during an outage, new pairs are reported as seen
    (fail closed: 401), never evicted.
    """

    def __init__(
        self,
        db: DbReplayStore,
        *,
        max_entries: int = 100_000,
        retry_interval: float = 1.0,
        flush_batch: int = 100,
        clock: Callable[[], float] = time.time,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self._db = db
        self._max_entries = max_entries
        self._retry_interval = retry_interval
        self._flush_batch = flush_batch
        self._clock = clock
        self._monotonic = monotonic
        self._lock = threading.Lock()
        self._entries: dict[tuple[str, str], int] = {}
        self._expiry: list[tuple[int, tuple[str, str]]] = []
        self._pending: dict[tuple[str, str], int] = {}  # accepted while the database was down
        self._retry_at = float("-inf")
        self.outage_verdicts = 0  # answers given from memory alone

    def seen(self, iss: str, jti: str, expires_at: int) -> bool:
        key = (iss, jti)
        with self._lock:
            local = self._remember(key, expires_at)
            try_db = self._monotonic() >= self._retry_at
        if local is True:
            return True  # a replay to this process, whatever the database says
        if try_db:
            try:
                db_seen = self._db.seen(iss, jti, expires_at)
            except SQLAlchemyError as exc:
                self._mark_down(exc)
            else:
                if self._retry_at != float("-inf"):
                    log.info("client_jti: database available again")
                    with self._lock:
                        self._retry_at = float("-inf")
                self._flush()
                return db_seen
        with self._lock:
            self.outage_verdicts += 1
            if local is None:
                return True  # memory full during an outage: fail closed
            self._pending[key] = expires_at
            return False

    def _remember(self, key: tuple[str, str], expires_at: int) -> bool | None:
        """True if ``key`` is live in memory; else remember it: False, or None if full."""
        now = self._clock()
        while self._expiry and self._expiry[0][0] <= now:
            _, old = heapq.heappop(self._expiry)
            if self._entries.get(old, now + 1) <= now:
                del self._entries[old]
                self._pending.pop(old, None)
        if key in self._entries:
            return True
        if expires_at <= now:
            return False
        if len(self._entries) >= self._max_entries:
            return None
        self._entries[key] = expires_at
        heapq.heappush(self._expiry, (expires_at, key))
        return False

    def _mark_down(self, exc: BaseException) -> None:
        with self._lock:
            first = self._retry_at == float("-inf")
            self._retry_at = self._monotonic() + self._retry_interval
        if first:
            log.error(
                "client_jti: database unavailable (%s); replay checks are process-local until "
                "it is back",
                type(exc).__name__,
            )

    def _flush(self) -> None:
        """Write up to ``flush_batch`` pairs accepted during the outage to the database."""
        with self._lock:
            if not self._pending:
                return
            batch = list(itertools.islice(self._pending.items(), self._flush_batch))
            for key, _ in batch:
                del self._pending[key]
        for n, ((iss, jti), expires_at) in enumerate(batch):
            try:
                self._db.seen(iss, jti, expires_at)
            except SQLAlchemyError as exc:
                with self._lock:
                    self._pending.update(batch[n:])
                self._mark_down(exc)
                return
