"""A hostile FHIR server on loopback: answers every GET with one prepared body (a gzip bomb,
a huge Bundle). It runs in its own process, so serving costs the service's process nothing
(no GIL share): what the tests measure is the service alone.

Command line: ``python -m tests.faults.fhir_loopback BODY_FILE HEADERS_JSON`` prints the port.
"""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any


def _serve(body: bytes, headers: dict[str, str]) -> None:
    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            self.send_response(200)
            for name, value in {"Content-Type": "application/fhir+json", **headers}.items():
                self.send_header(name, value)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            try:
                for start in range(0, len(body), 65536):
                    self.wfile.write(body[start : start + 65536])
            except (BrokenPipeError, ConnectionResetError):
                pass  # the client stopped reading: what a capped reader does

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    print(server.server_address[1], flush=True)
    server.serve_forever()


@contextmanager
def serving(body: bytes, headers: dict[str, str], tmp: Path) -> Iterator[str]:
    """Serve ``body`` with ``headers`` for every GET; yields the base URL (``.../fhir``)."""
    path = tmp / "fhir-body"
    path.write_bytes(body)
    proc = subprocess.Popen(
        [sys.executable, "-m", "tests.faults.fhir_loopback", str(path), json.dumps(headers)],
        stdout=subprocess.PIPE,
        text=True,
        cwd=Path(__file__).resolve().parents[2],
    )
    try:
        assert proc.stdout is not None
        port = int(proc.stdout.readline())  # blocks until the server listens
        yield f"http://127.0.0.1:{port}/fhir"
    finally:
        proc.terminate()
        proc.wait(10)


if __name__ == "__main__":
    _serve(Path(sys.argv[1]).read_bytes(), json.loads(sys.argv[2]))
