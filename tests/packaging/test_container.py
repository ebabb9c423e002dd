"""The container without a Docker daemon: the Dockerfile checked statically, and its entry
point run as a subprocess with the variables docs/container.md lists, under a non-root uid (when
the tests run as root), from a working directory it cannot write, with only the data directory
writable: it must start, answer ready, and write nothing outside the data directory."""

from __future__ import annotations

import functools
import json
import os
import shlex
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.support.fhir_server import free_port

ROOT = Path(__file__).resolve().parents[2]
ENTRYPOINT = ROOT / "scripts" / "docker-entrypoint.sh"
NOBODY = 65534
EX_CONFIG = 78


def dockerfile() -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) with continuation lines joined and comments dropped."""
    lines: list[tuple[str, str]] = []
    pending = ""
    for raw in (ROOT / "Dockerfile").read_text().splitlines():
        line = raw.strip()
        if not pending and (not line or line.startswith("#")):
            continue
        if line.endswith("\\"):
            pending += line[:-1] + " "
            continue
        full = pending + line
        pending = ""
        word, _, rest = full.partition(" ")
        lines.append((word.upper(), rest.strip()))
    return lines


def image_env() -> dict[str, str]:
    env: dict[str, str] = {}
    for word, args in dockerfile():
        if word == "ENV":
            for item in shlex.split(args):
                key, _, value = item.partition("=")
                env[key] = value
    return env


# --- static checks of the Dockerfile -------------------------------------------------------


def test_runs_as_a_non_root_user() -> None:
    users = [args for word, args in dockerfile() if word == "USER"]
    assert users, "no USER: the service would run as root"
    user = users[-1].split(":")[0]
    assert user not in ("root", "0") and int(user) >= 1000


def test_writes_only_to_the_declared_volume() -> None:
    volumes = [json.loads(args) for word, args in dockerfile() if word == "VOLUME"]
    assert volumes == [["/data"]]
    env = image_env()
    assert env["VCF_CDS_DATA_DIR"] == "/data"
    assert env["VCF_CDS_DATABASE_URL"] == "sqlite:////data/vcf_cds.db"
    assert env["VCF_CDS_AUDIT_SPOOL_DIR"].startswith("/data/")
    assert env["PYTHONDONTWRITEBYTECODE"] == "1"  # no __pycache__ under the read-only /app
    assert env["VCF_CDS_MIGRATE_ON_START"] == "true"  # a fresh volume is migrated at start


def test_health_check_and_entrypoint() -> None:
    instructions = dict(dockerfile())
    assert "/api/v1/health/ready" in instructions["HEALTHCHECK"]
    [entrypoint] = json.loads(instructions["ENTRYPOINT"])
    copies = [args.split() for word, args in dockerfile() if word == "COPY"]
    assert ["scripts/docker-entrypoint.sh", entrypoint] in copies
    assert os.access(ENTRYPOINT, os.X_OK)


def test_installs_from_the_hashed_lock() -> None:
    runs = [args for word, args in dockerfile() if word == "RUN"]
    installs = [r for r in runs if "pip install" in r]
    assert installs == [r for r in installs if "-r requirements.lock" in r], installs
    assert installs and all("--require-hashes" in r for r in installs)
    copies = [args.split() for word, args in dockerfile() if word == "COPY"]
    assert ["requirements.lock", "./"] in copies
    # every COPY source exists and is not excluded from the build context
    ignored = (ROOT / ".dockerignore").read_text().split()
    for *sources, _dest in copies:
        for source in sources:
            assert (ROOT / source).exists(), source
            assert source.split("/")[0] not in ignored, source


# --- the entry point, run as the container would run it -------------------------------------


@functools.cache
def _identity() -> tuple[tuple[str, ...], int | None, str]:
    """How to run the entry point without root's powers: (command prefix, uid, description).

    As root: the uid ``nobody`` when it can execute this Python; otherwise (an interpreter under
    root's 0700 home, as on the CI machines) uid 0 with every capability dropped (``setpriv``),
    so file permissions bind it as they bind a non-root user. Not root: ourselves."""
    if os.geteuid() != 0:
        return (), None, f"uid {os.geteuid()}"
    try:
        usable = subprocess.run([sys.executable, "-c", ""], user=NOBODY).returncode == 0
    except PermissionError:
        usable = False
    if usable:
        return (), NOBODY, "uid nobody"
    setpriv = shutil.which("setpriv")
    if setpriv is None:
        pytest.skip("running as root, nobody cannot run this Python and setpriv is missing")
    return (
        (setpriv, "--inh-caps=-all", "--bounding-set=-all", "--no-new-privs"),
        None,
        ("uid 0 without capabilities"),
    )


def _uid() -> int | None:
    return _identity()[1]


def _written_outside(since: float, data: Path) -> list[str]:
    """Files of the repository modified since ``since`` (virtualenvs and .git excepted)."""
    skip = {".git", ".venv", ".venv-sekmet", ".venv-lock"}
    found = []
    for dirpath, dirnames, filenames in os.walk(ROOT):
        dirnames[:] = [d for d in dirnames if d not in skip]
        for name in filenames:
            path = Path(dirpath) / name
            try:
                if path.stat().st_mtime > since and data not in path.parents:
                    found.append(str(path.relative_to(ROOT)))
            except OSError:
                continue
    return found


@pytest.fixture
def sandbox() -> Iterator[dict[str, Path]]:
    """A read-only working directory, a writable data directory (the volume), a config dir."""
    base = Path(tempfile.mkdtemp(prefix="vcf-cds-container-"))
    dirs = {name: base / name for name in ("work", "data", "config")}
    for path in dirs.values():
        path.mkdir()
    uid = _uid()
    if uid is not None:
        os.chown(dirs["data"], uid, uid)
    (dirs["config"] / "issuers.json").write_text(
        json.dumps({"issuers": [{"iss": "https://ehr.example.org", "jwks": {"keys": []}}]})
    )
    for path in (base, dirs["config"], dirs["work"]):
        path.chmod(0o555)
    (dirs["config"] / "issuers.json").chmod(0o444)
    try:
        yield dirs
    finally:
        for path in (base, dirs["config"], dirs["work"]):
            path.chmod(0o755)
        shutil.rmtree(base)


def _environment(dirs: dict[str, Path], port: int, **overrides: str) -> dict[str, str]:
    """The image's ENV with /data mapped to the sandbox, plus what docs/container.md asks for."""
    env = {
        "PATH": f"{Path(sys.executable).parent}:/usr/bin:/bin",
        "HOME": "/nonexistent",
        "LANG": "C.UTF-8",
    }
    for key, value in image_env().items():
        env[key] = value.replace("/data", str(dirs["data"])).replace("/app", str(ROOT))
    env.update(
        {
            "PORT": str(port),
            "HOST": "127.0.0.1",
            "VCF_CDS_AUDIT_SECRET": "a-random-secret-of-at-least-32-bytes-0123456789",
            "VCF_CDS_PUBLIC_BASE_URL": f"http://127.0.0.1:{port}",
            "VCF_CDS_AUTH_CONFIG_FILE": str(dirs["config"] / "issuers.json"),
        }
    )
    for key, value in overrides.items():
        if value == "":
            env.pop(key, None)
        else:
            env[key] = value
    return env


def _run(dirs: dict[str, Path], env: dict[str, str], **kw: Any) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [*_identity()[0], "/bin/sh", str(ENTRYPOINT)],
        cwd=dirs["work"],
        env=env,
        user=_uid(),
        group=_uid(),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
        **kw,
    )


