"""uvicorn servers in subprocesses, always stopped (context manager + explicit registry)."""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx

from bench import appconfig

ROOT = Path(__file__).resolve().parents[1]
_RUNNING: dict[int, subprocess.Popen[bytes]] = {}


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def cpu_seconds(pid: int) -> float | None:
    """utime + stime of a process (Linux ``/proc``), or None when unavailable."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return None
    ticks = os.sysconf("SC_CLK_TCK")
    return (int(fields[11]) + int(fields[12])) / ticks


# Runs uvicorn's CLI after asking the kernel to SIGTERM this child when the harness dies, even
# by SIGKILL (Linux PR_SET_PDEATHSIG; set in the child itself, no preexec_fn in a threaded
# parent); exits at once if the harness is already gone.
_LAUNCHER = """
import ctypes, os, runpy, signal, sys
try:
    ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGTERM)
except (OSError, AttributeError):
    pass
if os.getppid() != int(os.environ.pop("VCF_BENCH_PARENT")):
    sys.exit(1)
runpy.run_module("uvicorn", run_name="__main__", alter_sys=True)
"""


def stop(proc: subprocess.Popen[bytes]) -> None:
    """SIGINT (uvicorn's graceful stop), then SIGTERM, then SIGKILL of its own process group."""
    _RUNNING.pop(proc.pid, None)
    for sig, wait in ((signal.SIGINT, 8.0), (signal.SIGTERM, 4.0)):
        if proc.poll() is not None:
            break
        with contextlib.suppress(ProcessLookupError):
            proc.send_signal(sig)
        with contextlib.suppress(subprocess.TimeoutExpired):
            proc.wait(wait)
    if proc.poll() is None:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)  # the group this harness created for it
        proc.wait(5)


def stop_all() -> None:
    for proc in list(_RUNNING.values()):
        stop(proc)


class Server:
    """A started uvicorn: ``url(path)``, ``pid``, ``log``."""

    def __init__(self, proc: subprocess.Popen[bytes], port: int, log: Path) -> None:
        self.proc = proc
        self.port = port
        self.log = log

    @property
    def pid(self) -> int:
        return self.proc.pid

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    def log_tail(self, chars: int = 1500) -> str:
        try:
            return self.log.read_text(errors="replace")[-chars:]
        except OSError:
            return ""


def _wait_listening(server: Server, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if server.proc.poll() is not None:
            raise RuntimeError(f"uvicorn exited ({server.proc.returncode}):\n{server.log_tail()}")
        with contextlib.suppress(httpx.HTTPError):
            httpx.get(server.url("/"), timeout=1.0)  # any HTTP answer (404 too) means ready
            return
        time.sleep(0.1)
    raise RuntimeError(f"uvicorn not listening after {timeout} s:\n{server.log_tail()}")


@contextlib.contextmanager
def uvicorn_server(
    app_path: str,
    name: str,
    extra_env: Callable[[Path], dict[str, str]] | None = None,
    prepare: Callable[[Path], object] | None = None,
    timeout: float = 60.0,
) -> Iterator[Server]:
    """uvicorn ``app_path`` (one worker, 127.0.0.1, free port, warning log) in a temp working
    directory (so the default SQLite file lands there). ``extra_env(workdir)`` adds variables,
    ``prepare(workdir)`` runs first (e.g. database migrations)."""
    with tempfile.TemporaryDirectory(prefix=f"vcf-bench-{name}-") as workdir:
        env = appconfig.inherited_env()
        env.update(extra_env(Path(workdir)) if extra_env else {})
        env["VCF_BENCH_PARENT"] = str(os.getpid())
        if prepare is not None:
            prepare(Path(workdir))
        env["PYTHONPATH"] = os.pathsep.join(p for p in (str(ROOT), env.get("PYTHONPATH", "")) if p)
        log = Path(workdir) / "uvicorn.log"
        for _attempt in range(3):  # the free port may be taken between probe and bind
            port = free_port()
            cmd = [
                sys.executable, "-c", _LAUNCHER, app_path,
                "--host", "127.0.0.1", "--port", str(port),
                "--workers", "1", "--log-level", "warning",
            ]  # fmt: skip
            with log.open("wb") as out:
                proc = subprocess.Popen(
                    cmd,
                    cwd=workdir,
                    env=env,
                    stdout=out,
                    stderr=subprocess.STDOUT,
                    stdin=subprocess.DEVNULL,
                    start_new_session=True,
                )
            _RUNNING[proc.pid] = proc
            server = Server(proc, port, log)
            try:
                _wait_listening(server, timeout)
                break
            except RuntimeError:
                stop(proc)
                if "address already in use" not in server.log_tail().lower():
                    raise
        else:
            raise RuntimeError(f"could not start {name}: no free port")
        try:
            yield server
        finally:
            stop(proc)
