"""CDS Hooks 2.0.1 § Trusting CDS Clients: JWT client authentication (no network)."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import json
import threading
import uuid
from collections.abc import Callable
from typing import Any

import httpx
import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from jwt.warnings import InsecureKeyLengthWarning
from pydantic import ValidationError

from app.security.client_auth import (
    AuthConfig,
    AuthError,
    ClientIdentity,
    HttpsJwksFetcher,
    InMemoryReplayStore,
    JwksCache,
    TrustedIssuer,
    verify_client_jwt,
)

NOW = 1_700_000_000.0
AUD = "https://cds.example.org/cds-services/vcf-imaging"
ISS = "https://ehr.example.com/"
JKU = "https://ehr.example.com/.well-known/jwks.json"
ISS2 = "https://other-ehr.example.net/"
JKU2 = "https://other-ehr.example.net/jwks"
DROP = object()

EC_KEY = ec.generate_private_key(ec.SECP384R1())
RSA_KEY = rsa.generate_private_key(public_exponent=65537, key_size=2048)
OTHER_KEY = ec.generate_private_key(ec.SECP384R1())


# --------------------------------------------------------------------------- helpers


def b64u(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _uint(value: int, length: int | None = None) -> str:
    size = length if length is not None else max(1, (value.bit_length() + 7) // 8)
    return b64u(value.to_bytes(size, "big"))


def ec_jwk(key: ec.EllipticCurvePrivateKey, kid: str, **extra: Any) -> dict[str, Any]:
    numbers = key.public_key().public_numbers()
    size = (key.curve.key_size + 7) // 8
    crv = {384: "P-384", 256: "P-256", 521: "P-521"}[key.curve.key_size]
    jwk = {"kty": "EC", "crv": crv, "kid": kid, "use": "sig"}
    jwk |= {"x": _uint(numbers.x, size), "y": _uint(numbers.y, size)}
    return jwk | extra


def rsa_jwk(key: rsa.RSAPrivateKey, kid: str, **extra: Any) -> dict[str, Any]:
    numbers = key.public_key().public_numbers()
    jwk = {"kty": "RSA", "kid": kid, "use": "sig", "n": _uint(numbers.n), "e": _uint(numbers.e)}
    return jwk | extra


def make_claims(**overrides: Any) -> dict[str, Any]:
    claims: dict[str, Any] = {
        "iss": ISS,
        "aud": AUD,
        "exp": int(NOW) + 300,
        "iat": int(NOW),
        "jti": str(uuid.uuid4()),
        "sub": "ehr-client-id",
        "tenant": "org-42",
    }
    for name, value in overrides.items():
        if value is DROP:
            claims.pop(name, None)
        else:
            claims[name] = value
    return claims


def sign(
    claims: dict[str, Any] | None = None,
    *,
    key: Any = EC_KEY,
    alg: str = "ES384",
    kid: str | None = "ec-1",
    **header: Any,
) -> str:
    headers = dict(header)
    if kid is not None:
        headers["kid"] = kid
    return jwt.encode(claims or make_claims(), key, algorithm=alg, headers=headers)


def raw_token(
    header: dict[str, Any], payload: bytes, signer: Callable[[bytes], bytes] | None
) -> str:
    signing_input = f"{b64u(json.dumps(header).encode())}.{b64u(payload)}"
    signature = signer(signing_input.encode()) if signer else b""
    return f"{signing_input}.{b64u(signature)}"


def es384_signer(message: bytes) -> bytes:
    return jwt.get_algorithm_by_name("ES384").sign(message, EC_KEY)


class Clock:
    def __init__(self, t: float) -> None:
        self.t = t

    def __call__(self) -> float:
        return self.t


class FakeFetcher:
    def __init__(self, document: dict[str, Any] | Exception) -> None:
        self.document = document
        self.calls: list[str] = []

    async def __call__(self, url: str) -> dict[str, Any]:
        self.calls.append(url)
        if isinstance(self.document, Exception):
            raise self.document
        document: dict[str, Any] = json.loads(json.dumps(self.document))
        return document


STATIC_JWKS = {"keys": [ec_jwk(EC_KEY, "ec-1", alg="ES384"), rsa_jwk(RSA_KEY, "rsa-1")]}


def make_config(**overrides: Any) -> AuthConfig:
    issuers = [
        TrustedIssuer(iss=ISS, jwks=STATIC_JWKS, jku_allow=[JKU], fhir_servers=[ISS + "fhir"]),
        TrustedIssuer(iss=ISS2, jwks={"keys": [ec_jwk(OTHER_KEY, "other-1")]}, jku_allow=[JKU2]),
    ]
    return AuthConfig(**({"issuers": issuers} | overrides))


CONFIG = make_config()


def verify(
    token: str | None,
    *,
    config: AuthConfig = CONFIG,
    replay: InMemoryReplayStore | None = None,
    cache: JwksCache | None = None,
    now: float = NOW,
    audience: str = AUD,
    raw_header: bool = False,
) -> ClientIdentity:
    authorization = token if raw_header or token is None else f"Bearer {token}"
    return asyncio.run(
        verify_client_jwt(
            authorization,
            audience=audience,
            config=config,
            replay=replay if replay is not None else InMemoryReplayStore(clock=lambda: now),
            jwks_cache=cache if cache is not None else JwksCache(FakeFetcher(STATIC_JWKS)),
            now=lambda: now,
        )
    )


def rejected(token: str | None, reason: str, **kwargs: Any) -> AuthError:
    with pytest.raises(AuthError) as caught:
        verify(token, **kwargs)
    error = caught.value
    assert error.reason == reason
    assert error.__cause__ is None
    if token:
        assert token not in str(error) and token not in repr(error)
        assert token not in (error.detail or "")
    return error


# --------------------------------------------------------------------------- accepted tokens


def test_valid_es384_token_is_accepted() -> None:
    claims = make_claims()
    identity = verify(sign(claims))
    assert identity == ClientIdentity(
        iss=ISS, sub="ehr-client-id", jti=claims["jti"], expires_at=int(NOW) + 300, tenant="org-42"
    )


def test_valid_rs384_token_is_accepted() -> None:
    identity = verify(sign(key=RSA_KEY, alg="RS384", kid="rsa-1"))
    assert identity.iss == ISS


def test_aud_array_and_optional_sub_tenant() -> None:
    identity = verify(sign(make_claims(aud=["https://x.example", AUD], sub=DROP, tenant=DROP)))
    assert (identity.sub, identity.tenant) == (None, None)


def test_exp_within_leeway_is_accepted() -> None:
    verify(sign(make_claims(exp=int(NOW) - 30, iat=int(NOW) - 300)))


# --------------------------------------------------------------------------- claim checks


@pytest.mark.parametrize(
    ("overrides", "reason"),
    [
        ({"aud": "https://cds.example.org/cds-services/other"}, "bad_aud"),
        ({"aud": ["https://cds.example.org/cds-services/other"]}, "bad_aud"),
        ({"aud": DROP}, "bad_aud"),
        ({"exp": int(NOW) - 61, "iat": int(NOW) - 600}, "expired"),
        ({"iat": int(NOW) + 120, "exp": int(NOW) + 600}, "iat_in_future"),
        ({"nbf": int(NOW) + 120}, "not_yet_valid"),
        ({"jti": DROP}, "missing_jti"),
        ({"jti": ""}, "invalid_jti"),
        ({"exp": DROP}, "missing_exp"),
        ({"iat": DROP}, "missing_iat"),
        ({"exp": str(int(NOW) + 300)}, "invalid_exp"),
        ({"exp": True}, "invalid_exp"),
        ({"exp": 10**400}, "invalid_exp"),
        ({"exp": int(NOW) + 3000, "iat": int(NOW) - 1000}, "bad_lifetime"),
        ({"exp": int(NOW) + 7200}, "bad_lifetime"),
        ({"sub": 123}, "invalid_sub"),
    ],
)
def test_claim_violations_are_rejected(overrides: dict[str, Any], reason: str) -> None:
    rejected(sign(make_claims(**overrides)), reason)


def test_non_finite_numbers_and_duplicate_claims_are_rejected() -> None:
    header = {"alg": "ES384", "typ": "JWT", "kid": "ec-1"}
    base = json.dumps(make_claims(exp=DROP))[:-1]
    rejected(raw_token(header, f'{base}, "exp": 1e400}}'.encode(), es384_signer), "invalid_exp")
    rejected(raw_token(header, f'{base}, "exp": NaN}}'.encode(), es384_signer), "malformed_token")
    duplicate = json.dumps(make_claims())[:-1] + ', "aud": "https://evil.example"}'
    rejected(raw_token(header, duplicate.encode(), es384_signer), "malformed_token")


def test_replayed_jti_is_rejected() -> None:
    store = InMemoryReplayStore(clock=lambda: NOW)
    token = sign()
    verify(token, replay=store)
    rejected(token, "replayed_jti", replay=store)


def test_replay_is_remembered_through_the_leeway_window() -> None:
    clock = Clock(NOW)
    store = InMemoryReplayStore(clock=clock)
    token = sign(make_claims(exp=int(NOW) + 10))
    verify(token, replay=store)
    clock.t = NOW + 40  # past exp, still inside the 60 s leeway
    rejected(token, "replayed_jti", replay=store, now=clock.t)


# --------------------------------------------------------------------------- header / algorithm


@pytest.mark.parametrize("alg", ["none", "None", "NONE"])
def test_alg_none_is_rejected(alg: str) -> None:
    header = {"alg": alg, "typ": "JWT", "kid": "ec-1"}
    payload = json.dumps(make_claims()).encode()
    rejected(raw_token(header, payload, None), "malformed_token")  # empty signature segment
    rejected(raw_token(header, payload, lambda _: b"x"), "alg_not_allowed")


@pytest.mark.parametrize(
    ("kid", "public_key"), [("ec-1", EC_KEY.public_key()), ("rsa-1", RSA_KEY.public_key())]
)
def test_hs256_signed_with_public_key_is_rejected(kid: str, public_key: Any) -> None:
    secret = public_key.public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    token = raw_token(
        {"alg": "HS256", "typ": "JWT", "kid": kid},
        json.dumps(make_claims()).encode(),
        lambda message: hmac.new(secret, message, hashlib.sha256).digest(),
    )
    rejected(token, "alg_not_allowed")
    # Defence in depth: even a config that bypassed validation cannot enable HMAC.
    unsafe = AuthConfig.model_construct(issuers=CONFIG.issuers, algorithms=["HS256"])
    rejected(token, "alg_not_allowed", config=unsafe)


def test_alg_key_type_mismatch_is_rejected() -> None:
    rejected(sign(key=RSA_KEY, alg="RS384", kid="ec-1"), "key_alg_mismatch")
    p256 = ec.generate_private_key(ec.SECP256R1())
    config = make_config(algorithms=["ES256", "ES384"])
    rejected(sign(key=p256, alg="ES256", kid="ec-1"), "key_alg_mismatch", config=config)
    rejected(sign(key=EC_KEY, alg="ES384", kid="rsa-1"), "key_alg_mismatch")


def test_algorithm_outside_config_is_rejected() -> None:
    rejected(
        sign(key=RSA_KEY, alg="RS384", kid="rsa-1"),
        "alg_not_allowed",
        config=make_config(algorithms=["ES384"]),
    )
    rejected(sign(key=RSA_KEY, alg="RS256", kid="rsa-1"), "alg_not_allowed")


@pytest.mark.parametrize(
    ("token_kwargs", "reason"),
    [
        ({"kid": None}, "missing_kid"),
        ({"kid": ""}, "missing_kid"),
        ({"typ": "at+jwt"}, "bad_typ"),
        ({"crit": ["exp"]}, "unsupported_header"),
        ({"kid": "nope"}, "unknown_kid"),
        ({"kid": "other-1"}, "unknown_kid"),  # another issuer's key
    ],
)
def test_header_violations_are_rejected(token_kwargs: dict[str, Any], reason: str) -> None:
    rejected(sign(**token_kwargs), reason)


def test_bad_signatures_are_rejected() -> None:
    rejected(sign(key=OTHER_KEY), "bad_signature")
    header, _, signature = sign().split(".")
    forged = b64u(json.dumps(make_claims(sub="admin")).encode())
    rejected(f"{header}.{forged}.{signature}", "bad_signature")


def test_unlisted_issuer_is_rejected() -> None:
    rejected(sign(make_claims(iss="https://attacker.example/")), "untrusted_iss")
    rejected(sign(make_claims(iss=DROP)), "untrusted_iss")


def test_weak_or_unusable_keys_are_rejected() -> None:
    weak = rsa.generate_private_key(public_exponent=65537, key_size=1024)
    enc_only = ec.generate_private_key(ec.SECP384R1())
    issuer = TrustedIssuer(
        iss=ISS,
        jwks={
            "keys": [
                rsa_jwk(weak, "weak"),
                ec_jwk(enc_only, "enc", use="enc"),
                ec_jwk(EC_KEY, "leaked", d=_uint(EC_KEY.private_numbers().private_value)),
            ]
        },
    )
    config = make_config(issuers=[issuer])
    with pytest.warns(InsecureKeyLengthWarning):
        weak_token = sign(key=weak, alg="RS384", kid="weak")
    rejected(weak_token, "bad_signature", config=config)
    rejected(sign(key=enc_only, kid="enc"), "key_not_for_signing", config=config)
    rejected(sign(kid="leaked"), "private_key_published", config=config)


@pytest.mark.parametrize(
    ("authorization", "reason"),
    [
        (None, "missing_authorization"),
        ("", "missing_authorization"),
        ("Basic dXNlcjpwYXNz", "not_bearer"),
        ("Bearer", "malformed_token"),
        ("Bearer a.b", "malformed_token"),
        ("Bearer a.b.c d", "malformed_token"),
        ("Bearer " + "a" * 9000 + ".b.c", "malformed_token"),
        ("Bearer e30.e30.AAAA", "alg_not_allowed"),
        ("Bearer !!!.e30.AAAA", "malformed_token"),
    ],
)
def test_malformed_authorization_is_rejected(authorization: str | None, reason: str) -> None:
    rejected(authorization, reason, raw_header=True)


def test_bearer_scheme_is_case_insensitive() -> None:
    verify(f"bearer {sign()}", raw_header=True)


# --------------------------------------------------------------------------- jku and JWKS cache


JKU_ONLY = make_config(issuers=[TrustedIssuer(iss=ISS, jku_allow=[JKU])])


def test_jku_not_in_allow_list_is_never_fetched() -> None:
    fetcher = FakeFetcher(STATIC_JWKS)
    cache = JwksCache(fetcher)
    error = rejected(
        sign(kid="not-configured", jku="https://attacker.example/jwks.json"),
        "jku_not_allowed",
        cache=cache,
    )
    assert "https://attacker.example/jwks.json" in (error.detail or "")
    # allowed only for ISS2
    rejected(sign(kid="not-configured", jku=JKU2), "jku_not_allowed", cache=cache)
    rejected(
        sign(kid="not-configured", jku="http://ehr.example.com/.well-known/jwks.json"),
        "jku_not_allowed",
        cache=cache,
    )
    assert fetcher.calls == []


@pytest.mark.parametrize(
    "jku",
    [
        "https://attacker.example/jwks.json",  # not allow-listed
        JKU,  # allow-listed (unreachable here: it must not even be tried)
        "https://sandbox.cds-hooks.org/.well-known/jwks.json",
    ],
)
def test_configured_kid_is_verified_with_the_configured_key_whatever_jku_says(jku: str) -> None:
    """Spec: the JWK Set is at ``jku`` or communicated out-of-band; a kid configured out of
    band is verified with that key and nothing is fetched."""
    fetcher = FakeFetcher(httpx.ConnectError("must not be called"))
    cache = JwksCache(fetcher)
    assert verify(sign(jku=jku), cache=cache).iss == ISS
    assert verify(sign(key=RSA_KEY, alg="RS384", kid="rsa-1", jku=jku), cache=cache).iss == ISS
    # the configured key decides: a token signed by another key under that kid is refused
    rejected(sign(key=OTHER_KEY, jku=jku), "bad_signature", cache=cache)
    assert fetcher.calls == []


def test_kid_neither_configured_nor_behind_a_jku_is_unknown() -> None:
    error = rejected(sign(kid="nope"), "unknown_kid")
    assert "'nope'" in (error.detail or "")


def test_allow_listed_jku_is_fetched_once_and_cached() -> None:
    fetcher = FakeFetcher(STATIC_JWKS)
    cache = JwksCache(fetcher, clock=Clock(0.0))
    verify(sign(jku=JKU), config=JKU_ONLY, cache=cache)
    verify(sign(key=RSA_KEY, alg="RS384", kid="rsa-1", jku=JKU), config=JKU_ONLY, cache=cache)
    assert fetcher.calls == [JKU]


def test_cached_set_expires_after_cache_seconds() -> None:
    fetcher = FakeFetcher(STATIC_JWKS)
    clock = Clock(0.0)
    cache = JwksCache.from_config(CONFIG, fetcher, clock=clock)
    verify(sign(jku=JKU), config=JKU_ONLY, cache=cache)
    clock.t = CONFIG.jwks_cache_seconds + 1
    verify(sign(jku=JKU), config=JKU_ONLY, cache=cache)
    assert fetcher.calls == [JKU, JKU]


def test_key_rotation_refetches_at_most_once_per_interval() -> None:
    old_key, new_key = (
        ec.generate_private_key(ec.SECP384R1()),
        ec.generate_private_key(ec.SECP384R1()),
    )
    config = JKU_ONLY
    fetcher = FakeFetcher({"keys": [ec_jwk(old_key, "k-old")]})
    clock = Clock(0.0)
    cache = JwksCache(fetcher, clock=clock)
    verify(sign(key=old_key, kid="k-old", jku=JKU), config=config, cache=cache)
    assert len(fetcher.calls) == 1

    fetcher.document = {"keys": [ec_jwk(old_key, "k-old"), ec_jwk(new_key, "k-new")]}
    clock.t = 61.0
    verify(sign(key=new_key, kid="k-new", jku=JKU), config=config, cache=cache)
    assert len(fetcher.calls) == 2

    async def flood() -> list[BaseException | ClientIdentity]:
        return await asyncio.gather(
            *(
                verify_client_jwt(
                    f"Bearer {sign(key=new_key, kid=f'bogus-{i}', jku=JKU)}",
                    audience=AUD,
                    config=config,
                    replay=InMemoryReplayStore(clock=lambda: NOW),
                    jwks_cache=cache,
                    now=lambda: NOW,
                )
                for i in range(50)
            ),
            return_exceptions=True,
        )

    # 50 concurrent unknown kids per burst: no fetch within 60 s of the last one, then one.
    for t, expected_calls in ((61.0, 2), (90.0, 2), (122.0, 3), (150.0, 3)):
        clock.t = t
        results = asyncio.run(flood())
        assert all(isinstance(r, AuthError) and r.reason == "unknown_kid" for r in results)
        assert len(fetcher.calls) == expected_calls
    # The rotated key still verifies from the cache, without another fetch.
    verify(sign(key=new_key, kid="k-new", jku=JKU), config=config, cache=cache)
    assert len(fetcher.calls) == 3


def test_failed_fetch_is_rejected_with_its_cause_and_rate_limited() -> None:
    fetcher = FakeFetcher(httpx.ConnectError("connection refused"))
    clock = Clock(0.0)
    cache = JwksCache(fetcher, clock=clock)
    error = rejected(sign(jku=JKU), "jwks_fetch_failed", config=JKU_ONLY, cache=cache)
    assert "ConnectError: connection refused" in (error.detail or "") and JKU in (
        error.detail or ""
    )
    # within the refetch interval: not fetched again, the last failure is still the reason
    error = rejected(sign(jku=JKU), "jwks_fetch_failed", config=JKU_ONLY, cache=cache)
    assert "last fetch" in (error.detail or "") and "ConnectError" in (error.detail or "")
    assert len(fetcher.calls) == 1
    fetcher.document = {"keys": "not-a-list"}
    clock.t = 61.0
    error = rejected(sign(jku=JKU), "jwks_fetch_failed", config=JKU_ONLY, cache=cache)
    assert "ValueError" in (error.detail or "")
    assert len(fetcher.calls) == 2
    fetcher.document = {"keys": [ec_jwk(OTHER_KEY, "other-1")]}
    clock.t = 122.0
    error = rejected(sign(jku=JKU), "unknown_kid", config=JKU_ONLY, cache=cache)
    assert "just fetched" in (error.detail or "")
    assert len(fetcher.calls) == 3


# --------------------------------------------------------------------------- default fetcher


def streamed(status: int, body: bytes, headers: dict[str, str] | None = None) -> httpx.Response:
    """A response whose body is streamed, as from a real server."""
    return httpx.Response(status, headers=headers, stream=httpx.ByteStream(body))


def _fetch(url: str, handler: Callable[[httpx.Request], httpx.Response]) -> dict[str, Any]:
    fetcher = HttpsJwksFetcher(transport=httpx.MockTransport(handler), max_bytes=1024)
    return asyncio.run(fetcher(url))


def test_https_fetcher_parses_jwks() -> None:
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return streamed(200, b'{"keys": []}')

    assert _fetch(JKU, handler) == {"keys": []}
    assert seen[0].headers["accept-encoding"] == "identity"


@pytest.mark.parametrize(
    ("url", "response"),
    [
        ("http://ehr.example.com/jwks", (200, b'{"keys": []}', {})),
        (JKU, (302, b"", {"location": "https://attacker.example/jwks"})),
        (JKU, (200, b'{"keys": [' + b" " * 2048 + b"]}", {})),
        (JKU, (200, b"[]", {})),
        (JKU, (200, b"\x1f\x8b", {"content-encoding": "gzip"})),
    ],
)
def test_https_fetcher_refuses_unsafe_responses(
    url: str, response: tuple[int, bytes, dict[str, str]]
) -> None:
    calls: list[str] = []

    def handler(request: httpx.Request) -> httpx.Response:
        calls.append(str(request.url))
        return streamed(*response)

    with pytest.raises(ValueError):
        _fetch(url, handler)
    assert len(calls) <= 1 and (url.startswith("https://") or not calls)


# --------------------------------------------------------------------------- replay store


def test_replay_store_purges_expired_entries() -> None:
    clock = Clock(100.0)
    store = InMemoryReplayStore(clock=clock)
    assert store.seen(ISS, "a", 200) is False
    assert store.seen(ISS, "a", 200) is True
    assert store.seen(ISS2, "a", 200) is False  # jti is scoped per issuer
    assert store.live_entries() == 2
    clock.t = 200.0
    assert store.live_entries() == 0
    assert store.seen(ISS, "a", 300) is False


def test_replay_store_is_thread_safe_and_bounded() -> None:
    store = InMemoryReplayStore(clock=lambda: 0.0, max_entries=3)
    results: list[bool] = []
    barrier = threading.Barrier(16)

    def worker() -> None:
        barrier.wait()
        results.append(store.seen(ISS, "same", 10))

    threads = [threading.Thread(target=worker) for _ in range(16)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(results) == [False] + [True] * 15
    assert store.seen(ISS, "b", 10) is False
    assert store.seen(ISS, "c", 10) is False
    assert store.seen(ISS, "d", 10) is True  # full: fails closed


# --------------------------------------------------------------------------- configuration


@pytest.mark.parametrize(
    "algorithms", [["none"], ["HS256"], ["hs384"], ["ES384", "HS512"], ["RS384", "XYZ"], []]
)
def test_config_rejects_unsafe_algorithms(algorithms: list[str]) -> None:
    with pytest.raises(ValidationError):
        make_config(algorithms=algorithms)


@pytest.mark.parametrize(
    "issuer_kwargs",
    [
        {"iss": ISS, "jku_allow": ["http://ehr.example.com/jwks"]},
        {"iss": ISS, "jku_allow": ["https://user:pw@ehr.example.com/jwks"]},
        {"iss": ISS},
        {"iss": ISS, "jwks": {"keys": [{"kid": "a"}, {"kid": "a"}]}},
        {"iss": ISS, "jwks": {"no_keys": []}},
        {"iss": "", "jku_allow": [JKU]},
    ],
)
def test_config_rejects_bad_issuers(issuer_kwargs: dict[str, Any]) -> None:
    with pytest.raises(ValidationError):
        TrustedIssuer(**issuer_kwargs)


def test_config_rejects_duplicate_issuers_and_large_leeway() -> None:
    issuer = TrustedIssuer(iss=ISS, jku_allow=[JKU])
    with pytest.raises(ValidationError):
        AuthConfig(issuers=[issuer, issuer])
    with pytest.raises(ValidationError):
        AuthConfig(issuers=[issuer], leeway_seconds=3600)
    assert AuthConfig(issuers=[issuer]).algorithms == ["ES384", "RS384"]
