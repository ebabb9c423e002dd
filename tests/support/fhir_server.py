"""Run a real FHIR R4 server (sekmet-fhir over SQLite) on loopback for tests."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import Any

import httpx
import pytest

ROOT = Path(__file__).resolve().parents[2]
SEKMET = ROOT / ".venv-sekmet" / "bin" / "sekmet"
FHIR_JSON = "application/fhir+json"


def in_ci() -> bool:
    """CI runs set CI=true (any value but empty, 0, false or no)."""
    return os.environ.get("CI", "").strip().lower() not in ("", "0", "false", "no")


def require_sekmet() -> None:
    """Skip the calling test when sekmet-fhir is not installed here, with the reason; in CI a
    missing server is a failure, never a skip (the guide: real servers are required in CI)."""
    if SEKMET.is_file():
        return
    reason = f"{SEKMET} is missing: run `bash scripts/setup_sekmet.sh` to install the FHIR server"
    if in_ci():
        pytest.fail(f"{reason} (required in CI)", pytrace=False)
    pytest.skip(reason)


class FhirServerError(RuntimeError):
    """The sekmet server could not be started or a request to it failed."""


def free_port() -> int:
    """Return a TCP port that is free on 127.0.0.1 right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _tail(path: Path, limit: int = 4000) -> str:
    try:
        return path.read_text(errors="replace")[-limit:]
    except OSError:
        return "<no log>"


def _terminate(proc: subprocess.Popen[bytes], grace: float = 10.0) -> None:
    """SIGTERM the server's process group, SIGKILL it if it lingers, and reap the leader."""
    for sig in (signal.SIGTERM, signal.SIGKILL):
        with suppress(ProcessLookupError):
            os.killpg(proc.pid, sig)  # the server leads its own session, children included
        try:
            proc.wait(timeout=grace)
            break
        except subprocess.TimeoutExpired:
            continue
    with suppress(ProcessLookupError):  # anything that outlived the leader
        os.killpg(proc.pid, signal.SIGKILL)


def _config(tmp_dir: Path, port: int) -> Path:
    base_url = f"http://127.0.0.1:{port}/fhir"
    settings = {
        "base_url": base_url,
        "host": "127.0.0.1",
        "port": port,
        "data_dir": str(tmp_dir / "data"),
        "db_path": str(tmp_dir / "sekmet.db"),
        "own_private_key_path": str(tmp_dir / "keys" / "sekmet_private.pem"),
        # the simulator reacts to MedicationRequest & co. by writing resources a few seconds later
        "simulator": {"enabled": False},
    }
    path = tmp_dir / "settings.yaml"
    path.write_text(json.dumps(settings, indent=2))  # JSON is valid YAML
    return path


def _start(tmp_dir: Path, port: int, timeout: float) -> tuple[subprocess.Popen[bytes], str]:
    base_url = f"http://127.0.0.1:{port}/fhir"
    config = _config(tmp_dir, port)
    env = {k: v for k, v in os.environ.items() if not k.startswith("SEKMET_")}
    env |= {"SEKMET_CONFIG": str(config), "PYTHONUNBUFFERED": "1"}
    log_path = tmp_dir / f"sekmet-{port}.log"
    with log_path.open("ab") as log:
        proc = subprocess.Popen(
            [
                str(SEKMET),
                "serve",
                "--config",
                str(config),
                "--host",
                "127.0.0.1",
                "--port",
                str(port),
            ],
            cwd=tmp_dir,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    try:
        _wait_ready(proc, base_url, log_path, timeout)
    except BaseException:
        _terminate(proc)
        raise
    return proc, base_url


def _wait_ready(
    proc: subprocess.Popen[bytes], base_url: str, log_path: Path, timeout: float
) -> None:
    """Poll [base]/metadata until this very server answers, it exits, or timeout passes."""
    deadline = time.monotonic() + timeout
    with httpx.Client(timeout=2.0, trust_env=False) as client:
        while time.monotonic() < deadline:
            if proc.poll() is not None:
                raise FhirServerError(
                    f"sekmet exited with code {proc.returncode} before serving {base_url}; "
                    f"its output:\n{_tail(log_path)}"
                )
            try:
                r = client.get(f"{base_url}/metadata", headers={"Accept": FHIR_JSON})
                # it names its own base URL: guards against another server on a stolen port
                if r.status_code == 200 and r.json()["implementation"]["url"] == base_url:
                    return
            except (httpx.HTTPError, ValueError, KeyError, TypeError):
                pass
            time.sleep(0.1)
    raise FhirServerError(
        f"sekmet was not ready on {base_url} within {timeout:g}s; its output:\n{_tail(log_path)}"
    )


@contextmanager
def run_fhir_server(tmp_dir: Path | str, timeout: float = 30.0) -> Iterator[str]:
    """Run sekmet with its SQLite database in tmp_dir, yield its FHIR base URL, stop it at exit.
    Not installed: the test skips locally and fails in CI (:func:`require_sekmet`)."""
    require_sekmet()
    tmp = Path(tmp_dir).resolve()
    tmp.mkdir(parents=True, exist_ok=True)
    attempts = 3
    for attempt in range(1, attempts + 1):
        try:
            proc, base_url = _start(tmp, free_port(), timeout)
            break
        except FhirServerError as e:
            # another process may have taken the free port between probing and binding it
            if attempt == attempts or "address already in use" not in str(e).lower():
                raise
    try:
        yield base_url
    finally:
        _terminate(proc)


def seed_transaction(
    base_url: str, bundle: dict[str, Any], timeout: float = 30.0
) -> dict[str, Any]:
    """POST a transaction Bundle to base_url; return the transaction-response Bundle."""
    if bundle.get("resourceType") != "Bundle" or bundle.get("type") != "transaction":
        raise ValueError("seed_transaction expects a Bundle of type 'transaction'")
    r = httpx.post(
        base_url,
        json=bundle,
        headers={"Content-Type": FHIR_JSON, "Accept": FHIR_JSON},
        timeout=timeout,
        trust_env=False,
    )
    if r.status_code != 200:
        raise FhirServerError(f"transaction failed with HTTP {r.status_code}: {r.text[:2000]}")
    body: dict[str, Any] = r.json()
    if body.get("type") != "transaction-response":
        raise FhirServerError(f"unexpected transaction reply: {r.text[:2000]}")
    return body


def seed_resources(base_url: str, resources: list[dict[str, Any]]) -> dict[str, Any]:
    """PUT each resource (by its type and id) in one transaction; the transaction response."""
    entry = [
        {"resource": r, "request": {"method": "PUT", "url": f"{r['resourceType']}/{r['id']}"}}
        for r in resources
    ]
    return seed_transaction(
        base_url, {"resourceType": "Bundle", "type": "transaction", "entry": entry}
    )