def _stop(proc: subprocess.Popen[str]) -> str:
    if proc.poll() is None:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
    return proc.stdout.read() if proc.stdout else ""


def _wait_ready(proc: subprocess.Popen[str], url: str, timeout: float = 90.0) -> httpx.Response:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            pytest.fail(f"the service exited with {proc.returncode}:\n{_stop(proc)}")
        try:
            r = httpx.get(url, timeout=2.0)
            if r.status_code == 200:
                return r
        except httpx.TransportError:
            pass
        time.sleep(0.2)
    pytest.fail(f"not ready within {timeout:g}s:\n{_stop(proc)}")


def test_starts_with_the_documented_variables_and_writes_only_the_volume(
    sandbox: dict[str, Path],
) -> None:
    port = free_port()
    started = time.time()
    proc = _run(sandbox, _environment(sandbox, port))
    try:
        base = f"http://127.0.0.1:{port}"
        ready = _wait_ready(proc, f"{base}/api/v1/health/ready").json()
        assert ready["checks"] == {"knowledge": True, "database": True, "schema": True}
        # authentication is on (production): a call without a token is a bare 401
        assert httpx.get(f"{base}/cds-services", timeout=5).status_code == 401
        assert httpx.get(f"{base}/docs", timeout=5).status_code == 200
    finally:
        output = _stop(proc)
    # graceful stop on SIGTERM (uvicorn re-raises the signal after its shutdown)
    assert proc.returncode in (0, -signal.SIGTERM), output
    assert "Application shutdown complete" in output, output
    assert list(sandbox["work"].iterdir()) == []
    assert _written_outside(started, sandbox["data"]) == []
    written = {p.relative_to(sandbox["data"]).parts[0] for p in sandbox["data"].rglob("*")}
    assert "vcf_cds.db" in written and "spool" in written, written
    assert written <= {"vcf_cds.db", "vcf_cds.db-wal", "vcf_cds.db-shm", "spool"}, written
    if _uid() is not None:
        assert (sandbox["data"] / "vcf_cds.db").stat().st_uid == NOBODY


