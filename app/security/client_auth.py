"""Authenticate CDS Clients by their signed JWT (CDS Hooks 2.0.1 § Security › Trusting CDS Clients).

Framework-agnostic: :func:`verify_client_jwt` takes the raw ``Authorization`` header value and
either returns a :class:`ClientIdentity` or raises :class:`AuthError`, which the caller turns
into a bare ``401``. Reasons in :class:`AuthError` are short fixed labels; the token itself is
never logged, echoed or chained into an exception.

Checks, in order: ``Bearer`` compact JWS; header ``alg`` allow-listed and asymmetric (spec:
never ``none`` nor HMAC), ``typ`` is ``JWT``, ``kid`` present, no ``crit``; ``iss`` allow-listed;
key selection (spec: "CDS Services SHOULD maintain an allowlist of the ``iss`` and ``jku``
fields"; the JWK Set is either at ``jku`` or "communicated out-of-band"): a ``kid`` found in the
issuer's configured (out-of-band) JWK Set is verified with that key whatever ``jku`` says, and
nothing is fetched; otherwise the set at header ``jku`` is fetched only if that exact URL is
allow-listed for that issuer (RFC 7515 §4.1.2; anything else is refused before any fetch); the
key type/curve must fit ``alg``; signature (PyJWT); then ``aud`` (RFC 7519 §4.1.3), ``exp``,
``iat``, ``nbf``, lifetime and ``jti``. Replay is checked separately (:func:`consume_jti`), so a
caller can first validate the request and only then spend the token's ``jti``;
:func:`verify_client_jwt` does both.

Every failure names its real cause: ``reason`` is a fixed label (``jku_not_allowed``,
``jwks_fetch_failed``, ``unknown_kid``, ``bad_signature``, ...) and ``detail`` says what was
tried (URL, kid, the fetch error); neither ever contains the token.
"""

from __future__ import annotations

import asyncio
import base64
import functools
import heapq
import json
import math
import re
import threading
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, Literal, Protocol, TypeGuard
from urllib.parse import urlsplit

import anyio.to_thread
import httpx
import jwt
from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from app.json_types import JsonObject

__all__ = [
    "AuthConfig",
    "AuthError",
    "ClientIdentity",
    "HttpsJwksFetcher",
    "InMemoryReplayStore",
    "JwksCache",
    "JwksFetcher",
    "ReplayStore",
    "TrustedIssuer",
    "authenticate_client_jwt",
    "consume_jti",
    "spend_jti",
    "verify_client_jwt",
]

#: Asymmetric JWS algorithms (RFC 7518 §3) accepted in configuration, with the JWK ``kty``
#: and, for EC, the ``crv`` each one requires.
_ALG_KEY_TYPES: dict[str, tuple[str, str | None]] = {
    "RS256": ("RSA", None),
    "RS384": ("RSA", None),
    "RS512": ("RSA", None),
    "PS256": ("RSA", None),
    "PS384": ("RSA", None),
    "PS512": ("RSA", None),
    "ES256": ("EC", "P-256"),
    "ES384": ("EC", "P-384"),
    "ES512": ("EC", "P-521"),
}
_PUBLIC_MEMBERS = {"RSA": ("kty", "n", "e"), "EC": ("kty", "crv", "x", "y")}
_MAX_TOKEN_CHARS = 8192
_MAX_ID_CHARS = 256
_MAX_JWKS_KEYS = 100
_COMPACT_JWS = re.compile(r"[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+")

JwksFetcher = Callable[[str], Awaitable[JsonObject]]
"""Fetches a JWK Set document (a JSON object) from a URL."""


