"""Fault fixtures: a real full filesystem for the audit spool, a real PostgreSQL that tests
stop and start, and a helper that waits on conditions (never a sleep-based assert)."""

from __future__ import annotations

import errno
import os
import subprocess
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy.orm import Session, sessionmaker

from app.db.engine import make_engine
from app.db.migrate import downgrade, upgrade


def wait_for(condition: Callable[[], bool], timeout: float, tick: float = 0.01) -> float | None:
    """Seconds until ``condition()`` held, or None if it did not within ``timeout``."""
    start = time.monotonic()
    while True:
        if condition():
            return time.monotonic() - start
        if time.monotonic() - start > timeout:
            return None
        time.sleep(tick)


@pytest.fixture
def full_disk(tmp_path: Path) -> Iterator[Path]:
    """A spool directory on a 64 KiB tmpfs filled to the last byte: every write gets ENOSPC.
    Mounting needs root (CI runs as root); elsewhere the test skips, in CI it fails."""
    if os.geteuid() != 0:
        if os.environ.get("CI"):
            pytest.fail("the full-disk fault tests need root in CI (mount -t tmpfs)")
        pytest.skip("mounting a tmpfs needs root")
    mount = tmp_path / "tiny"
    mount.mkdir()
    done = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=64k", "tmpfs", str(mount)],
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode != 0:
        if os.environ.get("CI"):
            pytest.fail(f"mount -t tmpfs failed: {done.stderr.strip()}")
        pytest.skip(f"cannot mount a tmpfs here: {done.stderr.strip()}")
    try:
        spool = mount / "spool"
        (spool / "rejected").mkdir(parents=True)
        try:
            with (mount / "filler").open("wb") as f:
                while True:
                    f.write(b"\0" * 4096)
                    f.flush()
        except OSError as exc:
            assert exc.errno == errno.ENOSPC
        with pytest.raises(OSError), (spool / "probe").open("wb") as f:  # really full
            f.write(b"x" * 4096)
            f.flush()
        (spool / "probe").unlink(missing_ok=True)
        yield spool
    finally:
        subprocess.run(["umount", "-l", str(mount)], check=False)


@pytest.fixture
def pg(postgres_server: Any) -> Iterator[tuple[Any, sessionmaker[Session]]]:
    """The shared PostgreSQL server, freshly migrated, and a session factory on it; the
    server is running again after the test whatever happened."""
    if not postgres_server.is_running():
        postgres_server.start()
    downgrade(postgres_server.url, "base")
    upgrade(postgres_server.url)
    engine = make_engine(postgres_server.url)
    try:
        yield postgres_server, sessionmaker(engine, expire_on_commit=False)
    finally:
        if not postgres_server.is_running():
            postgres_server.start()
        engine.dispose()