@pytest.mark.parametrize(
    ("overrides", "named"),
    [
        ({"VCF_CDS_AUDIT_SECRET": ""}, ["VCF_CDS_AUDIT_SECRET"]),
        ({"VCF_CDS_AUTH_CONFIG_FILE": ""}, ["VCF_CDS_AUTH_CONFIG_FILE", "issuers.json"]),
        ({"VCF_CDS_AUTH_CONFIG_FILE": "/nonexistent/issuers.json"}, ["cannot be read"]),
        ({"VCF_CDS_DATA_DIR": "/proc/vcf-cds-data"}, ["/proc/vcf-cds-data is not writable"]),
        ({"VCF_CDS_ENVIRONMENT": "prod"}, ["VCF_CDS_ENVIRONMENT"]),
        (
            {"VCF_CDS_AUDIT_SECRET": "", "VCF_CDS_AUTH_CONFIG_FILE": ""},
            ["VCF_CDS_AUDIT_SECRET", "VCF_CDS_AUTH_CONFIG_FILE"],  # every problem at once
        ),
    ],
)
def test_incomplete_configuration_stops_with_every_missing_variable_named(
    sandbox: dict[str, Path], overrides: dict[str, str], named: list[str]
) -> None:
    env = _environment(sandbox, free_port(), **overrides)
    if "VCF_CDS_DATA_DIR" in overrides:  # the image derives both paths from the volume
        env["VCF_CDS_DATABASE_URL"] = f"sqlite:///{overrides['VCF_CDS_DATA_DIR']}/vcf_cds.db"
        env["VCF_CDS_AUDIT_SPOOL_DIR"] = f"{overrides['VCF_CDS_DATA_DIR']}/spool"
    proc = _run(sandbox, env)
    try:
        proc.wait(timeout=30)
    finally:
        output = _stop(proc)
    assert proc.returncode == EX_CONFIG, output
    for fragment in named:
        assert fragment in output, output
    assert "docs/container.md" in output


def test_development_mode_needs_no_secret_or_issuers(sandbox: dict[str, Path]) -> None:
    port = free_port()
    env = _environment(
        sandbox,
        port,
        VCF_CDS_ENVIRONMENT="development",
        VCF_CDS_AUDIT_SECRET="",
        VCF_CDS_AUTH_CONFIG_FILE="",
    )
    proc = _run(sandbox, env)
    try:
        _wait_ready(proc, f"http://127.0.0.1:{port}/api/v1/health/ready")
        assert httpx.get(f"http://127.0.0.1:{port}/cds-services", timeout=5).status_code == 200
    finally:
        _stop(proc)
