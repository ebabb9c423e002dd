"""Database-backed :class:`app.security.client_auth.ReplayStore` (SQLite and PostgreSQL).

Each call is one short transaction on the engine (never the request session), so a replay
verdict is committed before the request goes on. ``seen`` is synchronous: from async code call
it through ``starlette.concurrency.run_in_threadpool`` (it blocks for one round trip).
"""

from __future__ import annotations

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
