"""Audit queries. Callers own the transaction (the request session, or the recorder's own
session); these functions only query and add.

Inserts are idempotent on ``consult_id`` (``INSERT ... ON CONFLICT DO NOTHING`` on SQLite and
PostgreSQL): replaying an entry that is already stored changes nothing.

The insert is the audit writer's hot path (one per request; its CPU competes with the
decisions for the GIL). Its SQL is compiled by SQLAlchemy once per dialect and then sent with
``Connection.exec_driver_sql``: per batch no statement object, cache key, compilation lookup or
ORM session execution, while errors are still wrapped as SQLAlchemy's (``IntegrityError``
...), broken connections invalidated and the statements seen by engine events (tracing). The
values go through the columns' own bind processors (``DateTime`` on SQLite, the engine's
JSON serialiser), so what is stored is what a Core insert stores (tests/audit/test_repo.py).
"""

from __future__ import annotations

import weakref
from collections.abc import Sequence
from dataclasses import dataclass, fields
from typing import Any, cast

from sqlalchemy import Column, Connection, Dialect, Insert, Table, bindparam, func, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from app.audit.entry import AuditEntry
from app.db.models import AuditRecord, CardRecord

_AUDIT = cast(Table, AuditRecord.__table__)
_CARDS = cast(Table, CardRecord.__table__)
_STORED = select(_AUDIT.c.consult_id).where(
    _AUDIT.c.consult_id.in_(bindparam("ids", expanding=True))
)
MAX_ROWS = 64  # rows per multi-row INSERT (its statements: 1, 2, 4, ..., 64 rows)
SQLITE_OLD_MAX_PARAMS = 999
_CARD_COLUMNS = ("card_uuid", "consult_id", "service", "topic", "indicator", "suggestion_uuids")


def add_entries(session: Session | Connection, entries: Sequence[AuditEntry]) -> list[str]:
    """Store ``entries`` and one ``CardRecord`` per card; consult ids already stored are
    skipped (the first write wins). Returns the consult ids inserted now, in order.

    One read of the ids already stored, then the new records and their cards as multi-row
    inserts (``_Insert``). On SQLite the writer holds the write lock (``BEGIN IMMEDIATE``), so
    the read is exact; on PostgreSQL another transaction storing the same consult id in
    between is absorbed by ``ON CONFLICT DO NOTHING`` (its cards, the same entry's, by the
    card uuid key)."""
    unique = list({e.consult_id: e for e in entries}.values())
    if not unique:
        return []
    conn = session.connection() if isinstance(session, Session) else session
    stored = set(conn.scalars(_STORED, {"ids": [e.consult_id for e in unique]}))
    new = [e for e in unique if e.consult_id not in stored]
    records, cards = _statements(conn.dialect)
    records.insert(conn, [_record_row(e) for e in new])
    cards.insert(conn, [row for e in new for row in _card_rows(e)])
    return [e.consult_id for e in new]


def stored_consult_ids(session: Session, ids: Sequence[str]) -> set[str]:
    """Which of ``ids`` are stored already (one query)."""
    if not ids:
        return set()
    stmt = select(AuditRecord.consult_id).where(AuditRecord.consult_id.in_(set(ids)))
    return set(session.scalars(stmt))


def get_record(session: Session, consult_id: str) -> AuditRecord | None:
    """The record of one consult, or None."""
    return session.scalars(
        select(AuditRecord).where(AuditRecord.consult_id == consult_id)
    ).one_or_none()


def card_records(session: Session, consult_id: str) -> list[CardRecord]:
    """The card rows of one consult."""
    stmt = select(CardRecord).where(CardRecord.consult_id == consult_id)
    return list(session.scalars(stmt.order_by(CardRecord.card_uuid)))


def count_records(session: Session) -> int:
    """Number of audit records."""
    return int(session.scalar(select(func.count()).select_from(AuditRecord)) or 0)


def consult_ids(session: Session) -> list[str]:
    """Every stored consult id (duplicates would show twice)."""
    return list(session.scalars(select(AuditRecord.consult_id)))


# --------------------------------------------------------------------------- rows


def _clip(value: str | None, column: Column[Any]) -> str | None:
    length = getattr(column.type, "length", None)
    return value[:length] if value is not None and length else value


# entry field -> audit_record column: every field of AuditEntry is stored under its own name
# but ``status`` (the HTTP status answered), stored as ``status_code``
ENTRY_COLUMNS: dict[str, str] = {
    f.name: {"status": "status_code"}.get(f.name, f.name) for f in fields(AuditEntry)
}


def _record_row(e: AuditEntry) -> dict[str, object]:
    """The row of one entry; strings are clipped to their column's length except the key
    ``consult_id``, which is stored as given or not at all."""
    row: dict[str, object] = {}
    for name, column_name in ENTRY_COLUMNS.items():
        value = getattr(e, name)
        if isinstance(value, str) and column_name != "consult_id":
            value = _clip(value, _AUDIT.c[column_name])
        row[column_name] = value
    return row


def _member(value: object, key: str) -> object:
    """``value[key]`` of a JSON object, None for anything else."""
    return value.get(key) if isinstance(value, dict) else None


