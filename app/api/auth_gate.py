"""Client authentication for the CDS Hooks endpoints (discovery, services, feedback).

On by default outside development (``Settings.auth_enabled``). ``aud`` must equal the
configured public URL of the endpoint called (never the Host header, which a client controls).
Any failure is a bare 401 (``WWW-Authenticate: Bearer``, empty body); the reason is logged as a
short label with what was tried (kid, jku, fetch error), never with the token.

Two steps, so that a request rejected as invalid does not spend the token: the dependency
(:data:`ClientDep`) authenticates the token (signature, claims) without touching the replay
store; the route calls :func:`accept_client` once the request has passed validation, which
spends the ``jti`` (a replay is then a 401). A token sent with an invalid body can be retried
with a corrected body.
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
    authenticate_client_jwt,
    consume_jti,
    spend_jti,
)

log = logging.getLogger("vcf_cds.auth")


class Unauthorized(Exception):
    """Answered as a bare 401 by the app's exception handler; ``reason`` is the short label
    (for the audit trail), never the token."""

    def __init__(self, reason: str = "unauthorized") -> None:
        super().__init__(reason)
        self.reason = reason


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
        """The authenticated client; its ``jti`` is not spent yet (see :meth:`consume`)."""
        audience = self.public_base_url.rstrip("/") + request.url.path
        try:
            return await authenticate_client_jwt(
                request.headers.get("authorization"),
                audience=audience,
                config=self.config,
                jwks_cache=self.jwks,
            )
        except AuthError as exc:
            raise _failed(exc) from None

    async def consume(self, identity: ClientIdentity) -> None:
        """Spend the token's ``jti``; a replay is :class:`Unauthorized`."""
        try:
            await consume_jti(identity, config=self.config, replay=self.replay)
        except AuthError as exc:
            raise _failed(exc) from None

    def consume_blocking(self, identity: ClientIdentity) -> None:
        """:meth:`consume` for synchronous routes (already off the event loop)."""
        try:
            spend_jti(identity, config=self.config, replay=self.replay)
        except AuthError as exc:
            raise _failed(exc) from None

    def issuer(self, identity: ClientIdentity) -> TrustedIssuer | None:
        return self.config.issuer(identity.iss)


def _failed(exc: AuthError) -> Unauthorized:
    if exc.detail:
        log.warning("client authentication failed: %s (%s)", exc.reason, exc.detail)
    else:
        log.warning("client authentication failed: %s", exc.reason)
    return Unauthorized(exc.reason)


async def client_identity(request: Request) -> ClientIdentity | None:
    """The authenticated client (its ``jti`` not yet spent), or None when authentication is
    off (development)."""
    gate: AuthGate | None = request.app.state.auth_gate
    if gate is None:
        return None
    return await gate.verify(request)


async def accept_client(request: Request, identity: ClientIdentity | None) -> None:
    """Call once the request has passed validation: spends the token's ``jti`` (replay: 401).
    A no-op when authentication is off."""
    gate: AuthGate | None = request.app.state.auth_gate
    if gate is not None and identity is not None:
        await gate.consume(identity)


def accept_client_blocking(request: Request, identity: ClientIdentity | None) -> None:
    """:func:`accept_client` for synchronous (threadpool) routes."""
    gate: AuthGate | None = request.app.state.auth_gate
    if gate is not None and identity is not None:
        gate.consume_blocking(identity)


@dataclass(frozen=True)
class Scope:
    """Whose records a caller may read: ``iss`` None means every issuer's (an ``admin``
    issuer, or authentication off in development)."""

    iss: str | None

    def allows(self, record_iss: str | None) -> bool:
        return self.iss is None or record_iss == self.iss


def read_scope(request: Request, identity: ClientIdentity | None) -> Scope:
    """The records ``identity`` may read: its own issuer's, or all for an ``admin`` issuer
    (and when authentication is off)."""
    gate: AuthGate | None = request.app.state.auth_gate
    if gate is None or identity is None:
        return Scope(None)
    issuer = gate.issuer(identity)
    return Scope(None if issuer is not None and issuer.role == "admin" else identity.iss)


def owner_scope(request: Request, identity: ClientIdentity | None) -> Scope:
    """The records ``identity`` may act on (post feedback): always its own issuer's; all when
    authentication is off."""
    gate: AuthGate | None = request.app.state.auth_gate
    if gate is None or identity is None:
        return Scope(None)
    return Scope(identity.iss)


ClientDep = Annotated[ClientIdentity | None, Depends(client_identity)]


def fhir_allowlist(request: Request, identity: ClientIdentity | None) -> list[str]:
    """FHIR base URLs this client's access token may be sent to: the issuer's own list when
    authentication is on, else the development setting."""
    gate: AuthGate | None = request.app.state.auth_gate
    if gate is None or identity is None:
        return list(request.app.state.settings.fhir_server_allowlist)
    issuer = gate.issuer(identity)
    return list(issuer.fhir_servers) if issuer else []
