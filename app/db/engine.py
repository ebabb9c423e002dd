"""Engine creation for SQLite (default, WAL mode) and PostgreSQL.

SQLite runs with ``synchronous=NORMAL`` in WAL mode: a commit appends to the write-ahead log
without an fsync (the log is synced at checkpoints). A committed transaction survives the
process being killed (SIGKILL, OOM: the data is in the OS page cache); a power loss or kernel
crash can roll back the last transactions before the latest checkpoint, never corrupt the
database. ``FULL`` (SQLite's default) paid one fsync per commit: under load the audit writer
spent most of its time there (bench/README.md, "Workers"). Set ``VCF_CDS_SQLITE_SYNCHRONOUS=FULL``
to get it back. PostgreSQL keeps its own ``synchronous_commit`` setting.
"""

from __future__ import annotations

import os
from typing import Any

from sqlalchemy import Engine, create_engine, event, text

from app import json_codec

# execution options of a transaction that only reads (``Session.connection(execution_options=
# READ_ONLY)`` before its first statement): on SQLite it begins DEFERRED, so it neither takes
# nor waits for the write lock (WAL readers never block writers)
READ_ONLY: dict[str, object] = {"vcf_read_only": True}

_SYNCHRONOUS = ("OFF", "NORMAL", "FULL", "EXTRA")


def sqlite_synchronous() -> str:
    """``PRAGMA synchronous`` for SQLite: ``VCF_CDS_SQLITE_SYNCHRONOUS`` or ``NORMAL``."""
    value = (os.environ.get("VCF_CDS_SQLITE_SYNCHRONOUS") or "NORMAL").strip().upper()
    if value not in _SYNCHRONOUS:
        raise ValueError(f"VCF_CDS_SQLITE_SYNCHRONOUS={value!r} is not one of {_SYNCHRONOUS}")
    return value


def make_engine(url: str) -> Engine:
    """An engine for ``url``; SQLite gets WAL journaling, ``synchronous`` (see above) and a
    busy timeout. Pooled connections are pinged before use on a server database (one that
    may have restarted or dropped them); a SQLite connection is a local file handle, which a
    ``SELECT 1`` would not test anyway: one round trip less per transaction."""
    kwargs: dict[str, object] = {
        "pool_pre_ping": not url.startswith("sqlite"),
        "json_serializer": json_codec.dumps,  # the audit cards: the bulk of what is written
    }
    synchronous = "NORMAL"
    if url.startswith("sqlite"):
        kwargs["connect_args"] = {"check_same_thread": False, "timeout": 5}
        synchronous = sqlite_synchronous()
    engine = create_engine(url, **kwargs)
    if engine.dialect.name == "sqlite":

        @event.listens_for(engine, "connect")
        def _sqlite_pragmas(dbapi_conn: Any, _record: Any) -> None:
            # let SQLAlchemy, not pysqlite, open transactions: pysqlite defers BEGIN until
            # the first DML, so a SAVEPOINT would otherwise start (and its RELEASE commit)
            # the transaction the request dependency owns
            dbapi_conn.isolation_level = None
            cur = dbapi_conn.cursor()
            cur.execute("PRAGMA journal_mode=WAL")
            cur.execute(f"PRAGMA synchronous={synchronous}")  # one of _SYNCHRONOUS
            cur.execute("PRAGMA foreign_keys=ON")
            cur.close()

        @event.listens_for(engine, "begin")
        def _sqlite_begin(conn: Any) -> None:
            # IMMEDIATE: take the write lock up front (waiting up to the busy timeout) instead of
            # failing with "database is locked" when a read-then-write transaction races another
            # writer; SQLite has one writer at a time anyway
            if conn.get_execution_options().get("vcf_read_only"):
                conn.exec_driver_sql("BEGIN")  # deferred: a WAL reader holds no write lock
            else:
                conn.exec_driver_sql("BEGIN IMMEDIATE")

    return engine


def database_ready(engine: Engine) -> bool:
    """True when the database answers a trivial query."""
    try:
        with engine.connect() as conn:
            conn.execute(text("SELECT 1"))
        return True
    except Exception:
        return False
