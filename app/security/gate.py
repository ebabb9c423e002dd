"""Client authentication for the CDS Hooks endpoints (discovery, services, feedback).

On by default outside development (``Settings.auth_enabled``). ``aud`` must equal the
configured public URL of the endpoint called (never the Host header, which a client controls).
Any failure is a bare 401 (``WWW-Authenticate: Bearer``, empty body); the reason is logged as a
short label, never with the token.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated

from fastapi import Depends, Request

from app.security.client_auth import (
    AuthConfig,
    AuthError,
    ClientIdentity,
    JwksCache,
    ReplayStore,
    TrustedIssuer,
    verify_client_jwt,
)

log = logging.getLogger("vcf_cds.auth")


class Unauthorized(Exception):
    """Answered as a bare 401 by the app's exception handler."""


class AuthConfigError(RuntimeError):
    """The trusted-issuer configuration is missing or invalid (start-up stops)."""


def load_auth_config(path: Path | None) -> AuthConfig:
    if path is None:
        raise AuthConfigError(
            "client authentication is on but VCF_CDS_AUTH_CONFIG_FILE is not set "
            "(set it to a JSON file of trusted issuers, or run in development mode)"
        )
    try:
        return AuthConfig.model_validate(json.loads(path.read_text(encoding="utf-8")))
    except FileNotFoundError as exc:
        raise AuthConfigError(f"auth config file not found: {path}") from exc
    except ValueError as exc:
        raise AuthConfigError(f"auth config file {path} is invalid: {exc}") from exc


@dataclass
class AuthGate:
    """Everything a request needs to verify its client, shared across requests."""

    config: AuthConfig
    replay: ReplayStore
    jwks: JwksCache
    public_base_url: str

    async def verify(self, request: Request) -> ClientIdentity:
        audience = self.public_base_url.rstrip("/") + request.url.path
        try:
            return await verify_client_jwt(
                request.headers.get("authorization"),
                audience=audience,
                config=self.config,
                replay=self.replay,
                jwks_cache=self.jwks,
            )
        except AuthError as exc:
            log.info("client authentication failed: %s", exc.reason)
            raise Unauthorized from None

    def issuer(self, identity: ClientIdentity) -> TrustedIssuer | None:
        return self.config.issuer(identity.iss)


async def client_identity(request: Request) -> ClientIdentity | None:
    """The verified client, or None when authentication is off (development)."""
    gate: AuthGate | None = request.app.state.auth_gate
    if gate is None:
        return None
    return await gate.verify(request)


ClientDep = Annotated[ClientIdentity | None, Depends(client_identity)]


def fhir_allowlist(request: Request, identity: ClientIdentity | None) -> list[str]:
    """FHIR base URLs this client's access token may be sent to: the issuer's own list when
    authentication is on, else the development setting."""
    gate: AuthGate | None = request.app.state.auth_gate
    if gate is None or identity is None:
        return list(request.app.state.settings.fhir_server_allowlist)
    issuer = gate.issuer(identity)
    return list(issuer.fhir_servers) if issuer else []
