"""Audit queries. Callers own the transaction (the request session, or the recorder's own
session); these functions only query and add.

Inserts are idempotent on ``consult_id`` (``INSERT ... ON CONFLICT DO NOTHING`` on SQLite and
PostgreSQL): replaying an entry that is already stored changes nothing.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import fields
from typing import Any, cast

from sqlalchemy import Column, Insert, Table, func, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from app.audit.entry import AuditEntry
from app.db.models import AuditRecord, CardRecord

_AUDIT = cast(Table, AuditRecord.__table__)
# The OpenTelemetry trace id has no column of its own yet (that needs a migration): it is kept
# in the record's ``policies`` JSON under this key, absent when tracing is off.
_CARDS = cast(Table, CardRecord.__table__)


def add_entries(session: Session, entries: Sequence[AuditEntry]) -> list[str]:
    """Store ``entries`` and one ``CardRecord`` per card; consult ids already stored are
    skipped. Returns the consult ids inserted now."""
    unique = list({e.consult_id: e for e in entries}.values())
    if not unique:
        return []
    stmt = _insert_ignoring(session, _AUDIT, ["consult_id"]).returning(_AUDIT.c.consult_id)
    rows = [_record_row(e) for e in unique]
    inserted = set(session.execute(stmt, rows).scalars())
    cards = [row for e in unique if e.consult_id in inserted for row in _card_rows(e)]
    if cards:
        session.execute(_insert_ignoring(session, _CARDS, ["card_uuid"]), cards)
    return [e.consult_id for e in unique if e.consult_id in inserted]


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


def _insert_ignoring(session: Session, table: Table, keys: list[str]) -> Insert:
    """``INSERT ... ON CONFLICT (keys) DO NOTHING`` for the session's dialect, executed with a
    list of rows (executemany: one cached compilation, batched "insertmanyvalues")."""
    dialect = session.get_bind().dialect.name
    if dialect == "postgresql":
        return postgresql.insert(table).on_conflict_do_nothing(index_elements=keys)
    if dialect == "sqlite":
        return sqlite.insert(table).on_conflict_do_nothing(index_elements=keys)
    raise NotImplementedError(f"audit inserts support sqlite and postgresql, not {dialect}")
