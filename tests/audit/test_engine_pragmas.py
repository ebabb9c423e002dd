"""SQLite engine settings (app/db/engine.py): WAL with ``synchronous=NORMAL`` unless
``VCF_CDS_SQLITE_SYNCHRONOUS`` says otherwise; JSON columns written by orjson with a stdlib
fallback, read back unchanged."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from sqlalchemy import text

from app.db.engine import make_engine, sqlite_synchronous
from app.json_codec import dumps as json_dumps

# PRAGMA synchronous answers a number: 0 OFF, 1 NORMAL, 2 FULL, 3 EXTRA
LEVELS = {"OFF": 0, "NORMAL": 1, "FULL": 2, "EXTRA": 3}


def _pragmas(url: str) -> tuple[str, int]:
    engine = make_engine(url)
    try:
        with engine.connect() as conn:
            mode = conn.execute(text("PRAGMA journal_mode")).scalar_one()
            sync = conn.execute(text("PRAGMA synchronous")).scalar_one()
        return str(mode), int(sync)
    finally:
        engine.dispose()


def test_wal_with_synchronous_normal_by_default(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("VCF_CDS_SQLITE_SYNCHRONOUS", raising=False)
    assert _pragmas(f"sqlite:///{tmp_path / 'a.db'}") == ("wal", LEVELS["NORMAL"])


def test_synchronous_from_the_environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("VCF_CDS_SQLITE_SYNCHRONOUS", "full")
    assert _pragmas(f"sqlite:///{tmp_path / 'a.db'}") == ("wal", LEVELS["FULL"])


def test_a_bad_synchronous_value_names_the_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("VCF_CDS_SQLITE_SYNCHRONOUS", "sometimes")
    with pytest.raises(ValueError, match="VCF_CDS_SQLITE_SYNCHRONOUS"):
        sqlite_synchronous()


@pytest.mark.parametrize(
    "value",
    [
        {"cards": [{"summary": "Ä → ✓ \u2028", "uuid": "x"}], "n": 1.5, "none": None},
        [1, "two", [3.0, True]],
        {1: "an integer key (orjson refuses it)"},
        {"big": 2**70},
    ],
)
def test_json_dumps_round_trips(value: object) -> None:
    assert json.loads(json_dumps(value)) == json.loads(json.dumps(value))
