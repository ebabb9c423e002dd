"""audit_repo on SQLite and PostgreSQL: round trip, card rows, idempotent inserts."""

from __future__ import annotations

from datetime import UTC
from typing import Any

from sqlalchemy import event
from sqlalchemy.orm import Session, sessionmaker

from app.audit import repo as audit_repo
from tests.audit.support import entry


def test_round_trip_with_card_rows(session_factory: sessionmaker[Session]) -> None:
    e = entry(n_cards=3, client_iss="https://ehr.example.org")
    with session_factory.begin() as s:
        assert audit_repo.add_entries(s, [e]) == [e.consult_id]
    with session_factory() as s:
        record = audit_repo.get_record(s, e.consult_id)
        assert record is not None
        assert record.cards == e.cards and record.system_actions == e.system_actions
        assert record.policies == e.policies and record.input_sha256 == e.input_sha256
        assert record.patient_hmac == e.patient_hmac and record.client_iss == e.client_iss
        assert (record.latency_ms, record.knowledge_version) == (e.latency_ms, e.knowledge_version)
        assert (record.orders_rated, record.orders_unrated) == (1, 0)
        created = record.created_at
        assert (created if created.tzinfo else created.replace(tzinfo=UTC)) == e.created_at
        rows = audit_repo.card_records(s, e.consult_id)
        by_uuid = {r.card_uuid: r for r in rows}
        assert set(by_uuid) == {c["uuid"] for c in e.cards}
        cards: list[dict[str, Any]] = e.cards  # JSON as stored: read by path below
        for card in cards:
            row = by_uuid[card["uuid"]]
            assert row.topic == card["source"]["topic"]["code"]
            assert row.indicator == "warning" and row.service == e.service
            assert row.suggestion_uuids == [card["suggestions"][0]["uuid"]]
        assert audit_repo.get_record(s, "urn:uuid:unknown") is None


def test_duplicate_consult_id_is_ignored(session_factory: sessionmaker[Session]) -> None:
    first, other = entry(), entry()
    replay = entry(consult_id=first.consult_id, service="changed")
    with session_factory.begin() as s:
        audit_repo.add_entries(s, [first])
    with session_factory.begin() as s:  # a replay, plus a duplicate inside one batch
        assert audit_repo.add_entries(s, [replay, other, other]) == [other.consult_id]
    with session_factory() as s:
        assert audit_repo.count_records(s) == 2
        assert sorted(audit_repo.consult_ids(s)) == sorted([first.consult_id, other.consult_id])
        record = audit_repo.get_record(s, first.consult_id)
        assert record is not None and record.service == first.service  # first write wins
        assert len(audit_repo.card_records(s, first.consult_id)) == 2


def test_a_large_batch_skips_stored_ids_and_their_cards(
    session_factory: sessionmaker[Session],
) -> None:
    """More entries than one statement takes (``MAX_ROWS``): inserted in chunks, same outcome."""
    stored = [entry(), entry()]
    with session_factory.begin() as s:
        audit_repo.add_entries(s, stored)
    replays = [entry(consult_id=e.consult_id, service="changed") for e in stored]  # new cards
    fresh = [entry() for _ in range(audit_repo.MAX_ROWS + 3)]  # records 32 + 32 + 3 (as 4)
    batch = [fresh[0], *replays, *fresh[1:], fresh[0]]
    with session_factory.begin() as s:
        assert audit_repo.add_entries(s, batch) == [e.consult_id for e in fresh]
    with session_factory() as s:
        assert audit_repo.count_records(s) == len(stored) + len(fresh)
        for e in stored:
            record = audit_repo.get_record(s, e.consult_id)
            assert record is not None and record.service == e.service  # first write wins
            uuids = {r.card_uuid for r in audit_repo.card_records(s, e.consult_id)}
            assert uuids == {c["uuid"] for c in e.cards}  # the replay's cards are not added
        for e in fresh:
            assert len(audit_repo.card_records(s, e.consult_id)) == 2


def test_over_long_free_text_is_clipped(session_factory: sessionmaker[Session]) -> None:
    e = entry(hook_instance="h" * 300, client_iss="https://" + "i" * 600)
    with session_factory.begin() as s:
        audit_repo.add_entries(s, [e])
    with session_factory() as s:
        record = audit_repo.get_record(s, e.consult_id)
        assert record is not None and record.hook_instance == "h" * 128
        assert record.client_iss is not None and len(record.client_iss) == 512


def test_a_batch_is_one_statement_per_table(session_factory: sessionmaker[Session]) -> None:
    """11 entries with 2 cards each: one read of the stored ids, the records in one statement
    (16 rows: the last of the 11 repeated) and the cards in one (32 rows for 22), no
    executemany: each execution gives the GIL up and waits to take it back (app/audit/repo.py,
    ``_Insert``). The repeated rows add nothing (counts below)."""
    batch = [entry(n_cards=2) for _ in range(11)]
    executed: list[tuple[str, bool]] = []

    def seen(conn: Any, cursor: Any, sql: str, params: Any, context: Any, many: bool) -> None:
        executed.append((sql.split()[0].upper(), many))

    with session_factory.begin() as s:
        engine = s.get_bind().engine
        event.listen(engine, "before_cursor_execute", seen)
        try:
            assert audit_repo.add_entries(s, batch) == [e.consult_id for e in batch]
        finally:
            event.remove(engine, "before_cursor_execute", seen)
    statements = [e for e in executed if e[0] != "BEGIN"]  # SQLite: BEGIN IMMEDIATE
    assert statements == [("SELECT", False)] + [("INSERT", False)] * 2
    with session_factory() as s:
        assert audit_repo.count_records(s) == 11
        assert sorted(audit_repo.consult_ids(s)) == sorted(e.consult_id for e in batch)
        assert all(len(audit_repo.card_records(s, e.consult_id)) == 2 for e in batch)
