"""Is the database schema at the Alembic head this code needs? (readiness, 503 answers)

The schema only ever comes from Alembic (``alembic upgrade head``, or start-up with
``VCF_CDS_MIGRATE_ON_START=true``); a database that is not at the head is reported not ready
with the command to run instead of failing requests with a 500.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

from alembic.script import ScriptDirectory
from sqlalchemy import Engine, inspect, text

from app.db.migrate import alembic_config

MIGRATE_COMMAND = "alembic upgrade head"
VERSION_TABLE = "alembic_version"


@lru_cache(maxsize=1)
def expected_heads() -> tuple[str, ...]:
    """The head revision(s) of the migrations shipped with this code."""
    script = ScriptDirectory.from_config(alembic_config("sqlite://"))
    return tuple(sorted(script.get_heads()))


@dataclass(frozen=True)
class SchemaState:
    reachable: bool  # the database answered
    current: tuple[str, ...]  # its Alembic revision(s); () when never migrated
    expected: tuple[str, ...]

    @property
    def ok(self) -> bool:
        return self.reachable and self.current == self.expected

    def message(self) -> str:
        """What is wrong and what to do, for operators (no secrets: no URL is named)."""
        if not self.reachable:
            return "the database is unavailable"
        if self.ok:
            return "the database schema is current"
        at = ", ".join(self.current) or "no revision (never migrated)"
        return (
            f"the database schema is not migrated: it is at {at}, this version needs "
            f"{', '.join(self.expected)}; run `{MIGRATE_COMMAND}` (or start the service with "
            "VCF_CDS_MIGRATE_ON_START=true)"
        )


def schema_state(engine: Engine) -> SchemaState:
    """Read the database's Alembic revision; never raises (an unreachable database is a state)."""
    expected = expected_heads()
    try:
        with engine.connect() as conn:
            current: list[str] = []
            if inspect(conn).has_table(VERSION_TABLE):  # Alembic's bookkeeping table
                rows = conn.execute(text(f"SELECT version_num FROM {VERSION_TABLE}"))
                current = [str(r[0]) for r in rows]
    except Exception:
        return SchemaState(False, (), expected)
    return SchemaState(True, tuple(sorted(current)), expected)
