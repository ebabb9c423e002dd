"""``python -m app.serve`` options: command line, then VCF_CDS_* variables, then
WEB_CONCURRENCY, then defaults; a bad value stops with a message naming the variable."""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from app.db.migrate import upgrade
from app.serve import APP, ServeConfigError, ServeOptions, WorkerConfig, main, options
from tests.scaleout.cluster import ROOT, START_TIMEOUT, wait_for
from tests.support.postgres import free_port


def test_defaults() -> None:
    assert options([], {}) == ServeOptions("127.0.0.1", 8000, 1, 20)


def test_workers_from_vcf_cds_workers_before_web_concurrency() -> None:
    assert options([], {"WEB_CONCURRENCY": "3"}).workers == 3
    assert options([], {"VCF_CDS_WORKERS": "2", "WEB_CONCURRENCY": "3"}).workers == 2
    assert options([], {"VCF_CDS_WORKERS": "", "WEB_CONCURRENCY": "3"}).workers == 3


def test_command_line_wins() -> None:
    env = {"VCF_CDS_WORKERS": "2", "VCF_CDS_PORT": "9000", "VCF_CDS_HOST": "0.0.0.0"}
    got = options(["--workers", "4", "--port", "8080", "--host", "127.0.0.1"], env)
    assert got == ServeOptions("127.0.0.1", 8080, 4, 20)
    assert options([], env) == ServeOptions("0.0.0.0", 9000, 2, 20)


def test_switch_interval_from_the_environment() -> None:
    assert options([], {}).switch_interval_ms == 5.0
    assert options([], {"VCF_CDS_SWITCH_INTERVAL_MS": "1.5"}).switch_interval_ms == 1.5


def test_worker_config_sets_the_switch_interval_in_each_process() -> None:
    """uvicorn calls ``configure_logging`` first in every worker it spawns (and once here)."""
    before = sys.getswitchinterval()
    try:
        config = WorkerConfig(APP, switch_interval_ms=2.0, log_config=None)
        assert sys.getswitchinterval() == pytest.approx(0.002)
        sys.setswitchinterval(before)
        config.configure_logging()  # what a spawned worker runs first
        assert sys.getswitchinterval() == pytest.approx(0.002)
    finally:
        sys.setswitchinterval(before)


@pytest.mark.parametrize(
    ("argv", "env", "named"),
    [
        ([], {"VCF_CDS_WORKERS": "two"}, "VCF_CDS_WORKERS"),
        ([], {"WEB_CONCURRENCY": "0"}, "WEB_CONCURRENCY"),
        ([], {"VCF_CDS_PORT": "70000"}, "VCF_CDS_PORT"),
        ([], {"VCF_CDS_GRACEFUL_TIMEOUT": "-1"}, "VCF_CDS_GRACEFUL_TIMEOUT"),
        ([], {"VCF_CDS_SWITCH_INTERVAL_MS": "fast"}, "VCF_CDS_SWITCH_INTERVAL_MS"),
        ([], {"VCF_CDS_SWITCH_INTERVAL_MS": "0"}, "VCF_CDS_SWITCH_INTERVAL_MS"),
        (["--workers", "0"], {}, "--workers"),
    ],
)
def test_bad_values_name_the_variable(argv: list[str], env: dict[str, str], named: str) -> None:
    with pytest.raises(ServeConfigError, match=named):
        options(argv, env)


