"""Run a throwaway PostgreSQL cluster (Debian's server binaries) on 127.0.0.1 for tests.

As root the cluster runs as the ``postgres`` OS user (PostgreSQL refuses to run as root).
Command line: ``python -m tests.support.postgres start DIR`` prints the URL; ``stop DIR`` stops it.
"""

from __future__ import annotations

import glob
import os
import pwd
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from types import TracebackType

ROLE = "vcfcds"
PASSWORD = "vcfcds"
DATABASE = "vcfcds"
SUPERUSER = "postgres"
TIMEOUT = 60  # seconds for any one pg_ctl/initdb/psql step


class PostgresError(RuntimeError):
    """The test cluster could not be created, started or stopped."""


def find_bin_dir() -> Path:
    """Directory of initdb/pg_ctl/postgres: $PG_BIN_DIR or the newest /usr/lib/postgresql/*/bin."""
    if env := os.environ.get("PG_BIN_DIR"):
        candidates = [env]
    else:
        found = glob.glob("/usr/lib/postgresql/*/bin")
        candidates = sorted(
            found, key=lambda p: [int(n) for n in re.findall(r"\d+", p)], reverse=True
        )
    for path in candidates:
        if all(
            os.access(Path(path, exe), os.X_OK) for exe in ("initdb", "pg_ctl", "postgres", "psql")
        ):
            return Path(path)
    raise PostgresError(
        "PostgreSQL server binaries not found: run `bash scripts/install_postgres.sh`"
    )