def _card_rows(e: AuditEntry) -> list[dict[str, object]]:
    """One row per card that has a uuid (the key feedback refers to)."""
    c = _CARDS.c
    rows: list[dict[str, object]] = []
    for card in e.cards:
        card_uuid = card.get("uuid")
        if not isinstance(card_uuid, str) or not card_uuid:
            continue
        topic = _member(_member(card.get("source"), "topic"), "code")
        suggestions = card.get("suggestions")
        rows.append(
            {
                "card_uuid": card_uuid,
                "consult_id": e.consult_id,
                "service": _clip(e.service, c.service),
                "topic": _clip(str(topic or ""), c.topic),
                "indicator": _clip(str(card.get("indicator", "")), c.indicator),
                "suggestion_uuids": [
                    u
                    for s in (suggestions if isinstance(suggestions, list) else [])
                    if (u := _member(s, "uuid"))
                ],
            }
        )
    return rows


def _insert_ignoring(dialect: Dialect, table: Table, keys: list[str]) -> Insert:
    """``INSERT ... ON CONFLICT (keys) DO NOTHING`` for ``dialect``."""
    if dialect.name == "postgresql":
        return postgresql.insert(table).on_conflict_do_nothing(index_elements=keys)
    if dialect.name == "sqlite":
        return sqlite.insert(table).on_conflict_do_nothing(index_elements=keys)
    raise NotImplementedError(f"audit inserts support sqlite and postgresql, not {dialect.name}")


@dataclass(frozen=True, slots=True)
class _Compiled:
    """One multi-row insert: its SQL and, per parameter in order, its name and (row, column)."""

    sql: str
    names: tuple[str, ...]
    order: tuple[tuple[int, str], ...]


class _Insert:
    """The ``INSERT ... ON CONFLICT DO NOTHING`` of one table for one dialect, as multi-row
    statements of 1, 2, 4, ... ``max_rows`` rows compiled on first use (SQL text, parameter
    order, the columns' bind processors). A batch of n rows takes one execution per
    ``max_rows`` rows, not n: each execution releases the GIL and takes it back, which in a
    worker whose other threads decide at full speed waits up to a switch interval each time
    (a commit of ~10 entries took ~100 ms, so the guard spooled most entries; bench/README.md).
    A chunk of k rows runs the statement of the next power of two rows, its last row repeated
    to fill it: the repeats propose a key the same statement has just inserted, which the
    ``ON CONFLICT DO NOTHING`` skips (SQLite and PostgreSQL alike), so the outcome is that of
    the k rows and only log2(``max_rows``) + 1 statements are ever compiled and prepared. A
    statement binds at most 999 parameters (SQLite's limit before 3.32)."""

    def __init__(self, dialect: Dialect, table: Table, names: Sequence[str], keys: list[str]):
        self.dialect, self.table, self.keys = dialect, table, keys
        self.columns = [table.c[n] for n in names]
        self.processors = {
            c.name: c.type.dialect_impl(dialect).bind_processor(dialect) for c in self.columns
        }
        fits = min(MAX_ROWS, SQLITE_OLD_MAX_PARAMS // len(self.columns))
        self.max_rows = 1 << (fits.bit_length() - 1)  # a power of two
        self._compiled: dict[int, _Compiled] = {}

    def insert(self, conn: Connection, rows: Sequence[dict[str, object]]) -> None:
        """Insert ``rows`` (conflicting keys skipped)."""
        for start in range(0, len(rows), self.max_rows):
            chunk = [self._values(row) for row in rows[start : start + self.max_rows]]
            statement = self._statement(1 << (len(chunk) - 1).bit_length())
            last = len(chunk) - 1  # rows past it repeat it (see the class docstring)
            values = [chunk[min(i, last)][column] for i, column in statement.order]
            if self.dialect.positional:
                conn.exec_driver_sql(statement.sql, tuple(values))
            else:
                conn.exec_driver_sql(statement.sql, dict(zip(statement.names, values, strict=True)))

    def _values(self, row: dict[str, object]) -> dict[str, object]:
        """``row`` as bound: each column's value through its bind processor (once per row)."""
        return {
            name: row[name] if processor is None else processor(row[name])
            for name, processor in self.processors.items()
        }

    def _statement(self, size: int) -> _Compiled:
        """The ``size``-row insert (compiled on first use)."""
        found = self._compiled.get(size)
        if found is None:
            stmt = _insert_ignoring(self.dialect, self.table, self.keys).values(
                [
                    {c.name: bindparam(f"r{i}_{c.name}", type_=c.type) for c in self.columns}
                    for i in range(size)
                ]
            )
            compiled = stmt.inline().compile(dialect=self.dialect)  # no implicit RETURNING
            names = tuple(compiled.positiontup or () if self.dialect.positional else compiled.binds)
            order = tuple(_row_and_column(n) for n in names)
            if len(order) != size * len(self.columns):
                raise RuntimeError(f"audit insert on {self.table.name}: parameters {names}")
            found = self._compiled[size] = _Compiled(str(compiled), names, order)
        return found


def _row_and_column(param: str) -> tuple[int, str]:
    """``("r3_consult_id")`` -> ``(3, "consult_id")``."""
    row, _, column = param.partition("_")
    return int(row[1:]), column


_PREPARED: weakref.WeakKeyDictionary[Dialect, tuple[_Insert, _Insert]] = weakref.WeakKeyDictionary()


def _statements(dialect: Dialect) -> tuple[_Insert, _Insert]:
    """The record and card inserts for ``dialect`` (per dialect object: the JSON serialiser
    is the engine's)."""
    found = _PREPARED.get(dialect)
    if found is None:
        records = _Insert(dialect, _AUDIT, list(ENTRY_COLUMNS.values()), ["consult_id"])
        cards = _Insert(dialect, _CARDS, _CARD_COLUMNS, ["card_uuid"])
        found = _PREPARED[dialect] = (records, cards)
    return found
