"""The PostgreSQL harness: data survives stop/start, and a stopped server refuses connections."""

from __future__ import annotations

import psycopg
import pytest

from tests.support.postgres import PostgresServer


def test_stop_start_keeps_data() -> None:
    with PostgresServer() as pg:
        assert pg.url.startswith("postgresql+psycopg://")
        assert f"@127.0.0.1:{pg.port}/" in pg.url
        with psycopg.connect(pg.dsn, connect_timeout=5) as conn:
            conn.execute("CREATE TABLE fracture (id int PRIMARY KEY, level text NOT NULL)")
            conn.execute("INSERT INTO fracture VALUES (1, 'L1')")
        with pytest.raises(psycopg.OperationalError):  # password auth is enforced
            psycopg.connect(pg.dsn.replace(":vcfcds@", ":wrong@"), connect_timeout=5).close()

        pg.stop()
        assert not pg.is_running()
        with pytest.raises(psycopg.OperationalError):
            psycopg.connect(pg.dsn, connect_timeout=2).close()

        pg.start()
        with psycopg.connect(pg.dsn, connect_timeout=5) as conn:
            assert conn.execute("SELECT id, level FROM fracture").fetchall() == [(1, "L1")]
            assert conn.execute("SELECT current_user").fetchone() == ("vcfcds",)

        pg.restart()
        with psycopg.connect(pg.dsn, connect_timeout=5) as conn:
            assert conn.execute("SELECT count(*) FROM fracture").fetchone() == (1,)