class AuthError(Exception):
    """Client authentication failed; ``reason`` is a short fixed label and ``detail`` (optional)
    says what was tried, for the log. Neither ever contains the token."""

    def __init__(self, reason: str, detail: str | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.detail = detail


def _shown(value: object, limit: int = 200) -> str:
    """A header value for a log line: repr (no control characters), truncated."""
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _cause(exc: BaseException) -> str:
    """Why a fetch failed, for the log: the exception type and its (truncated) message."""
    message = str(exc).replace("\n", " ")[:200]
    return f"{type(exc).__name__}: {message}" if message else type(exc).__name__


# --------------------------------------------------------------------------- configuration


def _is_https_url(url: str) -> bool:
    parts = urlsplit(url)
    return (
        parts.scheme == "https"
        and bool(parts.hostname)
        and parts.username is None
        and parts.password is None
        and not parts.fragment
    )


def _strict_json(raw: bytes | str) -> Any:
    """Parse JSON rejecting duplicate member names and NaN/Infinity (RFC 7519 §4, RFC 8259)."""

    def _pairs(pairs: list[tuple[str, Any]]) -> JsonObject:
        obj: JsonObject = {}
        for name, value in pairs:
            if name in obj:
                raise ValueError("duplicate JSON member")
            obj[name] = value
        return obj

    def _constant(_: str) -> Any:
        raise ValueError("non-finite JSON number")

    return json.loads(raw, object_pairs_hook=_pairs, parse_constant=_constant)


def _index_jwks(jwks: JsonObject) -> dict[str, JsonObject]:
    """Index a JWK Set (RFC 7517 §5) by its unique ``kid`` values; raise ValueError if malformed."""
    keys = jwks.get("keys")
    if not isinstance(keys, list) or len(keys) > _MAX_JWKS_KEYS:
        raise ValueError("a JWK Set needs a 'keys' array of at most 100 keys")
    indexed: dict[str, JsonObject] = {}
    for jwk in keys:
        if not isinstance(jwk, dict):
            raise ValueError("JWK Set entries must be objects")
        kid = jwk.get("kid")
        if not isinstance(kid, str) or not kid:
            continue  # unselectable: CDS Hooks requires `kid`
        if kid in indexed:
            raise ValueError("duplicate kid in JWK Set")
        indexed[kid] = jwk
    return indexed


class TrustedIssuer(BaseModel):
    """One allow-listed CDS Client issuer (spec: allowlist of ``iss`` and ``jku`` URLs).

    ``role``: ``client`` (default) sees only its own audit records, cards and analytics;
    ``admin`` may read every issuer's (it posts feedback only on its own cards)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    iss: str = Field(min_length=1)
    jwks: JsonObject | None = None
    jku_allow: list[str] = Field(default_factory=list)
    fhir_servers: list[str] = Field(default_factory=list)
    role: Literal["client", "admin"] = "client"

    @field_validator("jwks")
    @classmethod
    def _valid_jwks(cls, value: JsonObject | None) -> JsonObject | None:
        if value is not None:
            _index_jwks(value)
        return value

    @field_validator("jku_allow")
    @classmethod
    def _https_only(cls, value: list[str]) -> list[str]:
        for url in value:
            if not _is_https_url(url):
                raise ValueError("jku_allow entries must be absolute https URLs")
        return value

    @model_validator(mode="after")
    def _has_key_source(self) -> TrustedIssuer:
        if self.jwks is None and not self.jku_allow:
            raise ValueError("a trusted issuer needs a static jwks or at least one jku_allow URL")
        return self


class AuthConfig(BaseModel):
    """Client-authentication policy (CDS Hooks 2.0.1 § JWT Signing Algorithm: no none/HMAC)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    issuers: list[TrustedIssuer]
    algorithms: list[str] = Field(default_factory=lambda: ["ES384", "RS384"], min_length=1)
    leeway_seconds: int = Field(default=60, ge=0, le=300)
    max_token_lifetime_seconds: int = Field(default=3600, ge=1, le=86_400)
    jwks_cache_seconds: int = Field(default=3600, ge=60, le=86_400)

    @field_validator("algorithms")
    @classmethod
    def _asymmetric_only(cls, value: list[str]) -> list[str]:
        for alg in value:
            if alg.lower() == "none" or alg.upper().startswith("HS"):
                raise ValueError("'none' and symmetric (HS*) algorithms are forbidden")
            if alg not in _ALG_KEY_TYPES:
                raise ValueError(f"unsupported algorithm {alg!r}")
        return list(dict.fromkeys(value))

    @model_validator(mode="after")
    def _unique_issuers(self) -> AuthConfig:
        names = [issuer.iss for issuer in self.issuers]
        if len(names) != len(set(names)):
            raise ValueError("duplicate issuer")
        return self

    def issuer(self, iss: str) -> TrustedIssuer | None:
        """The allow-listed issuer whose ``iss`` equals ``iss`` exactly, if any."""
        return next((issuer for issuer in self.issuers if issuer.iss == iss), None)


@dataclass(frozen=True, slots=True)
class ClientIdentity:
    """An authenticated CDS Client: ``iss`` identifies it; ``sub``/``tenant`` when sent."""

    iss: str
    sub: str | None
    jti: str
    expires_at: int
    tenant: str | None = None


# --------------------------------------------------------------------------- replay protection


class ReplayStore(Protocol):
    """Remembers ``(iss, jti)`` pairs (spec: ``jti`` protects against replay attacks)."""

    def seen(self, iss: str, jti: str, expires_at: int) -> bool:
        """True if already seen; otherwise record it until ``expires_at`` (epoch s), False."""
        ...


class InMemoryReplayStore:
    """Thread-safe, process-local :class:`ReplayStore`; expired entries are purged lazily.

    When ``max_entries`` live entries exist it fails closed (reports every new jti as seen).
    """

    def __init__(
        self, *, max_entries: int = 100_000, clock: Callable[[], float] = time.time
    ) -> None:
        self._max_entries = max_entries
        self._clock = clock
        self._lock = threading.Lock()
        self._entries: dict[tuple[str, str], int] = {}
        self._expiry_heap: list[tuple[int, tuple[str, str]]] = []

    def live_entries(self) -> int:
        """Number of unexpired remembered pairs."""
        with self._lock:
            self._purge(self._clock())
            return len(self._entries)

    def seen(self, iss: str, jti: str, expires_at: int) -> bool:
        key = (iss, jti)
        with self._lock:
            now = self._clock()
            self._purge(now)
            if key in self._entries:
                return True
            if expires_at <= now:
                return False  # would be purged at once; the verifier rejects such tokens anyway
            if len(self._entries) >= self._max_entries:
                return True
            self._entries[key] = expires_at
            heapq.heappush(self._expiry_heap, (expires_at, key))
            return False

    def _purge(self, now: float) -> None:
        heap = self._expiry_heap
        while heap and heap[0][0] <= now:
            expires_at, key = heapq.heappop(heap)
            if self._entries.get(key) == expires_at:
                del self._entries[key]


# --------------------------------------------------------------------------- JWK Set retrieval


class HttpsJwksFetcher:
    """Default :data:`JwksFetcher`: https only, no redirects, short timeout, bounded body."""

    def __init__(
        self,
        *,
        timeout_seconds: float = 3.0,
        max_bytes: int = 64 * 1024,
        trust_env: bool = False,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self._timeout = timeout_seconds
        self._max_bytes = max_bytes
        self._trust_env = trust_env
        self._transport = transport

    async def __call__(self, url: str) -> JsonObject:
        if not _is_https_url(url):
            raise ValueError("JWK Set URL must be https")
        body = bytearray()
        async with (
            httpx.AsyncClient(
                timeout=self._timeout,
                follow_redirects=False,
                trust_env=self._trust_env,
                transport=self._transport,
            ) as client,
            client.stream(
                "GET", url, headers={"Accept": "application/json", "Accept-Encoding": "identity"}
            ) as response,
        ):
            if response.status_code != 200:
                raise ValueError(f"JWK Set fetch returned HTTP {response.status_code}")
            if response.headers.get("content-encoding", "identity").lower() != "identity":
                raise ValueError("JWK Set response must not be content-encoded")
            async for chunk in response.aiter_raw():
                body += chunk
                if len(body) > self._max_bytes:
                    raise ValueError("JWK Set response too large")
        document = _strict_json(bytes(body))
        if not isinstance(document, dict):
            raise ValueError("JWK Set must be a JSON object")
        return document


@dataclass(slots=True)
class _CachedSet:
    keys: dict[str, JsonObject]
    fetched_at: float


@dataclass(slots=True)
class _Attempt:
    at: float
    failure: str | None  # why the last fetch failed; None when it succeeded


class JwksCache:
    """Per-URL JWK Set cache for allow-listed ``jku`` URLs (RFC 7515 §4.1.2, key rotation).

    A set is reused for ``cache_seconds``. An unknown ``kid`` (or an expired set) triggers a
    refetch, but at most one fetch attempt per URL every ``min_refetch_seconds``, successful
    or not, so attacker-chosen ``kid`` values cannot force unbounded fetches. Concurrent misses
    on one URL share one fetch. Only call it with URLs already checked against the allow-list.
    """

    def __init__(
        self,
        fetcher: JwksFetcher | None = None,
        *,
        cache_seconds: int = 3600,
        min_refetch_seconds: float = 60.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._fetcher: JwksFetcher = fetcher if fetcher is not None else HttpsJwksFetcher()
        self._cache_seconds = cache_seconds
        self._min_refetch = min_refetch_seconds
        self._clock = clock
        self._sets: dict[str, _CachedSet] = {}
        self._last_attempt: dict[str, _Attempt] = {}
        self._locks: dict[str, tuple[asyncio.AbstractEventLoop, asyncio.Lock]] = {}

    @classmethod
    def from_config(
        cls,
        config: AuthConfig,
        fetcher: JwksFetcher | None = None,
        *,
        clock: Callable[[], float] = time.monotonic,
    ) -> JwksCache:
        """A cache honouring ``config.jwks_cache_seconds``."""
        return cls(fetcher, cache_seconds=config.jwks_cache_seconds, clock=clock)

    def _lock_for(self, url: str) -> asyncio.Lock:
        loop = asyncio.get_running_loop()
        held = self._locks.get(url)
        if held is None or held[0] is not loop:
            held = (loop, asyncio.Lock())
            self._locks[url] = held
        return held[1]

    async def get_key(self, url: str, kid: str) -> JsonObject:
        """The JWK with ``kid`` from the set at ``url``. Raises :class:`AuthError`
        ``jwks_fetch_failed`` (the fetch or its document failed now, or failed at the last
        attempt and the next is not due yet; ``detail`` has the cause) or ``unknown_kid``
        (the set was read and has no such key)."""
        async with self._lock_for(url):
            now = self._clock()
            cached = self._sets.get(url)
            fresh = cached if cached and now - cached.fetched_at < self._cache_seconds else None
            if fresh is not None and kid in fresh.keys:
                return fresh.keys[kid]
            last = self._last_attempt.get(url)
            if last is not None and now - last.at < self._min_refetch:
                wait = self._min_refetch - (now - last.at)
                if last.failure is not None:
                    raise AuthError(
                        "jwks_fetch_failed",
                        f"JWK Set {url}: last fetch {now - last.at:.0f} s ago failed "
                        f"({last.failure}); next attempt in {wait:.0f} s",
                    )
                raise AuthError(
                    "unknown_kid",
                    f"kid {_shown(kid)} not in the JWK Set fetched from {url} "
                    f"{now - last.at:.0f} s ago; next refetch in {wait:.0f} s",
                )
            try:
                keys = _index_jwks(await self._fetcher(url))
            except Exception as exc:  # any fetch/parse failure means "no key": fail closed
                failure = _cause(exc)
                self._last_attempt[url] = _Attempt(now, failure)
                raise AuthError("jwks_fetch_failed", f"JWK Set {url}: {failure}") from None
            self._last_attempt[url] = _Attempt(now, None)
            self._sets[url] = _CachedSet(keys, now)
            if kid not in keys:
                raise AuthError(
                    "unknown_kid", f"kid {_shown(kid)} not in the JWK Set just fetched from {url}"
                )
            return keys[kid]


# --------------------------------------------------------------------------- verification


def _bearer_token(authorization: str | None) -> str:
    if not authorization:
        raise AuthError("missing_authorization")
    scheme, _, token = authorization.strip().partition(" ")
    token = token.strip()
    if scheme.lower() != "bearer":
        raise AuthError("not_bearer")
    if len(token) > _MAX_TOKEN_CHARS or not _COMPACT_JWS.fullmatch(token):
        raise AuthError("malformed_token")
    return token


def _json_object(raw: bytes) -> JsonObject:
    try:
        value = _strict_json(raw)
    except ValueError:
        raise AuthError("malformed_token") from None
    if not isinstance(value, dict):
        raise AuthError("malformed_token")
    return value


def _segment(segment: str) -> JsonObject:
    try:
        raw = base64.urlsafe_b64decode(segment + "=" * (-len(segment) % 4))
    except ValueError:
        raise AuthError("malformed_token") from None
    return _json_object(raw)


def _short_str(value: object) -> TypeGuard[str]:
    return isinstance(value, str) and 0 < len(value) <= _MAX_ID_CHARS


async def _find_jwk(
    issuer: TrustedIssuer, header: JsonObject, kid: str, jwks_cache: JwksCache
) -> JsonObject:
    """The issuer's key for ``kid``: its configured (out-of-band) JWK Set first, whatever
    ``jku`` says; else the set at ``jku`` when that URL is allow-listed for the issuer."""
    static = _index_jwks(issuer.jwks) if issuer.jwks is not None else {}
    if kid in static:
        return static[kid]
    jku = header.get("jku")
    if jku is None:
        if issuer.jwks is None:
            raise AuthError(
                "no_key_source",
                f"no jku header and no configured JWK Set for issuer {_shown(issuer.iss)}",
            )
        raise AuthError(
            "unknown_kid",
            f"kid {_shown(kid)} not in the configured JWK Set of {_shown(issuer.iss)}, no jku",
        )
    if not isinstance(jku, str) or jku not in issuer.jku_allow:
        raise AuthError(
            "jku_not_allowed",
            f"kid {_shown(kid)} not configured and jku {_shown(jku)} is not allow-listed "
            f"for issuer {_shown(issuer.iss)}",
        )
    return await jwks_cache.get_key(jku, kid)


def _verification_key(jwk: JsonObject, alg: str) -> jwt.PyJWK:
    kty, crv = _ALG_KEY_TYPES[alg]
    if jwk.get("kty") != kty or (crv is not None and jwk.get("crv") != crv):
        raise AuthError("key_alg_mismatch")
    if jwk.get("alg", alg) != alg:
        raise AuthError("key_alg_mismatch")
    key_ops = jwk.get("key_ops")
    if jwk.get("use", "sig") != "sig" or (
        key_ops is not None and (not isinstance(key_ops, list) or "verify" not in key_ops)
    ):
        raise AuthError("key_not_for_signing")
    if "d" in jwk:
        raise AuthError("private_key_published")
    public = {name: jwk[name] for name in _PUBLIC_MEMBERS[kty] if name in jwk}
    try:
        return jwt.PyJWK(public, algorithm=alg)
    except (jwt.PyJWTError, ValueError, TypeError):
        raise AuthError("invalid_key") from None


def _number(claims: JsonObject, name: str) -> float:
    value = claims[name]
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise AuthError(f"invalid_{name}")
    try:
        number = float(value)
    except OverflowError:
        raise AuthError(f"invalid_{name}") from None
    if not math.isfinite(number):
        raise AuthError(f"invalid_{name}")
    return number


def _check_claims(
    claims: JsonObject, *, iss: str, audience: str, config: AuthConfig, now: float
) -> ClientIdentity:
    if claims.get("iss") != iss:
        raise AuthError("untrusted_iss")
    aud = claims.get("aud")
    if isinstance(aud, str):
        aud_ok = aud == audience
    elif isinstance(aud, list) and all(isinstance(item, str) for item in aud):
        aud_ok = audience in aud
    else:
        aud_ok = False
    if not aud_ok:
        raise AuthError("bad_aud")
    for required in ("exp", "iat", "jti"):
        if required not in claims:
            raise AuthError(f"missing_{required}")
    leeway = config.leeway_seconds
    exp, iat = _number(claims, "exp"), _number(claims, "iat")
    if not now < exp + leeway:
        raise AuthError("expired")
    if not iat <= now + leeway:
        raise AuthError("iat_in_future")
    if "nbf" in claims and not _number(claims, "nbf") <= now + leeway:
        raise AuthError("not_yet_valid")
    if not (iat < exp and exp - iat <= config.max_token_lifetime_seconds):
        raise AuthError("bad_lifetime")
    jti = claims["jti"]
    if not _short_str(jti):
        raise AuthError("invalid_jti")
    sub, tenant = claims.get("sub"), claims.get("tenant")
    if sub is not None and not _short_str(sub):
        raise AuthError("invalid_sub")
    if tenant is not None and not _short_str(tenant):
        raise AuthError("invalid_tenant")
    return ClientIdentity(iss=iss, sub=sub, jti=jti, expires_at=math.ceil(exp), tenant=tenant)


async def authenticate_client_jwt(
    authorization: str | None,
    *,
    audience: str,
    config: AuthConfig,
    jwks_cache: JwksCache,
    now: Callable[[], float] = time.time,
) -> ClientIdentity:
    """Every check of § Trusting CDS Clients except replay: the returned identity is authentic
    but its ``jti`` is not spent yet (call :func:`consume_jti` once the request is accepted).
    Raises :class:`AuthError`."""
    token = _bearer_token(authorization)
    header_b64, payload_b64, _ = token.split(".")
    header = _segment(header_b64)

    alg = header.get("alg")
    if not isinstance(alg, str) or alg not in config.algorithms or alg not in _ALG_KEY_TYPES:
        raise AuthError("alg_not_allowed", f"alg {_shown(alg)}")
    typ = header.get("typ")
    if not isinstance(typ, str) or typ.upper() != "JWT":
        raise AuthError("bad_typ")
    kid = header.get("kid")
    if not _short_str(kid):
        raise AuthError("missing_kid")
    if "crit" in header or "b64" in header:
        raise AuthError("unsupported_header")

    iss = _segment(payload_b64).get("iss")
    issuer = config.issuer(iss) if isinstance(iss, str) else None
    if issuer is None:
        raise AuthError("untrusted_iss", f"iss {_shown(iss)}")

    key = _verification_key(await _find_jwk(issuer, header, kid, jwks_cache), alg)
    try:
        verified = jwt.PyJWS().decode_complete(
            token,
            key=key,
            algorithms=[alg],
            options={"verify_signature": True, "enforce_minimum_key_length": True},
        )
    except jwt.PyJWTError as exc:
        raise AuthError(
            "bad_signature", f"kid {_shown(kid)} of {_shown(issuer.iss)}: {type(exc).__name__}"
        ) from None

    return _check_claims(
        _json_object(verified["payload"]),
        iss=issuer.iss,
        audience=audience,
        config=config,
        now=now(),
    )


def spend_jti(identity: ClientIdentity, *, config: AuthConfig, replay: ReplayStore) -> None:
    """Spend the token's ``jti`` (blocking: the store may be a database): remembered until
    ``exp + leeway`` so it cannot be replayed while it would still be accepted. Raises
    :class:`AuthError` ``replayed_jti``."""
    if replay.seen(identity.iss, identity.jti, identity.expires_at + config.leeway_seconds):
        raise AuthError("replayed_jti", f"iss {_shown(identity.iss)}")


async def consume_jti(identity: ClientIdentity, *, config: AuthConfig, replay: ReplayStore) -> None:
    """:func:`spend_jti` off the event loop."""
    spend = functools.partial(spend_jti, identity, config=config, replay=replay)
    await anyio.to_thread.run_sync(spend)  # the store may block (database)


async def verify_client_jwt(
    authorization: str | None,
    *,
    audience: str,
    config: AuthConfig,
    replay: ReplayStore,
    jwks_cache: JwksCache,
    now: Callable[[], float] = time.time,
) -> ClientIdentity:
    """Authenticate a CDS Client from ``Authorization: Bearer <JWT>`` (§ Trusting CDS Clients)
    and spend its ``jti``: :func:`authenticate_client_jwt` then :func:`consume_jti`.

    ``audience`` is the URL of the CDS Service endpoint being invoked. Raises
    :class:`AuthError` on any failure.
    """
    identity = await authenticate_client_jwt(
        authorization, audience=audience, config=config, jwks_cache=jwks_cache, now=now
    )
    await consume_jti(identity, config=config, replay=replay)
    return identity