def free_port() -> int:
    """Return a TCP port that is free on 127.0.0.1 right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _run_as() -> pwd.struct_passwd | None:
    """The OS user to run the server as (``postgres`` when we are root), else None."""
    if os.geteuid() != 0:
        return None
    try:
        return pwd.getpwnam("postgres")
    except KeyError:
        raise PostgresError(
            "running as root but there is no `postgres` OS user: "
            "run `bash scripts/install_postgres.sh`"
        ) from None


class PostgresServer:
    """A PostgreSQL cluster in a private directory, listening only on 127.0.0.1:port.

    ``url`` is a SQLAlchemy URL for role/database ``vcfcds`` (password ``vcfcds``, scram auth);
    ``dsn`` is the same as a libpq URI for psycopg.  Use as a context manager or call
    ``start()``/``stop()`` yourself and ``close()`` at the end (stops it and deletes the files).
    """

    def __init__(self, base_dir: Path | str | None = None, port: int | None = None) -> None:
        self._owns_dir = base_dir is None
        self.base_dir = Path(base_dir or tempfile.mkdtemp(prefix="vcfcds-pg-")).resolve()
        self.data_dir = self.base_dir / "data"
        self.log_file = self.base_dir / "postgres.log"
        self.port = port or free_port()
        self.bin_dir = find_bin_dir()
        self._user = _run_as()

    # ---------------- public API ----------------

    @property
    def dsn(self) -> str:
        """libpq connection URI (for psycopg.connect)."""
        return f"postgresql://{ROLE}:{PASSWORD}@127.0.0.1:{self.port}/{DATABASE}"

    @property
    def url(self) -> str:
        """SQLAlchemy URL using the psycopg (v3) driver."""
        return f"postgresql+psycopg://{ROLE}:{PASSWORD}@127.0.0.1:{self.port}/{DATABASE}"

    def is_running(self) -> bool:
        """True if pg_ctl reports the server as running."""
        if not (self.data_dir / "PG_VERSION").exists():
            return False
        r = self._pg(["pg_ctl", "status", "-D", str(self.data_dir)], check=False)
        return r.returncode == 0

    def start(self) -> PostgresServer:
        """Create the cluster on first use, then start it and wait until it accepts connections."""
        if not (self.data_dir / "PG_VERSION").exists():
            self._init_cluster()
            self._start_server(new_cluster=True)
            self._create_role_and_db()
        elif not self.is_running():
            self._start_server()
        return self

    def stop(self) -> None:
        """Stop the server (fast shutdown, data kept); kill it if it does not stop in time."""
        if not (self.data_dir / "PG_VERSION").exists():
            return
        for mode in ("fast", "immediate"):
            args = ["pg_ctl", "stop", "-D", str(self.data_dir), "-m", mode, "-w", "-t", "30"]
            if self._pg(args, check=False).returncode == 0 or not self.is_running():
                return
        self._kill()

    def restart(self) -> None:
        """Stop then start the same cluster on the same port."""
        self.stop()
        self.start()

    def close(self) -> None:
        """Stop the server and delete its directory if this object created it."""
        try:
            self.stop()
        finally:
            if self._owns_dir:
                shutil.rmtree(self.base_dir, ignore_errors=True)

    def __enter__(self) -> PostgresServer:
        try:
            return self.start()
        except BaseException:
            self.close()
            raise

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    # ---------------- internals ----------------

    def _pg(
        self, args: Sequence[str], check: bool = True, input_text: str | None = None
    ) -> subprocess.CompletedProcess[str]:
        """Run a PostgreSQL binary, as the ``postgres`` user when we are root."""
        cmd = [str(self.bin_dir / args[0]), *args[1:]]
        if self._user is not None:
            cmd = ["runuser", "-u", self._user.pw_name, "--", *cmd]
        env = {**os.environ, "LC_ALL": "C.UTF-8", "LANG": "C.UTF-8", "PGTZ": "UTC"}
        for var in ("PGHOST", "PGPORT", "PGUSER", "PGDATABASE", "PGPASSWORD", "PGDATA"):
            env.pop(var, None)
        try:
            r = subprocess.run(
                cmd,
                cwd=self.base_dir,
                env=env,
                input=input_text,
                capture_output=True,
                text=True,
                timeout=TIMEOUT,
                stdin=None if input_text is not None else subprocess.DEVNULL,
            )
        except subprocess.TimeoutExpired as e:
            raise PostgresError(f"{args[0]} timed out after {TIMEOUT}s{self._log_tail()}") from e
        if check and r.returncode != 0:
            what = " ".join(args[:2])
            output = r.stderr or r.stdout
            raise PostgresError(f"{what} failed ({r.returncode}): {output}{self._log_tail()}")
        return r

    def _log_tail(self) -> str:
        try:
            return "\nserver log:\n" + self.log_file.read_text(errors="replace")[-3000:]
        except OSError:
            return ""

    def _init_cluster(self) -> None:
        self.base_dir.mkdir(parents=True, exist_ok=True)
        if self._user is not None:
            os.chown(self.base_dir, self._user.pw_uid, self._user.pw_gid)
            probe = ["runuser", "-u", self._user.pw_name, "--", "test", "-w", str(self.base_dir)]
            if subprocess.run(probe, check=False).returncode != 0:
                raise PostgresError(
                    f"the postgres OS user cannot write {self.base_dir}: "
                    "every parent directory must be searchable by it"
                )
        initdb = [
            "initdb",
            "-D",
            str(self.data_dir),
            "-U",
            SUPERUSER,
            "--auth-local=trust",
            "--auth-host=scram-sha-256",
            "--encoding=UTF8",
            "--locale=C.UTF-8",
            "--no-sync",
        ]
        self._pg(initdb)
        settings = {
            "listen_addresses": "'127.0.0.1'",
            "port": str(self.port),
            "unix_socket_directories": f"'{self.base_dir}'",
            "max_connections": "50",
            "shared_buffers": "32MB",
            "fsync": "off",
            "synchronous_commit": "off",
            "full_page_writes": "off",
            "timezone": "'UTC'",
        }
        self._configure(settings)

    def _configure(self, settings: dict[str, str]) -> None:
        """Append settings to postgresql.conf (later lines win; appending keeps the owner)."""
        with (self.data_dir / "postgresql.conf").open("a") as f:
            f.write("".join(f"{k} = {v}\n" for k, v in settings.items()))

    def _start_server(self, new_cluster: bool = False) -> None:
        args = [
            "pg_ctl",
            "start",
            "-D",
            str(self.data_dir),
            "-l",
            str(self.log_file),
            "-w",
            "-t",
            "30",
        ]
        for attempt in range(3):
            log_size = self.log_file.stat().st_size if self.log_file.exists() else 0
            r = self._pg(args, check=False)
            if r.returncode == 0:
                return
            self._kill()
            log = (
                self.log_file.read_text(errors="replace")[log_size:]
                if self.log_file.exists()
                else ""
            )
            if not (new_cluster and attempt < 2 and "could not bind" in log):
                raise PostgresError(
                    f"pg_ctl start failed: {r.stderr or r.stdout}{self._log_tail()}"
                )
            # the probed port was taken before the server bound it: a fresh cluster may move
            self.port = free_port()
            self._configure({"port": str(self.port)})

    def _create_role_and_db(self) -> None:
        sql = (
            f"CREATE ROLE {ROLE} LOGIN PASSWORD '{PASSWORD}';\n"
            f"CREATE DATABASE {DATABASE} OWNER {ROLE};\n"
        )
        psql = ["psql", "-X", "-q", "-v", "ON_ERROR_STOP=1", "-h", str(self.base_dir)]
        self._pg([*psql, "-p", str(self.port), "-U", SUPERUSER, "-d", "postgres"], input_text=sql)

    def _kill(self) -> None:
        """SIGKILL the postmaster named in postmaster.pid (its backends exit with it)."""
        try:
            pid = int((self.data_dir / "postmaster.pid").read_text().split()[0])
            cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().decode(errors="replace")
        except (OSError, ValueError, IndexError):
            return
        if str(self.data_dir) not in cmdline:  # stale pid file: that pid is not our postmaster
            return
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            return
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                os.kill(pid, 0)
            except ProcessLookupError:
                return
            time.sleep(0.05)


def _main(argv: list[str]) -> int:
    """``start DIR`` (prints the SQLAlchemy URL) or ``stop DIR``."""
    if len(argv) != 2 or argv[0] not in ("start", "stop"):
        print("usage: python -m tests.support.postgres start|stop DIR", file=sys.stderr)
        return 2
    command, base = argv[0], Path(argv[1])
    port_file = base / "port"
    port = int(port_file.read_text()) if port_file.exists() else None
    server = PostgresServer(base, port)
    try:
        if command == "start":
            server.start()
            port_file.write_text(str(server.port))
            print(server.url)
        else:
            server.stop()
    except PostgresError as e:
        print(f"error: {e}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(_main(sys.argv[1:]))
