"""The CDS Hooks trust model for ``jku`` through the ASGI app, with tokens shaped like the
sandbox's (jku https://sandbox.cds-hooks.org/.well-known/jwks.json, kid, ES384/RS384, jti,
aud = the exact URL). No network: keys are configured statically, or the JWK Set is served
over TLS on loopback by a real HTTPS server with a certificate made here."""

from __future__ import annotations

import datetime as dt
import ipaddress
import json
import logging
import ssl
import threading
import warnings
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
import pytest
import respx
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from app.main import create_app
from app.security.client_auth import HttpsJwksFetcher, JwksCache
from app.settings import Settings
from tests.security.sandbox_tokens import (
    BASE,
    SANDBOX_ISS,
    SANDBOX_JKU,
    Client,
    write_auth_config,
)
from tests.support.postgres import free_port

with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    from fastapi.testclient import TestClient

DISCOVERY = "/cds-services"


def app_with(settings: Settings, tmp_path: Path, issuers: list[dict[str, Any]]) -> TestClient:
    config = write_auth_config(tmp_path / "auth.json", issuers)
    s = settings.model_copy(
        update={
            "auth_required": True,
            "auth_config_file": config,
            "public_base_url": BASE,
            "environment": "production",
        }
    )
    return TestClient(create_app(s))


def auth_failures(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.name == "vcf_cds.auth"]


@pytest.mark.parametrize("alg", ["ES384", "RS384"])
def test_sandbox_token_with_statically_configured_keys_is_accepted(
    settings: Settings, tmp_path: Path, alg: str
) -> None:
    """Issue 10.1: the kid is configured, so the key is used whatever jku says (the jku is not
    allow-listed and is never fetched)."""
    sandbox = Client(SANDBOX_ISS, alg, f"sandbox-{alg}", jku=SANDBOX_JKU)
    with (
        app_with(settings, tmp_path, [sandbox.issuer_config()]) as client,
        respx.mock(assert_all_mocked=True) as mock,
    ):
        r = client.get(DISCOVERY, headers=sandbox.bearer(DISCOVERY))
        assert r.status_code == 200 and len(r.json()["services"]) == 3
        assert not mock.calls


def test_allow_listed_but_unreachable_jku_is_logged_as_a_fetch_failure(
    settings: Settings, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    jku = f"https://127.0.0.1:{free_port()}/jwks.json"  # nothing listens there
    sandbox = Client(SANDBOX_ISS, "ES384", "rotated-key", jku=jku)
    with (
        caplog.at_level(logging.INFO),
        app_with(settings, tmp_path, [{"iss": SANDBOX_ISS, "jku_allow": [jku]}]) as client,
    ):
        r = client.get(DISCOVERY, headers=sandbox.bearer(DISCOVERY))
        assert r.status_code == 401 and r.content == b""
        # within the refetch interval the same cause is reported, not "unknown kid"
        assert client.get(DISCOVERY, headers=sandbox.bearer(DISCOVERY)).status_code == 401
    first, second = auth_failures(caplog)
    assert first.startswith("client authentication failed: jwks_fetch_failed")
    assert jku in first and "ConnectError" in first
    assert second.startswith("client authentication failed: jwks_fetch_failed")
    assert "last fetch" in second and "unknown_kid" not in first + second


# --------------------------------------------------------------------------- jku on loopback


def _self_signed(tmp_path: Path) -> tuple[Path, Path]:
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(hours=1))
        .add_extension(
            x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = tmp_path / "cert.pem", tmp_path / "key.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return cert_path, key_path


class JwksServer:
    """A real HTTPS server on 127.0.0.1 serving one JWK Set at /jwks.json."""

    def __init__(self, tmp_path: Path) -> None:
        self.document: dict[str, Any] = {"keys": []}
        self.requests = 0
        cert, key = _self_signed(tmp_path)
        owner = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                owner.requests += 1
                body = json.dumps(owner.document).encode()
                status = 200 if self.path == "/jwks.json" else 404
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args: Any) -> None:
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        server_ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        server_ctx.load_cert_chain(cert, key)
        self.httpd.socket = server_ctx.wrap_socket(self.httpd.socket, server_side=True)
        self.url = f"https://127.0.0.1:{self.httpd.server_address[1]}/jwks.json"
        self.client_ctx = ssl.create_default_context(cafile=str(cert))
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture
def jwks_server(tmp_path: Path) -> Iterator[JwksServer]:
    server = JwksServer(tmp_path)
    try:
        yield server
    finally:
        server.close()


def test_allow_listed_jku_on_loopback_is_fetched_and_failures_name_their_cause(
    settings: Settings,
    tmp_path: Path,
    jwks_server: JwksServer,
    caplog: pytest.LogCaptureFixture,
) -> None:
    ehr = Client(SANDBOX_ISS, "ES384", "served-key", jku=jwks_server.url)
    jwks_server.document = {"keys": [ehr.public_jwk()]}
    issuer = {"iss": SANDBOX_ISS, "jku_allow": [jwks_server.url]}
    with caplog.at_level(logging.INFO), app_with(settings, tmp_path, [issuer]) as client:
        gate = client.app.state.auth_gate  # type: ignore[attr-defined]
        transport = httpx.AsyncHTTPTransport(verify=jwks_server.client_ctx)
        gate.jwks = JwksCache.from_config(gate.config, HttpsJwksFetcher(transport=transport))

        assert client.get(DISCOVERY, headers=ehr.bearer(DISCOVERY)).status_code == 200
        assert client.get(DISCOVERY, headers=ehr.bearer(DISCOVERY)).status_code == 200
        assert jwks_server.requests == 1  # cached

        # same kid, another key: the signature is what fails, and the log says so
        forger = Client(SANDBOX_ISS, "ES384", "served-key", jku=jwks_server.url)
        assert client.get(DISCOVERY, headers=forger.bearer(DISCOVERY)).status_code == 401
        # a kid the served set does not have (refetch throttled): unknown kid
        stranger = Client(SANDBOX_ISS, "ES384", "not-served", jku=jwks_server.url)
        assert client.get(DISCOVERY, headers=stranger.bearer(DISCOVERY)).status_code == 401
        # a jku that is not allow-listed: refused before any fetch
        elsewhere = Client(SANDBOX_ISS, "ES384", "x", jku=SANDBOX_JKU)
        assert client.get(DISCOVERY, headers=elsewhere.bearer(DISCOVERY)).status_code == 401
    assert jwks_server.requests == 1
    bad_sig, unknown, not_allowed = auth_failures(caplog)
    assert bad_sig.startswith("client authentication failed: bad_signature")
    assert (
        unknown.startswith("client authentication failed: unknown_kid") and "not-served" in unknown
    )
    assert not_allowed.startswith("client authentication failed: jku_not_allowed")
    assert SANDBOX_JKU in not_allowed