def test_main_exits_2_on_a_bad_value(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("VCF_CDS_WORKERS", "many")
    assert main([]) == 2
    assert "VCF_CDS_WORKERS" in capsys.readouterr().err


def test_reuse_port_from_the_environment() -> None:
    assert options([], {}).reuse_port is True
    assert options([], {"VCF_CDS_REUSE_PORT": "false"}).reuse_port is False
    assert options([], {"VCF_CDS_REUSE_PORT": "1"}).reuse_port is True
    with pytest.raises(ServeConfigError, match="VCF_CDS_REUSE_PORT"):
        options([], {"VCF_CDS_REUSE_PORT": "sometimes"})


def _children(pid: int) -> list[int]:
    try:
        text = Path(f"/proc/{pid}/task/{pid}/children").read_text()
    except OSError:
        return []
    return [int(p) for p in text.split()]


def _socket_inodes(pid: int) -> set[str]:
    inodes = set()
    for fd in Path(f"/proc/{pid}/fd").iterdir():
        with contextlib.suppress(OSError):
            target = os.readlink(fd)
            if target.startswith("socket:["):
                inodes.add(target[8:-1])
    return inodes


def _inodes_in_state(port: int, state: str) -> set[str]:
    """Inodes of the TCP sockets on local ``port`` in ``state`` (/proc/net/tcp: 01 established,
    0A listening)."""
    inodes = set()
    for line in Path("/proc/net/tcp").read_text().splitlines()[1:]:
        cols = line.split()
        if int(cols[1].rsplit(":", 1)[1], 16) == port and cols[3] == state:
            inodes.add(cols[9])
    return inodes


def _established_inodes(port: int) -> set[str]:
    """Inodes of the server side of established TCP connections to ``port``."""
    return _inodes_in_state(port, "01")


@pytest.mark.skipif(not Path("/proc/net/tcp").exists(), reason="needs Linux /proc")
def test_two_workers_share_connections_opened_together(tmp_path: Path) -> None:
    """16 keep-alive connections opened in a burst land on both workers (SO_REUSEPORT: the
    kernel spreads them by address hash; all on one worker has probability 2 * 2^-16). With
    one shared listening socket the first worker to wake accepts every one waiting."""
    url = f"sqlite:///{tmp_path}/serve.db"
    upgrade(url)
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("VCF_CDS_")}
    env |= {
        "VCF_CDS_ENVIRONMENT": "test",
        "VCF_CDS_AUTH_REQUIRED": "false",
        "VCF_CDS_AUDIT_SECRET": "serve-test-secret",
        "VCF_CDS_DATABASE_URL": url,
        "VCF_CDS_AUDIT_SPOOL_DIR": str(tmp_path / "spool"),
    }
    log = (tmp_path / "serve.log").open("wb")
    proc = subprocess.Popen(
        [sys.executable, "-m", "app.serve", "--workers", "2", "--port", str(port)],
        cwd=ROOT,
        env=env,
        stdin=subprocess.DEVNULL,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    log.close()
    base = f"http://127.0.0.1:{port}"
    conns: list[socket.socket] = []
    try:

        def both_workers_ready() -> bool:
            assert proc.poll() is None, (tmp_path / "serve.log").read_text()[-3000:]
            listening = _inodes_in_state(port, "0A")
            # each worker listens on a socket of its own once its server has started; a
            # worker still starting would leave the whole burst to the other one
            if sum(1 for pid in _children(proc.pid) if _socket_inodes(pid) & listening) < 2:
                return False
            try:  # each new connection goes to either worker: ask until a few answered
                return all(
                    httpx.get(base + "/api/v1/health/ready", timeout=2).status_code == 200
                    for _ in range(8)
                )
            except httpx.HTTPError:
                return False

        wait_for("two workers ready", both_workers_ready, START_TIMEOUT, 0.2)
        # connect all 16 in a burst (the kernel completes the handshakes before any worker
        # accepts), as a load balancer or a load generator opening its pool does
        conns = [socket.create_connection(("127.0.0.1", port), timeout=10) for _ in range(16)]
        for conn in conns:
            conn.sendall(b"GET /api/v1/health/live HTTP/1.1\r\nHost: t\r\n\r\n")
        assert all(conn.recv(64).startswith(b"HTTP/1.1 200") for conn in conns)
        established = _established_inodes(port)
        held = [len(_socket_inodes(pid) & established) for pid in _children(proc.pid)]
        assert sum(held) == 16, held
        assert all(n > 0 for n in sorted(held)[-2:]), f"connections per worker: {held}"
    finally:
        for conn in conns:
            conn.close()
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(60)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(10)
